"""HTTPS to an app the way a visitor reaches it: by its domain, through the proxy.

The app's domain resolves to a configured address (the gateway in production, 127.0.0.1
here) while TLS still checks the certificate for the domain itself (SNI), against the test
CA when one is configured.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def https_origin(domain: str, port: int = 443) -> str:
    """The URL an app at `domain` is reached at when its proxy serves HTTPS on `port`."""
    return f"https://{domain}" if port == 443 else f"https://{domain}:{port}"


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    return ctx


class _Conn(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, ctx: ssl.SSLContext, timeout: float):
        super().__init__(host, port, context=ctx, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def request(
    url: str,
    *,
    resolve_to: str,
    ca_file: Path | None,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15,
) -> Response:
    """One HTTPS request to `url`, connecting to `resolve_to` instead of resolving the host."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"not an https URL: {url!r}")
    conn = _Conn(parts.hostname, parts.port or 443, resolve_to, tls_context(ca_file), timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()
