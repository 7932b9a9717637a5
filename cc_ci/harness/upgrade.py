"""Whether an upgrade took place: pure rules over what the swarm ran before and after.

The upgrade stage reads every service of the app from the swarm before it deploys the PR
head (what the previous release ran) and after (cc_ci/harness/deploy/swarm.py), and what the
head's compose files and env ask for (cc_ci/harness/deploy/spec.py). The upgrade is proved
when every service runs what the head asks for, no task of an old spec is still live, and
something changed; the record lists each service's changes `from → to`. A head that deploys
exactly what the previous release did proves nothing: the stage fails saying so.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cc_ci.contract.record import StageStatus
from cc_ci.harness.deploy.spec import WantedService
from cc_ci.harness.deploy.swarm import ServiceSpec, TaskSpec, live_tasks, read_stack, runs_spec
from cc_ci.harness.outcome import Outcome

SET = "set"
"""What an env change records for a value (values may be secrets: never recorded)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One thing an upgrade changed in a service; `None` on a side means it was absent."""

    kind: str  # image, config, secret, env, spec, service
    name: str  # the config's or secret's name without version, the env key, the spec path
    before: str | None
    after: str | None

    def line(self) -> str:
        what = self.kind if self.kind in ("image", "service") else f"{self.kind} {self.name}"
        return f"{what}: {self.before or '(none)'} → {self.after or '(none)'}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "from": self.before, "to": self.after}


@dataclass(frozen=True, slots=True)
class UpgradeProof:
    from_release: str
    from_repo: str | None
    to: str  # the head commit
    changes: Mapping[str, tuple[Change, ...]]  # by service, services in order
    mismatches: tuple[str, ...] = ()  # what runs that the head did not ask for
    stale: tuple[str, ...] = ()  # live tasks of an old spec

    @property
    def noop(self) -> bool:
        return not any(self.changes.values())

    @property
    def proved(self) -> bool:
        return not (self.noop or self.mismatches or self.stale)

    def message(self) -> str:
        """Why the upgrade is not proved; empty when it is."""
        if self.mismatches or self.stale:
            found = [*self.mismatches, *self.stale]
            more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
            return "the swarm does not run what the head asks for: " + "; ".join(found[:3]) + more
        if self.noop:
            return f"the head deploys exactly what {self.from_release} did: nothing was upgraded"
        return ""

    def to_details(self) -> dict[str, Any]:
        """The upgrade stage's `details` in the run record (docs/run-record.md)."""
        return {
            "from": self.from_release,
            "from_repo": self.from_repo,
            "to": self.to,
            "proved": self.proved,
            "services": [
                {"service": name, "changes": [c.to_json() for c in changes]}
                for name, changes in self.changes.items()
            ],
            "mismatches": list(self.mismatches),
            "stale_tasks": list(self.stale),
        }

    def lines(self) -> list[str]:
        """The stage log's account: one line per change."""
        out = [f"upgrade {self.from_release} → {self.to[:12]}:"]
        for name, changes in self.changes.items():
            out += [f"  {name}: {c.line()}" for c in changes] or [f"  {name}: unchanged"]
        out += [f"  NOT AS ASKED: {m}" for m in (*self.mismatches, *self.stale)]
        return out


def versionless(name: str) -> str:
    """A versioned config or secret name without its last `_<version>`:
    `st_nginx_conf_v7` → `st_nginx_conf`."""
    return name.rsplit("_", 1)[0] if "_" in name else name


def _strip_stack(name: str, stack: str) -> str:
    return name[len(stack) + 1 :] if name.startswith(f"{stack}_") else name


def _named(kind: str, before: Sequence[str], after: Sequence[str], stack: str) -> list[Change]:
    """Configs or secrets, paired by their name without version."""
    old = {versionless(n): n for n in before}
    new = {versionless(n): n for n in after}
    out = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) != new.get(key):
            out.append(Change(kind, _strip_stack(key, stack), old.get(key), new.get(key)))
    return out


def _env_changes(before: Mapping[str, str | None], after: Mapping[str, str | None]) -> list[Change]:
    out = []
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            out.append(Change("env", key, SET, None))
        elif key not in before:
            out.append(Change("env", key, None, SET))
        elif before[key] != after[key]:
            out.append(Change("env", key, SET, SET))
    return out


def service_changes(
    before: ServiceSpec | None, after: ServiceSpec | None, stack: str
) -> list[Change]:
    """What changed in one service from one spec to the other (None: the service is absent)."""
    if before is None or after is None:
        present = after or before
        assert present is not None
        return [Change("service", present.service, before and before.image, after and after.image)]
    out = []
    if before.image != after.image:
        out.append(Change("image", "", before.image, after.image))
    out += _named("config", before.configs, after.configs, stack)
    out += _named("secret", before.secrets, after.secrets, stack)
    out += _env_changes(before.env, after.env)
    for path in sorted(before.rest.keys() | after.rest.keys()):
        if before.rest.get(path) != after.rest.get(path):
            out.append(Change("spec", path, "changed" if path in before.rest else None,
                              "changed" if path in after.rest else None))  # fmt: skip
    return out


def mismatches(
    running: Mapping[str, ServiceSpec], wanted: Mapping[str, WantedService]
) -> list[str]:
    """Where what the swarm runs is not what the head asks for, one line each."""
    out = []
    for name, want in wanted.items():
        have = running.get(name)
        if have is None:
            out.append(f"{name}: the head defines it, the swarm runs no such service")
            continue
        if have.image != want.image:
            out.append(f"{name}: runs image {have.image}, the head asks for {want.image}")
        for kind, has, wants in (
            ("configs", have.configs, want.configs),
            ("secrets", have.secrets, want.secrets),
        ):
            if tuple(has) != tuple(wants):
                out.append(f"{name}: runs {kind} {', '.join(has) or '(none)'}, "
                           f"the head asks for {', '.join(wants) or '(none)'}")  # fmt: skip
        # a key the compose file names without a value, and the env does not set, is left
        # to the deploy tool (docker drops it or passes it bare): not compared
        keys = (have.env.keys() | want.env.keys()) - {k for k, v in want.env.items() if v is None}
        differ = sorted(k for k in keys if have.env.get(k, "\0") != want.env.get(k, "\0"))
        if differ:
            out.append(f"{name}: env {', '.join(differ)} not as the head asks")
    for name in running:
        if name not in wanted:
            out.append(f"{name}: still runs, the head defines no such service")
    return out


def stale_tasks(
    tasks: Iterable[TaskSpec], running: Mapping[str, ServiceSpec], stack: str
) -> list[str]:
    """Live tasks that run another spec than their service's current one."""
    out = []
    for t in tasks:
        spec = running.get(_strip_stack(t.service, stack))
        if t.live and spec is not None and not runs_spec(t, spec):
            out.append(f"{_strip_stack(t.service, stack)}: task {t.id[:12]} ({t.state}) "
                       f"still runs the old spec ({t.image})")  # fmt: skip
    return out


def prove(
    *,
    before: Mapping[str, ServiceSpec],
    after: Mapping[str, ServiceSpec],
    wanted: Mapping[str, WantedService],
    tasks: Iterable[TaskSpec],
    stack: str,
    from_release: str,
    from_repo: str | None,
    to: str,
) -> UpgradeProof:
    """The proof of an upgrade from what ran `before`, what runs `after` (with its live
    `tasks`) and what the head asks for (`wanted`)."""
    names = list(after) + [n for n in before if n not in after]
    changes = {n: tuple(service_changes(before.get(n), after.get(n), stack)) for n in names}
    return UpgradeProof(
        from_release=from_release,
        from_repo=from_repo,
        to=to,
        changes=changes,
        mismatches=tuple(mismatches(after, wanted)),
        stale=tuple(stale_tasks(tasks, after, stack)),
    )


def proof_outcome(proof: UpgradeProof) -> Outcome | None:
    """The upgrade stage's outcome when the proof fails it (a recipe's failure: the head did
    not change what runs, or the swarm does not run it); None when the upgrade is proved."""
    if proof.proved:
        return None
    return Outcome(StageStatus.FAILED, f"upgrade from {proof.from_release}: {proof.message()}")


# -- the shell: reading the swarm --------------------------------------------------------------


def observe_after(stack: str, timeout: float) -> tuple[dict[str, ServiceSpec], list[TaskSpec]]:
    """The stack's services and live tasks once no live task runs an old spec (swarm
    stops replaced tasks a moment after the new ones run), or as they are at `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        running = read_stack(stack)
        tasks = live_tasks(stack)
        if not stale_tasks(tasks, running, stack) or time.monotonic() >= deadline:
            return running, tasks
        time.sleep(1)
