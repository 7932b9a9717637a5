"""The world the end-to-end tests share: the local proxy, the demo forge, cc-ci-run's env."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runner import proxy
from runner.demo import build_forge, build_images
from runner.docker import docker
from runner.sandbox import proxy_address
from runner.sandbox_image import ensure_sandbox_image
from runner.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ZONE = "ci.test"


def which_abra() -> str:
    """Real abra when installed; otherwise the stand-in (docs/abra-sim.md)."""
    real = shutil.which("abra")
    if real:
        return real
    sim = Path(sys.executable).parent / "abra-sim"
    assert sim.exists(), "neither abra nor .venv/bin/abra-sim: run scripts/bootstrap"
    return str(sim)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The local proxy for the test zone (on the tests' network too), the recipe-tests
    image, the demo forge, and the env cc-ci-run needs."""
    state = Path(os.environ.get("CCCI_STATE_DIR", Path.home() / ".local" / "state" / "cc-ci"))
    forge = tmp_path_factory.mktemp("forge")
    env = {
        **os.environ,
        "CCCI_STATE_DIR": str(state),
        "CCCI_ZONE": ZONE,
        "CCCI_RESOLVE_TO": "127.0.0.1",
        "CCCI_CA_FILE": str(state / "pki" / "ca.crt"),
        "CCCI_FORGE_URL": f"file://{forge}",
        "CCCI_ABRA": which_abra(),
    }
    settings = Settings.from_env(env)
    proxy.up(settings, state / "pki")
    proxy_address(settings.proxy_service)
    ensure_sandbox_image()
    build_images()
    head = build_forge(forge)
    return {**env, "HEAD": head, "FORGE": str(forge)}


def _run_ccci(world: dict[str, str], results: Path, *args: str, timeout: float = 600):
    env = {k: v for k, v in world.items() if k not in ("HEAD", "FORGE")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "runner.cli",
            "demo",
            "--src",
            "cc-ci/demo",
            *args,
            "--results-dir",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def _demo_leftovers() -> list[str]:
    """Anything of a demo run app on the swarm (run apps are demo-<6 hex>.ci.test)."""
    found = []
    for kind in ("service", "volume", "secret", "config"):
        out = docker(kind, "ls", "--format", "{{.Name}}", timeout=60).split()
        found += [f"{kind} {n}" for n in out if n.startswith("demo-") and "_ci_test" in n]
    return found


def _record(results: Path, run_id: str) -> dict:
    return json.loads((results / run_id / "run.json").read_text())


@pytest.fixture
def run_ccci() -> Callable[..., subprocess.CompletedProcess[str]]:
    """run_ccci(world, results, *flags): cc-ci-run on the demo recipe."""
    return _run_ccci


@pytest.fixture
def demo_leftovers() -> Callable[[], list[str]]:
    return _demo_leftovers


@pytest.fixture
def record() -> Callable[[Path, str], dict]:
    """record(results, run_id): the run.json of that run."""
    return _record
