"""Thin wrappers over the docker CLI: argument lists, timeouts, captured output."""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass

from cc_ci.harness import children
from cc_ci.harness.waiting import wait_for

STACK_LABEL = "com.docker.stack.namespace"
# What a stack can leave behind, with the `docker <kind> ls` that lists it.
RESOURCE_KINDS = ("service", "container", "volume", "network", "config", "secret")


class DockerError(RuntimeError):
    """A docker command failed."""


def docker(*args: str, check: bool = True, timeout: float = 120, input: str | None = None) -> str:
    """Run `docker ARGS…` and return stdout; raise DockerError naming the command on failure."""
    try:
        r = children.run(
            ["docker", *args], capture_output=True, text=True, timeout=timeout, input=input
        )
    except subprocess.TimeoutExpired as exc:
        raise DockerError(f"docker {' '.join(args[:3])} timed out after {timeout}s") from exc
    if check and r.returncode != 0:
        raise DockerError(f"docker {' '.join(args[:3])} failed: {r.stderr.strip()}")
    return r.stdout


@dataclass(frozen=True, slots=True)
class Resource:
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


def _ls(kind: str, filters: list[str]) -> list[str]:
    cmd = ["ps", "-a"] if kind == "container" else [kind, "ls"]
    fmt = "{{.Names}}" if kind == "container" else "{{.Name}}"
    args = [*cmd, *[x for f in filters for x in ("--filter", f)], "--format", fmt]
    return [line for line in docker(*args, timeout=60).split() if line]


def stack_resources(stack: str) -> list[Resource]:
    """Everything labelled as belonging to `stack`, of every kind a stack can create."""
    found = []
    for kind in RESOURCE_KINDS:
        found += [Resource(kind, n) for n in _ls(kind, [f"label={STACK_LABEL}={stack}"])]
    return found


def named_resources(prefix: str) -> list[Resource]:
    """Volumes, secrets and configs whose names start with `prefix` (labels can be lost)."""
    found = []
    for kind in ("volume", "secret", "config", "service"):
        found += [Resource(kind, n) for n in _ls(kind, [f"name={prefix}"]) if n.startswith(prefix)]
    return found


def remove_stack(stack: str, timeout: float = 90) -> list[Resource]:
    """Remove a stack and its volumes, wait until it is gone, return what still remains."""
    docker("stack", "rm", stack, check=False, timeout=60)
    with contextlib.suppress(TimeoutError):  # what remains is returned as leftovers
        wait_for(
            f"services and containers of stack {stack} to stop",
            lambda: not any(r.kind in ("service", "container") for r in stack_resources(stack)),
            timeout=timeout,
        )
    remove_volumes([r.name for r in stack_resources(stack) if r.kind == "volume"])
    return stack_resources(stack)


def remove_volumes(names: list[str], timeout: float = 30) -> None:
    """Remove volumes, retrying while a just-stopped container still holds one."""
    for name in names:

        def gone(n: str = name) -> bool:
            docker("volume", "rm", "-f", n, check=False, timeout=30)
            return n not in _ls("volume", [f"name={n}"])

        with contextlib.suppress(TimeoutError):  # the caller verifies and names what is left
            wait_for(f"volume {name} to be removed", gone, timeout=timeout)


def remove_networks(names: list[str], timeout: float = 60) -> None:
    """Remove networks, retrying while Docker still holds a just-removed container's endpoint."""
    for name in names:

        def gone(n: str = name) -> bool:
            docker("network", "rm", n, check=False, timeout=30)
            return not docker("network", "ls", "-q", "--filter", f"name=^{n}$", timeout=30).split()

        with contextlib.suppress(TimeoutError):  # the caller verifies and names what is left
            wait_for(f"network {name} to be removed", gone, timeout=timeout)


def image_exists(tag: str) -> bool:
    """True when the local daemon has an image of this tag."""
    r = children.run(
        ["docker", "image", "inspect", tag], capture_output=True, text=True, timeout=30
    )
    return r.returncode == 0
