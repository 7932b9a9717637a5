"""Requests, responses and a small regex router shared by the simulated services."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

NULL = object()
"""A response body of the literal JSON `null` (Drone's create when no pipeline matched)."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Response:
    status: int
    body: Any = None
    """JSON-encoded unless bytes; None sends no body; `NULL` sends `null`."""
    headers: tuple[tuple[str, str], ...] = ()

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if self.body is NULL:
            return b"null"
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


def error(status: int, message: str, url: str = "") -> Response:
    body: dict[str, str] = {"message": message}
    if url:
        body["url"] = url
    return Response(status, body)


Handler = Callable[[Request], Response]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append((method, re.compile(regex + "$"), handler))

    def dispatch(
        self, method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        query = parse_qs(raw_query, keep_blank_values=True)
        allowed = False
        for m, regex, handler in self._routes:
            match = regex.match(path)
            if match is None:
                continue
            if m != method:
                allowed = True
                continue
            return handler(Request(method, path, query, headers, body, match.groupdict()))
        return error(405 if allowed else 404, "method not allowed" if allowed else "not found")
