"""The bounded server both services use: idle and slow connections make room for new ones,
a request has a deadline however slowly it trickles in, and a full house answers 503."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from cc_ci.contract.serving import BoundedHandler, BoundedServer

REQUEST = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"


class _Handler(BoundedHandler):
    release: threading.Event  # set per server

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/hold":
            self.release.wait(10)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[BoundedServer, threading.Event]]]:
    servers: list[tuple[BoundedServer, threading.Event]] = []

    def start(**limits: float) -> tuple[BoundedServer, threading.Event]:
        release = threading.Event()
        handler = type("H", (_Handler,), {"release": release})
        server_class = type("S", (BoundedServer,), limits)
        server = server_class(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append((server, release))
        return server, release

    yield start
    for server, release in servers:
        release.set()
        server.shutdown()
        server.server_close()


def connect(server: BoundedServer) -> socket.socket:
    return socket.create_connection(server.server_address[:2], timeout=5)


def answer(s: socket.socket) -> bytes:
    """Everything the server sends until it closes or stops for a second."""
    data = b""
    s.settimeout(1)
    try:
        while chunk := s.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    return data


def closed_by_server(s: socket.socket, within: float = 5) -> bool:
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_the_connection_waiting_longest_makes_room_for_a_new_one(serve):
    server, _ = serve(max_connections=4)
    idle = [connect(server) for _ in range(4)]
    idle[1].sendall(b"GET / HTTP/1.1\r\nHost: te")  # slow: part of its headers
    newcomer = connect(server)
    newcomer.sendall(REQUEST)
    assert answer(newcomer).startswith(b"HTTP/1.1 200 ")
    assert closed_by_server(idle[0])
    assert server.evicted == 1 and server.open_connections <= 4
    for s in (*idle, newcomer):
        s.close()


def test_when_every_place_is_busy_a_newcomer_gets_503_at_once(serve):
    server, release = serve(max_connections=2)
    busy = [connect(server) for _ in range(2)]
    for s in busy:
        s.sendall(b"GET /hold HTTP/1.1\r\nHost: test\r\n\r\n")
    deadline = time.monotonic() + 5
    while server.busy_connections < 2:
        assert time.monotonic() < deadline, "the held requests never started"
        time.sleep(0.01)
    late = connect(server)
    started = time.monotonic()
    assert answer(late).startswith(b"HTTP/1.1 503 ")
    assert time.monotonic() - started < 1.5
    release.set()
    for s in busy:
        assert answer(s).startswith(b"HTTP/1.1 200 ")
        s.close()
    late.close()
    assert server.refused == 1


def test_a_request_trickled_in_byte_by_byte_is_cut_at_its_deadline(serve):
    server, _ = serve(request_timeout=0.5)
    s = connect(server)
    started = time.monotonic()
    cut = False
    for byte in b"GET / HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"x" * 40:
        try:
            s.sendall(bytes([byte]))
        except OSError:
            cut = True
            break
        time.sleep(0.05)
        if time.monotonic() - started > 1.0:
            break
    assert cut or closed_by_server(s, within=2)
    assert time.monotonic() - started < 3
    s.close()


def test_an_idle_keep_alive_connection_is_closed_after_the_request_timeout(serve):
    server, _ = serve(request_timeout=0.5)
    s = connect(server)
    s.sendall(REQUEST)
    s.settimeout(5)
    reply = b""
    while not reply.endswith(b"\r\n\r\nok"):
        reply += s.recv(65536)
    assert reply.startswith(b"HTTP/1.1 200 ")
    started = time.monotonic()
    assert closed_by_server(s, within=3)
    assert 0.3 < time.monotonic() - started < 2.5
    s.close()
