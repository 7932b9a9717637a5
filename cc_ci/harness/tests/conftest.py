"""The world the end-to-end tests share: the local proxy, the demo forge, cc-ci-run's env."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cc_ci.harness.deploy.docker import docker
from devworld.demo.world import demo_world

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The local proxy for the test zone (on the tests' network too), the recipe-tests
    image, the demo forge, and the env cc-ci-run needs."""
    forge = tmp_path_factory.mktemp("forge")
    env, head = demo_world(forge)
    return {**env, "HEAD": head, "FORGE": str(forge)}


def _run_ccci(world: dict[str, str], results: Path, *args: str, timeout: float = 600):
    env = {k: v for k, v in world.items() if k not in ("HEAD", "FORGE")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cc_ci.harness.cli",
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
