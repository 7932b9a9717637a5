"""The state file: one written by the schema-1 bridge opens, keeps its rows, and the
commands in it are resumed; one from a newer bridge is refused."""

from __future__ import annotations

import sqlite3

import pytest

from cc_ci.bridge.drone import Drone
from cc_ci.bridge.state import _SCHEMA, SCHEMA_VERSION, Phase, State, StateError
from cc_ci.contract.redact import Redactor
from devworld.forgesim.demo import CI_REPO, MEMBER


def schema_1_file(path, rows):
    """A state file as the schema-1 bridge left it (its tables are `_SCHEMA` itself)."""
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA)
    db.execute("INSERT INTO meta VALUES ('schema', '1')")
    for row in rows:
        db.execute(
            f"INSERT INTO commands ({','.join(row)}) VALUES ({','.join('?' * len(row))})",
            tuple(row.values()),
        )
    db.commit()
    db.close()


def test_a_schema_1_state_file_is_brought_up_to_date_and_its_build_is_reported(world):
    world.tick()
    c = world.comment("!testme")
    # the build the old bridge created: no command id parameter, marked by its message
    message = f"cc-ci custom-html: {world.repo}#1 by {MEMBER} (comment {c.id})"
    old = Drone(world.sim.drone_url, world.demo.drone_token, CI_REPO, Redactor())
    b = old.create_build("main", {"RECIPE": "custom-html", "message": message})
    world.state_path.parent.mkdir(parents=True)
    schema_1_file(
        world.state_path,
        [
            {
                "comment_id": c.id,
                "repo": world.repo,
                "pr": 1,
                "login": MEMBER,
                "comment_url": "",
                "stages": "",
                "unknown_stages": "",
                "phase": "building",
                "received_at": int(c.created),
                "recipe": "custom-html",
                "head_sha": world.head(),
                "head_repo": f"{MEMBER}/custom-html",
                "build": b.number,
                "build_status": "pending",
                "reacted": 1,
                "bot_comment": 0,
                "pending_posted": 1,
            }
        ],
    )
    with sqlite3.connect(world.state_path) as db:
        db.execute("INSERT INTO cursors VALUES (?, ?, ?)", (world.repo, 0, int(c.created)))
    bridge = world.bridge()
    row = bridge.state.command(c.id)
    assert row.phase is Phase.BUILDING and row.build == b.number
    assert (row.build_id, row.queue_ahead, row.drone_down, row.shown, row.superseded_by) == (
        None,
        None,
        False,
        "",
        None,
    )
    with sqlite3.connect(world.state_path) as db:
        assert db.execute("SELECT value FROM meta").fetchone() == (str(SCHEMA_VERSION),)
    world.sim.world.finish_build(CI_REPO, b.number, "success")
    bridge.report_once()
    assert bridge.state.command(c.id).phase is Phase.REPORTED
    assert "event=build-gone" not in world.log_text()  # its message still marks it


def test_a_state_file_from_a_newer_bridge_is_refused(tmp_path):
    path = tmp_path / "state.sqlite3"
    State(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value='99'")
    with pytest.raises(StateError, match="schema 99, newer than this bridge"):
        State(path)
