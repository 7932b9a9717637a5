"""A run's deployments side by side: each on a chain of its own, in a thread of its own.

The plan (plan.py) gives the deployments; each is a chain: its stages in their order, its
own app, domain, env, abra directory and recipe checkout, its teardown at its end. At most
`limit` chains work at once (the setting CCCI_MAX_DEPLOYMENTS, 1 for a recipe that asks to
be run in series); the others wait their turn, in the plan's order. A chain that fails does
not stop another; a chain that is done tears down while the others still work, and the run
goes on once every chain, teardown included, has ended.

Signals reach the main thread only. While the chains work, the main thread only waits:
SIGTERM and SIGINT are noted (interrupt.deferred) and turned into the run's `Cancel`, which
interrupts every chain (children.py: its running subprocesses are killed, it unwinds through
its teardown) and starts no chain that has not started.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cc_ci.harness import children
from cc_ci.harness.interrupt import Interrupted, deferred


class Cancel:
    """The run's cancel, shared by its chains. `set` may be called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scopes: list[children.Scope] = []
        self.why: str | None = None
        self.signalled: int | None = None  # written by a signal handler, read by the waiter

    @property
    def is_set(self) -> bool:
        return self.why is not None

    def scope(self, name: str) -> children.Scope:
        """A new chain's scope; interrupted at once if the run is cancelled already."""
        scope = children.Scope(name)
        with self._lock:
            self._scopes.append(scope)
            late = self.is_set
        if late:
            scope.interrupt()
        return scope

    def set(self, why: str) -> None:
        with self._lock:
            if self.why is None:
                self.why = why
            scopes = list(self._scopes)
        for scope in scopes:
            scope.interrupt()


@dataclass(frozen=True, slots=True)
class Chain:
    name: str
    work: Callable[[], None]
    """Runs the chain: its stages and its teardown; records its own results."""


@dataclass(slots=True)
class ChainResult:
    name: str
    started_s: float | None = None  # since the chains started; None: it never started
    ended_s: float | None = None
    interrupted: bool = False
    error: BaseException | None = None  # what the chain did not expect (a harness bug)

    @property
    def wall_s(self) -> float | None:
        if self.started_s is None or self.ended_s is None:
            return None
        return round(self.ended_s - self.started_s, 2)


def limit_for(max_deployments: int, serial: bool) -> int:
    """How many chains of a run work at once: the operator's limit, or 1 when the recipe
    asks to be run in series (recipe_meta.py SERIAL)."""
    if max_deployments < 1:
        raise ValueError(
            f"the limit of deployments at once must be at least 1, not {max_deployments}"
        )
    return 1 if serial else max_deployments


def run_chains(
    chains: Sequence[Chain], limit: int, cancel: Cancel, poll: float = 0.1
) -> list[ChainResult]:
    """Run `chains`, at most `limit` at once, in their order; return once every one that
    started has ended. Call from the main thread (signals are turned into `cancel`)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    results = [ChainResult(c.name) for c in chains]
    waiting = deque(range(len(chains)))
    running: dict[int, threading.Thread] = {}
    t0 = time.monotonic()

    def target(i: int, scope: children.Scope) -> None:
        result = results[i]
        with children.entered(scope):
            try:
                chains[i].work()
            except Interrupted:
                result.interrupted = True
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                result.error = exc
            finally:
                result.ended_s = round(time.monotonic() - t0, 2)

    def on_signal(signum: int) -> None:
        cancel.signalled = signum  # nothing else here: the waiter acts on it

    with deferred(on_signal):
        while waiting or running:
            if cancel.signalled is not None and not cancel.is_set:
                cancel.set(f"signal {cancel.signalled}")
            for i in [i for i, t in running.items() if not t.is_alive()]:
                running.pop(i).join()
            if cancel.is_set:
                waiting.clear()  # a chain not started never starts
            while waiting and len(running) < limit:
                i = waiting.popleft()
                results[i].started_s = round(time.monotonic() - t0, 2)
                thread = threading.Thread(
                    target=target,
                    args=(i, cancel.scope(chains[i].name)),
                    name=f"chain {chains[i].name}",
                )
                running[i] = thread
                thread.start()
            if running:
                next(iter(running.values())).join(poll)
    return results
