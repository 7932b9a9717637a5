"""The pytest plugin recipe suites use: fixtures for the live app, a browser, and data hooks.

Registered as the `cc_ci` pytest11 entry point; it is inert until a fixture is used outside
cc-ci-run. Fixtures:

  app         the live app: .domain, .base_url, .get()/.post()/.request(), .exec(), .secret(),
              .volume_path(), .wait_healthy(), .env
  app_domain, stage, phase
  run_data    a dict kept across the phases of one stage (seed → verify), for markers
  screenshot  screenshot(page, name) saves <stage>-<name>.png into the run's screenshots

and, from the ecosystem's plugins it builds on (cc_ci/suite/plugins.py): `base_url`
(pytest-base-url), `browser`, `context`, `page` (pytest-playwright), whose Chromium resolves
the app's domain and trusts its certificate through cc-ci's `browser_type_launch_args`.

Markers: @pytest.mark.seed runs before an upgrade or a backup, @pytest.mark.mutate between
backup and restore; unmarked tests verify afterwards.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cc_ci.contract import envfile
from cc_ci.suite.appclient import AppClient
from cc_ci.suite.browser import app_args, chromium_path
from cc_ci.suite.context import SuiteContext
from cc_ci.suite.fixtures import (  # noqa: F401 - fixtures and the markers, re-exported
    Chromium,
    app_domain,
    browser_context_args,
    browser_type_launch_args,
    phase,
    pytest_configure,
    screenshot,
    stage,
    upgraded_from,
)


class LiveApp(AppClient):
    """The app under test, with a way into its containers (cc-ci's own suites only)."""

    def __init__(self, ctx: SuiteContext) -> None:
        super().__init__(ctx)
        self.ctx = ctx
        self.stack = ctx.stack

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
        return envfile.values(Path(self.ctx.env_file).read_text())


@pytest.fixture(scope="session")
def ccci_context() -> SuiteContext:
    return SuiteContext.load()


@pytest.fixture(scope="session")
def app(ccci_context: SuiteContext) -> LiveApp:
    return LiveApp(ccci_context)


@pytest.fixture(scope="session")
def run_data(ccci_context: SuiteContext) -> Iterator[dict]:
    path = Path(ccci_context.data_file)
    data = json.loads(path.read_text()) if path.exists() else {}
    yield data
    path.write_text(json.dumps(data))


@pytest.fixture(scope="session")
def ccci_chromium(ccci_context: SuiteContext) -> Chromium:
    """Debian's Chromium; every name in the test zone resolves to the proxy."""
    rule = f"MAP *.{ccci_context.zone} {ccci_context.resolve_to}"
    return Chromium(chromium_path(), app_args(rule, ccci_context.cert_spki))
