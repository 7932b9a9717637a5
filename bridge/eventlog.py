"""One line per event, `key=value`, to stderr (the journal keeps it), with secrets masked."""

from __future__ import annotations

import re
import sys
import threading
from typing import Any, TextIO

from bridge.redact import Redactor

_PLAIN = re.compile(r"[A-Za-z0-9_./:@%+,#-]+")


def format_event(event: str, **fields: Any) -> str:
    """`event=NAME k=v …`; values with spaces, quotes or controls are quoted and escaped."""
    parts = [f"event={event}"]
    for key, value in fields.items():
        text = "" if value is None else str(value)
        if not _PLAIN.fullmatch(text):
            text = '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


class EventLog:
    """`log(event, k=v…)`: one redacted line per call on `stream` (stderr by default)."""

    def __init__(self, redact: Redactor | None = None, stream: TextIO | None = None) -> None:
        self.redact = redact or Redactor()
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: str, **fields: Any) -> None:
        line = self.redact(format_event(event, **fields))
        with self._lock:
            print(line, file=self._stream or sys.stderr, flush=True)
