"""The runner's settings take effect: the HTTPS port is in every URL the harness and a suite
reach the app at."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc_ci.harness.deploy.abra import Abra
from cc_ci.harness.deploy.lifecycle import App, health_url
from cc_ci.harness.meta import RecipeMeta
from cc_ci.harness.settings import Settings, SettingsError
from cc_ci.suite.appclient import AppClient
from cc_ci.suite.web import https_origin

DOMAIN = "demo-1a2b3c.ci.test"


@pytest.mark.parametrize(
    "value,complaint",
    [
        ("0", "CCCI_HTTPS_PORT=0 is not a port"),
        ("65536", "CCCI_HTTPS_PORT=65536 is not a port"),
        ("https", "malformed"),
    ],
)
def test_a_malformed_port_is_refused_naming_the_setting(value, complaint):
    with pytest.raises(SettingsError, match=complaint):
        Settings.from_env({"CCCI_HTTPS_PORT": value})


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
