"""Every started build is watched to its end and reported: the comment edited in place with
the stage table, the commit status set, across restarts and outages."""

from __future__ import annotations

from datetime import UTC, datetime

from cc_ci.bridge.state import Phase
from cc_ci.contract.names import COMMAND_PARAM
from cc_ci.contract.record import (
    PolicyCheck,
    PolicyFinding,
    RunRecord,
    RunStatus,
    Source,
    StageResult,
    StageStatus,
    Teardown,
    TeardownStatus,
    Trigger,
)
from devworld.forgesim.demo import CI_REPO
from devworld.forgesim.world import build_run_id


def started(world, body="!testme"):
    bridge = world.bridge()
    world.tick()
    command = world.comment(body)
    bridge.poll_once()
    (build,) = world.builds()
    return bridge, command, build


def record(build, status, stages, findings=(), **source):
    """The simulated build's run record as the harness writes it from the build's
    parameters: `stages` are (name, status, seconds, message); `findings` refuse the first
    deployment; `source` changes what the record says was tested."""
    p = build.params
    policy = PolicyCheck("fresh deployment", True, tuple(PolicyFinding(**f) for f in findings))
    return RunRecord(
        build_run_id(build),
        source.pop("recipe", p["RECIPE"]),
        Source(
            source.get("repo", p["SRC"]),
            source.get("ref", p["REF"]),
            source.get("pr", int(p["PR"])),
            base_repo=source.get("base_repo"),
        ),
        datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
        tuple(StageResult(n, StageStatus(s), d, message=m) for n, s, d, m in stages),
        status=RunStatus(status),
        teardown=Teardown(TeardownStatus.CLEAN),
        policy=(policy,) if findings else (),
        trigger=Trigger(
            p["CCCI_TRIGGERED_BY"], command=source.get("command", int(p[COMMAND_PARAM]))
        ),
    ).to_json()


def test_a_passed_build_edits_the_comment_with_the_stage_table_and_sets_success(world):
    bridge, command, build = started(world, "!testme install upgrade")
    bridge.report_once()
    assert [s["status"] for s in world.statuses()] == ["pending"]
    world.sim.world.finish_build(CI_REPO, build.number, "success", "demo")
    world.tick(10)
    bridge.report_once()
    (comment,) = world.bot_comments()
    assert "passed" in comment.body
    assert "| install | ✅ passed | 12 s |" in comment.body
    assert "| upgrade | ✅ passed | 16 s |" in comment.body
    final = world.statuses()[-1]
    assert final["status"] == "success"
    assert final["target_url"] == f"{world.sim.dashboard_url}/runs/drone-1-c{command.id}"
    assert bridge.state.command(command.id).phase is Phase.REPORTED


def test_a_failed_test_is_a_failure_and_a_run_that_could_not_be_carried_out_an_error(world):
    bridge, _, build = started(world)
    world.sim.world.finish_build(
        CI_REPO,
        build.number,
        "failure",
        record(
            build,
            "failed",
            [("install", "failed", 75.0, "2 tests failed: see install.log")],
        ),
    )
    bridge.report_once()
    (comment,) = world.bot_comments()
    assert "failed" in comment.body
    assert "| install | ❌ failed | 1 min 15 s | 2 tests failed: see install.log |" in comment.body
    assert world.statuses()[-1]["status"] == "failure"

    world.tick()
    c2 = world.comment("!testme", pr=2)
    bridge.poll_once()
    second = world.sim.world.build(CI_REPO, 2)
    world.sim.world.finish_build(CI_REPO, 2, "failure", record(second, "error", []))
    bridge.report_once()
    assert bridge.state.command(c2.id).result == "error"
    assert world.statuses(pr=2)[-1]["status"] == "error"


def test_policy_findings_from_the_record_are_listed_and_made_inert(world):
    bridge, _, build = started(world)
    finding = {
        "kind": "bind-mount",
        "severity": "error",
        "file": "compose.yml",
        "service": "app",
        "key": "volumes[0]",
        "detail": "bind mount of /var/run/docker.sock <img src=x> @admin [x](http://evil)",
    }
    world.sim.world.finish_build(
        CI_REPO,
        build.number,
        "failure",
        record(build, "failed", [("install", "failed", 1.0, "| refused |")], [finding]),
    )
    bridge.report_once()
    body = world.bot_comments()[0].body
    assert "Policy findings:" in body
    assert "bind\\-mount" in body or "bind-mount" in body
    assert "\\<img" in body and "<img" not in body.replace("\\<", "")
    assert "@admin" not in body and "@\u2060admin" in body
    assert "](http://evil)" not in body
    assert "| \\| refused \\| |" in body


def test_without_a_run_record_the_report_says_what_drone_said(world):
    bridge, _, build = started(world)
    world.sim.world.finish_build(CI_REPO, build.number, "killed")
    world.tick(10)
    bridge.report_once()
    body = world.bot_comments()[0].body
    assert "no run record was read" in body and "killed" in body
    assert world.statuses()[-1]["status"] == "error"


def test_the_dashboard_down_delays_the_report_then_it_goes_out_without_the_table(world):
    bridge, command, build = started(world)
    world.sim.world.finish_build(CI_REPO, build.number, "success", "demo")
    world.sim.fault("dashboard", "down")
    for _ in range(5):
        world.tick(60)
        bridge.report_once()
    assert bridge.state.command(command.id).phase is Phase.REPORTED
    assert world.statuses()[-1]["status"] == "success"
    assert "no run record was read" in world.bot_comments()[0].body


def test_a_build_started_before_a_restart_is_reported_after_it(world):
    _, command, build = started(world)
    world.sim.world.finish_build(CI_REPO, build.number, "success", "demo")
    world.tick(120)
    bridge = world.bridge()
    bridge.report_once()
    assert bridge.state.command(command.id).phase is Phase.REPORTED
    assert "passed" in world.bot_comments()[0].body
    assert len(world.bot_comments()) == 1


def test_gitea_down_while_reporting_retries_with_backoff_and_loses_nothing(world):
    bridge, command, build = started(world)
    world.sim.world.finish_build(CI_REPO, build.number, "success", "demo")
    world.sim.fault("gitea", "down")
    bridge.report_once()
    row = bridge.state.command(command.id)
    assert row.phase is Phase.FINISHED and row.failures == 1 and row.next_at > 0
    for _ in range(3):
        world.tick(30)
        bridge.report_once()
    assert bridge.state.command(command.id).failures > 1
    # Still down across a restart; then Gitea comes back.
    bridge = world.bridge()
    world.sim.clear_faults()
    world.tick(600)
    bridge.report_once()
    assert bridge.state.command(command.id).phase is Phase.REPORTED
    assert world.statuses()[-1]["status"] == "success"
    assert len(world.bot_comments()) == 1


def test_drone_down_while_watching_only_delays_the_report(world):
    bridge, command, build = started(world)
    world.sim.fault("drone", "500", times=2)
    world.sim.world.finish_build(CI_REPO, build.number, "success", "demo")
    bridge.report_once()
    bridge.report_once()
    assert bridge.state.command(command.id).phase is Phase.BUILDING
    bridge.report_once()
    assert bridge.state.command(command.id).phase is Phase.REPORTED


def test_the_bot_comment_deleted_meanwhile_gets_a_new_one(world):
    bridge, command, build = started(world)
    ack = world.bot_comments()[0]
    del world.sim.world.comments[ack.id]
    world.sim.world.finish_build(CI_REPO, build.number, "success", "demo")
    bridge.report_once()
    (comment,) = world.bot_comments()
    assert comment.id != ack.id and "passed" in comment.body


def test_a_build_that_ends_before_the_acknowledging_comment_gets_only_the_final_report(world):
    bridge = world.bridge()
    world.tick()
    command = world.comment("!testme")
    world.sim.fault("gitea", "500", path="/issues/1/comments")
    bridge.poll_once()  # 👀, pending, the build; then the comment fails, so it waits
    assert [r["content"] for r in world.sim.world.reactions_of(command.id)] == ["eyes"]
    assert len(world.builds()) == 1 and world.bot_comments() == []
    world.sim.clear_faults()
    world.sim.world.finish_build(CI_REPO, 1, "success", "demo")
    world.tick(5)
    bridge.report_once()
    (comment,) = world.bot_comments()
    assert "passed" in comment.body
    assert [s["status"] for s in world.statuses()] == ["pending", "success"]
