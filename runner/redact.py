"""Keep secrets out of every log line, message and record the runner writes."""

from __future__ import annotations

from pathlib import Path

MASK = "[redacted]"


class Redactor:
    """Holds the secret values the run knows about and masks them in text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, value: str) -> None:
        value = value.strip()
        if len(value) >= 4:
            self._secrets.add(value)

    def add_file(self, path: Path) -> str:
        value = path.read_text().strip()
        self.add(value)
        return value

    def __call__(self, text: str) -> str:
        for s in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(s, MASK)
        return text
