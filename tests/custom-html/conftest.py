"""Helpers for the custom-html suite: files in the served volume."""

from __future__ import annotations

import pytest

ROOT = "/usr/share/nginx/html"


@pytest.fixture
def put_file(app):
    """put_file(name, text): write a file into the served root, inside the app's container."""

    def put(name: str, text: str) -> None:
        assert "/" not in name and name.isprintable()
        app.exec("sh", "-c", 'cat > "$1"', "sh", f"{ROOT}/{name}", input=text)

    return put
