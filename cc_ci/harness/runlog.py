"""Where a run writes what happens: redacted stage logs, and one stderr line per event."""

from __future__ import annotations

import sys
from pathlib import Path

from cc_ci.contract.eventline import format_event
from cc_ci.contract.redact import Redactor


class FileLog:
    """A stage log: appends redacted text to a file in the run folder."""

    def __init__(self, path: Path, redact: Redactor) -> None:
        self.path = path
        self._redact = redact
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, text: str) -> None:
        """Append `text`; what UTF-8 cannot encode (a lone surrogate from a PR's YAML) is
        written as a `\\udfff` escape, so no line can make the run fail to log it."""
        with self.path.open("a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(self._redact(text))


def event(msg: str, **kv: object) -> None:
    """One event line (cc_ci/contract/eventline.py) to stderr."""
    # one write per line: a run's chains write events from their threads at once
    sys.stderr.write(format_event(msg, **kv) + "\n")
    sys.stderr.flush()
