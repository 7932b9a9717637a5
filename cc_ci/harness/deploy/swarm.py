"""What a stack runs, read back from the swarm: each service's spec and its live tasks.

The upgrade stage reads the stack before and after it deploys the PR head
(cc_ci/harness/upgrade.py compares them). `service_spec` and `task_spec` are pure readings of
`docker service inspect` / `docker inspect` JSON; `read_stack` and `live_tasks` run the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cc_ci.harness.deploy import docker as dk

# Labels the deploy tool writes on every deploy (abra's version stamps) or that repeat the
# image (`docker stack deploy`): not part of what a release asks for.
STAMP_LABELS = ("com.docker.stack.image",)
STAMP_SUFFIXES = (".version", ".chaos-version", ".chaos")
# Fields swarm changes without the release asking (a forced redeploy bumps ForceUpdate).
IGNORED_TASK_FIELDS = ("ForceUpdate",)
# Live task states: a task in one of these runs (or is about to run) its spec.
LIVE_STATES = frozenset(
    {"new", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running"}
)


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One service as the swarm runs it: what a release decides about it."""

    service: str  # its name in the compose file (the swarm name without `<stack>_`)
    image: str  # normalized: no digest, no `docker.io/library/`
    configs: tuple[str, ...]  # swarm config names, e.g. `<stack>_nginx_conf_v7`, sorted
    secrets: tuple[str, ...]  # swarm secret names, e.g. `<stack>_db_password_v1`, sorted
    env: Mapping[str, str | None] = field(default_factory=dict)  # None: a key with no value
    rest: Mapping[str, str] = field(default_factory=dict)
    """Every other part of the spec, by path (`Labels`, `TaskTemplate.ContainerSpec.Command`,
    …), as canonical JSON: what tells a changed healthcheck or label from no change."""


def normalize_image(ref: str) -> str:
    """An image reference as a compose file would name it: no `@sha256:` digest (a deploy
    that resolves images adds one), no `docker.io/library/` or `docker.io/`, `:latest` when
    no tag is given."""
    name = ref.split("@", 1)[0]
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def env_map(entries: list[str] | None) -> dict[str, str | None]:
    """`["K=V", "K2"]` → `{"K": "V", "K2": None}`."""
    out: dict[str, str | None] = {}
    for entry in entries or []:
        key, sep, value = entry.partition("=")
        out[key] = value if sep else None
    return out


def _stamp(key: str, stack: str) -> bool:
    return key in STAMP_LABELS or (
        key.startswith(f"coop-cloud.{stack}.") and key.endswith(STAMP_SUFFIXES)
    )


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def service_spec(obj: Mapping[str, Any], stack: str) -> ServiceSpec:
    """A ServiceSpec from one object of `docker service inspect` (its `Spec`)."""
    spec = dict(obj.get("Spec") or {})
    name = str(spec.get("Name", ""))
    short = name[len(stack) + 1 :] if name.startswith(f"{stack}_") else name
    task = dict(spec.pop("TaskTemplate", None) or {})
    container = dict(task.pop("ContainerSpec", None) or {})
    for key in IGNORED_TASK_FIELDS:
        task.pop(key, None)
    image = normalize_image(str(container.pop("Image", "")))
    configs = tuple(
        sorted(str(c.get("ConfigName", "")) for c in container.pop("Configs", None) or [])
    )
    secrets = tuple(
        sorted(str(s.get("SecretName", "")) for s in container.pop("Secrets", None) or [])
    )
    env = env_map(container.pop("Env", None))
    labels = {k: v for k, v in (spec.pop("Labels", None) or {}).items() if not _stamp(k, stack)}
    spec.pop("Name", None)
    rest = {"Labels": _canon(labels)}
    rest |= {key: _canon(value) for key, value in spec.items()}
    rest |= {f"TaskTemplate.{key}": _canon(value) for key, value in task.items()}
    rest |= {f"TaskTemplate.ContainerSpec.{key}": _canon(v) for key, v in container.items()}
    return ServiceSpec(short, image, configs, secrets, env, rest)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One task of a service: which spec it runs and in which state."""

    id: str
    service: str  # the swarm service name
    state: str  # Status.State: running, shutdown, failed, …
    desired: str  # DesiredState
    image: str
    configs: tuple[str, ...]
    secrets: tuple[str, ...]
    env: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES


def task_spec(obj: Mapping[str, Any], service: str) -> TaskSpec:
    """A TaskSpec from one object of `docker inspect <task id>`."""
    container = (obj.get("Spec") or {}).get("ContainerSpec") or {}
    return TaskSpec(
        id=str(obj.get("ID", "")),
        service=service,
        state=str((obj.get("Status") or {}).get("State", "")),
        desired=str(obj.get("DesiredState", "")),
        image=normalize_image(str(container.get("Image", ""))),
        configs=tuple(sorted(str(c.get("ConfigName", "")) for c in container.get("Configs") or [])),
        secrets=tuple(sorted(str(s.get("SecretName", "")) for s in container.get("Secrets") or [])),
        env=env_map(container.get("Env")),
    )


def runs_spec(task: TaskSpec, spec: ServiceSpec) -> bool:
    """Whether a task runs the image, configs, secrets and env of a service spec."""
    return (task.image, task.configs, task.secrets, dict(task.env)) == (
        spec.image,
        spec.configs,
        spec.secrets,
        dict(spec.env),
    )


# -- the shell: the docker CLI ----------------------------------------------------------------


def _inspect(*ids: str) -> list[dict[str, Any]]:
    if not ids:
        return []
    data = json.loads(dk.docker("inspect", *ids, timeout=60) or "[]")
    return [d for d in data if isinstance(d, dict)]


def stack_service_ids(stack: str) -> list[str]:
    out = dk.docker(
        "service", "ls", "-q", "--filter", f"label={dk.STACK_LABEL}={stack}", timeout=30
    )
    return out.split()


def read_stack(stack: str) -> dict[str, ServiceSpec]:
    """Every service of the stack as the swarm runs it now, by its compose name."""
    ids = stack_service_ids(stack)
    if not ids:
        return {}
    data = json.loads(dk.docker("service", "inspect", *ids, timeout=60) or "[]")
    specs = [service_spec(obj, stack) for obj in data if isinstance(obj, dict)]
    return {s.service: s for s in specs}


def live_tasks(stack: str) -> list[TaskSpec]:
    """Every task of the stack's services that is running or about to run."""
    out: list[TaskSpec] = []
    for sid in stack_service_ids(stack):
        name = dk.docker("service", "inspect", "--format", "{{.Spec.Name}}", sid, timeout=30)
        ids = dk.docker("service", "ps", "-q", "--no-trunc", sid, timeout=30).split()
        out += [t for t in (task_spec(o, name.strip()) for o in _inspect(*ids)) if t.live]
    return out
