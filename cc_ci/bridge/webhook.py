"""The optional webhook endpoint: `POST /hook` (signed by Gitea) and `GET /healthz`.

The signature header must be there and look like one (64 hex digits) before the body is
read, and it is checked over the raw body before anything else is read; a missing,
malformed or wrong one gets 403 and nothing else happens. `GET /healthz` is served whether
or not a webhook secret is set. Connections are bounded (`cc_ci.contract.serving`): a request
has `REQUEST_TIMEOUT` seconds to arrive, body included, and idle or slow clients lose their
place to new ones, so they can neither exhaust the bridge's descriptors nor hold the webhook.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sys
from collections.abc import Callable
from typing import Any

from cc_ci.contract.eventline import EventLog
from cc_ci.contract.serving import BoundedHandler, BoundedServer

MAX_BODY = 1 << 20
"""Gitea's comment payloads are a few kilobytes; anything over a megabyte is refused."""
DRAIN_LIMIT = 64 * 1024
"""A refused request's body up to this size is read and dropped before the answer, so the
client sees the answer rather than a reset; a larger one is not read at all."""
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
REQUEST_TIMEOUT = 10.0
"""Seconds a connection has for its whole request, body included."""


def signature_shaped(header: str | None) -> bool:
    """The header is there and is 64 hex digits (what HMAC-SHA256 gives), nothing else."""
    return header is not None and _SIGNATURE.fullmatch(header.strip()) is not None


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """`X-Gitea-Signature` is hex(HMAC-SHA256(secret, raw body)); compared in constant time."""
    if header is None or not signature_shaped(header):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.strip().lower())


class HookServer(BoundedServer):
    max_connections = 16
    """Gitea delivers one event at a time; a few places for /healthz and for retries."""
    request_timeout = REQUEST_TIMEOUT

    def __init__(
        self,
        address: tuple[str, int],
        secret: str | None,
        hook: Callable[[str, Any], tuple[int, str]],
        health: Callable[[], tuple[int, dict[str, Any]]],
        log: EventLog,
    ) -> None:
        super().__init__(address, _Handler)
        self.secret = secret
        self.hook = hook
        self.health = health
        self.log = log

    def note_pressure(self, evicted: int, refused: int) -> None:
        self.log("hook-connections-full", closed_waiting=evicted, refused_busy=refused)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-request, say: one log line, not a traceback.
        error = sys.exc_info()[1]
        self.log("hook-connection-error", client=client_address[0], error=repr(error))

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BoundedHandler):
    server: HookServer
    busy_after_head = False  # a POST is busy once its body is read, not before

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass

    def _send(self, status: int, doc: dict[str, Any]) -> None:
        body = (json.dumps(doc) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _refuse(self, status: int, message: str, length: int) -> None:
        """Answer without reading the body (a small one is dropped first), then close."""
        if 0 < length <= DRAIN_LIMIT:
            self.rfile.read(length)
        self.close_connection = True
        self._send(status, {"message": message})

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if not self.busy():
            self.close_connection = True
            return
        if self.path.split("?", 1)[0] != "/healthz":
            self._send(404, {"message": "not found"})
            return
        status, doc = self.server.health()
        self._send(status, doc)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        if self.path.split("?", 1)[0] != "/hook":
            self._send(404, {"message": "not found"})
            return
        if self.server.secret is None:
            self._send(404, {"message": "the webhook is not configured"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            length = -1
        signature = self.headers.get("X-Gitea-Signature")
        if not signature_shaped(signature):
            self.server.log("hook-forged", client=self.client_address[0], bytes=length)
            self._refuse(403, "missing or malformed signature", length)
            return
        if not 0 <= length <= MAX_BODY:
            self._refuse(413 if length > MAX_BODY else 411, "bad Content-Length", -1)
            return
        body = self.rfile.read(length)
        if len(body) < length or not self.busy():
            self.close_connection = True  # the client went away, or lost its place, mid-body
            return
        if not signature_ok(self.server.secret, body, signature):
            self.server.log("hook-forged", client=self.client_address[0], bytes=length)
            self._send(403, {"message": "bad signature"})
            return
        event = self.headers.get("X-Gitea-Event", "")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._send(400, {"message": "the body is not JSON"})
            return
        try:
            status, what = self.server.hook(event, payload)
        except Exception as e:  # noqa: BLE001 - answer 500 and log rather than drop the line
            self.server.log("hook-failed", error=f"{e.__class__.__name__}: {e}")
            status, what = 500, "the bridge could not record this delivery"
        delivery = self.headers.get("X-Gitea-Delivery", "")
        self.server.log("hook", delivery=delivery, gitea_event=event, status=status, result=what)
        self._send(status, {"message": what})
