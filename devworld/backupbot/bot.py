#!/usr/bin/python3
"""backupbot-standin: a STAND-IN for backup-bot-two's `backup` CLI, not backup-bot-two.

It runs inside the stand-in's container (devworld/backupbot/__init__.py builds and deploys
it) as /usr/bin/backup, the name real abra execs, and reads the Co-op Cloud backup label
contract (docs.coopcloud.tech/specs/backup/spec) from the services of one stack:

  backupbot.backup=true                      on exactly one service (more is an error)
  backupbot.backup.volumes.<vol>=false       leaves a volume out (all are backed up)
  backupbot.backup.volumes.<vol>.path=a,b    only these paths, relative to the volume root
  backupbot.backup.pre-hook / .post-hook     run in that service's running container
  backupbot.restore.pre-hook / .post-hook    the same around a restore

Real restic does the work, into $RESTIC_REPOSITORY with the password in
$RESTIC_PASSWORD_FILE (a swarm secret). What the stand-in cannot know of the real bot (other
labels, options, backing up every stack at once) it refuses, naming it, instead of guessing.

Standard library only: it runs on Debian's python3 with the docker CLI and restic.
"""

from __future__ import annotations

import json
import os
import posixpath
import subprocess
import sys
import time
from dataclasses import dataclass, field

NAME = "backupbot-standin"
STACK_LABEL = "com.docker.stack.namespace"
SERVICE_LABEL = "com.docker.swarm.service.name"
VOLUMES_ROOT = "/var/lib/docker/volumes"
TAG = "backupbot-standin"
ENABLE = "backupbot.backup"
HOOKS = {
    ("backup", "pre"): "backupbot.backup.pre-hook",
    ("backup", "post"): "backupbot.backup.post-hook",
    ("restore", "pre"): "backupbot.restore.pre-hook",
    ("restore", "post"): "backupbot.restore.post-hook",
}
VOLUME_PREFIX = "backupbot.backup.volumes."
# Environment abra (or an operator) may pass that the stand-in does not implement: refused
# unless unset or at the value that means "the default".
UNSUPPORTED_ENV = {
    "SNAPSHOT": ("", "latest"),
    "TARGET": ("", "/"),
    "VOLUMES": ("",),
    "CONTAINER": ("",),
    "NO_COMMANDS": ("", "false", "False", "0"),
    "INCLUDE_PATH": ("",),
}


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why, naming the label,
    hook or path."""


@dataclass(frozen=True, slots=True)
class Volume:
    name: str  # as the compose file names it
    source: str  # the docker volume, <stack>_<name>
    paths: tuple[str, ...]  # relative to the volume root; "" is the whole volume

    def host_paths(self) -> tuple[str, ...]:
        root = f"{VOLUMES_ROOT}/{self.source}/_data"
        return tuple(root if not p else f"{root}/{p}" for p in self.paths)


@dataclass(frozen=True, slots=True)
class Hook:
    service: str  # the swarm service, <stack>_<name>
    label: str
    command: str


@dataclass(frozen=True, slots=True)
class Plan:
    stack: str
    service: str  # the one service with backupbot.backup=true
    volumes: tuple[Volume, ...]
    hooks: dict[tuple[str, str], tuple[Hook, ...]] = field(default_factory=dict)

    def paths(self) -> tuple[str, ...]:
        return tuple(p for v in self.volumes for p in v.host_paths())


def stack_of(service_env: str) -> str:
    """SERVICE as abra passes it (the app's domain, or its stack name) → the stack name."""
    return service_env.strip().replace(".", "_")


def _relative(vol: str, raw: str) -> str:
    """A path label's entry as a clean path relative to the volume root ("" = all of it)."""
    if ".." in raw.strip().split("/") or "\x00" in raw:
        raise BackupError(f"{VOLUME_PREFIX}{vol}.path: {raw!r} leaves the volume")
    return posixpath.normpath("/" + raw.strip()).lstrip("/")


def plan(stack: str, services: list[dict]) -> Plan:
    """What backing up `stack` means, from its services' `docker service inspect` JSON.

    Pure: raises BackupError naming the label when the labels break the contract or use a
    label the stand-in does not know."""
    mine = [s for s in services if (s["Spec"].get("Labels") or {}).get(STACK_LABEL) == stack]
    if not mine:
        raise BackupError(f"no service of stack {stack} is deployed")
    enabled: list[str] = []
    volume_labels: dict[str, tuple[str, str]] = {}  # label → (value, service)
    hooks: dict[tuple[str, str], list[Hook]] = {k: [] for k in HOOKS}
    sources: dict[str, str] = {}
    for s in sorted(mine, key=lambda s: s["Spec"]["Name"]):
        name = s["Spec"]["Name"]
        labels = s["Spec"].get("Labels") or {}
        for key, value in sorted(labels.items()):
            if not key.startswith("backupbot."):
                continue
            if key == ENABLE:
                if value.strip().lower() == "true":
                    enabled.append(name)
                elif value.strip().lower() != "false":
                    raise BackupError(f"{key}={value!r} on {name}: the spec knows true or false")
            elif key in HOOKS.values():
                kind = next(k for k, v in HOOKS.items() if v == key)
                hooks[kind].append(Hook(name, key, value))
            elif key.startswith(VOLUME_PREFIX):
                other = volume_labels.get(key)
                if other and other[0] != value:
                    raise BackupError(
                        f"{key} is {other[0]!r} on {other[1]} and {value!r} on {name}: "
                        "the stand-in does not guess which one backup-bot-two would take"
                    )
                volume_labels[key] = (value, name)
            else:
                raise BackupError(
                    f"label {key} on {name} is not in the backup spec the stand-in follows; "
                    "it does not guess what the real backup-bot-two does with it"
                )
        spec = s["Spec"]["TaskTemplate"].get("ContainerSpec") or {}
        for m in spec.get("Mounts") or []:
            src = m.get("Source") or ""
            if m.get("Type", "volume") == "volume" and src.startswith(f"{stack}_"):
                sources[src.removeprefix(f"{stack}_")] = src
    if not enabled:
        raise BackupError(f"no service of {stack} has the label {ENABLE}=true: nothing to back up")
    if len(enabled) > 1:
        raise BackupError(
            f"{ENABLE}=true is set on {len(enabled)} services of {stack} "
            f"({', '.join(enabled)}); the backup spec allows it on exactly one"
        )
    for key in volume_labels:
        vol = key.removeprefix(VOLUME_PREFIX).removesuffix(".path")
        if vol not in sources:
            raise BackupError(f"{key} names a volume {vol!r} that no service of {stack} mounts")
        if not key.endswith(".path") and "." in vol:
            raise BackupError(f"label {key}: not a volume label the spec defines")
    volumes = []
    for vol, src in sorted(sources.items()):
        switch = volume_labels.get(f"{VOLUME_PREFIX}{vol}")
        if switch is not None:
            if switch[0].strip().lower() == "false":
                continue
            if switch[0].strip().lower() != "true":
                raise BackupError(f"{VOLUME_PREFIX}{vol}={switch[0]!r}: the spec knows false")
        raw = volume_labels.get(f"{VOLUME_PREFIX}{vol}.path")
        paths = tuple(dict.fromkeys(_relative(vol, p) for p in raw[0].split(","))) if raw else ("",)
        if "" in paths:
            paths = ("",)
        volumes.append(Volume(vol, src, paths))
    if not volumes:
        raise BackupError(f"every volume of {stack} is excluded: nothing to back up")
    return Plan(stack, enabled[0], tuple(volumes), {k: tuple(v) for k, v in hooks.items()})


# -- the shell: docker and restic -------------------------------------------------------------


def say(msg: str) -> None:
    print(f"{NAME}: {msg}", flush=True)


def run(argv: list[str], timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def docker_json(*args: str) -> list[dict]:
    r = run(["docker", *args], timeout=120)
    if r.returncode != 0:
        raise BackupError(f"docker {' '.join(args[:2])} failed: {r.stderr.strip()}")
    return json.loads(r.stdout or "[]")


def stack_services(stack: str) -> list[dict]:
    r = run(
        ["docker", "service", "ls", "-q", "--filter", f"label={STACK_LABEL}={stack}"], timeout=120
    )
    if r.returncode != 0:
        raise BackupError(f"docker service ls failed: {r.stderr.strip()}")
    ids = r.stdout.split()
    if not ids:
        raise BackupError(f"no service of stack {stack} is deployed")
    return docker_json("service", "inspect", *ids)


def running_container(service: str) -> str | None:
    r = run(
        ["docker", "ps", "-q", "--filter", f"label={SERVICE_LABEL}={service}", "--filter",
         "status=running"],
        timeout=60,
    )  # fmt: skip
    ids = r.stdout.split()
    return ids[0] if ids else None


def run_hook(hook: Hook) -> None:
    container = running_container(hook.service)
    if container is None:
        raise BackupError(
            f"{hook.label} {hook.command!r} of {hook.service}: the service has no running "
            "container (backup-bot-two gets a 409 from Docker here)"
        )
    say(f"{hook.label} in {hook.service}: {hook.command}")
    t0 = time.monotonic()
    r = run(["docker", "exec", container, "sh", "-c", hook.command])
    out = (r.stdout + r.stderr).strip()
    if out:
        print(out, flush=True)
    if r.returncode != 0:
        last = out.splitlines()[-1] if out else "no output"
        raise BackupError(
            f"{hook.label} {hook.command!r} in {hook.service} failed (exit {r.returncode}): {last}"
        )
    say(f"{hook.label} done in {time.monotonic() - t0:.2f}s")


def restic(*args: str) -> subprocess.CompletedProcess[str]:
    t0 = time.monotonic()
    r = run(["restic", *args])
    say(f"restic {args[0]} took {time.monotonic() - t0:.2f}s")
    if r.returncode != 0:
        raise BackupError(f"restic {args[0]} failed (exit {r.returncode}): {r.stderr.strip()}")
    return r


def ensure_repository() -> None:
    for var in ("RESTIC_REPOSITORY", "RESTIC_PASSWORD_FILE"):
        if not os.environ.get(var):
            raise BackupError(f"{var} is not set in the backupbot container")
    if not os.path.isfile(os.environ["RESTIC_PASSWORD_FILE"]):
        raise BackupError(f"the restic password {os.environ['RESTIC_PASSWORD_FILE']} is missing")
    if run(["restic", "--no-lock", "cat", "config"], timeout=120).returncode != 0:
        restic("init")
    # Locks left by a restic that died (the bot's container restarted mid-backup); a live
    # restic's lock stays, so two backups never write at once.
    restic("unlock")


def refuse_unsupported_env() -> None:
    for var, defaults in UNSUPPORTED_ENV.items():
        if os.environ.get(var, "") not in defaults:
            raise BackupError(
                f"{var}={os.environ[var]!r} is not implemented by the stand-in "
                f"(it only does what the default of backup-bot-two is documented to do)"
            )


def target_stack() -> str:
    service = os.environ.get("SERVICE", "")
    if not service:
        raise BackupError(
            "SERVICE is not set: backing up every stack at once is not implemented by the "
            "stand-in (abra passes SERVICE=<app domain>)"
        )
    return stack_of(service)


def cmd_create() -> None:
    stack = target_stack()
    p = plan(stack, stack_services(stack))
    ensure_repository()
    for hook in p.hooks[("backup", "pre")]:
        run_hook(hook)
    try:
        for v in p.volumes:
            for path in v.host_paths():
                if not os.path.exists(path):
                    label = f"{VOLUME_PREFIX}{v.name}.path"
                    raise BackupError(
                        f"{path} does not exist: {label} of {stack} names a path the volume "
                        f"{v.source} does not have (did a pre-hook fail to write it?)"
                    )
        r = restic("backup", "--json", "--tag", TAG, "--tag", f"stack={stack}", *p.paths())
        summary = next((json.loads(x) for x in r.stdout.splitlines() if '"summary"' in x), {})
        say(
            f"snapshot {summary.get('snapshot_id', '?')[:8]} of {stack}: "
            f"{summary.get('total_files_processed', '?')} files, "
            f"{summary.get('total_bytes_processed', '?')} bytes, paths {', '.join(p.paths())}"
        )
    finally:
        for hook in p.hooks[("backup", "post")]:
            run_hook(hook)


def latest_snapshot(stack: str) -> dict:
    r = restic("snapshots", "--json", "--tag", f"stack={stack}")
    snaps = json.loads(r.stdout or "[]") or []
    if not snaps:
        raise BackupError(f"no snapshot of {stack} in {os.environ['RESTIC_REPOSITORY']}")
    return max(snaps, key=lambda s: s["time"])


def cmd_restore() -> None:
    stack = target_stack()
    p = plan(stack, stack_services(stack))
    ensure_repository()
    snap = latest_snapshot(stack)
    for path in snap["paths"]:
        vol_dir = "/".join(path.split("/")[:7])  # /var/lib/docker/volumes/<source>/_data
        if not os.path.isdir(vol_dir):
            raise BackupError(f"volume directory {vol_dir} is missing: is {stack} deployed?")
    for hook in p.hooks[("restore", "pre")]:
        run_hook(hook)
    restic("restore", snap["id"], "--target", "/")
    say(f"restored snapshot {snap['short_id']} of {stack} ({snap['time']})")
    for hook in p.hooks[("restore", "post")]:
        run_hook(hook)


def cmd_snapshots() -> None:
    ensure_repository()
    service = os.environ.get("SERVICE", "")
    args = ["snapshots", "--json"] + (["--tag", f"stack={stack_of(service)}"] if service else [])
    for s in json.loads(restic(*args).stdout or "[]") or []:
        print(f"{s['short_id']} {s['time']} {' '.join(s['paths'])}")


def cmd_serve() -> None:
    """The container's main process: make the repository, then wait to be execed into."""
    import signal

    ensure_repository()
    say("ready (a stand-in for backup-bot-two, not backup-bot-two)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


COMMANDS = {
    "create": cmd_create,
    "restore": cmd_restore,
    "snapshots": cmd_snapshots,
    "serve": cmd_serve,
}


def main(argv: list[str]) -> int:
    args = [a for a in argv if a not in ("--noninteractive", "-n")]
    if args in ([], ["-h"], ["--help"]):
        print(f"usage: backup {{{','.join(COMMANDS)}}}  ({NAME}: a stand-in for backup-bot-two)")
        return 0 if args else 2
    if args[0] not in COMMANDS or len(args) > 1:
        print(f"{NAME}: ERROR `backup {' '.join(args)}` is not implemented by the stand-in "
              f"(it offers {', '.join(c for c in COMMANDS if c != 'serve')})", file=sys.stderr)  # fmt: skip
        return 2
    try:
        refuse_unsupported_env()
        COMMANDS[args[0]]()
    except BackupError as exc:
        print(f"{NAME}: ERROR {exc}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
