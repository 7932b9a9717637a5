"""Stage logs made readable in a page: the tail, and the whole log when it is not huge.

`clean` is pure (terminal colour codes and control characters out, line endings unified);
`read_excerpt` reads at most `WHOLE_LIMIT` bytes of a log (or less, when a page has little
room left), from its end when it is larger.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

TAIL_LINES = 40
"""Lines shown unfolded; a longer log folds the rest behind <details>."""
WHOLE_LIMIT = 512 * 1024
"""Logs up to this size are offered whole in the page; larger ones only by their raw link."""
TAIL_BYTES = 64 * 1024
PAGE_LOGS = 2 * 1024 * 1024
"""Characters of log one run page carries in all (each log counted once, escaped); past
them, a log is only linked. Everything else on the page comes from the run record, which
is itself at most 4 MiB."""

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class LogExcerpt:
    path: str
    """Relative to the run folder, as the record names it."""
    found: bool
    size: int = 0
    tail: str = ""
    """The last TAIL_LINES lines."""
    whole: str | None = None
    """The whole log, when it is at most WHOLE_LIMIT bytes."""
    lines: int | None = None
    """How many lines the whole log has, when it was read whole."""

    @property
    def folded(self) -> bool:
        """True when the tail is not the whole log."""
        return self.whole is None or self.lines is None or self.lines > TAIL_LINES


def clean(text: str) -> str:
    """Drop terminal escape sequences and control characters; keep newlines and tabs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", _ANSI.sub("", text))


def tail_lines(text: str, n: int = TAIL_LINES) -> str:
    lines = text.rstrip("\n").split("\n")
    return "\n".join(lines[-n:])


def excerpt_from_bytes(path: str, data: bytes, size: int) -> LogExcerpt:
    """Build an excerpt from `data`: the whole file if len(data) == size, else its end."""
    text = clean(data.decode("utf-8", errors="replace"))
    if len(data) >= size:
        lines = 0 if not text else text.rstrip("\n").count("\n") + 1
        return LogExcerpt(path, True, size, tail_lines(text), text, lines)
    rest = text.split("\n", 1)[1] if "\n" in text else ""
    text = rest if rest.strip() else text  # drop the cut first line, unless it is all there is
    return LogExcerpt(path, True, size, tail_lines(text))


def read_excerpt(target: Path | None, path: str, whole_limit: int = WHOLE_LIMIT) -> LogExcerpt:
    """Read the log at `target` (already resolved inside the run folder), or say it is
    missing: whole when it is at most `whole_limit` bytes, else its last `TAIL_BYTES`."""
    if target is None:
        return LogExcerpt(path, False)
    try:
        with open(target, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > whole_limit:
                f.seek(max(0, size - TAIL_BYTES))
                data = f.read(TAIL_BYTES)
            else:
                data = f.read(whole_limit + 1)
                size = len(data)
    except OSError:
        return LogExcerpt(path, False)
    return excerpt_from_bytes(path, data, size)
