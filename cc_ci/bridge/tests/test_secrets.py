"""The token values (a canary in the token files) never appear in anything the bridge
writes: logs, comments, statuses, errors, Drone params, the state file."""

from __future__ import annotations

import json

from cc_ci.bridge.config import ConfigError, load_config, load_secrets
from devworld.forgesim.demo import CI_REPO, OUTSIDER


def test_no_token_leaks_through_logs_comments_statuses_errors_or_the_state_file(world):
    secrets = (world.demo.gitea_token, world.demo.drone_token, world.demo.webhook_secret)
    bridge = world.bridge(webhook_listen="127.0.0.1:0")
    errors: list[str] = []
    # The simulator's 500s echo the request's Authorization header back, as a careless
    # proxy might: the error text that reaches logs and state holds the token.
    world.sim.fault("gitea", "500", times=1, path="/issues/comments")
    health = bridge.poll_once()
    errors += health.errors.values()
    world.tick()
    world.comment("!testme")
    world.comment("!testme", login=OUTSIDER, pr=2)
    world.sim.fault("gitea", "500", times=2, path="/statuses/")
    bridge.poll_once()  # the pending status fails
    world.tick(5)
    world.sim.fault("drone", "500", times=1)
    bridge.poll_once()  # and again
    world.tick(10)
    bridge.poll_once()  # posted; Drone fails
    world.tick(10)
    bridge.poll_once()  # the build
    world.sim.world.finish_build(CI_REPO, 1, "success", "demo")
    world.sim.fault("dashboard", "500", times=1)
    world.tick(30)
    bridge.report_once()
    world.tick(30)
    bridge.report_once()
    errors += [c.last_error for c in bridge.state.commands()]
    assert world.statuses()[-1]["status"] == "success"
    assert "[redacted]" in world.log_text()

    bridge.state.close()
    world.bridges.clear()
    state_bytes = b"".join(p.read_bytes() for p in world.state_path.parent.iterdir())
    state = json.dumps(
        {
            "comments": [c.body for c in world.sim.world.comments.values()],
            "statuses": list(world.sim.world.statuses.values()),
            "builds": [(b.params, b.message) for b in world.builds()],
        },
        default=str,
    )
    for secret in secrets:
        assert secret not in world.log_text()
        assert secret not in state
        assert secret.encode() not in state_bytes
        assert not [e for e in errors if secret in e]


def test_a_missing_token_file_is_a_start_up_error_that_names_it(world, tmp_path):
    cfg = tmp_path / "bridge.toml"
    cfg.write_text(world.config_text().replace(str(world.demo.drone_token_file), "/nonexistent/t"))
    try:
        load_secrets(load_config(cfg))
    except ConfigError as e:
        assert "drone.token_file /nonexistent/t" in str(e)
    else:
        raise AssertionError("no error")
