"""Launch Chromium for Playwright the way this project runs it everywhere."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


class BrowserError(RuntimeError):
    """Chromium cannot be started."""


def chromium_path() -> str:
    """The Chromium binary: $CCCI_CHROMIUM, else Debian's /usr/bin/chromium, else PATH."""
    for candidate in (
        os.environ.get("CCCI_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BrowserError("no Chromium found: apt-get install chromium (or set CCCI_CHROMIUM)")


@contextmanager
def launch_chromium(extra_args: list[str] | None = None) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path(), args=[*CHROMIUM_ARGS, *(extra_args or [])]
        )
        try:
            yield browser
        finally:
            browser.close()
