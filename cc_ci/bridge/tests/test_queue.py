"""A queued build says where it is in Drone's queue, and a push to the PR's head cancels the
old head's build: its comment and status say "superseded by <sha>"."""

from __future__ import annotations

from cc_ci.bridge.report import marker
from cc_ci.bridge.state import Outcome, Phase
from devworld.forgesim.demo import CI_REPO


def bot_comment_for(world, command, pr: int = 1):
    (comment,) = [c for c in world.bot_comments(pr=pr) if marker(command.id) in c.body]
    return comment


def test_a_queued_build_shows_its_place_in_drones_queue_as_it_moves(world):
    bridge = world.bridge()
    world.tick()
    first = world.comment("!testme")
    second = world.comment("!testme", pr=2)
    third = world.comment("!testme install")
    bridge.poll_once()
    assert len(world.builds()) == 3
    world.sim.world.start_build(CI_REPO, 1)
    bridge.report_once()
    assert "Running." in bot_comment_for(world, first).body
    body = bot_comment_for(world, second, pr=2).body
    assert "Waiting in Drone's queue: place 2, 1 build ahead." in body
    assert "Running." not in body  # a queued build does not read as running
    assert "place 3, 2 builds ahead" in bot_comment_for(world, third).body

    world.sim.world.finish_build(CI_REPO, 1, "success", "demo")
    world.sim.world.start_build(CI_REPO, 2)
    world.tick(10)
    bridge.report_once()
    assert "passed" in bot_comment_for(world, first).body
    assert "Running." in bot_comment_for(world, second, pr=2).body
    assert "place 2, 1 build ahead" in bot_comment_for(world, third).body

    world.sim.world.finish_build(CI_REPO, 2, "success", "demo")
    world.tick(10)
    bridge.report_once()
    assert "place 1, next to run" in bot_comment_for(world, third).body
    assert len(world.bot_comments(pr=1)) == 2  # edited in place, never posted again
    # nothing moved: nothing is edited
    world.tick(10)
    world.sim.reset_requests()
    bridge.report_once()
    assert [r for r in world.sim.requests("gitea") if r.method == "PATCH"] == []


def test_without_drones_queue_api_a_waiting_build_says_so_and_the_queue_is_asked_once(world):
    world.sim.world.drone_queue_api = False  # Drone's oss build answers 501
    bridge = world.bridge()
    world.tick()
    command = world.comment("!testme")
    bridge.poll_once()
    for _ in range(3):
        world.tick(10)
        bridge.report_once()
    assert "Waiting in Drone's queue." in bot_comment_for(world, command).body
    asked = [r for r in world.sim.requests("drone") if r.path == "/api/queue"]
    assert [r.status for r in asked] == [501]
    assert world.log_text().count("event=queue-withheld") == 1


def test_a_push_to_the_pr_head_cancels_the_old_heads_build_and_says_superseded(world):
    bridge = world.bridge()
    world.tick()
    command = world.comment("!testme")
    bridge.poll_once()
    old = world.head()
    world.sim.world.start_build(CI_REPO, 1)
    bridge.report_once()
    new = world.sim.world.push(world.repo, 1)
    world.tick(10)
    bridge.report_once()

    cancels = [r for r in world.sim.requests("drone") if r.method == "DELETE"]
    assert [(r.path, r.status) for r in cancels] == [(f"/api/repos/{CI_REPO}/builds/1", 200)]
    (build,) = world.builds()
    assert build.status == "killed"
    body = bot_comment_for(world, command).body
    assert f"superseded by `{new[:10]}`" in body and "`!testme` again" in body
    (pending, final) = world.sim.world.statuses_of(world.repo, old)
    assert pending["status"] == "pending"
    assert (final["status"], final["description"]) == (
        "warning",
        f"cc-ci: superseded by {new[:10]}",
    )
    assert world.statuses() == []  # the new head is tested only when a maintainer asks
    row = bridge.state.command(command.id)
    assert (row.phase, row.outcome, row.superseded_by) == (Phase.REPORTED, Outcome.SUPERSEDED, new)
    assert f"event=head-moved comment={command.id}" in world.log_text()

    world.tick()
    world.comment("!testme")
    bridge.poll_once()
    assert [b.params["REF"] for b in world.builds()] == [old, new]
    assert [s["status"] for s in world.statuses()] == ["pending"]


def test_a_push_while_drone_is_down_supersedes_the_command_and_no_build_is_made(world):
    bridge = world.bridge()
    world.tick()
    world.sim.fault("drone", "down")
    command = world.comment("!testme")
    bridge.poll_once()
    new = world.sim.world.push(world.repo, 1)
    world.tick(10)
    bridge.report_once()
    world.sim.clear_faults()
    for _ in range(5):
        world.tick(60)
        bridge.report_once()
    assert world.builds() == []
    assert f"superseded by `{new[:10]}`" in bot_comment_for(world, command).body
    assert bridge.state.command(command.id).phase is Phase.REPORTED


def test_a_build_that_ended_before_its_cancel_arrived_keeps_its_result(world):
    bridge = world.bridge()
    world.tick()
    command = world.comment("!testme")
    bridge.poll_once()
    new = world.sim.world.push(world.repo, 1)
    # the watch saw the push; the build ends before the cancel reaches Drone
    bridge.state.update(command.id, superseded_by=new)
    world.sim.world.finish_build(CI_REPO, 1, "success", "demo")
    bridge.advance_due()
    assert bridge.state.command(command.id).result == "success"
    assert "passed" in bot_comment_for(world, command).body


def test_a_head_gitea_cannot_tell_is_asked_again_and_supersedes_nothing_meanwhile(world):
    bridge = world.bridge()
    world.tick()
    command = world.comment("!testme")
    bridge.poll_once()
    world.sim.fault("gitea", "500", times=1, path="/pulls/1")
    world.tick(10)
    bridge.report_once()
    assert bridge.state.command(command.id).phase is Phase.BUILDING
    assert "event=head-check-failed" in world.log_text()
    world.sim.world.push(world.repo, 1)
    world.tick(10)
    bridge.report_once()
    assert bridge.state.command(command.id).outcome is Outcome.SUPERSEDED
