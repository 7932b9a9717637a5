"""The subprocesses a chain runs, so that cancelling the run stops them.

Python delivers signals to the main thread only, and a run's deployments work in threads of
their own (chains.py). Every subprocess the harness starts inside a chain goes through
`run` (the `subprocess.run` it replaces) or is held by `track`: each is registered with the
chain's `Scope`. When the run is cancelled (SIGTERM, Ctrl-C), the main thread interrupts
every scope: its running children are killed and the chain gets `Interrupted` once, where
the killed child returns (or at its next `checkpoint`, or before its next child starts),
and unwinds through its `finally` blocks as a run on the main thread does on a signal. What
runs in those blocks after it (removing a container, the teardown) runs normally, and the
teardown is `shielded`: nothing of it is killed or interrupted.

Outside a chain (no scope in this thread) `run` is `subprocess.run`: the main thread gets
its signals itself (interrupt.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cc_ci.harness.interrupt import Interrupted

_local = threading.local()


class Scope:
    """One chain's children and whether an interrupt is waiting to be delivered to it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._running: dict[subprocess.Popen, bool] = {}  # child → kill its process group
        self._pending = False
        self._interrupted = False
        self._shielded = 0

    @property
    def interrupted(self) -> bool:
        """The scope was interrupted (whether or not the chain has seen it yet)."""
        return self._interrupted

    def interrupt(self) -> None:
        """From any thread: kill the running children (unless shielded); the chain gets
        Interrupted at its next child's end, checkpoint or start."""
        with self._lock:
            self._pending = self._interrupted = True
            victims = [] if self._shielded else list(self._running.items())
        for proc, group in victims:
            kill(proc, group)

    def checkpoint(self) -> None:
        """Raise Interrupted if an interrupt waits and the scope is not shielded; once."""
        with self._lock:
            if not self._pending or self._shielded:
                return
            self._pending = False
        raise Interrupted(f"the run was cancelled ({self.name})")

    @contextmanager
    def shield(self) -> Iterator[None]:
        """A block (the teardown) that an interrupt neither kills nor interrupts."""
        with self._lock:
            self._shielded += 1
        try:
            yield
        finally:
            with self._lock:
                self._shielded -= 1

    @contextmanager
    def track(self, proc: subprocess.Popen, group: bool = False) -> Iterator[None]:
        """Hold `proc` (its process group, with `group`) for the block: an interrupt kills
        it. On leaving the block, the pending interrupt is raised (not over another error)."""
        with self._lock:
            self._running[proc] = group
            late = self._pending and not self._shielded
        if late:  # interrupted between the check before the start and now
            kill(proc, group)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            with self._lock:
                self._running.pop(proc, None)
            if not failed:
                self.checkpoint()


def kill(proc: subprocess.Popen, group: bool = False) -> None:
    """SIGKILL a child (or its process group), as subprocess.run does on an exception."""
    try:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def current() -> Scope | None:
    return getattr(_local, "scope", None)


@contextmanager
def entered(scope: Scope) -> Iterator[Scope]:
    """Make `scope` this thread's for the block (a chain's thread, for its whole life)."""
    before = current()
    _local.scope = scope
    try:
        yield scope
    finally:
        _local.scope = before


def checkpoint() -> None:
    """A boundary (a stage or a phase about to start): raise a pending interrupt here."""
    scope = current()
    if scope is not None:
        scope.checkpoint()


@contextmanager
def track(proc: subprocess.Popen, group: bool = False) -> Iterator[None]:
    """`Scope.track` in this thread's scope; outside a chain, nothing."""
    scope = current()
    if scope is None:
        yield
        return
    with scope.track(proc, group):
        yield


@contextmanager
def shielded() -> Iterator[None]:
    """A block that must finish (a teardown): in a chain, shielded from the run's cancel;
    on the main thread, with SIGTERM and SIGINT ignored (signals reach that thread only,
    and signal.signal may be called there only)."""
    scope = current()
    if scope is not None:
        with scope.shield():
            yield
        return
    if threading.current_thread() is not threading.main_thread():
        yield  # a thread of no chain: no signal reaches it, nothing cancels it
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run(args: list[str], **kw: Any) -> subprocess.CompletedProcess:
    """`subprocess.run(args, **kw)`, stoppable by the chain's cancel (see the module).

    Takes what the harness passes subprocess.run: capture_output, text, timeout, input,
    check, and Popen's own arguments (env, cwd, stdin, stdout, stderr)."""
    scope = current()
    if scope is None:
        return subprocess.run(args, **kw)
    scope.checkpoint()
    timeout = kw.pop("timeout", None)
    check = kw.pop("check", False)
    data = kw.pop("input", None)
    if kw.pop("capture_output", False):
        kw["stdout"] = kw["stderr"] = subprocess.PIPE
    if data is not None:
        kw["stdin"] = subprocess.PIPE
    with subprocess.Popen(args, **kw) as proc, scope.track(proc):
        try:
            out, err = proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            exc.stdout, exc.stderr = proc.communicate()
            raise
        except BaseException:
            proc.kill()
            raise
        code = proc.poll()
    if check and code:
        raise subprocess.CalledProcessError(code, args, out, err)
    return subprocess.CompletedProcess(args, code if code is not None else -1, out, err)
