"""What maintainers type beyond `!testme [stage …]` and what they get back, against the
simulated forge: `help`, `upgrade from=TAG`, a comment worth reading, and the one automatic
retry of a run the machine (not the recipe) kept from being carried out."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from cc_ci.bridge.state import _ADDED_COLUMNS, SCHEMA_VERSION, CommandRow, Phase, State
from cc_ci.contract.names import COMMAND_PARAM, drone_run_id
from cc_ci.contract.record import (
    ErrorClass,
    RunRecord,
    RunStatus,
    Source,
    StageResult,
    StageStatus,
    Teardown,
    TeardownStatus,
    Trigger,
)
from devworld.forgesim.demo import CI_REPO, OUTSIDER

REPRO = "cc-ci-run custom-html --src alice/custom-html --ref 0123456789"


def record(
    world, number: int, status: str, error_class: str | None = None, retryable: bool = False
):
    """Build `number`'s run record, as the harness writes it from the build's parameters:
    install ended as `status`; an error has a class."""
    p = world.sim.world.build(CI_REPO, number).params
    stage = "passed" if status == "passed" else "error" if status == "error" else "failed"
    message = {"passed": "", "error": "Cannot connect to the Docker daemon"}.get(status, "2 failed")
    return RunRecord(
        drone_run_id(number, int(p[COMMAND_PARAM])),
        "custom-html",
        Source(p["SRC"], p["REF"], int(p["PR"]), base_repo=world.repo),
        datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
        (
            StageResult(
                "install",
                StageStatus(stage),
                31.0,
                message=message,
                artifacts=("screenshots/install-front.png",),
            ),
        ),
        status=RunStatus(status),
        teardown=Teardown(TeardownStatus.CLEAN),
        error_class=ErrorClass(error_class) if error_class else None,
        retryable=retryable,
        repro=REPRO,
        trigger=Trigger(p["CCCI_TRIGGERED_BY"], p.get("CCCI_COMMENT_URL"), int(p[COMMAND_PARAM])),
    ).to_json()


def command(world, body: str):
    bridge = world.bridge()
    world.tick()
    c = world.comment(body)
    bridge.poll_once()
    return bridge, c


# --- help and from= ---------------------------------------------------------------------


def test_help_is_answered_with_the_syntax_and_starts_nothing(world):
    bridge, c = command(world, "!testme help")
    assert world.builds() == []
    (reply,) = world.bot_comments()
    assert "`custom-html`" in reply.body and f"`{world.repo}`" in reply.body
    assert "from=TAG[,TAG]" in reply.body
    for stage in ("install", "upgrade", "backup", "recipe-local"):
        assert f"| `{stage}` |" in reply.body
    assert world.statuses() == []
    assert bridge.state.command(c.id).phase is Phase.REPORTED


def test_a_stranger_asking_for_help_gets_no_answer(world):
    command(world, "!testme help")  # the world's first command is a member's
    bridge = world.bridge()
    world.tick()
    world.comment("!testme help", login=OUTSIDER, pr=2)
    bridge.poll_once()
    assert world.bot_comments(pr=2) == []
    assert "event=denied" in world.log_text()


def test_upgrade_from_tags_reach_the_build_with_the_comment_that_asked(world):
    _, c = command(world, "!testme upgrade from=1.0.0+1.0,1.1.0+1.1")
    (build,) = world.builds()
    assert build.params["STAGES"] == "upgrade"
    assert build.params["UPGRADE_FROM"] == "1.0.0+1.0,1.1.0+1.1"
    assert build.params["CCCI_COMMENT_URL"].endswith(f"#issuecomment-{c.id}")
    assert "upgrade_from=1.0.0+1.0,1.1.0+1.1" in world.log_text()


def test_a_tag_that_is_not_a_ref_is_answered_and_nothing_is_sent(world):
    bridge, c = command(world, "!testme upgrade from=1.0.0;rm")
    assert world.builds() == []
    (reply,) = world.bot_comments()
    assert "cannot run this command as written" in reply.body
    assert "1.0.0;rm" in reply.body and "not a tag name" in reply.body
    assert world.statuses() == []
    assert bridge.state.command(c.id).phase is Phase.REPORTED


# --- the final comment ------------------------------------------------------------------


def test_the_final_comment_has_the_table_links_screenshot_and_repro_line(world):
    bridge, c = command(world, "!testme install")
    world.sim.world.finish_build(CI_REPO, 1, "failure", record(world, 1, "failed"))
    bridge.report_once()
    (comment,) = world.bot_comments()
    run = f"{world.sim.dashboard_url}/runs/{drone_run_id(1, c.id)}"
    assert "| install | ❌ failed | 31 s | `2 failed` |" in comment.body
    assert f"[run page]({run})" in comment.body
    assert "[Drone build #1](" in comment.body
    assert f"#issuecomment-{c.id})" in comment.body
    assert (
        f"[![screenshot of the app]({run}/thumb/screenshots/install-front.png)]"
        f"({run}/screenshots/install-front.png)"
    ) in comment.body
    assert f"```\n{REPRO}\n```" in comment.body


# --- retrying once ----------------------------------------------------------------------


def test_a_docker_error_is_retried_once_and_the_retry_is_what_is_reported(world):
    bridge, c = command(world, "!testme install")
    first = world.builds()[0]
    world.sim.world.finish_build(CI_REPO, 1, "failure", record(world, 1, "error", "docker", True))
    world.tick(10)
    bridge.report_once()
    builds = world.builds()
    assert len(builds) == 2
    retry = builds[1] if builds[1].number == 2 else builds[0]
    assert {k: v for k, v in retry.params.items() if k != "message"} == {
        k: v for k, v in first.params.items() if k != "message"
    }
    assert retry.params["message"].endswith("retry of build 1)")
    (comment,) = world.bot_comments()
    assert "retrying once: the Docker daemon did not answer" in comment.body
    assert [s["status"] for s in world.statuses()] == ["pending", "pending"]
    assert world.statuses()[-1]["target_url"].endswith("/2")
    assert "event=retry-run" in world.log_text()

    world.sim.world.finish_build(CI_REPO, 2, "success", record(world, 2, "passed"))
    world.tick(10)
    bridge.report_once()
    (comment,) = world.bot_comments()
    assert "**cc-ci** passed" in comment.body
    assert "This is the automatic retry: [build #1](" in comment.body
    assert "(the Docker daemon did not answer)" in comment.body
    assert world.statuses()[-1]["status"] == "success"
    assert bridge.state.command(c.id).phase is Phase.REPORTED


def test_the_retry_is_a_build_and_run_of_its_own_and_its_comment_follows_it(world):
    bridge, c = command(world, "!testme install")
    dash = world.sim.dashboard_url
    world.sim.world.start_build(CI_REPO, 1)
    bridge.report_once()
    assert "Running." in world.bot_comments()[0].body
    world.sim.world.finish_build(CI_REPO, 1, "failure", record(world, 1, "error", "docker", True))
    world.tick(10)
    bridge.report_once()
    first, retry = drone_run_id(1, c.id), drone_run_id(2, c.id)
    assert first != retry
    assert world.sim.world.build(CI_REPO, 2).params[COMMAND_PARAM] == str(c.id)
    (comment,) = world.bot_comments()
    assert f"The first try: [run page]({dash}/runs/{first}) · [Drone build #1](" in comment.body
    assert f"The retry: [run page]({dash}/runs/{retry}) · [Drone build #2](" in comment.body
    assert "Waiting in Drone's queue" in comment.body

    world.sim.world.start_build(CI_REPO, 2)
    world.tick(10)
    bridge.report_once()  # the retry runs: its comment still says why it was retried
    (comment,) = world.bot_comments()
    assert "retrying once: the Docker daemon did not answer (install: `Cannot" in comment.body
    assert "Running." in comment.body

    world.sim.world.finish_build(CI_REPO, 2, "success", record(world, 2, "passed"))
    world.tick(10)
    bridge.report_once()
    (comment,) = world.bot_comments()
    assert "**cc-ci** passed" in comment.body and "| install | ✅ passed |" in comment.body
    assert f"[run page]({dash}/runs/{retry})" in comment.body
    assert "is not this command's" not in comment.body  # the retry's record passes the check
    assert world.statuses()[-1]["target_url"] == f"{dash}/runs/{retry}"
    for run_id in (first, retry):  # two runs, each with its own record
        assert (world.demo.results_dir / run_id / "run.json").is_file()
    assert "event=run-record-mismatch" not in world.log_text()


def test_a_retryable_error_in_a_record_that_is_not_the_commands_is_not_retried(world):
    bridge, c = command(world, "!testme")
    other = record(world, 1, "error", "docker", True)
    other["source"]["ref"] = "f" * 40
    world.sim.world.finish_build(CI_REPO, 1, "failure", other)
    bridge.report_once()
    assert len(world.builds()) == 1
    (comment,) = world.bot_comments()
    assert "is not this command's: its `source.ref`" in comment.body
    assert "retrying" not in comment.body
    assert world.statuses()[-1]["status"] == "error"
    assert bridge.state.command(c.id).phase is Phase.REPORTED


def test_a_second_docker_error_is_reported_as_it_is(world):
    bridge, _ = command(world, "!testme")
    world.sim.world.finish_build(CI_REPO, 1, "failure", record(world, 1, "error", "image", True))
    bridge.report_once()
    world.sim.world.finish_build(CI_REPO, 2, "failure", record(world, 2, "error", "image", True))
    world.tick(10)
    bridge.report_once()
    world.tick(600)
    bridge.report_once()
    assert len(world.builds()) == 2
    (comment,) = world.bot_comments()
    assert "ended in an error" in comment.body
    assert "Error class: `image`: an image could not be pulled or was not found." in comment.body
    assert world.statuses()[-1]["status"] == "error"


def test_an_error_the_record_does_not_call_retryable_is_not_retried(world):
    bridge, _ = command(world, "!testme")
    world.sim.world.finish_build(CI_REPO, 1, "failure", record(world, 1, "error", "health", False))
    bridge.report_once()
    assert len(world.builds()) == 1
    assert "Error class: `health`" in world.bot_comments()[0].body
    assert "retry" not in world.bot_comments()[0].body


def test_a_lost_answer_to_the_retrys_create_does_not_make_a_third_build(world):
    bridge, c = command(world, "!testme")
    (ack,) = world.bot_comments()
    world.sim.world.finish_build(CI_REPO, 1, "failure", record(world, 1, "error", "docker", True))
    world.sim.fault("gitea", "500", times=1, path=f"/issues/comments/{ack.id}")
    bridge.report_once()  # the build is done; saying "retrying" fails, so the retry waits
    assert bridge.state.command(c.id).phase is Phase.FINISHED
    world.sim.fault("drone", "lost", times=1, path="/builds")
    world.tick(60)
    bridge.advance_due()  # "retrying" is said, the retry is created, its answer is lost
    assert bridge.state.command(c.id).phase is Phase.REQUESTING
    assert len(world.builds()) == 2
    world.tick(60)
    bridge.advance_due()  # found by its message, not created again
    assert len(world.builds()) == 2
    assert bridge.state.command(c.id).build == 2
    assert bridge.state.command(c.id).phase is Phase.BUILDING


def test_a_retry_whose_create_never_arrived_is_created_not_taken_for_the_first_build(world):
    bridge, c = command(world, "!testme")
    (ack,) = world.bot_comments()
    world.sim.world.finish_build(CI_REPO, 1, "failure", record(world, 1, "error", "docker", True))
    world.sim.fault("gitea", "500", times=1, path=f"/issues/comments/{ack.id}")
    bridge.report_once()
    world.sim.fault("drone", "down", times=1, path="/builds")
    world.tick(60)
    bridge.advance_due()  # the retry's create never reaches Drone
    assert len(world.builds()) == 1
    world.tick(60)
    bridge.advance_due()  # build 1 does not carry the retry's message: a create it is
    assert len(world.builds()) == 2
    assert bridge.state.command(c.id).build == 2


# --- the state file ---------------------------------------------------------------------


COMMENT_COLUMNS = ("upgrade_from", "answer", "retried_build", "retried_class")
"""What the branch of the commands and the retry added (it called its file schema 2)."""
CORE_COLUMNS = ("build_id", "queue_ahead", "drone_down", "shown", "superseded_by")
"""What the branch of the queue and supersede added (it, too, called its file schema 2)."""


@pytest.mark.parametrize(
    ("version", "lacks"),
    [
        ("1", COMMENT_COLUMNS + CORE_COLUMNS),
        ("2", CORE_COLUMNS),  # written by the commands-and-retry bridge
        ("2", COMMENT_COLUMNS),  # written by the queue-and-supersede bridge
        ("3", ()),  # every column, no default-branch jobs
    ],
)
def test_an_older_state_file_opens_and_its_rows_read_with_the_new_defaults(
    tmp_path, version, lacks
):
    assert {name for name, _ in _ADDED_COLUMNS} == set(COMMENT_COLUMNS + CORE_COLUMNS)
    path = tmp_path / "old.sqlite3"
    new = State(path)
    new.close()
    db = sqlite3.connect(path)  # make it the file an older bridge wrote
    with db:
        for column in lacks:
            db.execute(f"ALTER TABLE commands DROP COLUMN {column}")
        for table in ("jobs", "branch_watch", "known_tags"):  # schema 4's
            db.execute(f"DROP TABLE {table}")
        db.execute("UPDATE meta SET value=? WHERE key='schema'", (version,))
        db.execute(
            "INSERT INTO commands (comment_id, repo, pr, login, comment_url, stages, "
            "unknown_stages, phase, received_at, recipe) VALUES "
            "(5, 'o/r', 1, 'alice', '', 'install', '', 'building', 0, 'r')"
        )
    db.close()
    state = State(path)
    old = state.command(5)
    assert isinstance(old, CommandRow)
    assert (old.upgrade_from, old.answer, old.retried_build, old.retried_class) == (
        "",
        "",
        None,
        "",
    )
    assert (old.build_id, old.queue_ahead, old.drone_down, old.shown, old.superseded_by) == (
        None,
        None,
        False,
        "",
        None,
    )
    state.update(5, upgrade_from="1.0.0+1.0", superseded_by="ab12cd3")  # every column writes
    # schema 4's tables are there: a default-branch job is planned once, and only once
    assert state.plan("o/r", "r", "schedule", "86400", 90000, period=86400) is not None
    assert state.plan("o/r", "r", "schedule", "86400", 90001, period=86400) is None
    assert state.scheduled("o/r") == 86400 and len(state.jobs()) == 1
    state.close()
    (version,) = sqlite3.connect(path).execute("SELECT value FROM meta").fetchone()
    assert version == str(SCHEMA_VERSION) == "4"
    State(path).close()  # a file of this schema opens as it is
