"""The token values (a canary in the token files) never appear in anything the bridge
writes: logs, comments, statuses, errors, Drone params, the state file."""

from __future__ import annotations

import json
import secrets as random_secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cc_ci.bridge.client import JsonClient, Unavailable
from cc_ci.bridge.config import ConfigError, load_config, load_secrets
from cc_ci.contract.redact import Redactor
from devworld.forgesim.demo import CI_REPO, OUTSIDER


def leaked(secret: str, text: str, n: int = 8) -> list[str]:
    """The pieces of `secret`, `n` characters or more, that `text` holds."""
    return [secret[i : i + n] for i in range(len(secret) - n + 1) if secret[i : i + n] in text]


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


@pytest.fixture
def echoing_server() -> Iterator[tuple[str, str]]:
    """A server whose 500s echo the request's token just where the error text is cut."""
    token = random_secrets.token_hex(20)

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            echoed = self.headers.get("Authorization", "")
            body = json.dumps({"message": "x" * 185 + " " + echoed}).encode()
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}", token
    server.shutdown()
    server.server_close()


def test_a_token_echoed_where_an_error_message_is_cut_leaks_no_part_of_it(echoing_server):
    url, token = echoing_server
    client = JsonClient("Gitea", url, f"token {token}", Redactor([token]))
    with pytest.raises(Unavailable) as e:
        client.request("GET", "/user")
    assert "HTTP 500: xxx" in str(e.value)
    assert leaked(token, str(e.value)) == []


def test_a_token_where_quoted_text_is_cut_leaks_no_part_of_it_into_comments(world):
    token = world.demo.gitea_token  # the canary: the bridge knows it as a secret
    bridge = world.bridge()
    world.tick()
    world.comment("!testme " + "s" * 25 + token)  # an unknown stage name, quoted back
    world.comment("!testme", pr=2)
    bridge.poll_once()
    finding = {"kind": "bind-mount", "severity": "refused", "detail": "d" * 260 + " " + token}
    record = {
        "schema": 1,
        "run_id": "drone-1",
        "recipe": "custom-html",
        "status": "failed",
        "stages": [{"name": "install", "status": "failed", "message": "m" * 150 + " " + token}],
        "teardown": {"status": "t" * 10 + token},
        "policy": [{"findings": [finding]}],
    }
    world.sim.world.finish_build(CI_REPO, 1, "failure", record)
    world.tick(10)
    bridge.report_once()
    bodies = [c.body for c in world.bot_comments(pr=1) + world.bot_comments(pr=2)]
    assert len(bodies) == 2 and "does not know the stage" in bodies[0]
    for body in bodies:
        assert leaked(token, body) == [], body
