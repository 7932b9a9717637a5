"""The pytest plugin recipe-shipped tests get inside their sandbox container.

It runs in the recipe-tests image (runner/sandbox_image.py), not on the host: only the
standard library, pytest, Playwright and `runner.web` (copied into the image) are at hand.
cc-ci writes `/ccci/input/context.json`; screenshots and the JUnit XML go to
`/ccci/results`. Fixtures, a subset of the host plugin's (runner/plugin.py):

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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner.web import Response, request

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

    @staticmethod
    def load(path: Path = CONTEXT) -> SandboxContext:
        data = json.loads(path.read_text())
        data["health_ok"] = tuple(data["health_ok"])
        return SandboxContext(**data)


class SandboxedApp:
    """The app under test as a visitor sees it: HTTPS to its domain through Traefik."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.domain = ctx.domain
        self.base_url = ctx.base_url
        self.recipe = ctx.recipe

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Response:
        headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        return request(
            self.url(path),
            resolve_to=self.ctx.resolve_to,
            ca_file=Path(self.ctx.ca_file) if self.ctx.ca_file else None,
            method=method,
            body=data,
            headers=headers,
            timeout=timeout,
        )

    def get(self, path: str = "/", **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Response:
        return self.request("POST", path, **kw)

    def exec(self, *cmd: str, **kw: Any) -> None:
        raise RuntimeError(NO_DOCKER.format(what="app.exec()"))

    def secret(self, name: str, service: str | None = None) -> str:
        raise RuntimeError(NO_DOCKER.format(what="app.secret()"))

    @property
    def env(self) -> dict[str, str]:
        raise RuntimeError(NO_DOCKER.format(what="app.env"))

    def wait_healthy(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                last = self.get(self.ctx.health_path, timeout=10).status
                if last in self.ctx.health_ok:
                    return
            except OSError as exc:
                last = exc
            time.sleep(1)
        raise AssertionError(
            f"{self.url(self.ctx.health_path)} not healthy after {timeout}s: {last!r}"
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "seed: runs before an upgrade or a backup (cc-ci)")
    config.addinivalue_line("markers", "mutate: runs between backup and restore (cc-ci)")


@pytest.fixture(scope="session")
def ccci_context() -> SandboxContext:
    return SandboxContext.load()


@pytest.fixture(scope="session")
def app(ccci_context: SandboxContext) -> SandboxedApp:
    return SandboxedApp(ccci_context)


@pytest.fixture(scope="session")
def base_url(ccci_context: SandboxContext) -> str:
    return ccci_context.base_url


@pytest.fixture(scope="session")
def app_domain(ccci_context: SandboxContext) -> str:
    return ccci_context.domain


@pytest.fixture(scope="session")
def stage(ccci_context: SandboxContext) -> str:
    return ccci_context.stage


@pytest.fixture(scope="session")
def phase(ccci_context: SandboxContext) -> str:
    return ccci_context.phase


@pytest.fixture(scope="session")
def run_data() -> dict:
    return {}


@pytest.fixture(scope="session")
def browser(ccci_context: SandboxContext) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    args = [
        *CHROMIUM_ARGS,
        f"--host-resolver-rules=MAP {ccci_context.domain} {ccci_context.resolve_to}",
    ]
    if ccci_context.cert_spki:
        args.append(f"--ignore-certificate-errors-spki-list={ccci_context.cert_spki}")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


@pytest.fixture
def screenshot(ccci_context: SandboxContext):
    def take(pg: Any, name: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60]
        path = RESULTS / "screenshots" / f"{ccci_context.stage}-{safe}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(path), full_page=False)
        return path

    return take
