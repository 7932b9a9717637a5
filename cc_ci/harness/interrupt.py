"""SIGTERM as an exception, so a killed-politely run unwinds through its teardown; and
SIGTERM when the run's parent dies, so a run whose parent was killed does too."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGTERM, signal.SIGINT)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Interrupted(BaseException):
    """SIGTERM arrived (or the run was cancelled, in a chain): unwind through every
    `finally` so teardown runs."""


def install_signal_handlers() -> Callable[[], None]:
    """Turn SIGTERM into Interrupted (SIGINT is KeyboardInterrupt already); return an undo."""

    def on_term(signum: int, frame: object) -> None:
        raise Interrupted(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, on_term)
    return lambda: signal.signal(signal.SIGTERM, old)


def term_when_parent_dies() -> bool:
    """Have Linux send this process SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG), so
    that the run tears down. Drone's exec runner cancels a build by SIGKILLing the step's
    shell only (drone-runner-exec's engine: `cmd.Process.Kill()`), which would leave
    cc-ci-run running on as an orphan, its app deployed; the kernel's signal reaches it
    instead. A parent already gone before the call is noticed too. Returns whether it is
    set (False off Linux). Call it after `install_signal_handlers`."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # it died between the read and the prctl
        os.kill(os.getpid(), signal.SIGTERM)
    return True


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
