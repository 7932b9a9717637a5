"""One line per event, `key=value`, to stderr (the journal keeps it).

The bridge logs in the same format (bridge/eventlog.py adds the masking of its secrets)."""

from __future__ import annotations

import re
import sys
from typing import Any

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


def log(event: str, **fields: Any) -> None:
    print(format_event(event, **fields), file=sys.stderr, flush=True)
