"""CryptPad helpers: its public config, the sandbox domain, and the data volume."""

from __future__ import annotations

import json
import re

import pytest

DATA_VOLUME = (
    "cryptpad_data"  # the recipe's backed-up volume (seen on an earlier real-server build)
)


def parse_api_config(js: str) -> dict:
    """/api/config is JavaScript (an AMD `define(function () { return {...}; })`) whose
    object is JSON: pull that object out."""
    m = re.search(r"return\s*(\{.*\})\s*;?\s*\}\s*\)", js, re.S)
    assert m, f"/api/config does not look like CryptPad's config: {js[:200]!r}"
    return json.loads(m.group(1))


@pytest.fixture
def api_config(app) -> dict:
    r = app.get("/api/config")
    assert r.status == 200, f"/api/config answered {r.status}"
    return parse_api_config(r.text)


@pytest.fixture
def sandbox_domain(app) -> str:
    return app.env.get("SANDBOX_DOMAIN") or "sb" + app.domain


@pytest.fixture
def data_dir(app) -> str:
    return app.volume_path(DATA_VOLUME)


@pytest.fixture
def write_marker(app, data_dir):
    def write(name: str, text: str) -> None:
        app.exec("sh", "-c", 'cat > "$1"', "sh", f"{data_dir}/{name}", input=text)

    return write


@pytest.fixture
def read_marker(app, data_dir):
    def read(name: str) -> str | None:
        r = app.exec("cat", f"{data_dir}/{name}", check=False)
        return r.stdout if r.returncode == 0 else None

    return read
