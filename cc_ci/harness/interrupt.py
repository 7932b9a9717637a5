"""SIGTERM as an exception, so a killed-politely run unwinds through its teardown."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(BaseException):
    """SIGTERM arrived (or the run was cancelled, in a chain): unwind through every
    `finally` so teardown runs."""


def install_signal_handlers() -> Callable[[], None]:
    """Turn SIGTERM into Interrupted (SIGINT is KeyboardInterrupt already); return an undo."""

    def on_term(signum: int, frame: object) -> None:
        raise Interrupted(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, on_term)
    return lambda: signal.signal(signal.SIGTERM, old)


@contextmanager
def deferred(note: Callable[[int], None]) -> Iterator[None]:
    """For the block, SIGTERM and SIGINT only call `note(signum)`, raising nothing: the main
    thread, waiting on the chains (chains.py), acts on it between its waits. `note` must do
    no more than set a value (it runs between any two bytecodes of the main thread). Off the
    main thread (where no signal arrives, and signal.signal may not be called): nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, lambda signum, frame: note(signum)) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
