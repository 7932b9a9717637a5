"""The right verdict on the right PR: a run id no reset of Drone reuses, a build watched only
while it is the command's own, and a run record reported only when it is the command's."""

from __future__ import annotations

import pytest

from cc_ci.bridge.state import Phase
from cc_ci.bridge.tests.test_report import record
from cc_ci.contract.names import drone_run_id
from devworld.forgesim.demo import CI_REPO, MEMBER


def test_after_drone_numbers_its_builds_afresh_each_pr_is_told_its_own_verdict(world):
    bridge = world.bridge()
    world.tick()
    first = world.comment("!testme")
    bridge.poll_once()
    world.sim.world.finish_build(CI_REPO, 1, "success", "demo")
    bridge.report_once()
    assert "passed" in world.bot_comments(pr=1)[0].body

    world.sim.world.reset_drone()  # a new Drone database: build numbers start again
    world.tick()
    second = world.comment("!testme install", pr=2)
    bridge.poll_once()
    (build,) = world.builds()
    assert build.number == 1  # the same number as the first command's build
    assert build.params["CCCI_COMMAND"] == str(second.id)
    world.sim.world.finish_build(CI_REPO, 1, "failure", "demo")
    bridge.report_once()

    # two runs, two records: the harness was never handed a run id it had used
    assert {drone_run_id(1, first.id), drone_run_id(1, second.id)} <= set(world.sim.world.records)
    (comment,) = world.bot_comments(pr=2)
    assert "failed" in comment.body and "| install | ❌ failed |" in comment.body
    assert "| upgrade |" not in comment.body  # not the first run's table
    assert f"/runs/{drone_run_id(1, second.id)}" in comment.body
    assert world.statuses(pr=2)[-1]["status"] == "failure"
    assert world.statuses(pr=1)[-1]["status"] == "success"
    assert "passed" in world.bot_comments(pr=1)[0].body


def test_a_build_whose_number_drone_gave_to_another_after_a_reset_is_reported_as_lost(world):
    bridge = world.bridge()
    world.tick()
    lost = world.comment("!testme")
    bridge.poll_once()
    world.sim.world.reset_drone()
    world.tick()
    other = world.comment("!testme", pr=2)
    bridge.poll_once()
    world.sim.world.finish_build(CI_REPO, 1, "success", "demo")  # the other command's
    bridge.report_once()
    row = bridge.state.command(lost.id)
    assert row.phase is Phase.REPORTED and row.result == "error"
    assert "no run record was read" in world.bot_comments(pr=1)[0].body
    assert f"event=build-gone comment={lost.id} build=1" in world.log_text()
    assert bridge.state.command(other.id).result == "success"
    assert "passed" in world.bot_comments(pr=2)[0].body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipe": "keycloak"}, "recipe"),
        ({"repo": f"{MEMBER}/elsewhere"}, "source.repo"),
        ({"base_repo": "recipe-maintainers/other"}, "source.base_repo"),
        ({"ref": "f" * 40}, "source.ref"),
        ({"pr": 2}, "source.pr"),
        ({"command": 4242}, "trigger.command"),
    ],
)
def test_a_record_that_is_not_the_commands_is_not_reported_and_the_error_names_the_field(
    world, change, field
):
    bridge = world.bridge()
    world.tick()
    command = world.comment("!testme")
    bridge.poll_once()
    (build,) = world.builds()
    stages = [("install", "passed", 10.0, "")]
    world.sim.world.finish_build(CI_REPO, 1, "success", record(build, "passed", stages, **change))
    bridge.report_once()
    (comment,) = world.bot_comments()
    assert "is not this command's" in comment.body and f"`{field}`" in comment.body
    assert "| install |" not in comment.body  # the record's table is not shown
    assert world.statuses()[-1]["status"] == "error"
    assert bridge.state.command(command.id).result == "error"
    assert f"event=run-record-mismatch comment={command.id}" in world.log_text()
    assert f"field={field}" in world.log_text()


def test_a_record_that_is_the_commands_is_reported_with_or_without_a_base_repository(world):
    bridge = world.bridge()
    world.tick()
    world.comment("!testme")
    world.comment("!testme", pr=2)
    bridge.poll_once()
    first, second = world.builds()
    stages = [("install", "passed", 10.0, "")]
    world.sim.world.finish_build(CI_REPO, 1, "success", record(first, "passed", stages))
    same_base = record(second, "passed", stages, base_repo=world.repo)
    world.sim.world.finish_build(CI_REPO, 2, "success", same_base)
    bridge.report_once()
    for pr in (1, 2):
        assert "| install | ✅ passed |" in world.bot_comments(pr=pr)[0].body
        assert world.statuses(pr=pr)[-1]["status"] == "success"
