"""SIGTERM as an exception, so a killed-politely run unwinds through its teardown."""

from __future__ import annotations

import signal
from collections.abc import Callable


class Interrupted(BaseException):
    """SIGTERM arrived: unwind through every `finally` so teardown runs."""


def install_signal_handlers() -> Callable[[], None]:
    """Turn SIGTERM into Interrupted (SIGINT is KeyboardInterrupt already); return an undo."""

    def on_term(signum: int, frame: object) -> None:
        raise Interrupted(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, on_term)
    return lambda: signal.signal(signal.SIGTERM, old)
