"""The pytest plugin recipe-shipped tests get inside their sandbox container.

It runs in the recipe-tests image (cc_ci/harness/sandbox/image.py), not on the host: only the
standard library, pytest, pytest-base-url, pytest-playwright, Playwright and cc-ci's suite and
contract folders (copied into the image) are at hand.
cc-ci writes `/ccci/input/context.json`; screenshots and the JUnit XML go to
`/ccci/results`. Fixtures, a subset of the host plugin's (cc_ci/suite/plugin.py):

  app         the live app: .domain, .base_url, .url(), .get()/.post()/.request(),
              .wait_healthy(); .exec(), .secret() and .env are refused (no Docker socket)
  app_domain, stage, phase
  run_data    a dict for the test session (recipe-local has a single phase)
  screenshot  screenshot(page, name) saves recipe-local-<name>.png into the run record

and `base_url`, `browser`, `context`, `page` from pytest-base-url and pytest-playwright, whose
Chromium reaches only the app's domain and trusts the test zone's certificate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cc_ci.suite.appclient import AppClient
from cc_ci.suite.browser import app_args
from cc_ci.suite.fixtures import (  # noqa: F401 - fixtures and the markers, re-exported
    Chromium,
    app_domain,
    browser_context_args,
    browser_type_launch_args,
    phase,
    pytest_configure,
    screenshot,
    stage,
)

CONTEXT = Path("/ccci/input/context.json")
RESULTS = Path("/ccci/results")
CHROMIUM = "/usr/bin/chromium"
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
def ccci_chromium(ccci_context: SandboxContext) -> Chromium:
    """The image's Chromium; only the app's own domain resolves (to Traefik)."""
    rule = f"MAP {ccci_context.domain} {ccci_context.resolve_to}"
    # /dev/shm is small in a container: Chromium uses /tmp instead.
    return Chromium(CHROMIUM, (*app_args(rule, ccci_context.cert_spki), "--disable-dev-shm-usage"))
