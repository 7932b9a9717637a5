"""Idle and slow HTTP clients against a local server, for the tests that show a service
outlives them: connections that send nothing, and slowloris-style ones that send part of a
request's headers and then nothing.

Only loopback targets, a bounded number of connections, a bounded time to open them, and
every socket closed on leaving the `with` block.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

PARTIAL = b"POST /hook HTTP/1.1\r\nHost: ci.example.org\r\nContent-Type: application/js"
"""The start of a request whose headers never end."""
MAX_CLIENTS = 1000


@dataclass
class SlowClients:
    sockets: list[socket.socket] = field(default_factory=list)
    failed: int = 0
    """Connections that could not be opened in time (the server stopped accepting)."""


@contextmanager
def slow_clients(
    host: str,
    port: int,
    count: int,
    *,
    open_within: float = 15.0,
    pace: float = 0.002,
    partial: bytes = PARTIAL,
) -> Iterator[SlowClients]:
    """Open `count` connections to `host:port` (a loopback address), one every `pace`
    seconds, as an attacker who wants each one accepted would (a burst faster than the
    server accepts would mostly be dropped by the kernel's listen queue instead). Every
    other one sends `partial` and nothing more; the rest send nothing at all. Opening stops
    after `open_within` seconds (the rest count as failed); all are closed on exit."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"slow_clients only targets loopback addresses, not {host}")
    if not 0 < count <= MAX_CLIENTS:
        raise ValueError(f"count must be 1 to {MAX_CLIENTS}")
    clients = SlowClients()
    deadline = time.monotonic() + open_within
    try:
        for i in range(count):
            left = deadline - time.monotonic()
            if left <= 0:
                clients.failed += count - i
                break
            try:
                s = socket.create_connection((host, port), timeout=min(3.5, left))
            except OSError:
                clients.failed += 1
                continue
            clients.sockets.append(s)
            if i % 2:
                with contextlib.suppress(OSError):  # closed by the server already: allowed
                    s.sendall(partial)
            time.sleep(pace)  # pacing the load, not waiting for anything
        yield clients
    finally:
        for s in clients.sockets:
            s.close()


def with_descriptor_limit(argv: Sequence[str], limit: int) -> list[str]:
    """`argv` (a `python -m MODULE …` command line) run with at most `limit` open files, as
    a service with a small `LimitNOFILE=` would be."""
    if list(argv[:2]) != [sys.executable, "-m"]:
        raise ValueError("expected [sys.executable, '-m', MODULE, ...]")
    module, args = argv[2], list(argv[3:])
    code = (
        "import resource, runpy, sys\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit}))\n"
        f"sys.argv = [{module!r}, *sys.argv[1:]]\n"
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
    )
    return [sys.executable, "-c", code, *args]
