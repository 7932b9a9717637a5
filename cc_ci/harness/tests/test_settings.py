"""The runner's settings take effect: the operator's timeouts are ceilings over what a recipe
asks, and the HTTPS port is in every URL the harness and a suite reach the app at.

nix/tests/test_runner_settings.py feeds Settings the environment the NixOS module renders;
these are the rules themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc_ci.harness.cli import parse_args, results_dir
from cc_ci.harness.deploy.abra import Abra
from cc_ci.harness.deploy.lifecycle import App, health_url
from cc_ci.harness.meta import MetaError, RecipeMeta, load_meta
from cc_ci.harness.sandbox.container import Limits, sandbox_limits
from cc_ci.harness.sandbox.image import wheels_dir
from cc_ci.harness.settings import DEPLOY_CEILING, REPO_ROOT, STAGE_CEILING, Settings, SettingsError
from cc_ci.harness.timeouts import Timeouts, timeouts
from cc_ci.suite.appclient import AppClient
from cc_ci.suite.web import https_origin

DOMAIN = "demo-1a2b3c.ci.test"


def ceilings(deploy: float, stage: float) -> Settings:
    return Settings.from_env({"CCCI_DEPLOY_TIMEOUT": str(deploy), "CCCI_STAGE_TIMEOUT": str(stage)})


# -- timeouts: the recipe asks, the operator's settings cap ---------------------------------


def test_a_recipe_that_asks_for_less_than_the_ceilings_gets_what_it_asks():
    meta = RecipeMeta(deploy_timeout=120, stage_timeout=300, backup_timeout=200)
    assert timeouts(ceilings(900, 1800), meta) == Timeouts(120, 300, 200, ())


def test_a_recipe_that_asks_for_more_gets_the_ceiling_and_the_log_says_so():
    meta = RecipeMeta(deploy_timeout=1200, stage_timeout=1200, backup_timeout=900)
    got = timeouts(ceilings(600, 800), meta)
    assert (got.deploy, got.stage, got.backup) == (600, 800, 800)
    assert got.capped == (
        "recipe_meta DEPLOY_TIMEOUT 1200s is over the operator's CCCI_DEPLOY_TIMEOUT: 600s applies",
        "recipe_meta STAGE_TIMEOUT 1200s is over the operator's CCCI_STAGE_TIMEOUT: 800s applies",
        "recipe_meta BACKUP_TIMEOUT 900s is over the operator's CCCI_STAGE_TIMEOUT: 800s applies",
    )


def test_asking_exactly_the_ceiling_is_not_cut():
    meta = RecipeMeta(deploy_timeout=600, stage_timeout=800, backup_timeout=800)
    assert timeouts(ceilings(600, 800), meta) == Timeouts(600, 800, 800, ())


def test_a_recipe_that_asks_nothing_gets_meta_defaults_under_the_default_ceilings():
    assert timeouts(Settings.from_env({}), RecipeMeta()) == Timeouts(300, 900, 600, ())


def test_the_default_ceilings_cut_no_enrolled_suites_ask():
    metas = {
        p.parent.name: load_meta(p.parent) for p in (REPO_ROOT / "tests").glob("*/recipe_meta.py")
    }
    assert len(metas) >= 5
    default = Settings.from_env({})
    assert (default.deploy_timeout, default.stage_timeout) == (DEPLOY_CEILING, STAGE_CEILING)
    cut = {name: timeouts(default, meta).capped for name, meta in metas.items()}
    assert {name: c for name, c in cut.items() if c} == {}


@pytest.mark.parametrize(
    "key,value,complaint",
    [
        ("CCCI_HTTPS_PORT", "0", "CCCI_HTTPS_PORT=0 is not a port"),
        ("CCCI_HTTPS_PORT", "65536", "CCCI_HTTPS_PORT=65536 is not a port"),
        ("CCCI_HTTPS_PORT", "https", "malformed"),
        ("CCCI_DEPLOY_TIMEOUT", "0", "CCCI_DEPLOY_TIMEOUT=0 must be a positive"),
        ("CCCI_DEPLOY_TIMEOUT", "-5", "CCCI_DEPLOY_TIMEOUT=-5 must be a positive"),
        ("CCCI_STAGE_TIMEOUT", "inf", "CCCI_STAGE_TIMEOUT=inf must be a positive"),
        ("CCCI_STAGE_TIMEOUT", "nan", "CCCI_STAGE_TIMEOUT=nan must be a positive"),
        ("CCCI_STAGE_TIMEOUT", "soon", "malformed"),
    ],
)
def test_a_malformed_port_or_timeout_is_refused_naming_the_setting(key, value, complaint):
    with pytest.raises(SettingsError, match=complaint):
        Settings.from_env({key: value})


# -- the HTTPS port: in every URL the app is reached at --------------------------------------


@pytest.mark.parametrize("port,url", [(443, f"https://{DOMAIN}"), (8443, f"https://{DOMAIN}:8443")])
def test_the_apps_url_carries_the_port_unless_it_is_443(port, url, tmp_path: Path):
    assert https_origin(DOMAIN, port) == url
    app = App("demo", DOMAIN, Abra("abra", tmp_path), https_port=port)
    assert app.base_url == url
    assert health_url(app, RecipeMeta(health_path="/healthz")) == f"{url}/healthz"


def test_a_suites_app_client_builds_its_urls_from_the_context_it_is_given():
    class Ctx:
        recipe, domain, resolve_to, ca_file = "demo", DOMAIN, "127.0.0.1", None
        base_url, health_path, health_ok = f"https://{DOMAIN}:8443", "/", (200,)

    assert AppClient(Ctx()).url("api/v1") == f"https://{DOMAIN}:8443/api/v1"


# -- Settings is where cc-ci-run reads the runner's environment -------------------------------


def test_the_run_folder_goes_under_the_results_setting_unless_the_flag_says_otherwise(
    tmp_path: Path,
):
    settings = Settings.from_env({"CCCI_RESULTS_DIR": str(tmp_path / "records")})
    assert results_dir(parse_args(["demo"], {}), settings) == tmp_path / "records"
    flag = parse_args(["demo", "--results-dir", str(tmp_path / "here")], {})
    assert results_dir(flag, settings) == tmp_path / "here"


def test_the_sandbox_images_wheels_are_cached_under_the_tools_setting(tmp_path: Path):
    settings = Settings.from_env({"CCCI_TOOLS": str(tmp_path / "tools")})
    assert wheels_dir(settings.tools_dir).parent == tmp_path / "tools" / "wheels"


def test_the_tests_containers_caps_are_the_settings():
    settings = Settings.from_env({"CCCI_TESTS_MEMORY": "3g", "CCCI_TESTS_CPUS": "0.5"})
    assert sandbox_limits(settings) == Limits(memory="3g", cpus=0.5)


def test_the_command_id_the_bridge_passes_names_the_run_and_a_bad_one_exits_2(monkeypatch, capsys):
    from cc_ci.harness.cli import command_id, default_run_id, main

    env = {"DRONE_BUILD_NUMBER": "7", "CCCI_COMMAND": "1007"}
    assert command_id(env) == 1007 and default_run_id(env) == "drone-7-c1007"
    assert command_id({}) is None and default_run_id({"DRONE_BUILD_NUMBER": "7"}) == "drone-7"
    for bad in ("x", "-3", "007"):
        monkeypatch.setenv("CCCI_COMMAND", bad)
        assert main(["custom-html", "--ref", "abc1234"]) == 2
        assert "CCCI_COMMAND" in capsys.readouterr().err


# -- how many deployments a run has at once (chains.py) ---------------------------------------


def test_a_run_has_two_deployments_at_once_unless_the_operator_says_otherwise():
    assert Settings.from_env({}).max_deployments == 2
    assert Settings.from_env({"CCCI_MAX_DEPLOYMENTS": "1"}).max_deployments == 1
    assert Settings.from_env({"CCCI_MAX_DEPLOYMENTS": " 3 "}).max_deployments == 3


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", ""])
def test_a_malformed_deployments_at_once_is_refused_naming_the_setting(value):
    with pytest.raises(SettingsError, match=r"CCCI_MAX_DEPLOYMENTS=.* at least 1"):
        Settings.from_env({"CCCI_MAX_DEPLOYMENTS": value})


def test_a_recipe_can_ask_to_be_run_in_series(tmp_path: Path):
    assert load_meta(tmp_path).serial is False
    (tmp_path / "recipe_meta.py").write_text("SERIAL = True\n")
    assert load_meta(tmp_path).serial is True
    (tmp_path / "recipe_meta.py").write_text("SERIAL = 'yes'\n")
    with pytest.raises(MetaError, match="SERIAL must be True or False"):
        load_meta(tmp_path)
