"""cc-ci's NixOS modules evaluated for real, by `lib.evalModules` (nix/tests/eval-modules.nix).

The nixpkgs library and sops-nix's modules are the real ones, unpacked by scripts/bootstrap
(nix_vendor) from ../shared/vendor into $CCCI_TOOLS/src. NixOS itself cannot be had here, so
the options the modules set outside services.cc-ci are declared stand-ins
(nix/tests/nixos-stubs.nix) and every package is a fake derivation
(nix/tests/stand-in-pkgs.nix): these tests check option types, defaults, merging,
assertions, renames and what the units and files would hold, not that anything builds.

Each test evaluates nix/tests/test-host.nix (every part on, secrets from sops-nix) plus the
modules it states, as Nix source.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("CCCI_TOOLS", Path.home() / ".cache" / "cc-ci"))
EVAL = ROOT / "nix" / "tests" / "eval-modules.nix"
TEST_HOST = ROOT / "nix" / "tests" / "test-host.nix"
MODULES = ROOT / "nix" / "modules"
LIB = ROOT / "nix" / "lib.nix"
EXAMPLE_HOST = ROOT / "nix" / "hosts" / "cc-ci" / "configuration.nix"


def _vendor_dir(prefix: str) -> Path:
    """$CCCI_TOOLS/src/<archive> for the NIX_VENDOR_ARCHIVES entry starting with `prefix`."""
    versions = (ROOT / "scripts" / "versions.sh").read_text()
    listed = re.search(r"^NIX_VENDOR_ARCHIVES=\(([^)]*)\)", versions, re.M)
    assert listed, "scripts/versions.sh has no NIX_VENDOR_ARCHIVES"
    (name,) = [a for a in listed.group(1).split() if a.startswith(prefix)]
    return TOOLS / "src" / name.removesuffix(".tar.gz")


NIXPKGS_LIB = _vendor_dir("nixpkgs-lib-") / "lib"
SOPS_MODULE = _vendor_dir("sops-nix-") / "modules" / "sops"

VENDORED = (NIXPKGS_LIB / "default.nix").is_file() and (SOPS_MODULE / "default.nix").is_file()
pytestmark = [
    pytest.mark.needs("nix-instantiate"),
    pytest.mark.needs("nix-vendor", found=VENDORED and str(NIXPKGS_LIB)),
]


class EvalError(AssertionError):
    """nix-instantiate failed; the message is its stderr."""


def evaluate(select: str, *modules: str, host: Path | None = TEST_HOST) -> Any:
    """`select` (Nix, with `config`, `lib`, `pkgs` and the result `r` in scope) of the
    evaluation of `host` plus `modules` (each a module as Nix source)."""
    listed = ([str(host)] if host else []) + [f"({m})" for m in modules]
    expr = (
        f"let r = import {EVAL} {{ nixpkgsLib = {NIXPKGS_LIB}; sopsModule = {SOPS_MODULE};"
        f" modules = [ {' '.join(listed)} ]; }}; inherit (r) config lib pkgs; in {select}"
    )
    proc = subprocess.run(
        ["nix-instantiate", "--eval", "--strict", "--json", "-E", expr],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise EvalError(proc.stderr)
    return json.loads(proc.stdout)


def unit(name: str, *modules: str) -> dict[str, Any]:
    return evaluate(f"config.systemd.services.{name}", *modules)


# --- the test host itself ---------------------------------------------------------------


def test_the_test_host_evaluates_with_no_failed_assertion_and_no_warning():
    result = evaluate("{ inherit (r) failedAssertions warnings; }")
    assert result == {"failedAssertions": [], "warnings": []}


def test_the_example_host_evaluates_with_no_failed_assertion_and_no_warning():
    # nix/hosts/cc-ci as an operator copies it: it uses no renamed option
    result = evaluate(
        "{ inherit (r) failedAssertions warnings; units = builtins.attrNames config.systemd.services; }",
        str(EXAMPLE_HOST),
        host=None,
    )
    assert result["failedAssertions"] == [] and result["warnings"] == []
    assert "cc-ci-drone-runner" in result["units"]


def test_every_unit_of_the_test_host_evaluates():
    units = evaluate("config.systemd.services")
    assert {
        "cc-ci-swarm-init",
        "cc-ci-proxy",
        "cc-ci-drone",
        "cc-ci-drone-settings",
        "cc-ci-drone-runner",
        "cc-ci-backupbot",
        "cc-ci-bridge",
        "cc-ci-dashboard",
        "cc-ci-ingress",
    } <= set(units)
    assert all(u["serviceConfig"]["ExecStart"] for u in units.values() if u["serviceConfig"])


# --- the bridge's settings merge key by key -----------------------------------------

BRIDGE_TOML = """
  let
    s = config.services.cc-ci.bridge.settings;
    file = (pkgs.formats.toml { }).generate "cc-ci-bridge.toml" s;
  in { settings = s; file = file.outPath; execStart = config.systemd.services.cc-ci-bridge.serviceConfig.ExecStart; }
"""


def test_the_bridge_settings_without_overrides_are_the_generated_ones():
    result = evaluate(BRIDGE_TOML)
    assert result["settings"] == {
        "gitea": {
            "url": "https://git.example.org",
            "token_file": "/run/credentials/cc-ci-bridge.service/gitea-token",
        },
        "drone": {
            "url": "https://drone.ci.example.org",
            "token_file": "/run/credentials/cc-ci-bridge.service/drone-token",
            "repo": "recipes/cc-ci",
            "branch": "main",
        },
        "trigger": {
            "command": "!testme",
            "org": "recipes",
            "allow": [],
            "repos": ["recipes/custom-html", "recipes/keycloak-fork"],
            "poll_interval": 30,
        },
        "state": {"path": "/var/lib/cc-ci-bridge/state.sqlite"},
        "recipes": {"recipes/keycloak-fork": "keycloak"},
        "schedule": {"interval": 86400, "tags": True, "tag_poll_interval": 300},
        "report": {
            "dashboard_url": "https://ci.example.org",
            "results_dir": "/var/lib/cc-ci/results",
        },
    }
    assert result["execStart"].endswith(f" --config {result['file']}")


def test_setting_one_nested_bridge_key_keeps_every_other():
    result = evaluate(BRIDGE_TOML, "{ services.cc-ci.bridge.settings.trigger.poll_interval = 5; }")
    trigger = result["settings"]["trigger"]
    assert trigger["poll_interval"] == 5
    assert trigger["repos"] == ["recipes/custom-html", "recipes/keycloak-fork"]
    assert trigger["org"] == "recipes"
    assert trigger["command"] == "!testme"
    assert set(result["settings"]) == {
        "gitea",
        "drone",
        "trigger",
        "state",
        "recipes",
        "schedule",
        "report",
    }
    # the file the unit is started with is the merged one
    assert result["execStart"].endswith(f" --config {result['file']}")


def test_the_merged_bridge_settings_are_accepted_by_the_bridge():
    from cc_ci.bridge.config import parse_config

    settings = evaluate(
        "config.services.cc-ci.bridge.settings",
        "{ services.cc-ci.bridge.settings.trigger.poll_interval = 5; }",
    )
    parsed = parse_config(settings)
    assert parsed.drone.repo == "recipes/cc-ci"
    assert parsed.recipe_for("recipes/keycloak-fork") == "keycloak"


def test_the_schedule_option_reaches_the_bridges_settings_and_its_parser():
    from cc_ci.bridge.config import Schedule, parse_config

    settings = evaluate(
        "config.services.cc-ci.bridge.settings",
        "{ services.cc-ci.bridge.schedule = { interval = 3600; tags = false; }; }",
    )
    assert settings["schedule"] == {"interval": 3600, "tags": False, "tag_poll_interval": 300}
    assert parse_config(settings).schedule == Schedule(3600, False, 300)
    off = evaluate(
        "config.services.cc-ci.bridge.settings.schedule",
        "{ services.cc-ci.bridge.schedule.interval = 0; }",
    )
    assert off["interval"] == 0
    with pytest.raises(EvalError, match="at least 60 seconds"):
        evaluate(
            "config.services.cc-ci.bridge.settings",
            "{ services.cc-ci.bridge.schedule.interval = 5; }",
        )


def test_a_list_set_in_the_bridge_settings_replaces_the_modules_list():
    trigger = evaluate(
        "config.services.cc-ci.bridge.settings.trigger",
        '{ services.cc-ci.bridge.allow = [ "alice" ]; services.cc-ci.bridge.settings.trigger.allow = [ "bob" ]; }',
    )
    assert trigger["allow"] == ["bob"]


def test_a_whole_bridge_section_is_replaced_with_mk_force():
    settings = evaluate(
        "config.services.cc-ci.bridge.settings",
        '{ lib, ... }: { services.cc-ci.bridge.settings.report = lib.mkForce { dashboard_url = "https://status.example.org"; }; }',
    )
    assert settings["report"] == {"dashboard_url": "https://status.example.org"}
    assert settings["trigger"]["repos"] == ["recipes/custom-html", "recipes/keycloak-fork"]


def test_a_bridge_setting_of_the_wrong_type_is_refused_at_evaluation():
    with pytest.raises(EvalError, match="bridge.settings.trigger.poll_interval"):
        evaluate(
            "config.services.cc-ci.bridge.settings",
            "{ services.cc-ci.bridge.settings.trigger.poll_interval = x: x; }",
        )


# --- every assertion fires for its invalid combination ------------------------------


def force(option: str, value: str) -> str:
    """A module setting `option` to `value` (Nix) over the test host's own definition."""
    return f"{{ lib, ... }}: {{ {option} = lib.mkForce {value}; }}"


# (module, the message it makes fail): every assertion in nix/modules, and one of sops-nix's
ASSERTION_CASES = [
    (
        force("services.cc-ci.domain", '"CI.example.org"'),
        "services.cc-ci.domain must be a lowercase DNS name such as ci.example.org, not `CI.example.org`.",
    ),
    (
        force("services.cc-ci.gitea.url", '"git.example.org"'),
        "services.cc-ci.gitea.url must be an http(s) URL.",
    ),
    (
        force("services.cc-ci.drone.repo", '"cc-ci"'),
        "services.cc-ci.drone.repo must be owner/name.",
    ),
    (
        # 35 characters: Drone's client_secret name passes 64, Traefik's ssl_cert name does not
        force("services.cc-ci.domain", '"continuous-integrations.example.org"'),
        "services.cc-ci.domain is too long: Drone's swarm secret names would pass 64 characters.",
    ),
    (
        force("services.cc-ci.domain", '"continuous-integration-zone.example.org"'),
        "services.cc-ci.domain is too long: Traefik's swarm secret names would pass 64 characters.",
    ),
    (
        "{ services.cc-ci.swarm.enable = false; }",
        "services.cc-ci.drone.runner needs Docker: enable services.cc-ci.swarm (or virtualisation.docker).",
    ),
    (
        force("services.cc-ci.bridge.repos", "[ ]"),
        "services.cc-ci.bridge.repos must list each enrolled repository once.",
    ),
    (
        '{ services.cc-ci.bridge.repos = [ "recipes/custom-html" ]; }',
        "services.cc-ci.bridge.repos must list each enrolled repository once.",
    ),
    (
        force("services.cc-ci.bridge.webhook", "{ enable = true; secretFile = null; }"),
        "services.cc-ci.bridge.webhook.enable needs webhook.secretFile.",
    ),
    (
        force("sops.age.keyFile", "null"),
        "No key source configured for sops. Either set services.openssh.enable or set sops.age.keyFile or sops.gnupg.home",
    ),
]


@pytest.mark.parametrize(("module", "message"), ASSERTION_CASES)
def test_an_invalid_combination_fails_its_assertion(module, message):
    assert message in evaluate("r.failedAssertions", module)


def test_every_assertion_in_the_modules_has_a_case():
    declared = []
    for path in sorted(MODULES.glob("*.nix")):
        declared += re.findall(r'message = "((?:[^"\\]|\\.)*)";', path.read_text())
    assert len(declared) >= 8
    cases = [message for _, message in ASSERTION_CASES]
    for message in declared:
        pattern = ".*".join(re.escape(part) for part in re.split(r"\$\{[^}]*\}", message))
        assert any(re.fullmatch(pattern, c) for c in cases), f"no case makes this fail: {message}"


# --- the hardening set, at mkDefault ---------------------------------------------------


def hardening() -> dict[str, Any]:
    """nix/modules/hardening.nix: each setting's priority and value."""
    return evaluate(
        "lib.mapAttrs (_: v: { inherit (v) _type priority; value = v.content; })"
        f" (import {MODULES / 'hardening.nix'} {{ inherit lib; }})"
    )


def test_every_hardening_setting_is_at_mk_default_priority():
    settings = hardening()
    assert len(settings) >= 20
    assert {(s["_type"], s["priority"]) for s in settings.values()} == {("override", 1000)}


@pytest.mark.parametrize("name", ["cc-ci-bridge", "cc-ci-dashboard"])
def test_the_host_services_carry_the_whole_hardening_set(name):
    service = unit(name)["serviceConfig"]
    for key, setting in hardening().items():
        assert service[key] == setting["value"], key


def test_an_operators_setting_wins_over_one_hardening_key_and_keeps_the_rest():
    module = """{
      systemd.services.cc-ci-dashboard.serviceConfig.ProtectHome = false;
      systemd.services.cc-ci-bridge.serviceConfig.SystemCallFilter = [ "@system-service" ];
    }"""
    dashboard = unit("cc-ci-dashboard", module)["serviceConfig"]
    bridge = unit("cc-ci-bridge", module)["serviceConfig"]
    assert dashboard["ProtectHome"] is False
    assert bridge["ProtectHome"] is True
    # a list replaces the module's, it is not appended to
    assert bridge["SystemCallFilter"] == ["@system-service"]
    assert dashboard["SystemCallFilter"] == ["@system-service", "~@privileged"]
    for key, setting in hardening().items():
        if key not in {"ProtectHome", "SystemCallFilter"}:
            assert dashboard[key] == bridge[key] == setting["value"], key


# --- the runner's old option names still work, with a warning -----------------------

# services.cc-ci.runner.<old> = value, and how the new option reads back (Nix, from `v`)
RENAMES = [
    ("enable", "drone.runner.enable", "false", "v", False),
    ("package", "drone.runner.package", "pkgs.jq", "v.name", "jq"),
    ("capacity", "drone.runner.capacity", "3", "v", 3),
    ("extraPackages", "drone.runner.extraPackages", "[ pkgs.jq ]", "map (p: p.name) v", ["jq"]),
    ("gitTokenFile", "harness.gitTokenFile", '"/run/keys/git"', "v", "/run/keys/git"),
    ("resolveTo", "harness.resolveTo", '"10.0.0.2"', "v", "10.0.0.2"),
    ("httpsPort", "harness.httpsPort", "8443", "v", 8443),
    ("caFile", "harness.caFile", '"/etc/ssl/ci-ca.pem"', "v", "/etc/ssl/ci-ca.pem"),
    (
        "environment",
        "harness.environment",
        '{ CCCI_DEPLOY_TIMEOUT = "900"; }',
        "v.CCCI_DEPLOY_TIMEOUT",
        "900",
    ),
]


@pytest.mark.parametrize(("old", "new", "value", "read", "want"), RENAMES)
def test_an_old_runner_option_sets_the_new_one_with_a_warning(old, new, value, read, want):
    result = evaluate(
        f"{{ new = let v = config.services.cc-ci.{new}; in {read}; inherit (r) warnings; }}",
        f"{{ pkgs, ... }}: {{ services.cc-ci.runner.{old} = {value}; }}",
    )
    assert result["new"] == want
    assert result["warnings"] == [
        f"The option `services.cc-ci.runner.{old}' defined in `<unknown-file>' has been"
        f" renamed to `services.cc-ci.{new}'."
    ]


def test_every_old_runner_option_is_renamed_and_the_install_guide_says_so():
    old = evaluate("builtins.attrNames r.options.services.cc-ci.runner")
    assert sorted(old) == sorted(name for name, *_ in RENAMES)
    guide = (ROOT / "docs" / "install.md").read_text()
    missing = [name for name in old if f"runner.{name}`" not in guide]
    assert not missing, f"docs/install.md does not name the renamed runner.{missing}"


def test_an_old_configuration_renders_the_runner_as_the_new_one_does():
    select = (
        "{ unit = config.systemd.services.cc-ci-drone-runner;"
        " env = config.services.cc-ci.harness.environment; }"
    )
    old = evaluate(
        select,
        """{ pkgs, ... }: { services.cc-ci.runner = {
          capacity = 2; extraPackages = [ pkgs.jq ]; resolveTo = "10.0.0.2";
          environment.CCCI_DEPLOY_TIMEOUT = "900";
        }; }""",
    )
    new = evaluate(
        select,
        """{ pkgs, ... }: { services.cc-ci = {
          drone.runner = { capacity = 2; extraPackages = [ pkgs.jq ]; };
          harness = { resolveTo = "10.0.0.2"; environment.CCCI_DEPLOY_TIMEOUT = "900"; };
        }; }""",
    )
    assert old == new
    assert new["unit"]["environment"]["DRONE_RUNNER_CAPACITY"] == "2"


# --- the environment the exec runner hands every pipeline step ------------------------

STEP_ENV = f"""
  let
    env = config.services.cc-ci.harness.environment;
    unit = config.systemd.services.cc-ci-drone-runner;
    # stand-in-pkgs.nix hashes a file's text into its path: same path, same text
    file = pkgs.writeText "cc-ci-runner.env" ((import {LIB}).envFile env);
  in {{
    inherit env;
    inherit (file) text;
    isTheUnitsFile = file.outPath == unit.environment.DRONE_RUNNER_ENVFILE;
    daemon = unit.environment;
    credentials = unit.serviceConfig.LoadCredential;
  }}
"""


def test_the_runner_hands_every_step_the_harness_environment():
    from cc_ci.contract.envfile import values
    from cc_ci.harness.settings import Settings

    result = evaluate(STEP_ENV)
    assert result["isTheUnitsFile"]
    env = values(result["text"])
    policy = env.pop("CCCI_POLICY_FILE")
    assert policy.startswith("/nix/store/") and policy.endswith("-cc-ci-policy.toml")
    assert env == {
        "CCCI_FORGE_URL": "https://git.example.org",
        "CCCI_HTTPS_PORT": "443",
        "CCCI_MAX_DEPLOYMENTS": "2",
        "CCCI_PROXY_SERVICE": "traefik_ci_example_org_app",
        "CCCI_RESOLVE_TO": "127.0.0.1",
        "CCCI_RESULTS_DIR": "/var/lib/cc-ci/results",
        "CCCI_STATE_DIR": "/var/lib/cc-ci/runner",
        "CCCI_TOOLS": "/var/lib/cc-ci/tools",
        "CCCI_ZONE": "ci.example.org",
    }
    settings = Settings.from_env(env)
    assert (settings.zone, settings.https_port) == ("ci.example.org", 443)
    assert settings.proxy_service == "traefik_ci_example_org_app"
    assert settings.max_deployments == 2
    assert result["credentials"] == ["rpc-secret:/run/secrets/drone_rpc_secret"]


def test_the_runner_daemon_is_told_drones_settings():
    daemon = evaluate(STEP_ENV)["daemon"]
    daemon.pop("DRONE_RUNNER_ENVFILE")
    assert daemon == {
        "DRONE_HTTP_BIND": "127.0.0.1:3000",
        "DRONE_LIMIT_REPOS": "recipes/cc-ci",
        "DRONE_RPC_HOST": "drone.ci.example.org",
        "DRONE_RPC_PROTO": "https",
        "DRONE_RUNNER_CAPACITY": "1",
        "DRONE_RUNNER_NAME": "ci-test",
        "HOME": "/var/lib/cc-ci/runner",
    }


def test_a_harness_environment_key_replaces_one_and_keeps_the_rest():
    from cc_ci.contract.envfile import values

    result = evaluate(
        STEP_ENV,
        '{ services.cc-ci.harness.environment = { CCCI_HTTPS_PORT = 8443; CCCI_DEPLOY_TIMEOUT = "900"; }; }',
    )
    env = values(result["text"])
    assert env["CCCI_HTTPS_PORT"] == "8443"
    assert env["CCCI_DEPLOY_TIMEOUT"] == "900"
    assert env["CCCI_ZONE"] == "ci.example.org"
    assert result["isTheUnitsFile"]


def test_the_deployments_a_run_has_at_once_is_an_option_of_the_harness():
    from cc_ci.contract.envfile import values

    result = evaluate(STEP_ENV, "{ services.cc-ci.harness.maxDeployments = 1; }")
    assert values(result["text"])["CCCI_MAX_DEPLOYMENTS"] == "1"


def test_the_daemons_own_environment_does_not_reach_the_steps():
    result = evaluate(STEP_ENV, '{ services.cc-ci.drone.runner.environment.DRONE_DEBUG = "true"; }')
    assert result["daemon"]["DRONE_DEBUG"] == "true"
    assert "DRONE_DEBUG" not in result["text"]


def test_a_private_repository_token_is_a_runner_credential_named_in_the_environment():
    from cc_ci.contract.envfile import values

    result = evaluate(STEP_ENV, "{ services.cc-ci.secrets.runnerGitToken = true; }")
    assert "git-token:/run/secrets/runner_git_token" in result["credentials"]
    env = values(result["text"])
    assert env["CCCI_GIT_TOKEN_FILE"] == "/run/credentials/cc-ci-drone-runner.service/git-token"


# --- sops-nix wiring ----------------------------------------------------------------------


def test_sops_nix_decrypts_exactly_the_secrets_the_configuration_reads():
    result = evaluate(
        """{
          secrets = builtins.attrNames config.sops.secrets;
          paths = with config.services.cc-ci; [
            proxy.certificateFile proxy.keyFile drone.clientSecretFile drone.rpcSecretFile
            drone.tokenFile gitea.tokenFile
          ];
          manifest = config.system.build.sops-nix-manifest.text;
        }"""
    )
    assert result["secrets"] == [
        "drone_client_secret",
        "drone_rpc_secret",
        "drone_token",
        "gitea_token",
        "wildcard_cert",
        "wildcard_key",
    ]
    assert result["paths"] == [
        f"/run/secrets/{n}"
        for n in [
            "wildcard_cert",
            "wildcard_key",
            "drone_client_secret",
            "drone_rpc_secret",
            "drone_token",
            "gitea_token",
        ]
    ]
    manifest = json.loads(result["manifest"])  # what sops-install-secrets would read
    assert manifest["ageKeyFile"] == "/var/lib/sops-nix/key.txt"
    assert sorted(s["name"] for s in manifest["secrets"]) == result["secrets"]
