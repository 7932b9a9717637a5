"""Fixtures both pytest plugins share (cc_ci/suite/plugin.py on the host,
cc_ci/suite/sandbox_plugin.py in the recipe-tests sandbox).

Each plugin defines `ccci_context` (with `domain`, `stage`, `phase`, `artifacts_dir`), `app`
and `ccci_chromium` (the browser binary and its arguments), and re-exports these. `base_url`
comes from pytest-base-url and `browser`, `context`, `page` from pytest-playwright
(cc_ci/suite/plugins.py); the two overrides below are cc-ci's links in their chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cc_ci.contract.stages import row_stage

VIEWPORT = {"width": 1280, "height": 800}


@dataclass(frozen=True, slots=True)
class Chromium:
    """The Chromium a suite's browser is: its binary and the arguments cc-ci adds."""

    path: str
    args: tuple[str, ...]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "seed: runs before an upgrade or a backup (cc-ci)")
    config.addinivalue_line("markers", "mutate: runs between backup and restore (cc-ci)")


@pytest.fixture(scope="session")
def app_domain(ccci_context: Any) -> str:
    return ccci_context.domain


@pytest.fixture(scope="session")
def stage(ccci_context: Any) -> str:
    """The stage (`upgrade` for each of its rows: the context names the row, for files)."""
    return row_stage(ccci_context.stage)


@pytest.fixture(scope="session")
def phase(ccci_context: Any) -> str:
    return ccci_context.phase


@pytest.fixture(scope="session")
def upgraded_from(ccci_context: Any) -> str:
    """The release the upgrade stage deployed before the PR head (its tag): for messages
    such as "nginx is still 1.22.1, as in 1.0.0+1.22.1". Only the upgrade stage has one."""
    release = getattr(ccci_context, "upgraded_from", None)
    if not release:
        raise pytest.UsageError(
            f"`upgraded_from` is for the upgrade stage; this is {ccci_context.stage!r}"
        )
    return release


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], ccci_chromium: Chromium
) -> dict[str, Any]:
    """pytest-playwright's launch options, with Debian's Chromium and cc-ci's arguments: the
    app's domain resolves to the proxy, and the test zone's certificate is trusted."""
    return {
        **browser_type_launch_args,
        "executable_path": ccci_chromium.path,
        "args": [*browser_type_launch_args.get("args", []), *ccci_chromium.args],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's context options (with `base_url`), and a desktop viewport."""
    return {"viewport": VIEWPORT, **browser_context_args}


@pytest.fixture
def screenshot(ccci_context: Any):
    def take(pg: Any, name: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60]
        path = Path(ccci_context.artifacts_dir) / f"{ccci_context.stage}-{safe}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(path), full_page=False)
        return path

    return take
