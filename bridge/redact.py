"""Keep the secret values out of every log line, comment, status, error and state row."""

from __future__ import annotations

MASK = "[redacted]"


class Redactor:
    """Knows the secret values and masks them in text (longest first, so none leaks in part)."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        for s in secrets:
            self.add(s)

    def add(self, value: str) -> None:
        value = value.strip()
        if len(value) >= 4 and value not in self._secrets:
            self._secrets = tuple(sorted((*self._secrets, value), key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for s in self._secrets:
            if s in text:
                text = text.replace(s, MASK)
        return text
