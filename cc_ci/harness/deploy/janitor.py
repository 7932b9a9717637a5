"""Live-run registration, and the janitor that removes what killed runs left behind.

Every run holds an exclusive lock on `<state>/live/<run-id>.lock` for its whole life and
lists, before each deployment, the app domain it is about to create. A SIGKILLed run loses
its lock with its process. The janitor then removes exactly what runs that are gone left:
apps of this zone's run-app shape (<recipe[:4]>-<6 hex>.<zone>) that no live run claims,
and the tests containers, relays and run networks (label `cc-ci.sandbox.run`) of runs that
are not live. Nothing else the operator runs on the swarm is touched.

The decision is `orphans(found, claims)`, a pure function. Runs at once (the runner's
capacity above 1) each start with a sweep, so the order is what keeps a live run's app
safe: the janitor lists the swarm first and reads the claims second, and a run claims a
domain before it creates anything for it. Sweeps take the `janitor` lock (locks.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cc_ci.contract.names import stack_name
from cc_ci.harness import locks
from cc_ci.harness.deploy import docker as dk
from cc_ci.harness.deploy.abra import LogSink
from cc_ci.harness.deploy.lifecycle import remove_with_docker

# cc_ci/harness/sandbox/container.py labels each recipe-tests container with its run id.
SANDBOX_LABEL = "cc-ci.sandbox.run"


@dataclass
class LiveRun:
    """This run's claim on its apps; a context manager that holds the lock."""

    state_dir: Path
    run_id: str
    workdir: Path
    domains: list[str] = field(default_factory=list)
    _fd: int | None = None
    _claiming: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def _lock(self) -> Path:
        return self.state_dir / "live" / f"{self.run_id}.lock"

    @property
    def _info(self) -> Path:
        return self.state_dir / "live" / f"{self.run_id}.json"

    def __enter__(self) -> LiveRun:
        self._lock.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self._lock, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self._fd)
            raise RuntimeError(f"run {self.run_id} is already running") from exc
        self._save()
        return self

    def claim(self, domain: str) -> None:
        """Record a domain before it is deployed, so the janitor never takes it for an orphan.
        A run's chains claim from their threads: each claim is added to the file, never lost."""
        with self._claiming:
            self.domains.append(domain)
            self._save()

    def _save(self) -> None:
        tmp = self._info.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "run_id": self.run_id,
                    "pid": os.getpid(),
                    "workdir": str(self.workdir),
                    "domains": self.domains,
                }
            )
        )
        os.replace(tmp, self._info)

    def __exit__(self, *exc: object) -> None:
        self._info.unlink(missing_ok=True)
        self._lock.unlink(missing_ok=True)
        if self._fd is not None:
            os.close(self._fd)


@dataclass(frozen=True, slots=True)
class Claims:
    """What the live runs hold: their run ids and the app domains they claimed."""

    run_ids: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Swarm:
    """What of runs the janitor found on the swarm: app stacks (`<label>_<zone stack>`, from
    their services, volumes, secrets and configs), and the (name, run id) of each labelled
    tests container and run network."""

    stacks: frozenset[str] = frozenset()
    containers: tuple[tuple[str, str], ...] = ()
    networks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Orphans:
    stacks: tuple[str, ...]
    containers: tuple[tuple[str, str], ...]
    networks: tuple[tuple[str, str], ...]


def orphans(found: Swarm, claims: Claims) -> Orphans:
    """What to remove: every run app no live run claims, every tests container and run
    network of a run that is not live. Pure; `found` must be listed before `claims` is
    read (a run claims before it creates), so nothing a live run made is ever in it."""
    live_stacks = {stack_name(d) for d in claims.domains}
    return Orphans(
        stacks=tuple(sorted(found.stacks - live_stacks)),
        containers=tuple(sorted(c for c in found.containers if c[1] not in claims.run_ids)),
        networks=tuple(sorted(n for n in found.networks if n[1] not in claims.run_ids)),
    )


def read_claims(state_dir: Path) -> tuple[Claims, list[dict]]:
    """The live runs' claims, and the records of runs that died (their lock is free)."""
    live_ids: set[str] = set()
    domains: set[str] = set()
    dead: list[dict] = []
    for info in sorted((state_dir / "live").glob("*.json")):
        lock = info.with_suffix(".lock")
        # A run takes its lock before it writes its file and removes the file first, so a
        # file without a lock is of a run that is over.
        try:
            fd: int | None = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            fd = None
        try:
            alive = False
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    alive = True
            try:
                data = json.loads(info.read_text())
            except (OSError, json.JSONDecodeError):
                data = {"run_id": info.stem}  # the run just ended, or the file is not ours
        finally:
            if fd is not None:
                os.close(fd)
        if alive:
            live_ids.add(str(data.get("run_id", info.stem)))
            domains.update(data.get("domains", []))
        else:
            dead.append({**data, "_info": str(info), "_lock": str(lock)})
    return Claims(frozenset(live_ids), frozenset(domains)), dead


def run_app_stack_re(zone: str) -> re.Pattern[str]:
    return re.compile(r"^([a-z0-9]{1,4}-[0-9a-f]{6})_" + re.escape(stack_name(zone)) + r"(?:_|$)")


def survey(zone: str) -> Swarm:
    """List what of runs is on the swarm (before the claims are read)."""
    pattern = run_app_stack_re(zone)
    stacks: set[str] = set()
    for kind in ("service", "volume", "secret", "config"):
        for line in dk.docker(kind, "ls", "--format", "{{.Name}}", timeout=60).split():
            m = pattern.match(line)
            if m:
                stacks.add(f"{m.group(1)}_{stack_name(zone)}")
    return Swarm(
        frozenset(stacks), tuple(_labelled(["ps", "-a"])), tuple(_labelled(["network", "ls"]))
    )


def janitor(state_dir: Path, zone: str, log: LogSink) -> list[str]:
    """Remove what runs that are gone left on the swarm: run apps of `zone` no live run
    claims, tests containers and run networks of runs not live. One sweep at a time (the
    `janitor` lock). Returns the app stacks removed."""
    with locks.held(locks.JANITOR, state_dir):
        found = survey(zone)
        claims, dead = read_claims(state_dir)
        gone = orphans(found, claims)
        for name, run_id in gone.containers:
            log.write(f"janitor: removing the tests container {name} of run {run_id}\n")
            dk.docker("rm", "--force", name, check=False, timeout=60)
        for stack in gone.stacks:
            log.write(f"janitor: removing orphaned run app {stack}\n")
            remove_with_docker(stack)
        for name, run_id in gone.networks:
            log.write(f"janitor: removing the tests network {name} of run {run_id}\n")
        dk.remove_networks([name for name, _ in gone.networks])
        for run in dead:
            workdir = Path(run.get("workdir", ""))
            if workdir.is_dir() and (workdir / "abra").is_dir():
                _unmount_under(workdir)  # a killed run's tests results tmpfs
                shutil.rmtree(workdir, ignore_errors=True)
            for key in ("_info", "_lock"):
                Path(run[key]).unlink(missing_ok=True)
            log.write(f"janitor: cleared state of dead run {run.get('run_id')}\n")
        return list(gone.stacks)


def _labelled(cmd: list[str]) -> list[tuple[str, str]]:
    """(name, run id) of every container (`ps -a`) or network (`network ls`) carrying
    the sandbox label (cc_ci/harness/sandbox/): tests containers, relays, run networks."""
    name = "{{.Names}}" if cmd[0] == "ps" else "{{.Name}}"
    out = dk.docker(
        *cmd,
        "--filter",
        f"label={SANDBOX_LABEL}",
        "--format",
        f'{name} {{{{.Label "{SANDBOX_LABEL}"}}}}',
        timeout=60,
    )
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if " " in line]


def _unmount_under(folder: Path) -> None:
    """Unmount (lazily) whatever is mounted below `folder`, deepest first."""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return
    base = str(folder.resolve()) + "/"
    # /proc/self/mounts escapes spaces and the like as octal; run work dirs have none
    points = [f.split(" ")[1] for f in lines if len(f.split(" ")) > 1]
    for point in sorted((p for p in points if p.startswith(base)), reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True, timeout=30)
