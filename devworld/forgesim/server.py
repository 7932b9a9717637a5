"""The simulator's HTTP server and its Python API.

One ThreadingHTTPServer on a loopback port (port 0: any free one) serves
  /gitea/api/v1/…      the Gitea API (base URL for clients: <url>/gitea)
  /drone/api/…         the Drone API (base URL: <url>/drone)
  /dashboard/api/runs/<run-id>   run records set by `finish_build(..., record=…)`
  /_sim/…              the control API the command line uses (no authentication: loopback
                       test tooling only)
Faults can be injected per service (optionally only for paths containing a string): "500"
(whose message echoes the request's Authorization header, as a careless proxy might: a
canary for redaction), "malformed" (a 200 whose body is not JSON), "down" (the connection is
closed without an answer) and "lost" (the request is carried out, then the connection is
closed: the client cannot know it succeeded).
"""

from __future__ import annotations

import hashlib
import hmac
import queue
import socket
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from devworld.forgesim.control import ControlApi
from devworld.forgesim.drone import DroneApi
from devworld.forgesim.gitea_api import GiteaApi
from devworld.forgesim.gitea_shapes import hook_body
from devworld.forgesim.routing import Response, error
from devworld.forgesim.world import Comment, SimError, World

SERVICES = ("gitea", "drone", "dashboard")
FAULTS = ("500", "malformed", "down", "lost")


@dataclass(frozen=True)
class Logged:
    service: str
    method: str
    path: str
    query: str
    status: int


@dataclass(frozen=True)
class Delivery:
    url: str
    event_type: str
    comment_id: int
    status: int | None
    """The receiver's HTTP status; None when it could not be reached."""


class Sim:
    """A running simulator. Use as a context manager, or call `close()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, utc_offset_h: int = 2) -> None:
        self.world = World(utc_offset_h=utc_offset_h)
        self._faults: dict[str, list[list[Any]]] = {s: [] for s in SERVICES}
        self._log: list[Logged] = []
        self._lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self.server = ThreadingHTTPServer((host, port), _Handler)
        self.server.daemon_threads = True
        self.server.sim = self  # type: ignore[attr-defined]
        bound_host, bound_port = self.server.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self.gitea = GiteaApi(self.world, self.gitea_url)
        self.drone = DroneApi(self.world, self.drone_url)
        self.control = ControlApi(self)
        self._outbox: queue.Queue[tuple[str, Comment] | None] = queue.Queue()
        self.world.observers.append(lambda action, c: self._outbox.put((action, c)))
        self._threads = [
            threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True),
            threading.Thread(target=self._deliver_loop, daemon=True),
        ]
        for t in self._threads:
            t.start()

    @property
    def gitea_url(self) -> str:
        return self.url + "/gitea"

    @property
    def drone_url(self) -> str:
        return self.url + "/drone"

    @property
    def dashboard_url(self) -> str:
        return self.url + "/dashboard"

    def close(self) -> None:
        self._outbox.put(None)
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Sim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- faults and the request log ----------------------------------------------------

    def fault(self, service: str, kind: str, times: int | None = None, path: str = "") -> None:
        """Make the next `times` requests to `service` (every one when None) whose path
        contains `path` fail as `kind`."""
        if service not in SERVICES or kind not in FAULTS:
            raise SimError(f"fault: service one of {SERVICES}, kind one of {FAULTS}")
        with self._lock:
            self._faults[service].append([kind, times, path])

    def clear_faults(self) -> None:
        with self._lock:
            for f in self._faults.values():
                f.clear()

    def _take_fault(self, service: str, path: str) -> str | None:
        with self._lock:
            faults = self._faults.get(service) or []
            for f in faults:
                kind, times, where = f
                if where not in path:
                    continue
                if times is not None:
                    f[1] = times - 1
                    if times - 1 <= 0:
                        faults.remove(f)
                return kind
            return None

    def requests(self, service: str | None = None) -> list[Logged]:
        with self._lock:
            return [r for r in self._log if service is None or r.service == service]

    def reset_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def _logged(self, entry: Logged) -> None:
        with self._lock:
            self._log.append(entry)

    # --- webhooks -----------------------------------------------------------------------

    def signed_delivery(
        self, comment: Comment, secret: str, action: str = "created"
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers Gitea would send for a comment event (docs/forge-api.md §2.9)."""
        body = hook_body(self.gitea.hook_payload(comment, action))
        sig256 = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() if secret else ""
        sig1 = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest() if secret else ""
        is_pull = self.world.issues[(comment.repo, comment.number)].is_pull
        event_type = "pull_request_comment" if is_pull else "issue_comment"
        delivery = str(uuid.uuid4())
        headers = {"Content-Type": "application/json"}
        for prefix in ("X-Gitea", "X-Gogs"):
            headers |= {
                f"{prefix}-Delivery": delivery,
                f"{prefix}-Event": "issue_comment",
                f"{prefix}-Event-Type": event_type,
                f"{prefix}-Signature": sig256,
            }
        headers |= {
            "X-GitHub-Delivery": delivery,
            "X-GitHub-Event": "issue_comment",
            "X-GitHub-Event-Type": event_type,
            "X-Hub-Signature": f"sha1={sig1}",
            "X-Hub-Signature-256": f"sha256={sig256}",
        }
        return body, headers

    def _deliver_loop(self) -> None:
        while (item := self._outbox.get()) is not None:
            action, comment = item
            with self.world.lock:
                is_pull = self.world.issues[(comment.repo, comment.number)].is_pull
                event = "pull_request_comment" if is_pull else "issue_comment"
                hooks = [
                    h for h in self.world.hooks if h.repo == comment.repo and event in h.events
                ]
            for h in hooks:
                body, headers = self.signed_delivery(comment, h.secret, action)
                status: int | None
                try:
                    req = urllib.request.Request(h.url, data=body, headers=headers, method="POST")
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        status = resp.status
                except urllib.error.HTTPError as e:
                    status = e.code
                except OSError:
                    status = None
                with self._lock:
                    self.deliveries.append(
                        Delivery(h.url, headers["X-Gitea-Event-Type"], comment.id, status)
                    )

    # --- serving ------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Response | None:
        """The response to one request; None means "drop the connection" (a down service)."""
        parts = urlsplit(target)
        service, _, rest = parts.path.lstrip("/").partition("/")
        path = "/" + rest
        if service == "_sim":
            return self.control.router.dispatch(method, path, parts.query, headers, body)
        if service not in SERVICES:
            return error(404, "not found")
        kind = self._take_fault(service, path)
        if kind == "down":
            response = None
        elif kind == "500":
            echo = headers.get("authorization", "")
            response = error(500, f"simulated failure (request had Authorization: {echo})")
        elif kind == "malformed":
            response = Response(200, b'{"this is": not json')
        elif service == "gitea":
            response = self.gitea.router.dispatch(method, path, parts.query, headers, body)
        elif service == "drone":
            response = self.drone.router.dispatch(method, path, parts.query, headers, body)
        else:
            response = self._dashboard(path)
        self._logged(Logged(service, method, path, parts.query, response.status if response else 0))
        return None if kind == "lost" else response

    def _dashboard(self, path: str) -> Response:
        segments = path.strip("/").split("/")
        if len(segments) == 3 and segments[:2] == ["api", "runs"]:
            record = self.world.records.get(segments[2])
            return Response(200, record) if record is not None else error(404, "not found")
        if len(segments) == 2 and segments[0] == "runs":
            return Response(200, f"<h1>run {segments[1]}</h1>".encode())
        return error(404, "not found")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # peer's delayed ACK hold the second one back ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass

    def _handle(self) -> None:
        sim: Sim = self.server.sim  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            response = sim.handle(self.command, self.path, headers, body)
        except (SimError, KeyError, ValueError, TypeError) as e:
            response = error(400, f"{e.__class__.__name__}: {e}")
        if response is None:
            self.close_connection = True
            return
        data = response.encoded()
        self.send_response(response.status)
        if (
            response.body is not None
            and not isinstance(response.body, bytes)
            or data.startswith(b"{")
        ):
            self.send_header("Content-Type", "application/json;charset=utf-8")
        for k, v in response.headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle  # noqa: N815


__all__ = ["Sim"]
