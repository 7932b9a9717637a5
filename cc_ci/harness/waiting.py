"""Poll a condition with a deadline, and say what was awaited when it never came."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """A condition did not hold before its deadline; `last` is what the predicate last
    returned or raised."""

    def __init__(self, message: str, last: object = None) -> None:
        super().__init__(message)
        self.last = last


def wait_for(
    what: str,
    predicate: Callable[[], T],
    timeout: float,
    interval: float = 0.5,
    fatal: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `predicate` until it returns something truthy; return that value.

    Exceptions from the predicate count as "not yet" and the last one is reported on
    timeout, except those listed in `fatal`, which end the wait at once.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = predicate()
            if last:
                return last  # type: ignore[return-value]
        except fatal:
            raise
        except Exception as exc:  # noqa: BLE001 - kept and reported on timeout
            last = exc
        if time.monotonic() >= deadline:
            raise WaitTimeout(
                f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})", last
            )
        time.sleep(interval)
