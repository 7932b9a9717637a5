"""Fixtures that build worlds for the dashboard: a results directory, a live server, Chromium."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cc_ci.dashboard.index import Index
from cc_ci.dashboard.server import App, make_server
from cc_ci.dashboard.tests.worlds import World, demo_world

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "build" / "test-artifacts" / "dashboard"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


def fetch(base: str, target: str, *, method: str = "GET", headers: dict | None = None) -> Reply:
    """One request with the target sent exactly as given (no client-side normalising)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, target, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


@pytest.fixture
def world(tmp_path: Path) -> World:
    return demo_world(tmp_path / "results")


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """serve(results_dir, **App options) → base URL of a dashboard on a free loopback port."""
    servers = []

    def start(results: Path, *, full_rescan_s: float = 30.0, **options) -> str:
        app = App(Index(results, full_rescan_s=full_rescan_s), **options)
        server = make_server(app, "127.0.0.1", 0)
        host, port = server.server_address[:2]
        app.fallback_base = f"http://{host}:{port}"
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return app.fallback_base

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def base(world: World, serve: Callable[..., str]) -> str:
    """A dashboard over the demo world, linking PRs to a forge."""
    return serve(world.results, forge_url="https://git.example.org")


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
