"""The suite plugin chain as cc-ci-run starts it: pytest-base-url → pytest-playwright → cc-ci,
then the suite's own conftest.py, each able to override a link of the one before."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cc_ci.suite import plugins
from cc_ci.suite.context import ENV_VAR, SuiteContext


def context(tmp_path: Path, base_url: str) -> Path:
    ctx = SuiteContext(
        recipe="demo",
        domain="demo-1a2b3c.ci.test",
        stack="demo-1a2b3c_ci_test",
        base_url=base_url,
        zone="ci.test",
        stage="install",
        phase="verify",
        resolve_to="127.0.0.1",
        ca_file=None,
        cert_spki="c3BraQ==",
        artifacts_dir=str(tmp_path / "screenshots"),
        run_dir=str(tmp_path),
        data_file=str(tmp_path / "data.json"),
        env_file=str(tmp_path / "app.env"),
        health_path="/",
        health_ok=(200,),
        main_service="app",
        front_page="/",
    )
    path = tmp_path / "context.json"
    ctx.save(path)
    return path


def run_suite(tmp_path: Path, files: dict[str, str], base_url: str) -> subprocess.CompletedProcess:
    suite = tmp_path / "suite"
    suite.mkdir()
    for name, text in files.items():
        (suite / name).write_text(text)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        os.devnull,
        "--rootdir",
        str(suite),
        "-p",
        "no:cacheprovider",
        *plugins.pytest_args(plugins.HOST_PLUGIN, base_url=base_url, output=str(tmp_path / "pw")),
        "-q",
        str(suite),
    ]
    env = {**os.environ, ENV_VAR: str(context(tmp_path, base_url)), **plugins.ENV}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


CHAIN_TEST = """
def test_links(base_url, browser_type_launch_args, browser_context_args):
    import json, pathlib
    pathlib.Path(__file__).with_name("seen.json").write_text(json.dumps({
        "base_url": base_url, "launch": browser_type_launch_args, "context": browser_context_args,
    }))
"""


def test_cc_ci_adds_its_links_to_pytest_playwrights_chain(tmp_path: Path):
    r = run_suite(tmp_path, {"test_chain.py": CHAIN_TEST}, "https://demo-1a2b3c.ci.test")
    assert r.returncode == 0, r.stdout + r.stderr
    seen = json.loads((tmp_path / "suite" / "seen.json").read_text())
    assert seen["base_url"] == "https://demo-1a2b3c.ci.test"
    assert seen["context"]["base_url"] == "https://demo-1a2b3c.ci.test"  # pytest-playwright's
    assert seen["context"]["viewport"] == {"width": 1280, "height": 800}  # cc-ci's
    assert seen["launch"]["executable_path"].endswith("chromium")
    assert "--host-resolver-rules=MAP *.ci.test 127.0.0.1" in seen["launch"]["args"]
    assert "--ignore-certificate-errors-spki-list=c3BraQ==" in seen["launch"]["args"]


def test_a_suites_conftest_overrides_one_link_and_keeps_the_rest(tmp_path: Path):
    conftest = """
import pytest

@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "de-DE", "viewport": {"width": 390, "height": 844}}
"""
    r = run_suite(
        tmp_path,
        {"conftest.py": conftest, "test_chain.py": CHAIN_TEST},
        "https://demo-1a2b3c.ci.test",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    seen = json.loads((tmp_path / "suite" / "seen.json").read_text())
    assert seen["context"]["locale"] == "de-DE"
    assert seen["context"]["viewport"] == {"width": 390, "height": 844}
    assert seen["context"]["base_url"] == "https://demo-1a2b3c.ci.test"
    assert "--host-resolver-rules=MAP *.ci.test 127.0.0.1" in seen["launch"]["args"]


@pytest.fixture
def site() -> Iterator[int]:
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"<h1>{self.headers['Host'].split(':')[0]}</h1>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_pytest_playwrights_page_reaches_the_app_by_its_domain_in_debians_chromium(
    tmp_path: Path, site: int
):
    test = """
def test_front(page):
    page.goto("/")
    assert page.locator("h1").inner_text() == "demo-1a2b3c.ci.test"
"""
    r = run_suite(tmp_path, {"test_page.py": test}, f"http://demo-1a2b3c.ci.test:{site}")
    assert r.returncode == 0, r.stdout + r.stderr


def test_cc_ci_s_own_checks_are_where_the_harness_looks_for_them():
    from cc_ci.harness.suite import BUILTIN

    assert (BUILTIN / "test_front_page.py").is_file()
