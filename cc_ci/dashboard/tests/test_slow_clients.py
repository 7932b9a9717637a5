"""Idle and slow clients cannot stop the dashboard: with 300 of them connected, under a small
descriptor limit, the overview still answers."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

from cc_ci.dashboard.tests.conftest import ROOT, fetch
from cc_ci.dashboard.tests.worlds import World
from devworld.slowclients import slow_clients, with_descriptor_limit

DESCRIPTORS = 256
"""The dashboard's open-file limit here: a small LimitNOFILE, below the clients' number."""


def _listening_url(stderr, within: float) -> str:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in stderr], daemon=True).start()
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line.startswith("event=listening"):
            return line.split("url=")[1].split()[0].rstrip("/")
    raise AssertionError("the dashboard never said event=listening")


def test_300_idle_and_slow_clients_do_not_stop_the_overview(world: World):
    argv = [sys.executable, "-m", "cc_ci.dashboard", "--results-dir", str(world.results)]
    proc = subprocess.Popen(
        with_descriptor_limit([*argv, "--listen", "127.0.0.1:0"], DESCRIPTORS),
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _listening_url(proc.stderr, within=20)
        parts = urlsplit(url)
        assert parts.hostname and parts.port
        partial = b"GET / HTTP/1.1\r\nHost: ci.example.org\r\nAccept: text/ht"
        with slow_clients(parts.hostname, parts.port, 300, partial=partial) as clients:
            overview = fetch(url, "/")
            assert overview.status == 200 and "<h1>Recipes</h1>" in overview.text
            assert fetch(url, "/healthz").status == 200
            assert clients.failed == 0, "the dashboard stopped accepting connections"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
