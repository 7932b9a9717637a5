"""Why an app did not converge or become healthy, in a line a maintainer can act on, and
which failures are the CI's rather than the recipe's.

When the wait for an app times out, `diagnose` reads each service that is not running as
asked: its newest task's state and error, and the health check Docker ran in its container
(`.State.Health` of `docker inspect`), e.g.
`app: unhealthy after 45 s — health check "false" failed 6 times (exit 1)`.
`describe_task` and `classify` are pure; `diagnose` runs the docker CLI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cc_ci.contract.record import ErrorClass
from cc_ci.harness.deploy import docker as dk

# What Docker says when the daemon or the swarm cannot be used: the CI host's trouble.
DOCKER_PATTERNS = (
    r"cannot connect to the docker daemon",
    r"is the docker daemon running",
    r"docker\.sock",
    r"this node is not a swarm manager",
    r"error during connect",
)
# What Docker says when an image cannot be had: not pulled, not found, rate-limited.
IMAGE_PATTERNS = (
    r"no such image",
    r"pull access denied",
    r"manifest unknown",
    r"manifest for .* not found",
    r"toomanyrequests",
    r"failed to resolve reference",
    r"repository does not exist",
    r"not found: manifest",
)
# A task the swarm cannot place anywhere: the node's trouble, not the recipe's.
UNPLACEABLE = (r"no suitable node", r"insufficient resources")


def _matches(patterns: Sequence[str], text: str) -> bool:
    low = text.lower()
    return any(re.search(p, low) for p in patterns)


def classify(text: str, exc: BaseException | None = None) -> ErrorClass | None:
    """The infrastructure class of an error message (docker, image, converge), or None when
    it reads as the recipe's own doing. A docker command of the harness's own that failed
    (`exc` a DockerError) is the daemon's trouble, whatever it said."""
    if _matches(IMAGE_PATTERNS, text) and not _matches(DOCKER_PATTERNS, text):
        return ErrorClass.IMAGE
    if isinstance(exc, dk.DockerError) or _matches(DOCKER_PATTERNS, text):
        return ErrorClass.DOCKER
    if _matches(UNPLACEABLE, text):
        return ErrorClass.CONVERGE
    return None


def check_command(healthcheck: Mapping[str, Any] | None) -> str:
    """The health check's command as the compose file wrote it: `["CMD-SHELL", "false"]` →
    `false`, `["CMD", "curl", "-f", "x"]` → `curl -f x`; empty when there is none."""
    test = list((healthcheck or {}).get("Test") or [])
    if not test or test[0] == "NONE":
        return ""
    if test[0] in ("CMD", "CMD-SHELL"):
        test = test[1:]
    return " ".join(str(t) for t in test)


def _last_output(log: Sequence[Mapping[str, Any]]) -> tuple[int | None, str]:
    if not log:
        return None, ""
    last = log[-1]
    out = " ".join(str(last.get("Output") or "").split())
    return last.get("ExitCode"), out[:160]


def describe_task(
    service: str,
    task: Mapping[str, Any],
    health: Mapping[str, Any] | None,
    healthcheck: Mapping[str, Any] | None,
    waited_s: float,
) -> str:
    """One line on a service that is not running as asked: its newest task (`docker inspect`
    of the task), the health of its container (`.State.Health`, or None) and the service's
    health check (`Spec.TaskTemplate.ContainerSpec.Healthcheck`)."""
    status = task.get("Status") or {}
    state = str(status.get("State") or "unknown")
    err = " ".join(str(status.get("Err") or "").split())
    after = f"after {waited_s:.0f} s"
    if health and health.get("Status") in ("unhealthy", "starting"):
        cmd = check_command(healthcheck)
        named = f'health check "{cmd}"' if cmd else "health check"
        code, out = _last_output(health.get("Log") or [])
        last = f"exit {code}" + (f": {out}" if out else "") if code is not None else "no result yet"
        if health.get("Status") == "unhealthy":
            streak = int(health.get("FailingStreak") or 0)
            times = f" {streak} time{'s' * (streak != 1)}" if streak else ""
            return f"{service}: unhealthy {after} — {named} failed{times} ({last})"
        return f"{service}: not healthy yet {after} — {named} has not passed ({last})"
    exit_code = (status.get("ContainerStatus") or {}).get("ExitCode")
    detail = err or str(status.get("Message") or "")
    code = f", exit {exit_code}" if exit_code not in (None, 0) else ""
    return f"{service}: task {state} {after}" + (f" — {detail}" if detail else "") + code


@dataclass(frozen=True, slots=True)
class Diagnosis:
    lines: tuple[str, ...]
    error_class: ErrorClass | None  # an infrastructure cause, or None (the recipe's)

    def message(self) -> str:
        return "; ".join(self.lines)


def diagnosis(lines: Sequence[str]) -> Diagnosis:
    """Lines on the services, classed by the first that names an infrastructure cause."""
    classes = [c for c in (classify(line) for line in lines) if c is not None]
    return Diagnosis(tuple(lines), classes[0] if classes else None)


# -- the shell --------------------------------------------------------------------------------


def _newest(tasks: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(tasks, key=lambda t: (t.get("Version") or {}).get("Index", 0), default=None)


def _json(*args: str) -> list[dict[str, Any]]:
    out = dk.docker(*args, check=False, timeout=30).strip()
    try:
        data = json.loads(out or "[]")
    except ValueError:
        return []
    return [d for d in data if isinstance(d, dict)]


def diagnose(stack: str, waited_s: float) -> Diagnosis:
    """What keeps each service of the stack that does not run all its replicas (or whose
    newest task is not healthy) from running, one line each."""
    lines: list[str] = []
    ids = dk.docker(
        "service", "ls", "-q", "--filter", f"label={dk.STACK_LABEL}={stack}", timeout=30
    ).split()
    for svc in _json("service", "inspect", *ids) if ids else []:
        spec = svc.get("Spec") or {}
        name = str(spec.get("Name", ""))
        short = name[len(stack) + 1 :] if name.startswith(f"{stack}_") else name
        task_ids = dk.docker("service", "ps", "-q", "--no-trunc", name, timeout=30).split()
        task = _newest(_json("inspect", *task_ids) if task_ids else [])
        if task is None:
            lines.append(f"{short}: no task after {waited_s:.0f} s")
            continue
        cid = ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID")
        health = None
        if cid:
            containers = _json("inspect", cid)
            health = ((containers[0].get("State") or {}).get("Health")) if containers else None
        state = (task.get("Status") or {}).get("State")
        if state == "running" and (health is None or health.get("Status") == "healthy"):
            continue
        hc = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Healthcheck")
        lines.append(describe_task(short, task, health, hc, waited_s))
    return diagnosis(lines)
