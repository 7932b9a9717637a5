"""A user, a room and a message made on the previous release survive the upgrade, the
upgrade changed the Synapse that serves them, and no schema delta was lost."""

from __future__ import annotations

import json
import secrets

import pytest


@pytest.mark.seed
def test_seed_a_user_a_room_and_a_message(app, matrix, new_user, run_data):
    user, password = new_user
    token = matrix.register(user, password)["access_token"]
    room = matrix.create_room(token, "ci-upgrade")
    body = f"marker {secrets.token_hex(8)}"
    run_data.update(
        user=user,
        password=password,
        room=room,
        body=body,
        event=matrix.send(token, room, body),
        deltas=int(matrix.sql("SELECT count(*) FROM applied_schema_deltas")),
        server=json.loads(app.get("/_matrix/federation/v1/version").text)["server"],
    )


def test_the_user_still_logs_in_with_the_old_password(matrix, run_data):
    r = matrix.login(run_data["user"], run_data["password"])
    assert r.status == 200, f"the user made before the upgrade cannot log in: {r.status}"


def test_the_message_survived_the_upgrade(matrix, run_data):
    token = matrix.token(run_data["user"], run_data["password"])
    r = matrix.event(token, run_data["room"], run_data["event"])
    assert r.status == 200, f"the message sent before the upgrade is gone: {r.status}"
    assert json.loads(r.text)["content"]["body"] == run_data["body"]


def test_synapse_was_upgraded(app, run_data, upgraded_from):
    server = json.loads(app.get("/_matrix/federation/v1/version").text)["server"]
    print(f"synapse {run_data['server']} ({upgraded_from}) → {server}")
    assert (
        server["version"] != run_data["server"]["version"]
    ), f"still Synapse {server['version']}, as in {upgraded_from}: Synapse was not upgraded"


def test_no_schema_delta_was_lost(matrix, run_data):
    # A Synapse release need not add a delta, so the count may stay: it may never drop.
    deltas = int(matrix.sql("SELECT count(*) FROM applied_schema_deltas"))
    print(f"schema deltas {run_data['deltas']} → {deltas}")
    assert deltas >= run_data["deltas"], "schema deltas recorded before the upgrade are gone"
