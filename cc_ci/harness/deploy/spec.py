"""What a recipe checkout asks the swarm to run, for an app env: per service its image, its
config and secret names (abra's versioned names) and its environment.

abra interpolates the compose files named by `COMPOSE_FILE` with the app's env file, the
`export`s of the recipe's `abra.sh` on top (config versions such as
`export NGINX_CONF_VERSION=v7`) and `STACK_NAME`; configs and secrets are named by their
`name:` (`${STACK_NAME}_nginx_conf_${NGINX_CONF_VERSION}`), else `<stack>_<key>` (or the key
itself when external). The merge and the interpolation are left to the docker CLI
(`docker stack config`, the same compose loader `docker stack deploy` uses), run with that
env and nothing of the runner's; `wanted_services` reads its output (pure).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cc_ci.contract.envfile import values
from cc_ci.harness import children
from cc_ci.harness.deploy.swarm import normalize_image
from cc_ci.harness.policy.env import parse_env
from cc_ci.harness.policy.gate import compose_files

# What of the runner's environment the docker CLI needs to reach the daemon.
DOCKER_ENV = ("HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT")


class SpecError(RuntimeError):
    """The recipe's compose files could not be read as docker would deploy them."""


@dataclass(frozen=True, slots=True)
class WantedService:
    """What the compose files ask of one service."""

    service: str
    image: str  # normalized (cc_ci.harness.deploy.swarm.normalize_image)
    configs: tuple[str, ...]  # swarm config names, sorted
    secrets: tuple[str, ...]  # swarm secret names, sorted
    env: Mapping[str, str | None] = field(default_factory=dict)


def abra_sh_exports(text: str) -> dict[str, str]:
    """The `export X=Y` lines of an abra.sh (functions and other lines are not read)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.lstrip().startswith("export "):
            out.update(values(line))
    return out


def deploy_env(env_text: str, abra_sh: str, stack: str) -> dict[str, str]:
    """The variables a deploy interpolates with: the app env, abra.sh's exports over it,
    and STACK_NAME."""
    return {**parse_env(env_text), **abra_sh_exports(abra_sh), "STACK_NAME": stack}


def _names(section: Mapping[str, Any] | None, stack: str) -> dict[str, str]:
    """Top-level configs or secrets: compose key → the name the swarm gives it."""
    out: dict[str, str] = {}
    for key, spec in (section or {}).items():
        spec = spec or {}
        ext = spec.get("external")
        name = spec.get("name") or (ext.get("name") if isinstance(ext, Mapping) else None)
        out[key] = str(name) if name else (key if ext else f"{stack}_{key}")
    return out


def _refs(items: Any, names: Mapping[str, str]) -> tuple[str, ...]:
    out = []
    for item in items or []:
        source = item.get("source") if isinstance(item, Mapping) else item
        out.append(names.get(str(source), str(source)))
    return tuple(sorted(out))


def _env(value: Any) -> dict[str, str | None]:
    if isinstance(value, Mapping):
        return {str(k): None if v is None else str(v) for k, v in value.items()}
    out: dict[str, str | None] = {}
    for entry in value or []:
        key, sep, val = str(entry).partition("=")
        out[key] = val if sep else None
    return out


def wanted_services(config: Mapping[str, Any], stack: str) -> dict[str, WantedService]:
    """Per service, what a merged, interpolated compose config (`docker stack config`'s
    output, parsed) asks the swarm to run."""
    configs = _names(config.get("configs"), stack)
    secrets = _names(config.get("secrets"), stack)
    out: dict[str, WantedService] = {}
    for name, svc in (config.get("services") or {}).items():
        svc = svc or {}
        out[name] = WantedService(
            service=name,
            image=normalize_image(str(svc.get("image", ""))),
            configs=_refs(svc.get("configs"), configs),
            secrets=_refs(svc.get("secrets"), secrets),
            env=_env(svc.get("environment")),
        )
    return out


def stack_config(recipe_dir: Path, env: Mapping[str, str], timeout: float = 60) -> dict[str, Any]:
    """`docker stack config` over the compose files `env` names, interpolated with `env`
    alone (the runner's own variables never reach the compose files)."""
    files = compose_files(recipe_dir, env)
    docker = shutil.which("docker")
    if docker is None:
        raise SpecError("no docker CLI on PATH")
    run_env = {k: os.environ[k] for k in DOCKER_ENV if k in os.environ}
    args = [docker, "stack", "config", *[x for f in files for x in ("-c", str(f))]]
    try:
        r = children.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=recipe_dir,
            env={**dict(env), **run_env},
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise SpecError(f"docker stack config timed out after {timeout:.0f}s") from exc
    if r.returncode != 0:
        raise SpecError(f"docker stack config failed: {r.stderr.strip()[-300:]}")
    data = yaml.safe_load(r.stdout)
    if not isinstance(data, dict):
        raise SpecError("docker stack config printed no compose config")
    return data


def wanted(recipe_dir: Path, env_file: Path, stack: str) -> dict[str, WantedService]:
    """What the checkout at `recipe_dir` asks to run for the app whose env is `env_file`."""
    abra_sh = recipe_dir / "abra.sh"
    text = abra_sh.read_text(encoding="utf-8") if abra_sh.is_file() else ""
    env = deploy_env(env_file.read_text(encoding="utf-8"), text, stack)
    return wanted_services(stack_config(recipe_dir, env), stack)
