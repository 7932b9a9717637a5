"""A seeded simulator and a raw HTTP helper (no client-side redirect following)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from devworld.forgesim import Sim
from devworld.forgesim.demo import Demo, seed


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    base: str, method: str, target: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> Reply:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    data = json.dumps(body).encode() if body is not None else None
    try:
        conn.request(method, parts.path + target, body=data, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


@pytest.fixture
def sim() -> Iterator[Sim]:
    with Sim() as s:
        s.world.set_time(1_800_000_000)
        yield s


@pytest.fixture
def demo(sim: Sim, tmp_path: Path) -> Demo:
    return seed(sim, tmp_path / "secrets", repos=1, pulls=2)
