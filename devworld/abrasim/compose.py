"""A recipe's merged compose config, as `docker stack config` prints it: pure operations.

abra interpolates and merges the files named by COMPOSE_FILE itself; abra-sim lets the
docker CLI do that (`docker stack config -c f1 -c f2`, with the app's variables as its
environment), then inspects and labels the result here before deploying it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_COMPOSE_FILE = "compose.yml"
MAIN_SERVICE = "app"  # abra puts its version labels on the service named `app`


@dataclass(frozen=True, slots=True)
class NamedResource:
    kind: str  # "secret", "config" or "service"
    key: str  # its key in the compose file
    name: str  # the name it gets on the swarm
    external: bool = False


def compose_files(env: Mapping[str, str]) -> list[str]:
    """The files COMPOSE_FILE names (colon-separated), `compose.yml` when unset."""
    raw = env.get("COMPOSE_FILE") or DEFAULT_COMPOSE_FILE
    return [f for f in raw.split(":") if f]


def _is_external(spec: Mapping[str, Any]) -> bool:
    ext = spec.get("external")
    return bool(ext) if not isinstance(ext, Mapping) else True


def resources(config: Mapping[str, Any], stack: str) -> list[NamedResource]:
    """Secrets, configs and services with the names Swarm will give them."""
    out: list[NamedResource] = []
    for kind, section in (("secret", "secrets"), ("config", "configs")):
        for key, spec in (config.get(section) or {}).items():
            spec = spec or {}
            ext = spec.get("external")
            name = spec.get("name") or (ext.get("name") if isinstance(ext, Mapping) else None)
            if not name:
                name = key if _is_external(spec) else f"{stack}_{key}"
            out.append(NamedResource(kind, key, name, _is_external(spec)))
    for key in config.get("services") or {}:
        out.append(NamedResource("service", key, f"{stack}_{key}"))
    return out


def with_labels(
    config: Mapping[str, Any], service: str, labels: Mapping[str, str]
) -> dict[str, Any]:
    """A copy of the config with deploy labels added to one service (list or map form)."""
    out = copy.deepcopy(dict(config))
    deploy = out["services"][service].setdefault("deploy", {}) or {}
    out["services"][service]["deploy"] = deploy
    existing = deploy.get("labels") or {}
    if isinstance(existing, list):
        existing = dict(item.split("=", 1) if "=" in item else (item, "") for item in existing)
    deploy["labels"] = {**existing, **labels}
    return out


def escape_dollars(value: Any) -> Any:
    """Escape `$` in every string value, so deploying the already-interpolated config
    does not interpolate it a second time (compose reads `$$` as a literal `$`)."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [escape_dollars(v) for v in value]
    if isinstance(value, dict):
        return {k: escape_dollars(v) for k, v in value.items()}
    return value
