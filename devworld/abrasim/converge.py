"""Has a deployed stack converged? A pure verdict over what `docker service inspect` says.

A service has converged when as many tasks run as are desired and, if this deploy changed
its task template (so Swarm starts a rolling update), that update has completed. An update
that Swarm paused or rolled back is a failure at once, as in abra's converge checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

FAILED_UPDATE_STATES = frozenset({"paused", "rollback_started", "rollback_paused", "rollback_completed"})  # fmt: skip
_REPLICAS = re.compile(r"^(\d+)/(\d+)")
_COMPLETED_JOB = re.compile(r"\((\d+)/(\d+) completed\)")


@dataclass(frozen=True, slots=True)
class ServiceState:
    name: str
    running: int
    desired: int
    update_state: str | None  # UpdateStatus.State of an update started by this deploy
    expects_update: bool  # this deploy changed the task template of an existing service


@dataclass(frozen=True, slots=True)
class Verdict:
    failed: tuple[str, ...]  # services whose update Swarm paused or rolled back
    waiting: tuple[str, ...]  # services not there yet

    @property
    def converged(self) -> bool:
        return not self.failed and not self.waiting


def parse_time(text: str | None) -> datetime | None:
    """A Docker RFC 3339 timestamp (nanoseconds allowed) as an aware datetime."""
    if not text:
        return None
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if not m:
        return None
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.fromisoformat(f"{m.group(1)}.{frac}{tz}").astimezone(UTC)


def parse_replicas(text: str) -> tuple[int, int]:
    """(running, desired) from `docker service ls` Replicas: "1/1", "0/1 (1/1 completed)"."""
    job = _COMPLETED_JOB.search(text)
    if job:
        return int(job.group(1)), int(job.group(2))
    m = _REPLICAS.match(text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else (0, 1)


def service_state(inspected: dict, replicas: str, since: datetime) -> ServiceState:
    """Reduce one `docker service inspect` object and its Replicas column to a ServiceState."""
    spec = inspected.get("Spec", {})
    previous = inspected.get("PreviousSpec")
    updated_at = parse_time(inspected.get("UpdatedAt"))
    changed_now = updated_at is not None and updated_at >= since
    expects_update = bool(
        previous and changed_now and previous.get("TaskTemplate") != spec.get("TaskTemplate")
    )
    status = inspected.get("UpdateStatus") or {}
    started = parse_time(status.get("StartedAt"))
    update_state = status.get("State") if started is not None and started >= since else None
    running, desired = parse_replicas(replicas)
    return ServiceState(spec.get("Name", "?"), running, desired, update_state, expects_update)


def verdict(states: list[ServiceState]) -> Verdict:
    failed, waiting = [], []
    for s in states:
        if s.update_state in FAILED_UPDATE_STATES:
            failed.append(s.name)
        elif (s.expects_update and s.update_state != "completed") or s.running != s.desired:
            waiting.append(s.name)
    return Verdict(tuple(failed), tuple(waiting))
