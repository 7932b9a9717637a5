"""Playwright drives Debian's Chromium: load a local page, click, read text, screenshot."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

from cc_ci.suite.browser import launch_chromium

PAGE = b"""<!doctype html><title>smoke</title>
<button id=go onclick="document.getElementById('out').textContent='clicked'">go</button>
<p id=out>waiting</p>"""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


def test_chromium_loads_a_local_page_clicks_reads_text_and_saves_a_screenshot(artifacts_dir: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with launch_chromium() as browser:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/")
            assert page.text_content("#out") == "waiting"
            page.click("#go")
            assert page.text_content("#out") == "clicked"
            shot = artifacts_dir / "browser.png"
            page.screenshot(path=str(shot))
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        server.shutdown()
