"""A small JSON-over-HTTP client on http.client: no redirects followed, explicit timeouts.

Gitea and Drone clients build on it. Errors come in two kinds the bridge treats differently:
`Unavailable` (cannot connect, a timeout, a 5xx, a body that is not the JSON expected: try
again later) and `Refused` (any other unexpected status: retrying will not help).
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from cc_ci.contract.redact import Redactor


class ApiError(Exception):
    """A request to Gitea or Drone did not give the answer the bridge needs."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unavailable(ApiError):
    """The service is down, slow, failing (5xx) or answered something unreadable: retry."""


class Refused(ApiError):
    """The service answered with a status the request cannot succeed past (4xx)."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class JsonClient:
    def __init__(
        self,
        service: str,
        base_url: str,
        authorization: str | None,
        redact: Redactor,
        timeout: float = 15.0,
    ) -> None:
        parts = urlsplit(base_url)
        self.service = service
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc
        self._prefix = parts.path.rstrip("/")
        self._auth = authorization
        self._redact = redact
        self.timeout = timeout
        self.requests = 0
        """Requests sent so far (the benchmark and tests count them)."""

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._netloc, timeout=self.timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._netloc, timeout=self.timeout)

    def _fail(self, kind: type[ApiError], what: str, text: str, status: int | None) -> ApiError:
        return kind(self._redact(f"{self.service} {what}: {text}"), status)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        ok: tuple[int, ...] = (200,),
    ) -> Reply:
        """Send one request; a status outside `ok` raises `Unavailable` or `Refused`."""
        target = self._prefix + path + (f"?{urlencode(query)}" if query else "")
        what = f"{method} {path}"
        headers = {"Accept": "application/json"}
        if self._auth:
            headers["Authorization"] = self._auth
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn = self._connection()
        self.requests += 1
        try:
            conn.request(method, target, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            reply = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, raw)
        except (OSError, http.client.HTTPException) as e:
            raise self._fail(
                Unavailable, what, f"no answer ({e.__class__.__name__})", None
            ) from None
        finally:
            conn.close()
        if reply.status in ok:
            return reply
        detail = _message(raw, self._redact)
        kind = Unavailable if reply.status >= 500 or reply.status == 429 else Refused
        raise self._fail(kind, what, f"HTTP {reply.status}{detail}", reply.status)

    def json(self, method: str, path: str, **kw: Any) -> Any:
        """`request`, then the body decoded as JSON (`Unavailable` when it is not)."""
        reply = self.request(method, path, **kw)
        return self.decode(reply, f"{method} {path}")

    def decode(self, reply: Reply, what: str) -> Any:
        try:
            return json.loads(reply.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise self._fail(Unavailable, what, "the answer is not JSON", reply.status) from None


def _message(raw: bytes, redact: Redactor) -> str:
    """`: <message>` from an error body (Gitea and Drone both send {"message": …}), masked
    and then cut short: a secret the server echoes back is no longer found once cut."""
    try:
        message = json.loads(raw).get("message")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(message, str) or not message:
        return ""
    return ": " + redact(" ".join(message.split()))[:200]


def expect(condition: bool, service: str, what: str) -> None:
    """Raise `Unavailable` when an answer does not have the shape the API promises."""
    if not condition:
        raise Unavailable(f"{service}: unexpected answer: {what}")
