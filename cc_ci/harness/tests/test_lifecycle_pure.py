from __future__ import annotations

from pathlib import Path

import pytest

from cc_ci.contract.redact import Redactor
from cc_ci.harness.deploy.janitor import run_app_stack_re
from cc_ci.harness.meta import MetaError, load_meta


def test_janitor_pattern_matches_only_run_apps_of_its_zone():
    pattern = run_app_stack_re("ci.test")
    assert pattern.match("demo-1a2b3c_ci_test_app")
    assert pattern.match("cust-abcdef_ci_test_content")
    assert not pattern.match("traefik_ci_test_app")
    assert not pattern.match("demo-1a2b3c_ci_testing_app")
    assert not pattern.match("cc-ci-proxy_app")


def test_recipe_meta_defaults_and_options(tmp_path: Path):
    assert load_meta(tmp_path).health_path == "/"
    (tmp_path / "recipe_meta.py").write_text(
        "HEALTH_PATH='/realms/master'\nHEALTH_OK=(200, 302)\nDEPLOY_TIMEOUT=600\n"
        "EXTRA_ENV=lambda d: {'SANDBOX_DOMAIN': 'sb-' + d}\n"
        "UPGRADE_FROM=['1.0.0+1.0', '0.9.0+0.9', '1.0.0+1.0']\n"
    )
    meta = load_meta(tmp_path)
    assert meta.health_ok == (200, 302)
    assert meta.upgrade_from == ("1.0.0+1.0", "0.9.0+0.9")
    assert load_meta(tmp_path / "none").upgrade_from == ()
    assert meta.deploy_timeout == 600.0
    assert meta.env_for("x.ci.test") == {"SANDBOX_DOMAIN": "sb-x.ci.test"}


@pytest.mark.parametrize(
    "text,complaint",
    [
        ("HEALTH_PATH='realms'", "must start with"),
        ("DEPLOY_TIMEOUT='soon'", "DEPLOY_TIMEOUT"),
        ("HEALTH_CHEK='/'", "unknown option"),
        ("EXTRA_ENV={'A': 'x\\ny'}", "EXTRA_ENV"),
        ("UPGRADE_FROM='1.0.0+1.0'", "UPGRADE_FROM must be"),
        ("UPGRADE_FROM=['1.0.0+1.0', '../x']", "UPGRADE_FROM must be a list of release tags"),
        ("UPGRADE_FROM=[1]", "UPGRADE_FROM must be a list of release tags"),
    ],
)
def test_a_malformed_recipe_meta_names_the_option(tmp_path: Path, text, complaint):
    (tmp_path / "recipe_meta.py").write_text(text)
    with pytest.raises(MetaError, match=complaint):
        load_meta(tmp_path).env_for("d.ci.test")


def test_redactor_masks_every_known_secret():
    r = Redactor()
    r.add("s3cr3t-token")
    assert r("auth: token s3cr3t-token!") == "auth: token [redacted]!"
