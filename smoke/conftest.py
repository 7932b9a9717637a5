"""Smoke tests: each real component cc-ci depends on is present and works on this machine.

None of these skip in CI, except the abra test while abra cannot be had (it says why): a
missing component is a failure that names what to install.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TOOLS = Path(os.environ.get("CCCI_TOOLS", Path.home() / ".cache" / "cc-ci"))
os.environ["PATH"] = f"{TOOLS / 'bin'}:{TOOLS / 'cargo' / 'bin'}:{os.environ['PATH']}"
ARTIFACTS = Path(__file__).resolve().parent.parent / "build" / "test-artifacts" / "smoke"


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
