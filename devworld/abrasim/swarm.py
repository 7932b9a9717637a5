"""The docker CLI, as abra-sim uses it: argument lists, timeouts, captured output."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from devworld.abrasim.layout import Fatal

STACK_LABEL = "com.docker.stack.namespace"
SERVICE_LABEL = "com.docker.swarm.service.name"
# abra-sim's own label on the secrets it generates, so `secret remove --all` finds them.
SIM_STACK_LABEL = "coop-cloud.abra-sim.stack"
BACKUPBOT_LABEL = "coop-cloud.backupbot.enabled=true"
# Variables the docker CLI itself needs when it runs with an app's environment.
_DOCKER_ENV = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT",
               "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION")  # fmt: skip


def docker(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
    timeout: float = 120,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `docker ARGS…`; with `check`, a failure is Fatal and quotes docker's stderr.

    `env`, when given, replaces the environment except for what the docker CLI needs, so
    compose interpolation sees the app's variables and nothing else (as in abra).
    """
    full_env = None
    if env is not None:
        full_env = {k: os.environ[k] for k in _DOCKER_ENV if k in os.environ} | dict(env)
    try:
        r = subprocess.run(
            ["docker", *args],
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
            env=full_env,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as exc:
        raise Fatal(f"docker {' '.join(args[:3])} timed out after {timeout:.0f}s") from exc
    if check and r.returncode != 0:
        raise Fatal(f"docker {' '.join(args[:3])} failed: {r.stderr.strip()}")
    return r


def lines(*args: str) -> list[str]:
    return [x for x in docker(*args).stdout.splitlines() if x.strip()]


def stack_services(stack: str) -> list[str]:
    return lines(
        "service", "ls", "--filter", f"label={STACK_LABEL}={stack}", "--format", "{{.Name}}"
    )


def is_deployed(stack: str) -> bool:
    return bool(stack_services(stack))


def stack_containers(stack: str) -> list[str]:
    return lines("ps", "-a", "--filter", f"label={STACK_LABEL}={stack}", "--format", "{{.Names}}")


def stack_networks(stack: str) -> list[str]:
    return lines(
        "network", "ls", "--filter", f"label={STACK_LABEL}={stack}", "--format", "{{.Name}}"
    )


def inspect(kind: str, names: list[str]) -> list[dict]:
    """`docker <kind> inspect` of several objects, as parsed JSON (empty list for none)."""
    if not names:
        return []
    return json.loads(docker(kind, "inspect", *names).stdout)


def service_replicas(stack: str) -> dict[str, str]:
    """Service name -> the `Replicas` column of `docker service ls` ("1/1")."""
    out = lines(
        "service", "ls", "--filter", f"label={STACK_LABEL}={stack}",
        "--format", "{{.Name}}\t{{.Replicas}}",
    )  # fmt: skip
    return dict(line.split("\t", 1) for line in out)


def secret_names() -> set[str]:
    return set(lines("secret", "ls", "--format", "{{.Name}}"))


def running_container(service: str) -> str | None:
    """ID of a running container of a swarm service, or None."""
    ids = lines(
        "ps", "--filter", f"label={SERVICE_LABEL}={service}", "--filter", "status=running",
        "--format", "{{.ID}}",
    )  # fmt: skip
    return ids[0] if ids else None


def task_errors(service: str) -> list[str]:
    """Recent non-empty task errors of a service (newest first), for a failure message."""
    r = docker("service", "ps", service, "--no-trunc", "--format", "{{.Error}}", check=False)
    return [e for e in r.stdout.splitlines() if e.strip()][:3]
