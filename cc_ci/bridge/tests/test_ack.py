"""A member's command is acknowledged at once, before Drone is asked, and is never dropped:
while Drone does not answer, the PR is told so and the build is started when it is back."""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from cc_ci.bridge.flow import backoff
from cc_ci.bridge.state import Phase
from cc_ci.harness.waiting import wait_for
from devworld.forgesim.demo import CI_REPO

ROOT = Path(__file__).resolve().parents[3]
DRONE_DOWN = "Drone is not answering; cc-ci will start the build when it is back."


def test_the_reaction_and_the_pending_status_go_out_before_drone_is_asked(world):
    bridge = world.bridge()
    world.tick()
    world.comment("!testme")
    world.sim.reset_requests()
    bridge.poll_once()
    writes = [
        (r.service, r.method, r.path.rsplit("/", 1)[-1])
        for r in world.sim.requests()
        if r.method in ("POST", "PATCH")
    ]
    assert writes[:3] == [
        ("gitea", "POST", "reactions"),
        ("gitea", "POST", world.head()),  # the pending status
        ("drone", "POST", "builds"),
    ]
    assert writes[3:] == [("gitea", "POST", "comments")]  # the comment linking the build


def test_every_command_is_acknowledged_before_drone_is_asked_for_any_build(world):
    bridge = world.bridge()
    world.tick()
    first = world.comment("!testme")
    second = world.comment("!testme install", pr=2)
    world.sim.reset_requests()
    bridge.poll_once()
    order = [(r.service, r.path) for r in world.sim.requests() if r.method == "POST"]
    first_create = order.index(("drone", f"/api/repos/{CI_REPO}/builds"))
    acks = [i for i, (_, path) in enumerate(order) if path.endswith("/reactions")]
    assert len(acks) == 2 and max(acks) < first_create
    assert world.sim.world.reactions_of(first.id) and world.sim.world.reactions_of(second.id)
    assert len(world.builds()) == 2


def test_with_drone_down_for_a_minute_the_ack_is_at_once_and_the_build_comes_when_it_is_back(
    world,
):
    bridge = world.bridge()
    world.tick()
    world.sim.fault("drone", "down")
    c = world.comment("!testme")
    started = time.perf_counter()
    bridge.poll_once()
    took = time.perf_counter() - started
    # 👀, the pending status and the comment saying so, in the same second (simulated and
    # real) as the command, with Drone not answering
    (eyes,) = world.sim.world.reactions_of(c.id)
    assert eyes["content"] == "eyes" and eyes["at"] - c.created <= 1 and took < 1
    (pending,) = world.statuses()
    assert pending["status"] == "pending"
    (ack,) = world.bot_comments()
    assert DRONE_DOWN in ack.body and ack.created - c.created <= 1
    assert world.builds() == []
    assert bridge.state.command(c.id).phase is Phase.REQUESTING

    for _ in range(60):  # a minute, looked at every second
        world.tick(1)
        bridge.advance_due()
    creates = [r for r in world.sim.requests("drone") if r.method == "POST"]
    assert world.builds() == [] and len(creates) <= 6  # backoff, not hammering
    assert len(world.bot_comments()) == 1 and world.statuses() == [pending]

    world.sim.clear_faults()
    back = world.sim.world.now()
    row = bridge.state.command(c.id)
    assert row.next_at - back <= backoff(row.failures)
    while not world.builds():
        world.tick(1)
        bridge.advance_due()
        assert world.sim.world.now() - back <= backoff(row.failures) + 1
    (build,) = world.builds()
    assert bridge.state.command(c.id).phase is Phase.BUILDING
    (ack,) = world.bot_comments()
    assert DRONE_DOWN not in ack.body
    assert f"/drone/{CI_REPO}/{build.number}" in ack.body
    assert "event=drone-down" in world.log_text()
    world.tick(600)
    bridge.poll_once()
    assert len(world.builds()) == 1


def test_the_bridge_process_acknowledges_within_a_second_while_drone_is_down(world):
    proc, port = world.bridge_process(poll_interval=30, stdout=subprocess.DEVNULL)
    try:
        health = f"http://127.0.0.1:{port}/healthz"
        wait_for("the bridge's first poll", lambda: urllib.request.urlopen(health), 15, 0.05)
        world.sim.fault("drone", "down")
        c = world.comment("!testme install")
        body, headers = world.sim.signed_delivery(c, world.demo.webhook_secret)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/hook", body, headers)
        posted = time.monotonic()
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 202
        wait_for("👀 on the command", lambda: world.sim.world.reactions_of(c.id), 1, 0.01)
        wait_for("the pending status", world.statuses, 1, 0.01)
        assert time.monotonic() - posted < 1
        wait_for(
            "the comment saying Drone is down",
            lambda: any(DRONE_DOWN in b.body for b in world.bot_comments()),
            5,
            0.02,
        )
        assert world.builds() == []
        world.sim.clear_faults()  # Drone is back: the next try (2 s after the first) builds
        wait_for("the build once Drone is back", world.builds, 10, 0.05)
        wait_for(
            "the comment linking the build",
            lambda: f"/drone/{CI_REPO}/1" in world.bot_comments()[0].body,
            5,
            0.05,
        )
        assert len(world.builds()) == 1 and len(world.bot_comments()) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "event=drone-down" in err and "Traceback" not in err
