"""The demo's world on this machine: the local proxy, the demo images, a forge, and the
environment `cc-ci-run` needs to test the demo recipe there (tests, benchmarks, the pipeline)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from cc_ci.harness.sandbox.image import ensure_sandbox_image
from cc_ci.harness.sandbox.network import proxy_address
from cc_ci.harness.settings import Settings
from devworld import proxy
from devworld.demo import build_forge, build_images

ZONE = "ci.test"


def which_abra() -> str:
    """Real abra when installed; otherwise the stand-in (docs/abra-sim.md)."""
    real = os.environ.get("CCCI_ABRA") or shutil.which("abra")
    if real:
        return real
    sim = Path(sys.executable).parent / "abra-sim"
    if not sim.exists():
        raise RuntimeError("neither abra nor .venv/bin/abra-sim: run scripts/bootstrap")
    return str(sim)


def demo_env(forge: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) with the local settings for the demo."""
    base = dict(os.environ if base is None else base)
    state = Path(base.get("CCCI_STATE_DIR") or Path.home() / ".local" / "state" / "cc-ci")
    return {
        **base,
        "CCCI_STATE_DIR": str(state),
        "CCCI_ZONE": ZONE,
        "CCCI_RESOLVE_TO": "127.0.0.1",
        "CCCI_CA_FILE": str(state / "pki" / "ca.crt"),
        "CCCI_FORGE_URL": f"file://{forge}",
        "CCCI_ABRA": which_abra(),
    }


def demo_world(forge: Path, **forge_options: bool) -> tuple[dict[str, str], str]:
    """Bring up the proxy (on the tests' network too), build the images (the recipe-tests
    sandbox's as well) and the forge; (env for cc-ci-run, head commit)."""
    env = demo_env(forge)
    settings = Settings.from_env(env)
    proxy.up(settings, settings.state_dir / "pki")
    # cc-ci-run sees to these itself; done here, the first run's timings leave them out
    proxy_address(settings.proxy_service)
    ensure_sandbox_image()
    build_images()
    return env, build_forge(forge, **forge_options)
