"""The app under test as a visitor reaches it: HTTPS to its domain through Traefik.

Standard library only (and cc_ci.suite.web), so that both the host's pytest plugin
(cc_ci/suite/plugin.py) and the recipe-tests sandbox's (cc_ci/suite/sandbox_plugin.py) use it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Protocol

from cc_ci.suite.web import Response, request


class AppContext(Protocol):
    recipe: str
    domain: str
    base_url: str
    resolve_to: str
    ca_file: str | None
    health_path: str
    health_ok: tuple[int, ...]


class AppClient:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.domain = ctx.domain
        self.base_url = ctx.base_url
        self.recipe = ctx.recipe

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Response:
        headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        return request(
            self.url(path),
            resolve_to=self.ctx.resolve_to,
            ca_file=Path(self.ctx.ca_file) if self.ctx.ca_file else None,
            method=method,
            body=data,
            headers=headers,
            timeout=timeout,
        )

    def get(self, path: str = "/", **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Response:
        return self.request("POST", path, **kw)

    def wait_healthy(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                last = self.get(self.ctx.health_path, timeout=10).status
                if last in self.ctx.health_ok:
                    return
            except OSError as exc:
                last = exc
            time.sleep(1)
        raise AssertionError(
            f"{self.url(self.ctx.health_path)} not healthy after {timeout}s: {last!r}"
        )
