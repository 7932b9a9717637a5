"""The runner's environment, as the NixOS module writes it, does what it says in cc-ci-run.

nix/modules/drone-runner.nix writes every pipeline step's environment (DRONE_RUNNER_ENVFILE)
as `ccLib.envFile (ccLib.runnerEnv { … } // cfg.environment)`. This evaluates exactly that
expression of nix/lib.nix with the real `nix-instantiate`, with the arguments the module
passes for a host at ci.example.org and an operator's `runner.environment` that sets the
timeouts and the tests' caps, reads the file back as the exec runner does (dotenv), and
hands it to `Settings.from_env`. Then, for each key:

1. Settings reads it: a key the module renders that no field reads fails, and so does a
   field that no key sets (the few keys the module leaves to the pipeline or to defaults
   are listed below, each with the reason);
2. its value changes what the run does: the address and port a request to the app goes to
   (a real connection to a listener), the CA trusted, the clone URL, the token git sends,
   the folders written, the allow-list, the proxy service asked for, the timeouts given to
   the health wait, to a real pytest subprocess and to the sandbox, the container's caps.

Without nix-instantiate the test skips, and fails under CI=true.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cc_ci.contract import envfile
from cc_ci.contract.names import app_domain
from cc_ci.contract.redact import Redactor
from cc_ci.harness.chains import Cancel, Chain, limit_for, run_chains
from cc_ci.harness.cli import parse_args, results_dir
from cc_ci.harness.deploy import docker as dk
from cc_ci.harness.deploy.abra import Abra
from cc_ci.harness.deploy.lifecycle import App, answers_healthy
from cc_ci.harness.meta import RecipeMeta
from cc_ci.harness.policy.allowlist import load_allowlist
from cc_ci.harness.recipe import clone_url, git_env
from cc_ci.harness.run import Run, RunRequest
from cc_ci.harness.sandbox.container import Limits, docker_run_argv, sandbox_limits
from cc_ci.harness.sandbox.image import wheels_dir
from cc_ci.harness.sandbox.network import NetworkError, proxy_address
from cc_ci.harness.settings import Settings
from cc_ci.harness.suite import run_phase
from cc_ci.harness.timeouts import timeouts
from cc_ci.suite.appclient import AppClient
from cc_ci.suite.context import SuiteContext
from cc_ci.suite.web import tls_context
from devworld.needs import needs

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "nix" / "lib.nix"
RECIPE, SALT = "demo", "pr-7"

# The operator's `services.cc-ci.runner.environment` (drone-runner.nix's own example sets
# CCCI_DEPLOY_TIMEOUT): what the module renders on top of runnerEnv.
ENVIRONMENT = {
    "CCCI_DEPLOY_TIMEOUT": "900",
    "CCCI_STAGE_TIMEOUT": "1500",
    "CCCI_TESTS_MEMORY": "3g",
    "CCCI_TESTS_CPUS": "1.5",
}

# Settings' keys the module does not render, and why that is right. A field fed by none of
# the rendered keys and none of these fails the test; so does one of these once rendered.
NOT_RENDERED = {
    "CCCI_SUITES_DIR": "per build: .drone.yml exports the checkout's tests/",
    "CCCI_ABRA": "the module puts abra on the steps' PATH, where the default finds it",
    "CCCI_ABRA_SERVER": "abra's local server is the default one",
    "CCCI_ABRA_CATALOGUE": "each run's ABRA_DIR gets an empty offline catalogue by default; an "
    "operator sets this through services.cc-ci.harness.environment",
}

# A second value for each key, to see what it changes.
OTHER = {
    "CCCI_ZONE": "ci.other.org",
    "CCCI_RESOLVE_TO": "127.0.0.2",
    "CCCI_HTTPS_PORT": "8443",
    "CCCI_CA_FILE": "/etc/other/ca.crt",
    "CCCI_FORGE_URL": "https://forge.other.org",
    "CCCI_GIT_TOKEN_FILE": "/run/other/git-token",
    "CCCI_STATE_DIR": "/srv/other/state",
    "CCCI_RESULTS_DIR": "/srv/other/results",
    "CCCI_TOOLS": "/srv/other/tools",
    "CCCI_POLICY_FILE": "/srv/other/policy.toml",
    "CCCI_PROXY_SERVICE": "proxy_other_app",
    "CCCI_DEPLOY_TIMEOUT": "450",
    "CCCI_STAGE_TIMEOUT": "600",
    "CCCI_TESTS_MEMORY": "1g",
    "CCCI_TESTS_CPUS": "0.5",
    "CCCI_MAX_DEPLOYMENTS": "1",
    "CCCI_SUITES_DIR": "/srv/other/tests",
    "CCCI_ABRA": "/opt/other/abra",
    "CCCI_ABRA_SERVER": "other",
    "CCCI_ABRA_CATALOGUE": "/srv/other/catalogue",
}


@pytest.fixture(scope="module")
def nix() -> str:
    return needs("nix-instantiate")


def as_nix(value: object) -> str:
    return f"(builtins.fromJSON {json.dumps(json.dumps(value))})"


def render(nix: str, args: dict, environment: dict[str, str]) -> dict[str, str]:
    """The runner's env file as drone-runner.nix writes it, read back as dotenv."""
    expr = (
        f"let l = import {LIB}; in l.envFile (l.runnerEnv {as_nix(args)} // {as_nix(environment)})"
    )
    r = subprocess.run(
        [nix, "--eval", "--strict", "--json", "-E", expr],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert r.returncode == 0, f"nix-instantiate failed:\n{r.stderr}"
    return envfile.values(json.loads(r.stdout))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files the env names: a CA, a git token and the policy allow-list (twice each)."""
    d = tmp_path_factory.mktemp("runner-files")
    for which in ("one", "other"):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
            + ["-subj", f"/CN=cc-ci test CA {which}", "-keyout", str(d / f"{which}.key")]
            + ["-out", str(d / f"{which}.crt")],
            check=True,
            capture_output=True,
            timeout=60,
        )
        (d / f"{which}.token").write_text(f"token-{which}\n")
        (d / f"{which}.toml").write_text(f'[recipes.{which}]\nallow = ["bind-mount"]\n')
    return d


@pytest.fixture(scope="module")
def rendered(nix: str, files: Path) -> dict[str, str]:
    """What the module writes for a host at ci.example.org (the file options point at real
    files here, so that what they name can be read)."""
    args = {
        "zone": "ci.example.org",
        "resultsDir": "/var/lib/cc-ci/results",
        "stateDir": "/var/lib/cc-ci/runner",
        "toolsDir": "/var/lib/cc-ci/tools",
        "forgeUrl": "https://git.example.org/",
        "resolveTo": "127.0.0.1",
        "httpsPort": 443,
        "caFile": str(files / "one.crt"),
        "gitTokenFile": str(files / "one.token"),
        "policyFile": str(files / "one.toml"),
        "proxyService": "traefik_ci_example_org_app",
        "maxDeployments": 2,
    }
    return render(nix, args, ENVIRONMENT)


def changed(env: dict[str, str], key: str, value: str | None = None) -> Settings:
    return Settings.from_env({**env, key: OTHER[key] if value is None else value})


def fields_fed_by(env: dict[str, str], key: str) -> set[str]:
    """The Settings fields whose value changes with `key`'s."""
    before, after = Settings.from_env(env), changed(env, key)
    return {
        f.name
        for f in dataclasses.fields(Settings)
        if getattr(before, f.name) != getattr(after, f.name)
    }


# -- 1. every rendered key is read, every field has a key -------------------------------------


def test_the_module_renders_the_runners_settings_and_nothing_else(rendered):
    assert rendered["CCCI_FORGE_URL"] == "https://git.example.org"
    assert rendered["CCCI_HTTPS_PORT"] == "443"
    assert rendered["CCCI_DEPLOY_TIMEOUT"] == "900"
    assert all(key.startswith("CCCI_") for key in rendered)
    assert set(OTHER) >= set(rendered), "give each rendered key a second value in OTHER"


def test_every_key_the_module_renders_feeds_a_setting(rendered):
    unread = [key for key in sorted(rendered) if not fields_fed_by(rendered, key)]
    assert unread == [], f"rendered, but no Settings field reads them: {unread}"


def test_every_setting_has_a_key_the_module_renders_or_a_reason_it_does_not(rendered):
    fed = {name for key in {*rendered, *NOT_RENDERED} for name in fields_fed_by(rendered, key)}
    orphans = {f.name for f in dataclasses.fields(Settings)} - fed
    assert orphans == set(), f"no key sets these Settings fields: {sorted(orphans)}"
    stale = sorted(set(NOT_RENDERED) & set(rendered))
    assert stale == [], f"the module renders these now; drop them from NOT_RENDERED: {stale}"


def test_the_pipeline_sets_the_suites_folder_the_module_leaves_out():
    assert 'export CCCI_SUITES_DIR="$${DRONE_WORKSPACE}/tests"' in (ROOT / ".drone.yml").read_text()


# -- 2. each rendered key changes what the run does -------------------------------------------


def suite_context(**given: object) -> SuiteContext:
    """A SuiteContext as the run writes it, with the fields a test cares about."""
    blank = {f.name: "" for f in dataclasses.fields(SuiteContext)}
    fixed = {"ca_file": None, "cert_spki": None, "health_ok": (200,)}
    return SuiteContext(**{**blank, **fixed, **given})


@pytest.fixture
def listeners() -> Iterator[Callable[..., tuple[int, list[bytes]]]]:
    """listen(address, port=0) → (port, what arrived): a TCP listener that keeps the first
    bytes of each connection (a TLS ClientHello names the host it wants) and hangs up."""
    servers: list[socket.socket] = []

    def listen(address: str, port: int = 0) -> tuple[int, list[bytes]]:
        server = socket.create_server((address, port))
        server.settimeout(10)
        servers.append(server)
        seen: list[bytes] = []

        def serve() -> None:
            try:
                while True:
                    conn, _ = server.accept()
                    with conn:
                        conn.settimeout(5)
                        seen.append(conn.recv(4096))
            except OSError:
                return

        threading.Thread(target=serve, daemon=True).start()
        return server.getsockname()[1], seen

    yield listen
    for server in servers:
        server.close()


def reach_the_app(settings: Settings) -> None:
    """The harness's health check, then a suite's app client given the app's base URL in its
    SuiteContext. The listener is no TLS server: each handshake fails once the connection has
    carried the ClientHello."""
    domain = app_domain(RECIPE, settings.zone, SALT)
    app = App(RECIPE, domain, Abra("abra", Path("/nonexistent")), https_port=settings.https_port)
    with pytest.raises(OSError):
        answers_healthy(app, settings, RecipeMeta())
    ctx = suite_context(
        recipe=RECIPE, domain=domain, base_url=app.base_url, resolve_to=settings.resolve_to
    )
    with pytest.raises(OSError):
        AppClient(ctx).get("/")


HELLO = app_domain(RECIPE, "ci.example.org", SALT).encode()  # the SNI of each ClientHello


def test_the_https_port_is_where_the_harness_and_the_suite_reach_the_app(rendered, listeners):
    at_443 = App(RECIPE, "d.ci.example.org", Abra("abra", Path("/x")))
    port = Settings.from_env(rendered).https_port
    assert dataclasses.replace(at_443, https_port=port).base_url == "https://d.ci.example.org"
    (one, on_one), (two, on_two) = listeners("127.0.0.1"), listeners("127.0.0.1")
    reach_the_app(changed(rendered, "CCCI_HTTPS_PORT", str(one)))
    assert (len(on_one), on_two) == (2, [])
    reach_the_app(changed(rendered, "CCCI_HTTPS_PORT", str(two)))
    assert (len(on_one), len(on_two)) == (2, 2)
    assert all(HELLO in hello for hello in on_one + on_two)


def test_the_resolve_to_address_is_where_the_app_is_connected_to(rendered, listeners):
    port, on_one = listeners("127.0.0.1")
    _, on_two = listeners("127.0.0.2", port)
    env = {**rendered, "CCCI_HTTPS_PORT": str(port)}
    reach_the_app(Settings.from_env(env))
    assert (len(on_one), on_two) == (2, [])
    reach_the_app(changed(env, "CCCI_RESOLVE_TO"))
    assert (len(on_one), len(on_two)) == (2, 2)
    assert all(HELLO in hello for hello in on_one + on_two)


def test_the_zone_names_the_apps_domain(rendered):
    assert app_domain(RECIPE, Settings.from_env(rendered).zone, SALT).endswith(".ci.example.org")
    assert app_domain(RECIPE, changed(rendered, "CCCI_ZONE").zone, SALT).endswith(".ci.other.org")


def test_the_ca_file_is_the_one_the_apps_tls_is_checked_against(rendered, files):
    def trusted(settings: Settings) -> list:
        return [
            dict(x[0] for x in c["subject"]) for c in tls_context(settings.ca_file).get_ca_certs()
        ]

    assert trusted(Settings.from_env(rendered)) == [{"commonName": "cc-ci test CA one"}]
    other = changed(rendered, "CCCI_CA_FILE", str(files / "other.crt"))
    assert trusted(other) == [{"commonName": "cc-ci test CA other"}]


def test_the_forge_url_is_where_the_pr_head_is_cloned_from(rendered):
    src = "recipe-maintainers/demo"
    assert (
        clone_url(Settings.from_env(rendered).forge_url, src)
        == f"https://git.example.org/{src}.git"
    )
    assert (
        clone_url(changed(rendered, "CCCI_FORGE_URL").forge_url, src)
        == f"https://forge.other.org/{src}.git"
    )


def test_the_git_token_file_is_what_git_sends(rendered, files):
    def header(settings: Settings) -> str:
        return git_env(Redactor().add_file(settings.git_token_file))["GIT_CONFIG_VALUE_0"]

    assert header(Settings.from_env(rendered)) == "Authorization: token token-one"
    other = changed(rendered, "CCCI_GIT_TOKEN_FILE", str(files / "other.token"))
    assert header(other) == "Authorization: token token-other"


def test_the_state_dir_holds_the_runs_work_folder(rendered, tmp_path):
    def workdir(settings: Settings) -> Path:
        return Run(
            RunRequest(RECIPE, "o/demo", "HEAD", ("install",), "drone-7", tmp_path), settings
        ).workdir

    assert workdir(Settings.from_env(rendered)) == Path("/var/lib/cc-ci/runner/runs/drone-7")
    assert workdir(changed(rendered, "CCCI_STATE_DIR")) == Path("/srv/other/state/runs/drone-7")


def test_the_results_dir_holds_the_run_record_when_no_flag_says_otherwise(rendered):
    args = parse_args([RECIPE], {})
    assert results_dir(args, Settings.from_env(rendered)) == Path("/var/lib/cc-ci/results")
    assert results_dir(args, changed(rendered, "CCCI_RESULTS_DIR")) == Path("/srv/other/results")


def test_the_tools_dir_caches_the_sandbox_images_wheels(rendered):
    base = Settings.from_env(rendered)
    assert wheels_dir(base.tools_dir).parent == Path("/var/lib/cc-ci/tools/wheels")
    assert wheels_dir(changed(rendered, "CCCI_TOOLS").tools_dir).parent == Path(
        "/srv/other/tools/wheels"
    )


def test_the_policy_file_is_the_allow_list_the_gate_applies(rendered, files):
    assert set(load_allowlist(Settings.from_env(rendered).policy_file).recipes) == {"one"}
    other = changed(rendered, "CCCI_POLICY_FILE", str(files / "other.toml"))
    assert set(load_allowlist(other.policy_file).recipes) == {"other"}


def test_the_proxy_service_is_the_traefik_the_recipe_tests_are_sent_to(
    rendered, monkeypatch, tmp_path
):
    asked: list[str] = []

    def docker(*args: str, **kw: object) -> str:
        if args[:2] == ("network", "ls"):
            return "net-1\n"
        if args[:2] == ("network", "inspect"):
            return json.dumps([{"Id": "net-1", "Internal": True, "Driver": "overlay"}])
        if args[:2] == ("service", "inspect"):
            asked.append(args[2])
            raise dk.DockerError(f"docker service inspect {args[2]} failed: no such service")
        raise AssertionError(f"unexpected docker {args}")

    monkeypatch.setattr(dk, "docker", docker)
    for settings in (Settings.from_env(rendered), changed(rendered, "CCCI_PROXY_SERVICE")):
        with pytest.raises(NetworkError, match=settings.proxy_service):
            proxy_address(settings.proxy_service, state_dir=tmp_path)
    assert asked == ["traefik_ci_example_org_app", "proxy_other_app"]


def test_the_deploy_timeout_caps_the_wait_until_healthy(rendered):
    slow = RecipeMeta(deploy_timeout=1200)  # a recipe that asks for more than either ceiling
    assert timeouts(Settings.from_env(rendered), slow).deploy == 900
    assert timeouts(changed(rendered, "CCCI_DEPLOY_TIMEOUT"), slow).deploy == 450
    assert timeouts(Settings.from_env(rendered), RecipeMeta(deploy_timeout=120)).deploy == 120


def test_the_stage_timeout_caps_each_pytest_phase_and_the_sandbox(rendered, tmp_path):
    slow = RecipeMeta(stage_timeout=1800, backup_timeout=1800)
    base = timeouts(Settings.from_env(rendered), slow)
    assert (base.stage, base.backup) == (1500, 1500)
    assert timeouts(changed(rendered, "CCCI_STAGE_TIMEOUT"), slow).stage == 600
    # the phase's pytest subprocess is given it: at two seconds, a sleeping test is killed
    limit = timeouts(changed(rendered, "CCCI_STAGE_TIMEOUT", "2"), slow).stage
    suite, run_dir = tmp_path / "suite", tmp_path / "run"
    suite.mkdir()
    run_dir.mkdir()
    (suite / "test_slow.py").write_text("import time\n\n\ndef test_s():\n    time.sleep(60)\n")
    ctx = suite_context(stage="install", phase="verify", run_dir=str(run_dir))
    log = io.StringIO()
    junit = run_dir / "install.verify.junit.xml"
    result = run_phase(ctx, [suite / "test_slow.py"], None, junit, log, limit)
    assert result.failed and result.message == "pytest timed out after 2s"


def test_the_tests_caps_are_the_sandbox_containers_limits(rendered):
    def caps(settings: Settings) -> tuple[list[str], list[str]]:
        argv = docker_run_argv(
            name="t",
            run_id="drone-7",
            image="img",
            domain="d",
            base_url="https://d",
            proxy_ip="10.0.0.2",
            input_dir=Path("/in"),
            results_dir=Path("/out"),
            limits=sandbox_limits(settings),
            network="cc-ci-run-drone-7",
        )
        return [argv[i + 1] for i, x in enumerate(argv) if x in ("--memory", "--cpus")]

    cpus = min(1.5, float(os.cpu_count() or 1))
    assert caps(Settings.from_env(rendered)) == ["3g", f"{cpus:g}"]
    assert caps(changed(rendered, "CCCI_TESTS_MEMORY")) == ["1g", f"{cpus:g}"]
    assert caps(changed(rendered, "CCCI_TESTS_CPUS")) == ["3g", "0.5"]
    assert sandbox_limits(Settings.from_env(rendered)) == Limits(memory="3g", cpus=cpus)


def test_the_max_deployments_is_how_many_of_a_runs_chains_work_at_once(rendered):
    def most_at_once(settings: Settings) -> int:
        now, most, lock = [0], [0], threading.Lock()

        def work() -> None:
            with lock:
                now[0] += 1
                most[0] = max(most[0], now[0])
            time.sleep(0.2)
            with lock:
                now[0] -= 1

        limit = limit_for(settings.max_deployments, serial=False)
        run_chains([Chain(f"c{i}", work) for i in range(3)], limit, Cancel())
        return most[0]

    assert most_at_once(Settings.from_env(rendered)) == 2
    assert most_at_once(changed(rendered, "CCCI_MAX_DEPLOYMENTS")) == 1


BEHAVIOUR = {
    "CCCI_HTTPS_PORT": test_the_https_port_is_where_the_harness_and_the_suite_reach_the_app,
    "CCCI_RESOLVE_TO": test_the_resolve_to_address_is_where_the_app_is_connected_to,
    "CCCI_ZONE": test_the_zone_names_the_apps_domain,
    "CCCI_CA_FILE": test_the_ca_file_is_the_one_the_apps_tls_is_checked_against,
    "CCCI_FORGE_URL": test_the_forge_url_is_where_the_pr_head_is_cloned_from,
    "CCCI_GIT_TOKEN_FILE": test_the_git_token_file_is_what_git_sends,
    "CCCI_STATE_DIR": test_the_state_dir_holds_the_runs_work_folder,
    "CCCI_RESULTS_DIR": test_the_results_dir_holds_the_run_record_when_no_flag_says_otherwise,
    "CCCI_TOOLS": test_the_tools_dir_caches_the_sandbox_images_wheels,
    "CCCI_POLICY_FILE": test_the_policy_file_is_the_allow_list_the_gate_applies,
    "CCCI_PROXY_SERVICE": test_the_proxy_service_is_the_traefik_the_recipe_tests_are_sent_to,
    "CCCI_DEPLOY_TIMEOUT": test_the_deploy_timeout_caps_the_wait_until_healthy,
    "CCCI_STAGE_TIMEOUT": test_the_stage_timeout_caps_each_pytest_phase_and_the_sandbox,
    "CCCI_TESTS_MEMORY": test_the_tests_caps_are_the_sandbox_containers_limits,
    "CCCI_TESTS_CPUS": test_the_tests_caps_are_the_sandbox_containers_limits,
    "CCCI_MAX_DEPLOYMENTS": test_the_max_deployments_is_how_many_of_a_runs_chains_work_at_once,
}


def test_every_rendered_key_has_a_test_of_what_it_changes(rendered):
    assert set(BEHAVIOUR) == set(rendered)
