"""Chromium for Playwright the way this project runs it everywhere: Debian's binary, the
arguments a headless CI browser needs, and (for suites) the app's address and certificate."""

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


def app_args(resolver_rule: str, cert_spki: str | None) -> tuple[str, ...]:
    """Chromium's arguments for one app: `MAP <host pattern> <address>`, and the test zone
    certificate's key to trust (base64 sha256 of its SubjectPublicKeyInfo), when there is one."""
    args = [*CHROMIUM_ARGS, f"--host-resolver-rules={resolver_rule}"]
    if cert_spki:
        args.append(f"--ignore-certificate-errors-spki-list={cert_spki}")
    return tuple(args)


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
