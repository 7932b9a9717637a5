"""HTTP serving that idle, slow or too many clients cannot stop: both long-running services
(the bridge's webhook, the dashboard) are built on `BoundedServer` and `BoundedHandler`.

A connection is *waiting* from the moment it is accepted (or its previous answer was sent)
until its handler has read what it needs of the request, then *busy* until the answer is
sent. The rules:

- a waiting connection has `request_timeout` seconds in all for its request line, headers
  (and, when the handler reads it, body), however slowly they trickle in; then it is closed;
- at most `max_connections` are open at once. When a new one comes and every place is taken,
  the connection that has been waiting longest is closed to make room: idle and slow clients
  lose their place to whoever comes next, so they cannot hold the server;
- when every place is busy, the newcomer is answered `503` at once and closed;
- a busy connection has `write_timeout` seconds for each write of its answer.

So the server never holds more than `max_connections` sockets and threads (plus, for an
instant, the ones it just closed), whatever clients do.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 25\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
    b"busy: try again shortly.\n"
)
PRESSURE_LOG_EVERY = 60.0
"""Seconds between two `note_pressure` calls while connections are being closed or refused."""


class BoundedServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    """The kernel's queue of connections not yet accepted: a burst waits there, costing the
    process no descriptor, rather than having its connection attempts dropped."""
    max_connections = 64
    """Open connections at the most, waiting and busy together."""
    request_timeout = 10.0
    """Seconds a waiting connection has to deliver its request (an idle keep-alive included)."""
    write_timeout = 30.0
    """Seconds each write of an answer may take."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        self._slots = threading.Lock()
        self._waiting: dict[socket.socket, None] = {}
        """Waiting connections, the one waiting longest first (a dict keeps insertion order)."""
        self._busy: set[socket.socket] = set()
        self.evicted = 0
        """Waiting connections closed to make room, so far."""
        self.refused = 0
        """Connections answered 503 because every place was busy, so far."""
        self._noted = (0, 0)
        self._noted_at = -PRESSURE_LOG_EVERY
        super().__init__(*args, **kw)

    def note_pressure(self, evicted: int, refused: int) -> None:
        """Called now and then while connections are closed or refused; subclasses log it."""

    @property
    def open_connections(self) -> int:
        with self._slots:
            return len(self._waiting) + len(self._busy)

    @property
    def busy_connections(self) -> int:
        with self._slots:
            return len(self._busy)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._slots:
            full = len(self._waiting) + len(self._busy) >= self.max_connections
            if full and not self._waiting:
                self.refused += 1
            else:
                if full:
                    oldest = next(iter(self._waiting))
                    del self._waiting[oldest]
                    _cut(oldest)
                    self.evicted += 1
                self._waiting[request] = None
                full = False
        self._maybe_note()
        if full:
            _answer_busy(request)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._slots:
            self._waiting.pop(request, None)
            self._busy.discard(request)
        super().shutdown_request(request)

    def _wait(self, conn: socket.socket) -> bool:
        """The connection waits for its (next) request; False when it was closed meanwhile."""
        with self._slots:
            if conn in self._busy:
                self._busy.discard(conn)
                self._waiting[conn] = None
            return conn in self._waiting

    def _start(self, conn: socket.socket) -> bool:
        """The connection is busy; False when it was closed to make room meanwhile."""
        with self._slots:
            if conn not in self._waiting:
                return False
            del self._waiting[conn]
            self._busy.add(conn)
            return True

    def _maybe_note(self) -> None:
        now = time.monotonic()
        counts = (self.evicted, self.refused)
        if counts != self._noted and now - self._noted_at >= PRESSURE_LOG_EVERY:
            self._noted, self._noted_at = counts, now
            self.note_pressure(*counts)


def _cut(conn: socket.socket) -> None:
    """End a connection another thread is reading: its read returns at once, empty."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


def _answer_busy(conn: socket.socket) -> None:
    try:
        conn.setblocking(False)
        conn.send(BUSY)  # a fresh socket's send buffer is empty: this never blocks
    except OSError:
        pass


class _DeadlineReader(io.RawIOBase):
    """Reads the socket, each read given only the time left until the handler's deadline."""

    def __init__(self, handler: BoundedHandler) -> None:
        self._handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._handler.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request was not complete in time")
        conn = self._handler.connection
        conn.settimeout(left)
        return conn.recv_into(buffer)


class BoundedHandler(BaseHTTPRequestHandler):
    """A handler for `BoundedServer`: the request is read against a deadline, and the
    connection counts as busy once the request's head is read (`busy_after_head`), or when
    the handler calls `busy()` itself (after reading a body, say)."""

    server: BoundedServer
    protocol_version = "HTTP/1.1"
    busy_after_head = True
    deadline = 0.0

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # peer's delayed ACK hold the second one back ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        plain = self.rfile
        self.rfile = io.BufferedReader(_DeadlineReader(self))
        plain.close()

    def handle_one_request(self) -> None:
        if not self.server._wait(self.connection):
            self.close_connection = True
            return
        self.deadline = time.monotonic() + self.server.request_timeout
        super().handle_one_request()

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.busy_after_head and not self.busy():
            self.close_connection = True
            return False
        return True

    def busy(self) -> bool:
        """The request is read: the connection may no longer be closed to make room. False
        when it already was (then the handler should stop: nobody is listening)."""
        if not self.server._start(self.connection):
            return False
        self.connection.settimeout(self.server.write_timeout)
        return True
