"""Build the images the tests or the demo use, once, in the setup: never inside a stage's time.

    python -m devworld.prebuild [--for test|demo] [--jobs N]

Every image here is content-addressed (`cc_ci.harness.sandbox.debimage`, `devworld.images`):
one already built is found in a fraction of a second, so a second run only checks. The
first run of the day on a fresh machine builds them, in `--jobs` lanes side by side (the
shared parents first), and says for each what it builds and roughly how long that takes,
with a line every 30 s while anything is still building. `scripts/bootstrap --for SET`
runs this in the background while it builds the Go and Rust tools.

`demo` is what `scripts/demo` needs (the recipe-tests sandbox, the backupbot stand-in, the
demo app); `test` adds the replicas' images (`devworld/replicas/`), of which n8n's two
(npm, native modules) take the longest.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Build:
    name: str
    about: str  # how long it takes the first time, on 2 cores
    run: Callable[[], object]


def _sandbox() -> object:
    from cc_ci.harness.sandbox.image import ensure_sandbox_image

    return ensure_sandbox_image()


def _backupbot() -> object:
    from devworld import backupbot

    return backupbot.image()


def _demo_app() -> object:
    from devworld.demo import build_images

    return build_images()


def _debian(suite: str) -> Callable[[], object]:
    def run() -> object:
        from cc_ci.harness.sandbox.debimage import debian_base

        return debian_base(suite)

    return run


def _replica_image(fn: str, *args: str) -> Callable[[], object]:
    def run() -> object:
        from devworld.replicas import images

        return getattr(images, fn)(*args)

    return run


def _versions(recipe: str) -> tuple[str, ...]:
    from devworld.replicas.build import find

    return tuple(find(recipe).module().VERSIONS)


# Parents that several images derive from: built first, one at a time.
def parents(kind: str) -> list[Build]:
    found = [Build("Debian bookworm base (debootstrap)", "1-2 min", _debian("bookworm"))]
    if kind == "test":
        found += [
            Build("Debian trixie base (debootstrap)", "1-2 min", _debian("trixie")),
            Build("replica PostgreSQL 15", "under 1 min", _replica_image("postgres")),
        ]
    return found


def builds(kind: str) -> list[Build]:
    """What `kind` needs beyond its parents, the longest first (so the lanes end together)."""
    found: list[Build] = []
    if kind == "test":
        found += [
            Build(f"replica n8n {v} (npm)", "6-12 min", _replica_image("n8n", v))
            for v in _versions("n8n")
        ]
        found += [
            Build(f"replica Synapse {v} (PyPI)", "1-2 min", _replica_image("synapse", v))
            for v in _versions("matrix-synapse")
        ]
        found += [
            Build(f"replica Keycloak {v} (Maven Central)", "1-2 min", _replica_image("keycloak", v))
            for v in _versions("keycloak")
        ]
    found.append(Build("recipe-tests sandbox (Debian + PyPI)", "1-3 min", _sandbox))
    if kind == "test":
        found += [
            Build(f"replica nginx ({s})", "under 1 min", _replica_image("nginx", s))
            for s in ("bookworm", "trixie")
        ]
    found += [
        Build("backupbot stand-in (restic)", "under 1 min", _backupbot),
        Build("demo app (busybox)", "seconds", _demo_app),
    ]
    return found


class Progress:
    """Start and end lines per build, and a line every `every` s naming what still builds."""

    def __init__(self, out=None, every: float = 30.0) -> None:
        self.out, self.every = out, every  # out: sys.stderr at the time of writing
        self.running: dict[str, float] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.failed: list[str] = []

    def say(self, text: str) -> None:
        with self.lock:
            print(f"prebuild: {text}", file=self.out or sys.stderr, flush=True)

    def run(self, b: Build) -> None:
        t0 = time.monotonic()
        with self.lock:
            self.running[b.name] = t0
        try:
            b.run()
        except Exception as exc:  # noqa: BLE001 - every build's failure is reported, the rest go on
            self.failed.append(b.name)
            self.say(f"FAILED {b.name}: {exc}")
        else:
            took = time.monotonic() - t0
            if took >= 1:
                self.say(f"{b.name}: built in {took:.0f} s")
        finally:
            with self.lock:
                del self.running[b.name]

    def beat(self) -> None:
        while not self.done.wait(self.every):
            now = time.monotonic()
            with self.lock:
                names = [f"{n} ({now - t0:.0f} s)" for n, t0 in self.running.items()]
            if names:
                self.say("still building: " + ", ".join(names))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devworld.prebuild", description=__doc__.splitlines()[0]
    )
    p.add_argument("--for", dest="kind", choices=("test", "demo"), default="test")
    p.add_argument("--jobs", type=int, default=2, help="builds side by side (default 2)")
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error("--jobs must be 1 or more")
    progress = Progress()
    t0 = time.monotonic()
    first, rest = parents(args.kind), builds(args.kind)
    progress.say(
        f"{len(first) + len(rest)} images for {args.kind}; a built one is found in a moment, "
        "a missing one is built: " + "; ".join(f"{b.name} ~{b.about}" for b in first + rest)
    )
    beat = threading.Thread(target=progress.beat, daemon=True)
    beat.start()
    try:
        for b in first:
            progress.run(b)
        if progress.failed:  # everything else derives from these
            progress.say("not building the rest: the images above are their parents")
            return 1
        with ThreadPoolExecutor(max_workers=args.jobs, thread_name_prefix="prebuild") as pool:
            list(pool.map(progress.run, rest))
    finally:
        progress.done.set()
    if progress.failed:
        progress.say(f"{len(progress.failed)} failed: {', '.join(progress.failed)}")
        return 1
    progress.say(f"all ready in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
