"""Keep secrets out of every log line, message, comment, status and record cc-ci writes."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

MASK = "[redacted]"
# Shorter values would mask ordinary words; no secret cc-ci handles is this short.
MIN_SECRET = 4


class Redactor:
    """Knows the secret values and masks them in text, longest first so none leaks in part.

    Mask before any truncation: a cut secret is no longer found. A run's chains (threads)
    add secrets at once: adding is locked, masking reads the tuple of the moment.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()
        for s in secrets:
            self.add(s)

    def add(self, value: str) -> None:
        value = value.strip()
        with self._lock:
            if len(value) >= MIN_SECRET and value not in self._secrets:
                self._secrets = tuple(sorted((*self._secrets, value), key=len, reverse=True))

    def add_file(self, path: Path) -> str:
        """Read a secret from a file, remember it, and return it."""
        value = path.read_text().strip()
        self.add(value)
        return value

    def __call__(self, text: str) -> str:
        for s in self._secrets:
            if s in text:
                text = text.replace(s, MASK)
        return text
