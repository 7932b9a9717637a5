"""One line per event, `key=value`, to stderr (the journal keeps it), with secrets masked."""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from bridge.redact import Redactor
from dashboard.eventlog import format_event


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
