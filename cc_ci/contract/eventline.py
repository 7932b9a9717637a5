"""The event line every cc-ci process logs: `event=NAME k=v …`, one per event, on stderr.

Values with spaces, quotes or control characters are double-quoted with Python's escapes, so a
line always stays one line and can be split back into its fields; secrets are masked before
the line is written.
"""

from __future__ import annotations

import re
import sys
import threading
from typing import Any, TextIO

from cc_ci.contract.redact import Redactor

_PLAIN = re.compile(r"[A-Za-z0-9_./:@%+,#-]+")


def format_event(event: str, **fields: Any) -> str:
    """`event=NAME k=v …`; values with spaces, quotes or controls are quoted and escaped."""
    parts = [f"event={_value(event)}"]
    for key, value in fields.items():
        parts.append(f"{key}={_value('' if value is None else str(value))}")
    return " ".join(parts)


def _value(text: str) -> str:
    if _PLAIN.fullmatch(text):
        return text
    escaped = text.encode("unicode_escape", "backslashreplace").decode("ascii")
    return '"' + escaped.replace('"', '\\"') + '"'


class EventLog:
    """`log(event, k=v…)`: one redacted line per call on `stream` (stderr by default)."""

    def __init__(self, redact: Redactor | None = None, stream: TextIO | None = None) -> None:
        self.redact = redact or Redactor()
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: str, **fields: Any) -> None:
        # Masked field by field (an escaped secret would no longer be found) and then whole.
        masked = {k: None if v is None else self.redact(str(v)) for k, v in fields.items()}
        line = self.redact(format_event(self.redact(event), **masked))
        with self._lock:
            print(line, file=self._stream or sys.stderr, flush=True)
