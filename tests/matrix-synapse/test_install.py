"""A fresh matrix-synapse answers the client API, registers users with the shared secret,
and carries messages."""

from __future__ import annotations

import json
import secrets


def test_client_versions_answers(app):
    r = app.get("/_matrix/client/versions")
    assert r.status == 200
    versions = json.loads(r.text)["versions"]
    assert any(v.startswith("v1.") for v in versions), versions


def test_the_server_name_is_the_app_domain(app, matrix, new_user):
    user, password = new_user
    registered = matrix.register(user, password)
    assert registered["user_id"] == f"@{user}:{app.domain}"


def test_a_user_registered_with_the_shared_secret_can_log_in(matrix, new_user):
    user, password = new_user
    matrix.register(user, password, admin=True)
    r = matrix.login(user, password)
    assert r.status == 200, r.text[:200]
    assert json.loads(r.text)["access_token"]


def test_a_wrong_password_is_refused(matrix, new_user):
    user, password = new_user
    matrix.register(user, password)
    assert matrix.login(user, password + "x").status == 403


def test_a_message_sent_to_a_room_can_be_read_back(matrix, new_user):
    user, password = new_user
    token = matrix.register(user, password)["access_token"]
    room = matrix.create_room(token, "ci-install")
    body = f"hello {secrets.token_hex(6)}"
    event_id = matrix.send(token, room, body)
    r = matrix.event(token, room, event_id)
    assert r.status == 200
    assert json.loads(r.text)["content"]["body"] == body


def test_synapse_static_page_renders_in_a_browser(app, page, screenshot):
    page.goto(app.url("/_matrix/static/"))
    assert "Synapse" in page.content()
    screenshot(page, "synapse-static")
