"""The pytest plugin recipe suites use: fixtures for the live app, a browser, and data hooks.

Registered as the `cc_ci` pytest11 entry point; it is inert until a fixture is used outside
cc-ci-run. Fixtures:

  app         the live app: .domain, .base_url, .get()/.post()/.request(), .exec(), .secret(),
              .volume_path(), .wait_healthy(), .env
  base_url, app_domain, stage, phase
  run_data    a dict kept across the phases of one stage (seed → verify), for markers
  browser     Chromium (Playwright) that resolves the app's domain and trusts its certificate
  page        a fresh page in that browser
  screenshot  screenshot(page, name) saves <stage>-<name>.png into the run's screenshots

Markers: @pytest.mark.seed runs before an upgrade or a backup, @pytest.mark.mutate between
backup and restore; unmarked tests verify afterwards.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.context import SuiteContext
from runner.lifecycle import read_env
from runner.web import Response, request


class LiveApp:
    def __init__(self, ctx: SuiteContext) -> None:
        self.ctx = ctx
        self.domain = ctx.domain
        self.base_url = ctx.base_url
        self.stack = ctx.stack
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

    def container(self, service: str | None = None) -> str:
        name = f"{self.stack}_{service or self.ctx.main_service}"
        out = subprocess.run(
            [
                "docker",
                "ps",
                "-q",
                "--filter",
                f"label=com.docker.swarm.service.name={name}",
                "--filter",
                "status=running",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.split()
        if not out:
            raise AssertionError(f"no running container for service {name}")
        return out[0]

    def exec(
        self,
        *cmd: str,
        service: str | None = None,
        check: bool = True,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the service's running container (argument list, no shell)."""
        argv = [
            "docker",
            "exec",
            *(["-i"] if input is not None else []),
            self.container(service),
            *cmd,
        ]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd[:3])} in {service or self.ctx.main_service} "
                f"exited {r.returncode}: {r.stderr.strip()[-500:]}"
            )
        return r

    def volume_path(self, volume: str, service: str | None = None) -> str:
        """Where the app's volume `volume` (the recipe's name for it) is mounted in the
        service's running container, e.g. app.volume_path("content") → "/usr/share/nginx/html".
        """
        out = subprocess.run(
            ["docker", "inspect", "--format", "{{json .Mounts}}", self.container(service)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if out.returncode != 0:
            raise AssertionError(f"docker inspect failed: {out.stderr.strip()}")
        name = f"{self.stack}_{volume}"
        for m in json.loads(out.stdout) or []:
            if m.get("Type") == "volume" and m.get("Name") == name:
                return m["Destination"]
        raise AssertionError(
            f"volume {volume} ({name}) is not mounted in {service or self.ctx.main_service}"
        )

    def secret(self, name: str, service: str | None = None) -> str:
        """A generated secret's value, as the app sees it at /run/secrets/<name>."""
        return self.exec("cat", f"/run/secrets/{name}", service=service).stdout.strip()

    @property
    def env(self) -> dict[str, str]:
        """The app's env file as abra keeps it (no secret values live there)."""
        return read_env(Path(self.ctx.env_file))

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
def ccci_context() -> SuiteContext:
    return SuiteContext.load()


@pytest.fixture(scope="session")
def app(ccci_context: SuiteContext) -> LiveApp:
    return LiveApp(ccci_context)


@pytest.fixture(scope="session")
def base_url(ccci_context: SuiteContext) -> str:
    return ccci_context.base_url


@pytest.fixture(scope="session")
def app_domain(ccci_context: SuiteContext) -> str:
    return ccci_context.domain


@pytest.fixture(scope="session")
def stage(ccci_context: SuiteContext) -> str:
    return ccci_context.stage


@pytest.fixture(scope="session")
def phase(ccci_context: SuiteContext) -> str:
    return ccci_context.phase


@pytest.fixture(scope="session")
def run_data(ccci_context: SuiteContext) -> Iterator[dict]:
    path = Path(ccci_context.data_file)
    data = json.loads(path.read_text()) if path.exists() else {}
    yield data
    path.write_text(json.dumps(data))


@pytest.fixture(scope="session")
def browser(ccci_context: SuiteContext) -> Iterator[Any]:
    from runner.browser import launch_chromium

    args = [f"--host-resolver-rules=MAP *.{ccci_context.zone} {ccci_context.resolve_to}"]
    if ccci_context.cert_spki:
        args.append(f"--ignore-certificate-errors-spki-list={ccci_context.cert_spki}")
    with launch_chromium(args) as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


@pytest.fixture
def screenshot(ccci_context: SuiteContext):
    def take(pg: Any, name: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60]
        path = Path(ccci_context.artifacts_dir) / f"{ccci_context.stage}-{safe}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(path), full_page=False)
        return path

    return take
