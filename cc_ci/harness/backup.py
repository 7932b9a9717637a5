"""The backup stage's own check: after restore, a snapshot of this run holds the labelled paths.

The recipe's suite proves the data came back; this proves the backup itself was what the
labels promise, so a path label that misses the data or a pre-hook that dumps nothing is
named here rather than found out on a server the day a restore is needed.

The backupbot is found as abra finds it (a service labelled
`coop-cloud.backupbot.enabled=true`), and its restic repository is read with `restic` in
its container, using the container's own RESTIC_REPOSITORY and RESTIC_PASSWORD_FILE: both
backup-bot-two (UNCONFIRMED: docs/backupbot-standin.md) and cc-ci's stand-in set them.
Volumes are backed up at /var/lib/docker/volumes/<stack>_<volume>/_data/<path>.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cc_ci.contract.record import StageStatus
from cc_ci.harness.deploy.abra import LogSink
from cc_ci.harness.deploy.docker import STACK_LABEL, DockerError, docker
from cc_ci.harness.outcome import Outcome

BOT_LABEL = "coop-cloud.backupbot.enabled=true"
VOLUMES = "/var/lib/docker/volumes"
VOL = "backupbot.backup.volumes."
PRE_HOOK = "backupbot.backup.pre-hook"


class BackupCheckError(RuntimeError):
    """The repository could not be read (no backupbot, restic refused): cc-ci's side."""


@dataclass(frozen=True, slots=True)
class Expected:
    """One path the labels say a backup holds."""

    volume: str
    path: str  # relative to the volume root, "" for all of it
    label: str  # the label that asked for it ("" when no path label: the whole volume)

    def absolute(self, stack: str) -> str:
        root = f"{VOLUMES}/{stack}_{self.volume}/_data"
        return f"{root}/{self.path}" if self.path else root


def expected_paths(stack: str, services: list[dict]) -> tuple[tuple[Expected, ...], list[str]]:
    """The paths a backup of `stack` must hold, read from its services' inspect JSON as the
    spec reads them, and the pre-hooks that produce them (for the message when one is empty)."""
    labels: dict[str, str] = {}
    volumes: set[str] = set()
    for s in services:
        spec = s["Spec"]
        labels |= {k: v for k, v in (spec.get("Labels") or {}).items() if k.startswith(VOL)}
        labels |= {
            f"{PRE_HOOK} ({spec['Name']})": v
            for k, v in (spec.get("Labels") or {}).items()
            if k == PRE_HOOK
        }
        for m in (spec["TaskTemplate"].get("ContainerSpec") or {}).get("Mounts") or []:
            if m.get("Type", "volume") == "volume" and m.get("Source", "").startswith(f"{stack}_"):
                volumes.add(m["Source"].removeprefix(f"{stack}_"))
    out: list[Expected] = []
    for vol in sorted(volumes):
        if labels.get(f"{VOL}{vol}", "").strip().lower() == "false":
            continue
        label = f"{VOL}{vol}.path"
        raw = [p for p in labels.get(label, "").split(",") if p.strip()]
        rel = [posixpath.normpath("/" + p.strip()).lstrip("/") for p in raw]
        if not rel or "" in rel:
            out.append(Expected(vol, "", label if raw else ""))
        else:
            out += [Expected(vol, p, label) for p in dict.fromkeys(rel)]
    hooks = [
        f"{k.removeprefix(PRE_HOOK).strip()} `{v}`"
        for k, v in labels.items()
        if k.startswith(PRE_HOOK)
    ]
    return tuple(out), hooks  # fmt: skip


def problems(
    stack: str, expected: tuple[Expected, ...], nodes: list[dict], hooks: list[str]
) -> list[str]:
    """What a snapshot's `restic ls --json` nodes lack of the expected paths: a path it does
    not hold, or a labelled file that is empty (a dump that dumped nothing). Pure."""
    by_path = {n["path"]: n for n in nodes if n.get("struct_type", "node") == "node"}
    found = []
    for e in expected:
        where = f"{e.volume}:{e.path or '/'}" + (f" ({e.label})" if e.label else "")
        node = by_path.get(e.absolute(stack))
        if node is None:
            found.append(f"the snapshot lacks {where}")
        elif node.get("type") == "file" and not node.get("size"):
            made_by = f"; did the pre-hook {' or '.join(hooks)} dump anything?" if hooks else ""
            found.append(f"{where} is empty in the snapshot{made_by}")
        # an empty labelled directory is no problem: an app may have no uploads yet
    return found


def newest_snapshot(stack: str, snapshots: list[dict], since: datetime) -> dict | None:
    """The newest snapshot of `stack`'s volumes taken at or after `since` (pure)."""
    prefix = f"{VOLUMES}/{stack}_"
    mine = [
        s
        for s in snapshots
        if s.get("paths")
        and all(p.startswith(prefix) for p in s["paths"])
        and _time(s["time"]) >= since
    ]
    return max(mine, key=lambda s: _time(s["time"]), default=None)


def _time(text: str) -> datetime:
    # restic writes nanoseconds and an offset: 2026-12-01T23:40:01.123456789+00:00
    head, _, rest = text.partition(".")
    tz = rest[rest.find("+") :] if "+" in rest else (rest[rest.find("-") :] if "-" in rest else "Z")
    frac = rest[: len(rest) - len(tz)] if rest else ""
    t = datetime.fromisoformat(head + (f".{frac[:6]}" if frac else "") + tz.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def now() -> datetime:
    """The moment before `backup create`, less a second of clock granularity."""
    return datetime.now(UTC) - timedelta(seconds=1)


def bot_container() -> tuple[str, str]:
    """(service, running container) of the backupbot abra would use."""
    bots = docker("service", "ls", "--filter", f"label={BOT_LABEL}", "--format", "{{.Name}}")
    names = bots.split()
    if not names:
        raise BackupCheckError("no backupbot service on the swarm to read snapshots from")
    ids = docker(
        "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={names[0]}",
        "--filter", "status=running", timeout=60,
    ).split()  # fmt: skip
    if not ids:
        raise BackupCheckError(f"backupbot service {names[0]} has no running container")
    return names[0], ids[0]


def _restic(container: str, *args: str) -> str:
    try:
        return docker("exec", container, "restic", "--no-lock", *args, "--json", timeout=600)
    except DockerError as exc:
        raise BackupCheckError(f"reading the backupbot's restic repository: {exc}") from exc


def check(stack: str, since: datetime, log: LogSink) -> tuple[dict, list[str]]:
    """(details for the stage's record, problems) of this run's snapshot of `stack`; what it
    found goes to the stage's log too."""
    details, found = _check(stack, since)
    if "snapshot" in details:
        log.write(
            f"backup check: snapshot {details['snapshot']} of {stack} in {details['backupbot']}:"
            f" {details['files']} files, {details['bytes']} bytes;"
            f" labelled paths {', '.join(details['paths'])}\n"
        )
    for p in found:
        log.write(f"backup check: {p}\n")
    return details, found


def _check(stack: str, since: datetime) -> tuple[dict, list[str]]:
    service, container = bot_container()
    snaps = json.loads(_restic(container, "snapshots") or "[]") or []
    snap = newest_snapshot(stack, snaps, since)
    details: dict = {"backupbot": service}
    if snap is None:
        return details, [f"no snapshot of {stack} taken since {since:%H:%M:%S} UTC in {service}"]
    ids = docker("service", "ls", "-q", "--filter", f"label={STACK_LABEL}={stack}").split()
    services = json.loads(docker("service", "inspect", *ids)) if ids else []
    expected, hooks = expected_paths(stack, services)
    nodes = [json.loads(line) for line in _restic(container, "ls", snap["id"]).splitlines() if line]
    details |= {
        "snapshot": snap.get("short_id", snap["id"][:8]),
        "snapshot_time": snap["time"],
        "paths": [e.absolute(stack) for e in expected],
        "files": sum(1 for n in nodes if n.get("type") == "file"),
        "bytes": sum(n.get("size") or 0 for n in nodes if n.get("type") == "file"),
    }
    return details, problems(stack, expected, nodes, hooks)


def failed(found: list[str]) -> Outcome:
    """The backup stage's outcome when the snapshot check found problems: the recipe's."""
    return Outcome(StageStatus.FAILED, "backup: " + "; ".join(found))
