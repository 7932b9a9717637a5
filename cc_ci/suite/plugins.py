"""The pytest plugins a recipe suite runs with, in the order their fixtures build on each other.

cc-ci's own plugin sits on top of the ecosystem's: pytest-base-url gives `base_url` (from
`--base-url`), pytest-playwright gives `browser`, `context` and `page` and the chain of
`browser_type_launch_args` / `browser_context_args` fixtures, and cc-ci's plugin overrides
those links to use Debian's Chromium, resolve the app's domain to the proxy and trust the
test zone's certificate. A suite's own conftest.py comes last and can override any link.

Plugin autoloading is off in suite runs (`PYTEST_DISABLE_PLUGIN_AUTOLOAD`), so the order is
exactly this one and no other plugin installed on the host changes what a suite sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

ECOSYSTEM = ("pytest_base_url.plugin", "pytest_playwright.pytest_playwright")
HOST_PLUGIN = "cc_ci.suite.plugin"
SANDBOX_PLUGIN = "cc_ci.suite.sandbox_plugin"
ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
# cc-ci's own checks, run beside a suite's tests (the front page in a browser).
BUILTIN_TESTS = Path(__file__).resolve().parent / "builtin"


def pytest_args(own_plugin: str, *, base_url: str, output: str) -> list[str]:
    """pytest's arguments for the plugin chain: `-p` in order, the app's URL, and where
    pytest-playwright may put its artifacts (it empties that folder first)."""
    plugins: Sequence[str] = (*ECOSYSTEM, own_plugin)
    return [
        *(x for p in plugins for x in ("-p", p)),
        "--base-url",
        base_url,
        "--output",
        output,
    ]
