"""nix/lib.nix, the modules' pure logic, evaluated by the real `nix-instantiate`.

What the modules decide without a package (names, env files, the bridge's settings) lives in
nix/lib.nix and is checked here, function by function; the modules themselves are evaluated
by test_nix_modules.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "nix" / "lib.nix"
LIB_TEST = ROOT / "nix" / "tests" / "lib-test.nix"

pytestmark = pytest.mark.needs("nix-instantiate")


def nix_eval(expr: str) -> object:
    r = subprocess.run(
        ["nix-instantiate", "--eval", "--strict", "--json", "-E", expr],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    if r.returncode != 0:
        raise AssertionError(f"nix-instantiate failed:\n{r.stderr}")
    return json.loads(r.stdout)


def lib_call(fn: str, arg: object) -> object:
    """Call a lib function on a JSON value (converted with builtins.fromJSON)."""
    return nix_eval(f"(import {LIB}).{fn} (builtins.fromJSON {json.dumps(json.dumps(arg))})")


def test_every_fact_in_lib_test_holds():
    result = nix_eval(f"import {LIB_TEST} {{ }}")
    assert len(result["cases"]) >= 30
    assert result["failed"] == []


def test_lib_test_reports_a_broken_lib():
    # The same facts against a lib whose envFile forgets the final newline must fail.
    broken = (
        f"let l = import {LIB}; in l // {{ envFile = a: "
        f'builtins.concatStringsSep "\\n" (map (k: k + "=" + toString a.${{k}}) '
        f"(builtins.attrNames a)); }}"
    )
    result = nix_eval(f"import {LIB_TEST} {{ lib = {broken}; }}")
    names = {f["name"] for f in result["failed"]}
    assert "env_file_is_sorted_and_newline_terminated" in names


@pytest.mark.parametrize(
    "env",
    [
        {"A": "1"},
        {"COMPOSE_FILE": "compose.yml:compose.wildcard.yml", "LETS_ENCRYPT_ENV": ""},
        {"Z": "last", "DRONE_USER_CREATE": "username:bot,admin:true", "M": "a=b"},
    ],
)
def test_env_file_round_trips_through_a_dotenv_reader(env):
    text = lib_call("envFile", env)
    assert text.endswith("\n")
    parsed = dict(line.split("=", 1) for line in text.splitlines())
    assert parsed == env
    assert [line.split("=", 1)[0] for line in text.splitlines()] == sorted(env)


def test_appending_to_a_rendered_env_file_never_glues_lines():
    # The first server's backups broke because a line was appended to a file without a final
    # newline. Whatever is rendered, appending a line keeps every key.
    text = lib_call("envFile", {"RESTIC_REPOSITORY": "/backups/restic"}) + "EXTRA=1\n"
    assert re.findall(r"^([A-Z_]+)=", text, re.M) == ["RESTIC_REPOSITORY", "EXTRA"]


def test_app_domains_never_match_the_runners_per_run_pattern():
    # cc-ci-run names test apps <recipe[:4]>-<6 hex>.<zone> and its janitor reaps those.
    run_app = re.compile(r"^[a-z0-9]{1,4}-[0-9a-f]{6}\.")
    domains = lib_call("appDomains", "ci.example.org")
    assert set(domains) == {"proxy", "drone", "backupbot"}
    for domain in domains.values():
        assert domain.endswith(".ci.example.org")
        assert not run_app.match(domain)


def test_secret_list_matches_the_template():
    names = nix_eval(f"builtins.mapAttrs (n: v: v.kind) (import {LIB}).secrets")
    template = (ROOT / "secrets" / "secrets.template.yaml").read_text()
    entries = dict(re.findall(r"^([a-z0-9_]+): (required|generate|optional)\s*$", template, re.M))
    assert entries == names


def test_bridge_settings_are_accepted_by_the_bridge_parser():
    from cc_ci.bridge import config

    settings = nix_eval(
        f"""(import {LIB}).bridgeSettings {{
          giteaUrl = "https://git.example.org/";
          giteaTokenFile = "/run/credentials/cc-ci-bridge.service/gitea-token";
          droneUrl = "https://drone.ci.example.org";
          droneTokenFile = "/run/credentials/cc-ci-bridge.service/drone-token";
          droneRepo = "ops/cc-ci";
          droneBranch = "main";
          command = "!testme";
          org = "recipes";
          allow = [ "alice" ];
          repos = [ "recipes/custom-html" "recipes/kc" ];
          pollInterval = 30;
          recipes = {{ "recipes/kc" = "keycloak"; }};
          statePath = "/var/lib/cc-ci-bridge/state.sqlite";
          webhook = {{ listen = "0.0.0.0:8471"; secretFile = "/run/credentials/b/webhook-secret"; }};
          dashboardUrl = "https://ci.example.org";
          schedule = {{ interval = 21600; tags = false; tagPollInterval = 120; }};
        }}"""
    )
    parsed = config.parse_config(settings)
    assert parsed.schedule == config.Schedule(21600, False, 120)
    assert parsed.drone.repo == "ops/cc-ci"
    assert parsed.recipe_for("recipes/kc") == "keycloak"
    assert parsed.webhook is not None and parsed.webhook.port == 8471
    assert parsed.dashboard_url == "https://ci.example.org"


def test_policy_kinds_are_the_ones_the_gate_lets_an_operator_allow():
    from cc_ci.harness.policy.rules import ALLOWABLE

    assert nix_eval(f"(import {LIB}).policyKinds") == sorted(str(k) for k in ALLOWABLE)


def test_the_rendered_allow_list_is_read_by_the_runner_as_written(tmp_path):
    from cc_ci.harness.policy.allowlist import load_allowlist
    from cc_ci.harness.policy.rules import FindingKind

    text = lib_call(
        "policyToml",
        {
            "traefik": {
                "allow": ["bind-mount", "published-port"],
                "ports": [80, 443],
                "bindSources": ["/var/run/docker.sock"],
            },
            "backup-bot-two": {"allow": ["bind-mount"], "ports": None, "bindSources": None},
            "odd-quotes": {"allow": ["bind-mount"], "bindSources": ['/srv/a "b"\\c']},
        },
    )
    path = tmp_path / "cc-ci-policy.toml"
    path.write_text(text)
    allow = load_allowlist(path)
    assert set(allow.recipes) == {"traefik", "backup-bot-two", "odd-quotes"}
    traefik = allow.recipes["traefik"]
    assert traefik.allow == {FindingKind.BIND_MOUNT, FindingKind.PUBLISHED_PORT}
    assert traefik.ports == {80, 443}
    assert traefik.bind_sources == {"/var/run/docker.sock"}
    assert allow.recipes["backup-bot-two"].bind_sources is None
    assert allow.recipes["odd-quotes"].bind_sources == {'/srv/a "b"\\c'}
