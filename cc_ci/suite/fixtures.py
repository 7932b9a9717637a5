"""Fixtures both pytest plugins share (cc_ci/suite/plugin.py on the host, cc_ci/suite/sandbox_plugin.py
in the recipe-tests sandbox). Each plugin defines `ccci_context` (with `domain`,
`base_url`, `stage`, `phase`, `artifacts_dir`), `app` and `browser`, and re-exports these.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "seed: runs before an upgrade or a backup (cc-ci)")
    config.addinivalue_line("markers", "mutate: runs between backup and restore (cc-ci)")


@pytest.fixture(scope="session")
def base_url(ccci_context: Any) -> str:
    return ccci_context.base_url


@pytest.fixture(scope="session")
def app_domain(ccci_context: Any) -> str:
    return ccci_context.domain


@pytest.fixture(scope="session")
def stage(ccci_context: Any) -> str:
    return ccci_context.stage


@pytest.fixture(scope="session")
def phase(ccci_context: Any) -> str:
    return ccci_context.phase


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


@pytest.fixture
def screenshot(ccci_context: Any):
    def take(pg: Any, name: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60]
        path = Path(ccci_context.artifacts_dir) / f"{ccci_context.stage}-{safe}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(path), full_page=False)
        return path

    return take
