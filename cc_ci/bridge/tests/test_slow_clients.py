"""Idle and slow clients on the webhook port cannot stop the bridge: it keeps polling and
building, and /healthz keeps answering, under a small descriptor limit."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request

from cc_ci.harness.waiting import wait_for
from devworld.slowclients import slow_clients, with_descriptor_limit

POLL_INTERVAL = 2
DESCRIPTORS = 256
"""The bridge's open-file limit here: a small LimitNOFILE, below the clients' number."""


def test_300_idle_and_slow_webhook_clients_do_not_stop_polling_or_healthz(world):
    proc, port = world.bridge_process(
        POLL_INTERVAL,
        stdout=subprocess.DEVNULL,
        wrap=lambda argv: with_descriptor_limit(argv, DESCRIPTORS),
    )
    health = f"http://127.0.0.1:{port}/healthz"

    def healthz() -> dict:
        with urllib.request.urlopen(health, timeout=3) as r:
            return json.loads(r.read())

    try:
        wait_for("the bridge's first poll", lambda: healthz()["status"] == "ok", timeout=15)
        with slow_clients("127.0.0.1", port, 300) as clients:
            world.comment("!testme install")
            # Picked up by the next poll: within the interval, plus a moment for the cycle.
            wait_for("a Drone build", world.builds, timeout=POLL_INTERVAL + 3, interval=0.1)
            doc = healthz()
            assert doc["status"] == "ok" and doc["last_poll"]["ok"], doc
            assert clients.failed == 0, "the bridge stopped accepting connections"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "event=hook-connections-full" in err
