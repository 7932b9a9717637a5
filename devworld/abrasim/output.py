"""abra's log lines on stderr (`INFO …`, `WARN …`); results go to stdout."""

from __future__ import annotations

import sys


def info(message: str) -> None:
    print(f"INFO {message}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    print(f"WARN {message}", file=sys.stderr, flush=True)
