"""`python -m cc_ci.bridge --config FILE` as a process: starts against the simulator, handles a
`!testme` end to end (poll and webhook), and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from cc_ci.harness.waiting import wait_for
from devworld.forgesim.demo import CI_REPO

ROOT = Path(__file__).resolve().parents[3]


def test_the_bridge_process_handles_testme_end_to_end_and_stops_on_sigterm(world):
    proc, port = world.bridge_process(poll_interval=1)
    try:
        health = f"http://127.0.0.1:{port}/healthz"

        def healthy() -> bool:
            with urllib.request.urlopen(health, timeout=2) as r:
                return json.loads(r.read())["status"] == "ok"

        wait_for("the bridge's first poll", healthy, timeout=15, interval=0.1)
        world.comment("!testme install")
        wait_for("a Drone build", world.builds, timeout=10, interval=0.05)
        wait_for("the acknowledgement", world.statuses, timeout=10, interval=0.05)
        world.sim.world.finish_build(CI_REPO, 1, "success", "demo")
        # A webhook delivery wakes the loop at once.
        c = world.comment("!testme upgrade", pr=2)
        body, headers = world.sim.signed_delivery(c, world.demo.webhook_secret)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/hook", body, headers)
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status in (200, 202)
        wait_for("a second build", lambda: len(world.builds()) == 2, timeout=10, interval=0.05)
        wait_for(
            "the final status",
            lambda: world.statuses()[-1]["status"] == "success",
            timeout=15,
            interval=0.1,
        )
        assert "| install | ✅ passed |" in world.bot_comments()[0].body
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "event=started" in err and err.rstrip().endswith("event=stopped")
    assert "Traceback" not in err
    for secret in (world.demo.gitea_token, world.demo.drone_token, world.demo.webhook_secret):
        assert secret not in err + out


def test_a_bad_configuration_exits_2_naming_the_key(tmp_path):
    cfg = tmp_path / "bridge.toml"
    cfg.write_text('[gitea]\nurl = "https://git.example.org"\ntoken_file = "/x"\nspeed = 3\n')
    r = subprocess.run(
        [sys.executable, "-m", "cc_ci.bridge", "--config", str(cfg)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2
    assert "unknown key gitea.speed" in r.stderr
