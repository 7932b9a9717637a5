"""Host-wide locks for what concurrent runs share: built images, Traefik's attachments, the
janitor's sweep.

Runs at once (the exec runner's capacity above 1) each have their own app, ABRA_DIR, work
dir and tests network; what they still share is guarded here with `flock(2)` on
`<state>/locks/<name>.lock`. A run killed while it holds a lock loses it with its process,
so a lock is never left held.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cc_ci.harness.settings import Settings

# The shared resources, one lock each.
IMAGE = "image"  # the recipe-tests image and its wheels (sandbox/image.py)
PROXY = "proxy"  # the shared tests network and Traefik's attachment to it (sandbox/network.py)
JANITOR = "janitor"  # one sweep at a time (deploy/janitor.py)
NAMES = (IMAGE, PROXY, JANITOR)


class LockTimeout(RuntimeError):
    """Another run held a shared lock for longer than this run would wait."""


def lock_dir(state_dir: Path | None = None) -> Path:
    """`<state>/locks`; the state directory defaults to the one the settings name."""
    if state_dir is None:
        state_dir = Settings.from_env().state_dir
    return state_dir / "locks"


@contextmanager
def held(
    name: str, state_dir: Path | None = None, timeout: float = 3600, poll: float = 0.2
) -> Iterator[None]:
    """Hold the exclusive lock `name` for the block; wait for it at most `timeout` seconds."""
    if name not in NAMES:
        raise ValueError(f"unknown lock {name!r}; known: {', '.join(NAMES)}")
    path = lock_dir(state_dir) / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"the {name} lock ({path}) was held by another run for over {timeout:.0f}s"
                    ) from None
                time.sleep(poll)
        yield
    finally:
        os.close(fd)  # closing releases the lock
