"""Commands that read state or act inside containers: server, app ls/ps/run, backup, restore."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devworld.abrasim import converge, swarm
from devworld.abrasim.argv import Invocation
from devworld.abrasim.layout import Fatal, all_apps, find_app, server_names, servers_dir
from devworld.abrasim.output import info

LOCAL_SERVER = "default"
NO_BACKUPBOT = "no backupbot service found on this server: deploy the backup-bot-two recipe first"


def server_add(root: Path, inv: Invocation) -> int:
    if not inv.flag("local") or inv.args:
        raise Fatal("abra-sim only implements `abra server add --local` (the local swarm)")
    d = servers_dir(root) / LOCAL_SERVER
    existed = d.is_dir()
    d.mkdir(parents=True, exist_ok=True)
    info(f"server {LOCAL_SERVER} {'already exists' if existed else 'added'} ({d})")
    return 0


def server_ls(root: Path, inv: Invocation) -> int:
    servers = [
        {"name": n, "host": "local" if n == LOCAL_SERVER else "unknown"} for n in server_names(root)
    ]
    if inv.flag("machine"):
        print(json.dumps(servers))
    else:
        for s in servers:
            print(f"{s['name']}\t{s['host']}")
    return 0


def _labels_by_stack() -> dict[str, dict[str, str]]:
    """Deploy labels of every stack's services, merged per stack."""
    names = swarm.lines(
        "service", "ls", "--filter", f"label={swarm.STACK_LABEL}", "--format", "{{.Name}}"
    )
    out: dict[str, dict[str, str]] = {}
    for obj in swarm.inspect("service", names):
        labels = obj["Spec"].get("Labels") or {}
        out.setdefault(labels.get(swarm.STACK_LABEL, ""), {}).update(labels)
    return out


def app_ls(root: Path, inv: Invocation) -> int:
    """Apps from the env files; with -S/--status also their state on the swarm. Without
    -S the status fields are empty, as abra only asks the server when told to."""
    server, recipe = inv.value("server"), inv.value("recipe")
    apps = [
        a for a in all_apps(root) if (not server or a.server == server) and (not recipe or a.recipe == recipe)
    ]  # fmt: skip
    deployed = _labels_by_stack() if inv.flag("status") else {}
    result: dict[str, dict] = {}
    for app in apps:
        entry = {
            "server": app.server, "recipe": app.recipe, "appName": app.name,
            "domain": app.domain, "status": "", "chaos": "", "chaosVersion": "",
            "version": "", "upgrade": "",
        }  # fmt: skip
        stats = result.setdefault(
            app.server,
            {"apps": [], "appCount": 0, "versionCount": 0, "unversionedCount": 0,
             "latestCount": 0, "upgradeCount": 0},
        )  # fmt: skip
        if inv.flag("status"):
            labels = deployed.get(app.stack)
            chaos_version = (labels or {}).get(f"coop-cloud.{app.stack}.chaos-version")
            version = (labels or {}).get(f"coop-cloud.{app.stack}.version")
            entry |= {
                "status": "deployed" if labels is not None else "undeployed",
                "chaos": "unknown" if labels is None else str(bool(chaos_version)).lower(),
                "chaosVersion": chaos_version or "unknown",
                "version": version or "unknown",
                "upgrade": "unknown",  # abra-sim has no catalogue to compare with
            }
            stats["versionCount" if version else "unversionedCount"] += 1
        stats["apps"].append(entry)
        stats["appCount"] += 1
    if inv.flag("machine"):
        print(json.dumps(result))
    else:
        for stats in result.values():
            for e in stats["apps"]:
                print("\t".join(e[k] for k in ("server", "recipe", "appName", "status", "version")))
    return 0


def app_ps(root: Path, inv: Invocation) -> int:
    app = find_app(root, inv.args[0])
    services = swarm.stack_services(app.stack)
    if not services:
        raise Fatal(f"{app.name} is not deployed")
    replicas = swarm.service_replicas(app.stack)
    rows = []
    for obj in swarm.inspect("service", services):
        spec = obj["Spec"]
        name = spec["Name"]
        running, desired = converge.parse_replicas(replicas.get(name, "0/0"))
        rows.append(
            {
                "service": name.removeprefix(f"{app.stack}_"),
                "name": name,
                "image": spec["TaskTemplate"]["ContainerSpec"]["Image"].split("@", 1)[0],
                "mode": next(iter(spec.get("Mode") or {"Replicated": None})).lower(),
                "replicas": replicas.get(name, ""),
                "running": running,
                "desired": desired,
            }
        )
    if inv.flag("machine"):
        print(json.dumps(rows))
    else:
        for r in rows:
            print(f"{r['service']}\t{r['replicas']}\t{r['image']}")
    return 0


def _exec(container: str, command: list[str], *, env: dict[str, str], user: str | None) -> int:
    """`docker exec` with the caller's stdin/stdout/stderr; returns the command's status."""
    args = ["docker", "exec"]
    if not sys.stdin.isatty():
        args.append("-i")
    if user:
        args += ["-u", user]
    for k, v in env.items():
        args += ["-e", f"{k}={v}"]
    sys.stdout.flush()
    return subprocess.run([*args, container, *command]).returncode


def app_run(root: Path, inv: Invocation) -> int:
    app = find_app(root, inv.args[0])
    service = f"{app.stack}_{inv.args[1]}"
    if not inv.rest:
        raise Fatal("no command given: abra app run <domain> <service> -- <command…>")
    container = swarm.running_container(service)
    if container is None:
        raise Fatal(f"no running container for service {inv.args[1]} of {app.name} ({service})")
    return _exec(container, list(inv.rest), env={}, user=inv.value("user"))


def _backupbot(root: Path, inv: Invocation, subcommand: str) -> int:
    """Run the backupbot's `backup <subcommand>` in its container, for this app: found by
    the label `coop-cloud.backupbot.enabled=true`, told the app by `SERVICE=<domain>` (as
    abra does, docs/abra-sim.md#backups). No snapshot, target or volume selection."""
    app = find_app(root, inv.args[0])
    bots = swarm.lines(
        "service", "ls", "--filter", f"label={swarm.BACKUPBOT_LABEL}", "--format", "{{.Name}}"
    )
    if not bots:
        raise Fatal(NO_BACKUPBOT)
    if len(bots) > 1:
        raise Fatal(f"more than one backupbot service on this server: {', '.join(bots)}")
    container = swarm.running_container(bots[0])
    if container is None:
        raise Fatal(f"backupbot service {bots[0]} has no running container")
    status = _exec(container, ["backup", subcommand], env={"SERVICE": app.name}, user=None)
    if status != 0:
        raise Fatal(f"`backup {subcommand}` in {bots[0]} exited with status {status}")
    return 0


def backup_create(root: Path, inv: Invocation) -> int:
    return _backupbot(root, inv, "create")


def backup_snapshots(root: Path, inv: Invocation) -> int:
    return _backupbot(root, inv, "snapshots")


def restore(root: Path, inv: Invocation) -> int:
    return _backupbot(root, inv, "restore")
