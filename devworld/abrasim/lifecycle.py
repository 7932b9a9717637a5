"""Commands that change an app: new, deploy, upgrade, undeploy, remove, secrets, volumes."""

from __future__ import annotations

import json
import os
import secrets
import string
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from devworld.abrasim import compose, converge, envfile, recipe, swarm
from devworld.abrasim.argv import Invocation
from devworld.abrasim.layout import (
    MAX_SERVICE_NAME,
    App,
    Fatal,
    all_apps,
    check_docker_name,
    find_app,
    require_recipe,
    servers_dir,
)
from devworld.abrasim.output import info, warn

DEFAULT_CONVERGE_TIMEOUT = 300.0
UNDEPLOY_TIMEOUT = 120.0
_ALPHABET = string.ascii_letters + string.digits


def converge_timeout() -> float:
    raw = os.environ.get("ABRA_SIM_CONVERGE_TIMEOUT", "")
    try:
        return float(raw) if raw else DEFAULT_CONVERGE_TIMEOUT
    except ValueError as exc:
        raise Fatal(f"ABRA_SIM_CONVERGE_TIMEOUT={raw!r} is not a number of seconds") from exc


# --- secrets ---------------------------------------------------------------------------


def _generate_secrets(app: App, only_missing: bool) -> list[tuple[str, str]]:
    """Create the app's secrets with random values; return (name, value) of those created."""
    specs = app.secrets
    for spec in specs:
        check_docker_name("secret", spec.docker_name(app.stack))
    present = swarm.secret_names() if only_missing else set()
    created = []
    for spec in specs:
        name = spec.docker_name(app.stack)
        if name in present:
            continue
        value = "".join(secrets.choice(_ALPHABET) for _ in range(spec.length))
        swarm.docker(
            "secret", "create", "--label", f"{swarm.SIM_STACK_LABEL}={app.stack}", name, "-",
            input=value,
        )  # fmt: skip
        created.append((spec.name, value))
    return created


def _print_generated(created: list[tuple[str, str]], machine: bool) -> None:
    """Print the generated values, as abra does (the only time they can be seen): a table,
    or with -m JSON rows `{"name", "value"}` (the row's keys are abra-sim's: unconfirmed)."""
    if machine:
        print(json.dumps([{"name": n, "value": v} for n, v in created]))
        return
    for name, value in created:
        print(f"{name}\t{value}")
    if created:
        warn("these generated secrets are shown only this once: keep them somewhere safe")


def _app_secrets(app: App) -> list[str]:
    """The app's secrets on the swarm: labelled by abra-sim, or named `<stack>_<name>_…`
    for a secret the env file lists (so secrets inserted by other means are found too)."""
    prefixes = tuple(f"{app.stack}_{s.name}_" for s in app.secrets)
    found = []
    for obj in swarm.inspect("secret", sorted(swarm.secret_names())):
        name = obj["Spec"]["Name"]
        labels = obj["Spec"].get("Labels") or {}
        if labels.get(swarm.SIM_STACK_LABEL) == app.stack or (
            prefixes and name.startswith(prefixes)
        ):
            found.append(name)
    return found


def secret_generate(root: Path, inv: Invocation) -> int:
    if not inv.flag("all"):
        raise Fatal("abra-sim only implements `app secret generate <domain> --all`")
    app = find_app(root, inv.args[0])
    created = _generate_secrets(app, only_missing=True)
    info(f"generated secrets: {', '.join(n for n, _ in created) or 'none (all present)'}")
    _print_generated(created, inv.flag("machine"))
    return 0


def secret_remove(root: Path, inv: Invocation) -> int:
    if not inv.flag("all"):
        raise Fatal("abra-sim only implements `app secret remove <domain> --all`")
    app = find_app(root, inv.args[0])
    names = _app_secrets(app)
    if names:
        swarm.docker("secret", "rm", *names)
    info(f"removed secrets: {', '.join(names) or 'none'}")
    return 0


# --- new / remove ----------------------------------------------------------------------


def new(root: Path, inv: Invocation) -> int:
    recipe_name = inv.args[0]
    if len(inv.args) > 1:
        raise Fatal(
            f"abra-sim does not check out recipe versions (asked for {inv.args[1]}): check out "
            f"the version in $ABRA_DIR/recipes/{recipe_name} yourself and run `app new -C`"
        )
    server, domain = inv.value("server"), inv.value("domain")
    if not server:
        raise Fatal("no server provided (-s/--server)")
    if not domain:
        raise Fatal("no domain provided (-D/--domain)")
    if not (servers_dir(root) / server).is_dir():
        raise Fatal(f"server {server} does not exist: run `abra server add` first")
    env_path = servers_dir(root) / server / f"{domain}.env"
    if env_path.exists() or any(a.name == domain for a in all_apps(root)):
        raise Fatal(f"{domain} already exists ({env_path})")
    sample = require_recipe(root, recipe_name) / ".env.sample"
    if not sample.exists():
        raise Fatal(f"recipe {recipe_name} has no .env.sample")
    text = envfile.app_env_from_sample(sample.read_text(), recipe_name, domain)
    app = App(server, domain, env_path, text)
    if inv.flag("secrets"):
        for spec in app.secrets:  # refuse before writing anything
            check_docker_name("secret", spec.docker_name(app.stack))
    env_path.write_text(text)
    info(f"{domain} created on {server} ({env_path})")
    if inv.flag("secrets"):
        created = _generate_secrets(app, only_missing=False)
        info(f"generated secrets: {', '.join(n for n, _ in created) or 'none'}")
        _print_generated(created, machine=False)
    return 0


def remove(root: Path, inv: Invocation) -> int:
    """Delete the env file and whatever secrets and volumes remain (abra's help says
    `app remove` deletes all three); refuse while the app is deployed."""
    app = find_app(root, inv.args[0])
    if swarm.is_deployed(app.stack):
        raise Fatal(f"{app.name} is still deployed: run `abra app undeploy {app.name}` first")
    _remove_volumes(app)
    names = _app_secrets(app)
    if names:
        swarm.docker("secret", "rm", *names)
    app.env_path.unlink()
    info(f"{app.name} removed ({app.env_path})")
    return 0


# --- volumes ---------------------------------------------------------------------------


def _app_volumes(app: App) -> list[str]:
    """Volumes labelled for the stack, or named `<stack>_…` without another stack's label."""
    names = swarm.lines("volume", "ls", "--format", "{{.Name}}")
    found = []
    for obj in swarm.inspect("volume", [n for n in names if n.startswith(f"{app.stack}_")]):
        owner = (obj.get("Labels") or {}).get(swarm.STACK_LABEL)
        if owner in (None, app.stack):
            found.append(obj["Name"])
    labelled = swarm.lines(
        "volume",
        "ls",
        "--filter",
        f"label={swarm.STACK_LABEL}={app.stack}",
        "--format",
        "{{.Name}}",
    )
    return sorted(set(found) | set(labelled))


def _remove_volumes(app: App) -> list[str]:
    names = _app_volumes(app)
    deadline = time.monotonic() + 30
    left = names
    while left:  # a container that has just stopped can hold a volume for a moment
        for name in left:
            swarm.docker("volume", "rm", "-f", name, check=False)
        left = [n for n in left if n in _app_volumes(app)]
        if left and time.monotonic() > deadline:
            raise Fatal(f"volumes still in use, not removed: {', '.join(left)}")
        if left:
            time.sleep(0.5)
    return names


def volume_remove(root: Path, inv: Invocation) -> int:
    app = find_app(root, inv.args[0])
    if swarm.is_deployed(app.stack):
        raise Fatal(f"{app.name} is still deployed: undeploy it before removing its volumes")
    removed = _remove_volumes(app)
    info(f"removed volumes: {', '.join(removed) or 'none'}")
    return 0


# --- deploy / upgrade / undeploy -------------------------------------------------------


def _merged_config(app: App, recipe_dir: Path, env: dict[str, str]) -> dict:
    files = compose.compose_files(env)
    for f in files:
        if not (recipe_dir / f).exists():
            raise Fatal(f"COMPOSE_FILE names {f}, which recipe {app.recipe} does not have")
    args = [x for f in files for x in ("-c", f)]
    r = swarm.docker("stack", "config", *args, env=env, cwd=recipe_dir)
    config = yaml.safe_load(r.stdout)
    if not isinstance(config, dict) or not config.get("services"):
        raise Fatal(f"the compose files {', '.join(files)} define no services")
    return config


def _check_resources(app: App, config: dict) -> None:
    resources = compose.resources(config, app.stack)
    for res in resources:
        if res.kind == "service":
            check_docker_name("service", res.name, MAX_SERVICE_NAME)
        else:
            check_docker_name(res.kind, res.name)
    present = swarm.secret_names()
    missing = [r.name for r in resources if r.kind == "secret" and r.external and r.name not in present]  # fmt: skip
    if missing:
        raise Fatal(
            f"secret not generated: {', '.join(missing)} "
            f"(run `abra app secret generate {app.name} --all`)"
        )


def _deploy(root: Path, app: App, *, chaos: bool, requested: str | None, converge_checks: bool) -> None:  # fmt: skip
    recipe_dir = require_recipe(root, app.recipe)
    env = recipe.deploy_env(app, recipe_dir)
    config = _merged_config(app, recipe_dir, env)
    _check_resources(app, config)
    version = recipe.version_of(recipe_dir, chaos=chaos, requested=requested)
    if compose.MAIN_SERVICE in config["services"]:
        config = compose.with_labels(config, compose.MAIN_SERVICE, recipe.version_labels(app.stack, version))  # fmt: skip
    else:
        warn(f"no `{compose.MAIN_SERVICE}` service: version labels not set")
    since = datetime.now(UTC) - timedelta(seconds=2)
    with tempfile.TemporaryDirectory(prefix="abra-sim-") as tmp:
        merged = Path(tmp) / "compose.json"
        merged.write_text(json.dumps(compose.escape_dollars(config), indent=1))
        info(f"deploying {app.stack} version {version.version} from {recipe_dir}")
        swarm.docker(
            "stack", "deploy", "--prune", "--detach=true", "--resolve-image", "never",
            "-c", str(merged), app.stack,
            env=env, cwd=recipe_dir, timeout=300,
        )  # fmt: skip
    app.env_path.write_text(envfile.stamp_version(app.env_text, app.recipe, version.version))
    if converge_checks:
        _wait_converged(app, since)
    else:
        info(f"{app.stack} submitted; converge checks skipped (-c)")


STABLE_S = 3.0
"""How long a stack must stay converged to count: a task that crashes at once (and is
restarted by Swarm) is "running" for an instant, and one sample would take that for health."""


def _wait_converged(app: App, since: datetime) -> None:
    timeout = converge_timeout()
    deadline = time.monotonic() + timeout
    stable_since: float | None = None
    unsettled: tuple[str, ...] = ()
    while True:
        services = swarm.stack_services(app.stack)
        replicas = swarm.service_replicas(app.stack)
        states = [
            converge.service_state(obj, replicas.get(obj["Spec"]["Name"], "0/1"), since)
            for obj in swarm.inspect("service", services)
        ]
        v = converge.verdict(states)
        if v.failed:
            raise Fatal(f"update of {', '.join(v.failed)} failed and was paused or rolled back")
        if not v.converged:
            stable_since = None
        elif stable_since is None:
            stable_since = time.monotonic()
        elif time.monotonic() - stable_since >= STABLE_S:
            info(f"{app.stack} converged ({len(states)} services)")
            return
        if v.waiting:
            unsettled = v.waiting
        if time.monotonic() > deadline:
            # Converged at this instant but not for long enough: the services that were
            # seen waiting last (a crash loop), or all of them.
            names = unsettled or tuple(st.name for st in states)
            errors = swarm.task_errors(names[0])
            detail = f": {errors[0]}" if errors else ""
            raise Fatal(f"{', '.join(names)} did not converge within {timeout:.0f}s{detail}")
        time.sleep(0.5)


def deploy(root: Path, inv: Invocation) -> int:
    app = find_app(root, inv.args[0])
    chaos, force = inv.flag("chaos"), inv.flag("force")
    if swarm.is_deployed(app.stack) and not (chaos or force):
        raise Fatal(f"{app.name} is already deployed (use -f or -C to redeploy)")
    requested = inv.args[1] if len(inv.args) > 1 else None
    _deploy(root, app, chaos=chaos, requested=requested, converge_checks=not inv.flag("no-converge-checks"))  # fmt: skip
    return 0


def upgrade(root: Path, inv: Invocation) -> int:
    """abra checks out the target version; abra-sim deploys the working tree as it is
    (the caller has checked the version out) and labels it with the version asked for."""
    app = find_app(root, inv.args[0])
    if not swarm.is_deployed(app.stack):
        raise Fatal(f"{app.name} is not deployed")
    requested = inv.args[1] if len(inv.args) > 1 else None
    _deploy(root, app, chaos=False, requested=requested, converge_checks=not inv.flag("no-converge-checks"))  # fmt: skip
    return 0


def undeploy(root: Path, inv: Invocation) -> int:
    app = find_app(root, inv.args[0])
    if not swarm.is_deployed(app.stack):
        raise Fatal(f"{app.name} is not deployed")
    swarm.docker("stack", "rm", app.stack, check=False)
    deadline = time.monotonic() + UNDEPLOY_TIMEOUT
    while True:
        left = swarm.stack_services(app.stack) + swarm.stack_containers(app.stack)
        if not left:
            # `stack rm` may have tried the stack's networks while containers still used them
            for net in swarm.stack_networks(app.stack):
                swarm.docker("network", "rm", net, check=False)
            left = swarm.stack_networks(app.stack)
        if not left:
            break
        if time.monotonic() > deadline:
            raise Fatal(f"{app.stack} still has {', '.join(left)} after {UNDEPLOY_TIMEOUT:.0f}s")
        time.sleep(0.5)
    info(f"{app.stack} undeployed")
    return 0
