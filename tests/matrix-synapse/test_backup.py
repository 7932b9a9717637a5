"""backup → mutate → restore: the database comes back as it was at the backup."""

from __future__ import annotations

import json
import secrets

import pytest


@pytest.mark.seed
def test_seed_a_user_a_room_and_a_message(matrix, new_user, run_data):
    user, password = new_user
    token = matrix.register(user, password)["access_token"]
    room = matrix.create_room(token, "ci-backup")
    body = f"original {secrets.token_hex(8)}"
    run_data.update(user=user, password=password, room=room, body=body)
    run_data["event"] = matrix.send(token, room, body)


@pytest.mark.mutate
def test_mutate_send_a_message_after_the_backup(matrix, run_data):
    token = matrix.token(run_data["user"], run_data["password"])
    run_data["mutated"] = matrix.send(token, run_data["room"], "mutated")


def test_the_original_message_is_back(matrix, run_data):
    token = matrix.token(run_data["user"], run_data["password"])
    r = matrix.event(token, run_data["room"], run_data["event"])
    assert r.status == 200, f"the message from before the backup is gone: {r.status}"
    assert json.loads(r.text)["content"]["body"] == run_data["body"]


def test_the_message_sent_after_the_backup_is_gone(matrix, run_data):
    token = matrix.token(run_data["user"], run_data["password"])
    assert matrix.event(token, run_data["room"], run_data["mutated"]).status == 404
