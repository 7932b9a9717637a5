"""The signed webhook: acts on PR comment events at once, refuses forgeries, and never
triggers twice for a comment that also arrives by poll."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import threading
from collections.abc import Iterator

import pytest

from cc_ci.bridge.app import webhook_server
from cc_ci.bridge.webhook import signature_ok
from cc_ci.harness.waiting import wait_for
from devworld.forgesim.demo import OUTSIDER


@pytest.fixture
def hooked(world) -> Iterator[tuple]:
    bridge = world.bridge(webhook_listen="127.0.0.1:0")
    server = webhook_server(bridge)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield bridge, server
    server.shutdown()
    server.server_close()


def post(server, body: bytes, headers: dict[str, str], path: str = "/hook") -> tuple[int, dict]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def get(server, path: str) -> tuple[int, dict]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def raw_exchange(server, head: bytes, timeout: float = 5) -> bytes:
    """Send `head` as is on a new connection; what comes back until the server closes."""
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(head)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer


def test_the_signature_is_an_hmac_sha256_of_the_raw_body():
    sig = "8b8a0d8e1a8a1e1a5c4b6b9b8d0c1a6c6c7f6e0f1a7f0bd1b4fa7e1e2e3d4c5b"
    assert not signature_ok("s3cret", b"{}", sig)
    assert not signature_ok("s3cret", b"{}", None)
    assert not signature_ok("s3cret", b"{}", "")
    good = hmac.new(b"s3cret", b"{}", hashlib.sha256).hexdigest()
    assert signature_ok("s3cret", b"{}", good)
    assert signature_ok("s3cret", b"{}", good.upper())


def test_a_signed_pr_comment_event_starts_the_build_without_a_poll(world, hooked):
    bridge, server = hooked
    world.tick()
    c = world.comment("!testme install")
    body, headers = world.sim.signed_delivery(c, world.demo.webhook_secret)
    status, doc = post(server, body, headers)
    assert (status, doc["message"]) == (202, "queued")
    bridge.advance_due()  # what the loop does when the webhook wakes it
    (build,) = world.builds()
    assert build.params["STAGES"] == "install"


def test_a_forged_or_unsigned_delivery_gets_403_and_nothing_else_happens(world, hooked):
    bridge, server = hooked
    world.tick()
    c = world.comment("!testme")
    body, headers = world.sim.signed_delivery(c, "not-the-secret")
    assert post(server, body, headers)[0] == 403
    del headers["X-Gitea-Signature"]
    assert post(server, body, headers)[0] == 403
    good_body, good_headers = world.sim.signed_delivery(c, world.demo.webhook_secret)
    tampered = good_body.replace(b"!testme", b"!testme backup")
    assert post(server, tampered, good_headers)[0] == 403
    assert bridge.state.commands() == []
    assert not bridge.state.is_seen(c.id)
    assert "event=hook-forged" in world.log_text()


@pytest.mark.parametrize(
    "signature",
    [b"\xff\xfe" * 32, b"abc", b"z" * 64, b"sha256=" + b"0" * 64, b"\xc3\xa9" * 32],
    ids=["latin-1", "short", "not-hex", "prefixed", "utf-8"],
)
def test_a_malformed_signature_header_gets_403_not_a_dropped_connection(hooked, signature):
    bridge, server = hooked
    head = (
        b"POST /hook HTTP/1.1\r\nHost: ci\r\nContent-Length: 2\r\n"
        b"X-Gitea-Event: issue_comment\r\nX-Gitea-Signature: " + signature + b"\r\n\r\n{}"
    )
    answer = raw_exchange(server, head)
    assert answer.startswith(b"HTTP/1.1 403 "), answer
    assert b"malformed signature" in answer
    assert bridge.state.commands() == []


def test_a_large_body_without_a_signature_is_refused_before_it_is_read(hooked):
    _, server = hooked
    # The headers promise a megabyte that never comes: the answer must not wait for it.
    head = b"POST /hook HTTP/1.1\r\nHost: ci\r\nContent-Length: 1000000\r\n\r\n"
    answer = raw_exchange(server, head, timeout=3)
    assert answer.startswith(b"HTTP/1.1 403 "), answer


def test_a_comment_by_webhook_and_by_poll_triggers_once(world, hooked):
    bridge, server = hooked
    world.tick()
    c = world.comment("!testme")
    body, headers = world.sim.signed_delivery(c, world.demo.webhook_secret)
    assert post(server, body, headers)[0] == 202
    assert post(server, body, headers)[0] == 200  # Gitea's "redeliver" button
    bridge.poll_once()
    world.tick(30)
    bridge.poll_once()
    assert len(world.builds()) == 1
    assert len(world.bot_comments()) == 1


def test_a_comment_seen_by_poll_first_is_not_started_again_by_its_webhook(world, hooked):
    bridge, server = hooked
    world.tick()
    c = world.comment("!testme")
    bridge.poll_once()
    body, headers = world.sim.signed_delivery(c, world.demo.webhook_secret)
    assert post(server, body, headers)[0] == 200
    bridge.advance_due()
    assert len(world.builds()) == 1


def test_edits_issues_and_other_events_are_acknowledged_and_ignored(world, hooked):
    bridge, server = hooked
    world.tick()
    c = world.comment("!testme")
    body, headers = world.sim.signed_delivery(c, world.demo.webhook_secret, action="edited")
    assert post(server, body, headers)[0] == 200
    issue_comment = world.comment("!testme", pr=3)
    body, headers = world.sim.signed_delivery(issue_comment, world.demo.webhook_secret)
    assert post(server, body, headers)[0] == 200
    push = b'{"ref": "refs/heads/main"}'
    body, headers = world.sim.signed_delivery(c, world.demo.webhook_secret)
    headers["X-Gitea-Signature"] = hmac.new(
        world.demo.webhook_secret.encode(), push, hashlib.sha256
    ).hexdigest()
    headers["X-Gitea-Event"] = "push"
    assert post(server, push, headers)[0] == 200
    bridge.advance_due()
    assert world.builds() == []


def test_a_comment_created_as_chatter_never_counts_even_edited_in_the_same_second(world, hooked):
    # Gitea's times cannot tell this edit from the creation; the webhook's "created"
    # delivery, which carries the body as it was created, can.
    bridge, server = hooked
    world.tick()
    chatter = world.comment("looks good")
    body, headers = world.sim.signed_delivery(chatter, world.demo.webhook_secret)
    assert post(server, body, headers) == (200, {"message": "ignored: not a command"})
    world.sim.world.edit_comment(chatter.id, "!testme", at=chatter.created)
    body, headers = world.sim.signed_delivery(chatter, world.demo.webhook_secret, "edited")
    assert post(server, body, headers)[0] == 200
    bridge.poll_once()
    world.tick(30)
    bridge.poll_once()
    assert world.builds() == []


def test_a_non_member_by_webhook_is_denied_like_by_poll(world, hooked):
    bridge, server = hooked
    world.tick()
    c = world.comment("!testme", login=OUTSIDER)
    body, headers = world.sim.signed_delivery(c, world.demo.webhook_secret)
    post(server, body, headers)
    bridge.advance_due()
    assert world.builds() == []


def test_gitea_delivers_to_the_bridge_on_its_own(world, hooked):
    bridge, server = hooked
    host, port = server.server_address[:2]
    world.sim.world.add_hook(world.repo, f"http://{host}:{port}/hook", world.demo.webhook_secret)
    world.tick()
    world.comment("!testme")
    wait_for("the webhook delivery", lambda: world.sim.deliveries, timeout=5, interval=0.01)
    assert world.sim.deliveries[0].status == 202
    bridge.advance_due()
    assert len(world.builds()) == 1


def test_healthz_tells_the_state_of_the_last_poll(world, hooked):
    bridge, server = hooked
    status, doc = get(server, "/healthz")
    assert (status, doc["status"]) == (503, "starting")
    bridge.poll_once()
    status, doc = get(server, "/healthz")
    assert (status, doc["status"], doc["last_poll"]["ok"]) == (200, "ok", True)
    world.sim.fault("gitea", "500", times=1)
    bridge.poll_once()
    status, doc = get(server, "/healthz")
    assert (status, doc["status"]) == (503, "degraded")
    assert world.repo in doc["last_poll"]["errors"]
    assert world.demo.gitea_token not in json.dumps(doc)
    assert get(server, "/nope")[0] == 404


def test_a_signed_payload_that_lies_about_the_comment_is_checked_against_gitea(world, hooked):
    # Someone holding the webhook secret claims alice wrote "!testme" where mallory did,
    # and invents a comment that does not exist: the bridge reads both back from Gitea.
    bridge, server = hooked
    world.tick()
    real = world.comment("just chatting", login=OUTSIDER)
    body, headers = world.sim.signed_delivery(real, world.demo.webhook_secret)
    payload = json.loads(body)
    payload["comment"]["body"] = "!testme"
    payload["comment"]["user"]["login"] = "alice"
    for comment_id in (real.id, 999_999):
        payload["comment"]["id"] = comment_id
        forged = json.dumps(payload).encode()
        headers["X-Gitea-Signature"] = hmac.new(
            world.demo.webhook_secret.encode(), forged, hashlib.sha256
        ).hexdigest()
        assert post(server, forged, headers)[0] == 200
    bridge.advance_due()
    bridge.poll_once()
    assert world.builds() == []
