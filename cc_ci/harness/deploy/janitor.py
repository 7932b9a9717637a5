"""Live-run registration, and the janitor that removes what killed runs left behind.

Every run holds an exclusive lock on `<state>/live/<run-id>.lock` for its whole life and
lists, before each deployment, the app domain it is about to create. A SIGKILLed run loses
its lock with its process. The janitor then removes exactly the run apps whose run is gone:
apps of this zone's run-app shape (<recipe[:4]>-<6 hex>.<zone>) that no live run claims.
Nothing else the operator runs on the swarm is touched.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from cc_ci.contract.names import stack_name
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
        """Record a domain before it is deployed, so the janitor never takes it for an orphan."""
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


def _dead_runs(state_dir: Path) -> tuple[set[str], list[dict], set[str]]:
    """Domains claimed by live runs, the records of runs that died, and the live run ids."""
    live: set[str] = set()
    live_ids: set[str] = set()
    dead: list[dict] = []
    for info in sorted((state_dir / "live").glob("*.json")):
        lock = info.with_suffix(".lock")
        try:
            data = json.loads(info.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # being written by a live run right now
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            live.update(data.get("domains", []))
            live_ids.add(str(data.get("run_id")))
            continue
        finally:
            os.close(fd)
        dead.append({**data, "_info": str(info), "_lock": str(lock)})
    return live, dead, live_ids


def run_app_stack_re(zone: str) -> re.Pattern[str]:
    return re.compile(r"^([a-z0-9]{1,4}-[0-9a-f]{6})_" + re.escape(stack_name(zone)) + r"(?:_|$)")


def janitor(state_dir: Path, zone: str, log: LogSink) -> list[str]:
    """Remove every run app of `zone` that no live run claims; return what was removed."""
    live, dead, live_ids = _dead_runs(state_dir)
    for name, run_id in _sandbox_containers():
        if run_id not in live_ids:
            log.write(f"janitor: removing the tests container {name} of run {run_id}\n")
            dk.docker("rm", "--force", name, check=False, timeout=60)
    live_stacks = {stack_name(d) for d in live}
    pattern = run_app_stack_re(zone)
    names: set[str] = set()
    for kind in ("service", "volume", "secret", "config"):
        for line in dk.docker(kind, "ls", "--format", "{{.Name}}", timeout=60).split():
            m = pattern.match(line)
            if m:
                names.add(f"{m.group(1)}_{stack_name(zone)}")
    removed = []
    for stack in sorted(names - live_stacks):
        log.write(f"janitor: removing orphaned run app {stack}\n")
        remove_with_docker(stack)
        removed.append(stack)
    for run in dead:
        workdir = Path(run.get("workdir", ""))
        if workdir.is_dir() and (workdir / "abra").is_dir():
            shutil.rmtree(workdir, ignore_errors=True)
        for key in ("_info", "_lock"):
            Path(run[key]).unlink(missing_ok=True)
        log.write(f"janitor: cleared state of dead run {run.get('run_id')}\n")
    return removed


def _sandbox_containers() -> list[tuple[str, str]]:
    """(name, run id) of every recipe-tests container (cc_ci/harness/sandbox/container.py) on this host."""
    out = dk.docker(
        "ps",
        "-a",
        "--filter",
        f"label={SANDBOX_LABEL}",
        "--format",
        f'{{{{.Names}}}} {{{{.Label "{SANDBOX_LABEL}"}}}}',
        timeout=60,
    )
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if " " in line]
