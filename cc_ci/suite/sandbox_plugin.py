"""The pytest plugin recipe-shipped tests get inside their sandbox container.

It runs in the recipe-tests image (cc_ci/harness/sandbox/image.py), not on the host: only the
standard library, pytest, Playwright and the few runner modules copied into the image
(appclient, fixtures, web) are at hand.
cc-ci writes `/ccci/input/context.json`; screenshots and the JUnit XML go to
`/ccci/results`. Fixtures, a subset of the host plugin's (cc_ci/suite/plugin.py):

  app         the live app: .domain, .base_url, .url(), .get()/.post()/.request(),
              .wait_healthy(); .exec(), .secret() and .env are refused (no Docker socket)
  base_url, app_domain, stage, phase
  run_data    a dict for the test session (recipe-local has a single phase)
  browser     Chromium (Playwright) that trusts the test zone's certificate
  page        a fresh page in that browser
  screenshot  screenshot(page, name) saves recipe-local-<name>.png into the run record
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cc_ci.suite.appclient import AppClient
from cc_ci.suite.fixtures import (  # noqa: F401 - fixtures and the markers, re-exported
    app_domain,
    base_url,
    page,
    phase,
    pytest_configure,
    screenshot,
    stage,
)

CONTEXT = Path("/ccci/input/context.json")
RESULTS = Path("/ccci/results")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
NO_DOCKER = (
    "recipe-shipped tests run in a sandbox without the Docker socket: {what} is only "
    "available to cc-ci's own suites in tests/<recipe>/ (docs/writing-tests.md)"
)


@dataclass(frozen=True, slots=True)
class SandboxContext:
    recipe: str
    domain: str
    base_url: str
    stage: str
    phase: str
    resolve_to: str  # Traefik's address on the test network
    ca_file: str | None
    cert_spki: str | None
    health_path: str
    health_ok: tuple[int, ...]
    front_page: str
    artifacts_dir: str = str(RESULTS / "screenshots")

    @staticmethod
    def load(path: Path = CONTEXT) -> SandboxContext:
        data = json.loads(path.read_text())
        data["health_ok"] = tuple(data["health_ok"])
        return SandboxContext(**data)


class SandboxedApp(AppClient):
    """The app as a visitor sees it; nothing that would need the Docker socket."""

    def exec(self, *cmd: str, **kw: Any) -> None:
        raise RuntimeError(NO_DOCKER.format(what="app.exec()"))

    def secret(self, name: str, service: str | None = None) -> str:
        raise RuntimeError(NO_DOCKER.format(what="app.secret()"))

    @property
    def env(self) -> dict[str, str]:
        raise RuntimeError(NO_DOCKER.format(what="app.env"))


@pytest.fixture(scope="session")
def ccci_context() -> SandboxContext:
    return SandboxContext.load()


@pytest.fixture(scope="session")
def app(ccci_context: SandboxContext) -> SandboxedApp:
    return SandboxedApp(ccci_context)


@pytest.fixture(scope="session")
def run_data() -> dict:
    return {}


@pytest.fixture(scope="session")
def browser(ccci_context: SandboxContext) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    rules = f"--host-resolver-rules=MAP {ccci_context.domain} {ccci_context.resolve_to}"
    args = [*CHROMIUM_ARGS, rules]
    if ccci_context.cert_spki:
        args.append(f"--ignore-certificate-errors-spki-list={ccci_context.cert_spki}")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield b
        finally:
            b.close()
