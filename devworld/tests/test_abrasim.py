"""abra-sim behaves like the abra subset the harness uses, on the real swarm.

The pure parts (command line, env files, converge verdicts) are tested directly; the
commands are run as a subprocess (`python -m devworld.abrasim`) against the real Docker daemon
with a throwaway $ABRA_DIR and a recipe git repository built in a temporary directory.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cc_ci.harness.deploy.docker import docker, named_resources, remove_stack, stack_resources
from cc_ci.harness.deploy.terminal import run_in_terminal
from devworld.abrasim import argv, compose, converge, envfile
from devworld.images import ImageSpec, ensure_image

REPO = Path(__file__).resolve().parents[2]
RECIPE = "simple"
NO_BACKUPBOT = (
    "FATA no backupbot service found on this server: deploy the backup-bot-two recipe first"
)

# --- the pure parts --------------------------------------------------------------------


def test_global_flags_are_noted_anywhere_and_chaos_is_refused_by_upgrade():
    inv = argv.parse(["-n", "app", "deploy", "-o", "a.example", "-C", "-d", "-c"])
    assert inv == argv.Invocation(
        ("app", "deploy"),
        ("a.example",),
        {"chaos": True, "no-converge-checks": True},
        globals=frozenset({"no-input", "offline", "debug"}),
    )
    combined = argv.parse(["app", "deploy", "a.example", "-nCco"])
    assert combined.opts == inv.opts and combined.globals == {"no-input", "offline"}
    with pytest.raises(argv.UsageError, match="'C'"):
        argv.parse(["app", "upgrade", "a.example", "-C"])
    with pytest.raises(argv.UsageError, match="--bogus"):
        argv.parse(["app", "ls", "--bogus"])
    with pytest.raises(argv.UsageError, match='unknown command "frobnicate"'):
        argv.parse(["app", "frobnicate"])


def test_aliases_values_and_the_command_after_double_dash_are_parsed():
    new = argv.parse(["app", "new", "r", "-s", "default", "--domain=a.b", "-S"])
    assert (new.args, new.value("server"), new.value("domain"), new.flag("secrets")) == (
        ("r",),
        "default",
        "a.b",
        True,
    )
    assert argv.parse(["app", "secret", "rm", "a.b", "-a"]).path == ("app", "secret", "remove")
    assert argv.parse(["app", "volume", "rm", "a.b", "-f"]).path == ("app", "volume", "remove")
    run = argv.parse(["app", "run", "a.b", "app", "--", "cat", "-n", "/x"])
    assert (run.args, run.rest) == (("a.b", "app"), ("cat", "-n", "/x"))


def test_env_file_quotes_comments_expansion_and_secret_hints():
    text = (
        "TYPE=simple\n"
        "DOMAIN=x.example # the app's domain\n"
        "COMPOSE_FILE=compose.yml\n"
        'COMPOSE_FILE="$COMPOSE_FILE:compose.extra.yml"\n'
        "LITERAL='$COMPOSE_FILE # not a comment'\n"
        "SECRET_DB_PASSWORD_VERSION=v2 # length=48\n"
        "SECRET_API_KEY_VERSION=v1\n"
        "#SECRET_SMTP_PASSWORD_VERSION=v1\n"
    )
    env = envfile.values(text)
    assert env["DOMAIN"] == "x.example"
    assert compose.compose_files(env) == ["compose.yml", "compose.extra.yml"]
    assert env["LITERAL"] == "$COMPOSE_FILE # not a comment"
    assert envfile.secret_specs(text) == [
        envfile.SecretSpec("db_password", "v2", 48),
        envfile.SecretSpec("api_key", "v1", envfile.DEFAULT_SECRET_LENGTH),
    ]


def test_new_app_env_keeps_type_first_and_sets_the_domain():
    sample = "TYPE=simple\nDOMAIN=simple.example.com\nGREETING=hi\n"
    text = envfile.app_env_from_sample(sample, "simple", "a.test.local")
    assert text.splitlines() == ["TYPE=simple", "DOMAIN=a.test.local", "GREETING=hi"]
    assert envfile.stamp_version(text, "simple", "1.0.0+1").splitlines()[0] == "TYPE=simple:1.0.0+1"


def test_converge_waits_for_an_update_this_deploy_started_and_fails_on_rollback():
    since = datetime(2026, 1, 1, tzinfo=UTC)
    before = (since - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    after = "2026-01-01T00:00:03.123456789Z"
    spec = {"Name": "s_app", "TaskTemplate": {"ContainerSpec": {"Image": "b"}}}
    prev = {"Name": "s_app", "TaskTemplate": {"ContainerSpec": {"Image": "a"}}}
    base = {"Spec": spec, "PreviousSpec": prev, "UpdatedAt": after}
    stale = {**base, "UpdateStatus": {"State": "completed", "StartedAt": before}}
    done = {**base, "UpdateStatus": {"State": "completed", "StartedAt": after}}
    rolled = {**base, "UpdateStatus": {"State": "rollback_completed", "StartedAt": after}}
    state = converge.service_state
    assert converge.verdict([state(stale, "1/1", since)]).waiting == ("s_app",)
    assert converge.verdict([state(done, "1/1", since)]).converged
    assert converge.verdict([state(done, "0/1", since)]).waiting == ("s_app",)
    assert converge.verdict([state(rolled, "1/1", since)]).failed == ("s_app",)
    assert converge.parse_replicas("0/1 (1/1 completed)") == (1, 1)


@pytest.mark.parametrize("timeout", ["1.2", "1.7"])
def test_a_crash_loop_that_looks_running_now_and_then_never_counts_as_converged(
    monkeypatch: pytest.MonkeyPatch, timeout: str
):
    from devworld.abrasim import lifecycle, swarm
    from devworld.abrasim.layout import Fatal

    samples = iter(["1/1", "0/1"] * 20)  # Swarm restarting a task that exits at once
    monkeypatch.setattr(swarm, "stack_services", lambda stack: ["s_app"])
    monkeypatch.setattr(swarm, "service_replicas", lambda stack: {"s_app": next(samples)})
    monkeypatch.setattr(swarm, "inspect", lambda kind, names: [{"Spec": {"Name": "s_app"}}])
    monkeypatch.setattr(swarm, "task_errors", lambda service: ["task: non-zero exit (1)"])
    monkeypatch.setenv("ABRA_SIM_CONVERGE_TIMEOUT", timeout)
    app = type("App", (), {"stack": "s"})()
    with pytest.raises(Fatal, match=r"^s_app did not converge within [12]s: task: non-zero exit"):
        lifecycle._wait_converged(app, datetime(2026, 1, 1, tzinfo=UTC))


# --- on the real swarm -----------------------------------------------------------------

COMPOSE = """\
version: "3.8"
services:
  app:
    image: {image}
    command: ["sleep", "100000"]
    stop_grace_period: 1s
    environment:
      - GREETING=${{GREETING}}{suffix}
      - LITERAL=$$notavar
    secrets: [db_password]
    configs:
      - source: app_conf
        target: /etc/app.conf
    volumes: [data:/data]
    networks: [proxy]
secrets:
  db_password:
    external: true
    name: ${{STACK_NAME}}_db_password_${{SECRET_DB_PASSWORD_VERSION}}
configs:
  app_conf:
    name: ${{STACK_NAME}}_app_conf_${{APP_CONF_VERSION}}
    file: app.conf
volumes:
  data:
networks:
  proxy:
    external: true
"""
ENV_SAMPLE = """\
TYPE=simple
DOMAIN=simple.example.com
GREETING=hello
SECRET_DB_PASSWORD_VERSION=v1 # length=20
"""


@pytest.fixture(scope="session")
def app_image() -> str:
    assert (
        docker("info", "--format", "{{.Swarm.LocalNodeState}}").strip() == "active"
    ), "this node is not a swarm manager: run scripts/bootstrap"
    assert docker(
        "network", "ls", "--filter", "name=^proxy$", "-q"
    ).strip(), "the attachable overlay network `proxy` is missing: run scripts/bootstrap"
    return ensure_image(ImageSpec(name="abrasim-app"))


def git(repo: Path, *args: str) -> str:
    cmd = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    return subprocess.run([*cmd, *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def abra_dir(tmp_path: Path, app_image: str) -> Path:
    """$ABRA_DIR with the local server and a recipe `simple` tagged 0.1.0+1."""
    root = tmp_path / "abra"
    recipe = root / "recipes" / RECIPE
    recipe.mkdir(parents=True)
    (recipe / "compose.yml").write_text(COMPOSE.format(image=app_image, suffix=""))
    (recipe / "compose.broken.yml").write_text(
        'version: "3.8"\nservices:\n  app:\n    command: ["false"]\n'
    )
    (recipe / "app.conf").write_text("conf-v1\n")
    (recipe / "abra.sh").write_text("export APP_CONF_VERSION=v1\n")
    (recipe / ".env.sample").write_text(ENV_SAMPLE)
    git(recipe, "init", "-q")
    git(recipe, "add", "-A")
    git(recipe, "commit", "-qm", "first")
    git(recipe, "tag", "-a", "-m", "release", "0.1.0+1")
    (root / "catalogue").mkdir()
    git(root / "catalogue", "init", "-q")
    assert sim("server", "add", "--local", "-n", root=root).returncode == 0
    return root


@pytest.fixture
def domain() -> Iterator[str]:
    """A fresh short domain; whatever its stack left is removed afterwards."""
    name = f"sim-{secrets.token_hex(3)}.test.local"
    yield name
    stack = name.replace(".", "_")
    remove_stack(stack)
    for res in named_resources(f"{stack}_"):
        docker(res.kind, "rm", res.name, check=False)


def sim(*args: str, root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """abra-sim ARGS, offline (`-o`, before any `--`) as the harness always calls abra."""
    if args[0] == "--version":
        return sim_exactly(*args, root=root, **env)
    cut = args.index("--") if "--" in args else len(args)
    return sim_exactly(*args[:cut], "-o", *args[cut:], root=root, **env)


def sim_exactly(*args: str, root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devworld.abrasim", *args],
        cwd=REPO,
        env={**os.environ, "ABRA_DIR": str(root), **env},
        capture_output=True,
        text=True,
        timeout=240,
    )


def sim_on_terminal(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    """abra-sim ARGS -o with a terminal on stdin, stdout and stderr (output as stdout)."""
    argv_ = [sys.executable, "-m", "devworld.abrasim", *args, "-o"]
    env = {**os.environ, "ABRA_DIR": str(root), "PYTHONPATH": str(REPO)}
    return run_in_terminal(argv_, env, timeout=240)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args[3:]} failed:\n{result.stderr}"
    return result.stdout


def listed(root: Path) -> dict:
    (entry,) = json.loads(ok(sim("app", "ls", "-m", "-S", root=root)))["default"]["apps"]
    return entry


def test_version_line_says_it_is_a_stand_in_and_not_abra(tmp_path: Path):
    first = ok(sim("--version", root=tmp_path)).splitlines()[0]
    assert first.startswith("abra-sim ") and first.endswith("(stand-in for abra; not abra)")


def test_app_goes_from_new_to_removed_through_deploy_upgrade_and_undeploy_leaving_nothing(
    abra_dir: Path, domain: str, app_image: str
):
    stack = domain.replace(".", "_")
    assert json.loads(ok(sim("server", "ls", "-m", root=abra_dir))) == [
        {"name": "default", "host": "local"}
    ]
    ok(sim("app", "new", RECIPE, "-s", "default", "-D", domain, "-C", "-n", root=abra_dir))
    env_path = abra_dir / "servers" / "default" / f"{domain}.env"
    assert env_path.read_text().startswith(f"TYPE={RECIPE}\nDOMAIN={domain}\n")
    generated = json.loads(
        ok(sim("app", "secret", "generate", domain, "--all", "-m", root=abra_dir))
    )
    assert [g["name"] for g in generated] == ["db_password"]

    ok(sim("app", "deploy", domain, "-n", "-D", root=abra_dir))
    assert listed(abra_dir) | {"upgrade": ""} == {
        "server": "default", "recipe": RECIPE, "appName": domain, "domain": domain,
        "status": "deployed", "chaos": "false", "chaosVersion": "unknown",
        "version": "0.1.0+1", "upgrade": "",
    }  # fmt: skip
    (svc,) = json.loads(ok(sim("app", "ps", domain, "-m", root=abra_dir)))
    assert (svc["service"], svc["replicas"]) == ("app", "1/1")
    secret = ok(sim("app", "run", domain, "app", "--", "cat", "/run/secrets/db_password", root=abra_dir))  # fmt: skip
    assert len(secret) == 20 and secret.isalnum(), "the secret honours `# length=20`"
    assert secret == generated[0]["value"], "generate -m prints the values it generated"
    read = sim("app", "run", domain, "app", "--", "sh", "-c", "cat /etc/app.conf; exit 7", root=abra_dir)  # fmt: skip
    assert (read.returncode, read.stdout) == (7, "conf-v1\n")

    recipe = abra_dir / "recipes" / RECIPE
    (recipe / "compose.yml").write_text(COMPOSE.format(image=app_image, suffix="-v2"))
    git(recipe, "commit", "-qam", "second")
    git(recipe, "tag", "-a", "-m", "release", "0.2.0+1")
    ok(sim("app", "upgrade", domain, "0.2.0+1", "-n", "-D", root=abra_dir))
    greeting = ok(sim("app", "run", domain, "app", "--", "sh", "-c", 'echo "$GREETING $LITERAL"', root=abra_dir))  # fmt: skip
    assert greeting.split()[0] == "hello-v2", "upgrade returned before the new task was running"
    assert greeting.split()[1:] == ["$notavar"], "`$$` in compose is a literal `$`, once"
    assert listed(abra_dir)["version"] == "0.2.0+1"
    assert env_path.read_text().startswith(f"TYPE={RECIPE}:0.2.0+1\n")

    refused = sim("app", "volume", "remove", domain, "-f", root=abra_dir)
    assert refused.returncode == 1 and "still deployed" in refused.stderr
    ok(sim("app", "undeploy", domain, "-n", root=abra_dir))
    assert listed(abra_dir)["status"] == "undeployed"
    assert {r.kind for r in stack_resources(stack)} == {"volume"}, "volumes outlive undeploy"
    ok(sim("app", "volume", "remove", domain, "-f", root=abra_dir))
    ok(sim("app", "secret", "remove", domain, "--all", root=abra_dir))
    ok(sim("app", "remove", domain, "-f", root=abra_dir))
    assert not env_path.exists()
    assert stack_resources(stack) == []
    assert named_resources(f"{stack}_") == []


def test_deploy_refuses_when_the_apps_secrets_were_never_generated(abra_dir: Path, domain: str):
    ok(sim("app", "new", RECIPE, "-s", "default", "-D", domain, "-C", root=abra_dir))
    r = sim("app", "deploy", domain, "-n", "-D", root=abra_dir)
    stack = domain.replace(".", "_")
    assert r.returncode == 1
    assert f"FATA secret not generated: {stack}_db_password_v1" in r.stderr
    assert stack_resources(stack) == [], "nothing is deployed when a secret is missing"


def test_deploy_names_the_service_that_never_converges(abra_dir: Path, domain: str):
    ok(sim("app", "new", RECIPE, "-s", "default", "-D", domain, "-S", "-C", root=abra_dir))
    env_path = abra_dir / "servers" / "default" / f"{domain}.env"
    env_path.write_text(env_path.read_text() + "COMPOSE_FILE=compose.yml:compose.broken.yml\n")
    r = sim("app", "deploy", domain, "-D", root=abra_dir, ABRA_SIM_CONVERGE_TIMEOUT="6")
    assert r.returncode == 1
    assert f"FATA {domain.replace('.', '_')}_app did not converge within 6s" in r.stderr


def test_backup_without_a_backupbot_fails_with_a_clear_message(abra_dir: Path, domain: str):
    bots = docker("service", "ls", "--filter", "label=coop-cloud.backupbot.enabled=true", "-q")
    if bots.strip():
        pytest.skip("a backupbot service is deployed on this swarm")
    ok(sim("app", "new", RECIPE, "-s", "default", "-D", domain, "-C", root=abra_dir))
    r = sim_on_terminal("app", "backup", "create", domain, "-n", root=abra_dir)
    assert (r.returncode, r.stdout.strip()) == (1, NO_BACKUPBOT)


# --- the strict readings (devworld/abrasim/strict.py) ------------------------------------


def test_backup_and_restore_refuse_without_a_terminal_on_each_stream(abra_dir: Path):
    ok(sim("app", "new", RECIPE, "-s", "default", "-D", "strict.test.local", "-C", root=abra_dir))
    for args in (("app", "backup", "create"), ("app", "restore")):
        r = sim(*args, "strict.test.local", "-C", root=abra_dir)
        assert r.returncode == 1 and "not a TTY (stdin, stdout, stderr" in r.stderr, r.stderr


def test_calls_that_would_go_online_are_refused(abra_dir: Path, tmp_path: Path):
    ok(sim("app", "new", RECIPE, "-s", "default", "-D", "strict.test.local", "-C", root=abra_dir))
    online = sim_exactly("app", "deploy", "strict.test.local", "-C", "-D", root=abra_dir)
    assert online.returncode == 1 and "without -o/--offline" in online.stderr
    checked = sim("app", "deploy", "strict.test.local", "-C", root=abra_dir)
    assert checked.returncode == 1 and "without -D/--no-domain-checks" in checked.stderr
    bare = tmp_path / "bare"
    (bare / "servers" / "default").mkdir(parents=True)
    r = sim("app", "ls", "-m", root=bare)
    assert r.returncode == 1 and "no catalogue" in r.stderr and "clone it" in r.stderr


def test_a_domain_too_long_for_dockers_64_character_secret_names_is_refused_up_front(
    abra_dir: Path,
):
    long_domain = f"sim-{secrets.token_hex(3)}.{'a' * 40}.test.local"
    secret = f"{long_domain.replace('.', '_')}_db_password_v1"
    r = sim("app", "new", RECIPE, "-s", "default", "-D", long_domain, "-S", root=abra_dir)
    assert r.returncode == 1
    assert f"FATA secret name {secret} is {len(secret)} characters" in r.stderr
    assert not (abra_dir / "servers" / "default" / f"{long_domain}.env").exists()
    assert named_resources(long_domain.replace(".", "_")) == []


def test_unknown_flags_and_commands_exit_1_with_a_fata_line(tmp_path: Path):
    for args in (["app", "deploy", "x.example", "--bogus"], ["app", "frobnicate"]):
        r = sim(*args, root=tmp_path)
        assert r.returncode == 1 and r.stderr.startswith("FATA unknown "), r.stderr
