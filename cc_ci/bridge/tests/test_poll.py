"""The poll path: one request per repository when idle, nothing missed, nothing twice."""

from __future__ import annotations

from cc_ci.bridge.poll import OVERLAP
from cc_ci.bridge.state import Phase
from cc_ci.bridge.tests.conftest import World
from devworld.forgesim import Sim
from devworld.forgesim.demo import seed


def test_an_idle_cycle_is_one_request_per_repository_whatever_the_number_of_prs(tmp_path):
    with Sim() as sim:
        sim.world.set_time(1_800_000_000)
        demo = seed(sim, tmp_path / "s", repos=5, pulls=20)
        world = World(sim, demo, tmp_path)
        bridge = world.bridge()
        bridge.poll_once()  # the first cycle also asks who the bot is
        for _ in range(3):
            world.tick(30)
            sim.reset_requests()
            health = bridge.poll_once()
            assert health.requests == 5
            assert len(sim.requests("gitea")) == 5
            assert len(sim.requests("drone")) == 0
            assert all(r.path.endswith("/issues/comments") for r in sim.requests("gitea"))
        for b in world.bridges:
            b.state.close()


def test_comments_from_before_the_very_first_start_are_not_acted_on(world):
    world.comment("!testme")
    world.tick(10)
    bridge = world.bridge()
    bridge.poll_once()
    assert world.builds() == []
    world.tick()
    world.comment("!testme")
    bridge.poll_once()
    assert len(world.builds()) == 1


def test_a_restart_between_cycles_acts_on_nothing_twice(world):
    bridge = world.bridge()
    world.tick()
    world.comment("!testme")
    bridge.poll_once()
    world.tick(2)
    bridge = world.bridge()
    bridge.poll_once()
    world.tick(30)
    bridge.poll_once()
    assert len(world.builds()) == 1
    assert len(world.bot_comments()) == 1


def test_a_comment_posted_while_the_bridge_is_stopped_is_acted_on_once_after_restart(world):
    bridge = world.bridge()
    world.tick()
    bridge.poll_once()
    bridge.state.close()
    world.bridges.clear()
    world.tick(3600)
    world.comment("!testme install")
    world.tick(3600)
    bridge = world.bridge()
    bridge.poll_once()
    bridge.poll_once()
    (build,) = world.builds()
    assert build.params["STAGES"] == "install"


def test_an_edited_comment_is_not_a_new_command(world):
    bridge = world.bridge()
    world.tick()
    chatter = world.comment("looks good")
    command = world.comment("!testme")
    bridge.poll_once()
    assert len(world.builds()) == 1
    world.tick(600)
    world.sim.world.edit_comment(chatter.id, "!testme")
    world.sim.world.edit_comment(command.id, "!testme install")
    bridge.poll_once()
    world.tick(600)
    bridge.poll_once()
    assert len(world.builds()) == 1


def test_a_new_comment_edited_into_the_command_before_the_next_poll_is_not_a_command(world):
    # Created as chatter within the poll's window, edited into "!testme" a few seconds
    # later, and listed for the first time after the edit: it was not created as a command.
    bridge = world.bridge()
    bridge.poll_once()
    world.tick()
    chatter = world.comment("looks good")
    world.tick(3)
    world.sim.world.edit_comment(chatter.id, "!testme")
    bridge.poll_once()
    world.tick(30)
    bridge.poll_once()
    assert world.builds() == []
    assert bridge.state.commands() == []
    assert f"event=ignored repo={world.repo} comment={chatter.id}" in world.log_text()


def test_an_old_comment_edited_after_a_restart_is_not_a_command_either(world):
    bridge = world.bridge()
    world.tick()
    chatter = world.comment("looks good")
    bridge.poll_once()
    world.tick(7200)
    bridge.poll_once()
    world.tick()
    bridge = world.bridge()
    world.sim.world.edit_comment(chatter.id, "!testme")
    bridge.poll_once()
    assert world.builds() == []


def test_a_comment_in_the_same_second_as_the_cursor_is_not_lost(world):
    bridge = world.bridge()
    world.tick(1)
    t = world.sim.world.now()
    world.comment("!testme install", at=t)
    bridge.poll_once()  # the cursor is now t
    world.comment("!testme upgrade", pr=2, at=t)  # same second, after the listing
    world.tick(0.5)
    bridge.poll_once()
    assert sorted(b.params["STAGES"] for b in world.builds()) == ["install", "upgrade"]


def test_a_comment_committed_late_with_an_older_timestamp_is_still_seen(world):
    bridge = world.bridge()
    world.tick(10)
    world.comment("chatter")
    bridge.poll_once()
    late = world.sim.world.now() - (OVERLAP - 1)
    world.comment("!testme", at=late)
    world.tick(1)
    bridge.poll_once()
    assert len(world.builds()) == 1


def test_more_comments_than_fit_a_page_are_all_read(world):
    bridge = world.bridge()
    world.tick()
    for i in range(120):
        world.comment(f"chatter {i}")
    world.comment("!testme backup")
    world.sim.reset_requests()
    bridge.poll_once()
    listings = [r for r in world.sim.requests("gitea") if r.path.endswith("/issues/comments")]
    assert len(listings) == 3
    assert [b.params["STAGES"] for b in world.builds()] == ["backup"]
    world.tick(1)
    world.sim.reset_requests()
    bridge.poll_once()
    assert len(world.sim.requests("gitea")) == 3  # the overlap window still holds them


def test_a_server_page_size_below_the_asked_limit_still_reads_everything(world, monkeypatch):
    monkeypatch.setattr("devworld.forgesim.gitea_api.MAX_RESPONSE_ITEMS", 20)
    bridge = world.bridge()
    world.tick()
    for i in range(45):
        world.comment(f"chatter {i}")
    world.comment("!testme")
    bridge.poll_once()
    assert len(world.builds()) == 1


def test_gitea_answering_500_for_a_cycle_loses_nothing(world):
    bridge = world.bridge()
    bridge.poll_once()
    world.tick()
    world.comment("!testme")
    world.sim.fault("gitea", "500", times=1, path="/issues/comments")
    health = bridge.poll_once()
    assert not health.ok and world.builds() == []
    world.tick(30)
    assert bridge.poll_once().ok
    assert len(world.builds()) == 1


def test_gitea_answering_malformed_json_for_a_cycle_loses_nothing(world):
    bridge = world.bridge()
    bridge.poll_once()
    world.tick()
    world.comment("!testme")
    world.sim.fault("gitea", "malformed", times=1)
    health = bridge.poll_once()
    assert not health.ok
    assert "not JSON" in health.errors[world.repo]
    world.tick(30)
    bridge.poll_once()
    assert len(world.builds()) == 1


def test_gitea_down_at_start_delays_the_first_cycle_only(world):
    world.sim.fault("gitea", "down", times=1)
    bridge = world.bridge()
    world.tick()
    world.comment("!testme")
    assert not bridge.poll_once().ok
    assert bridge.poll_once().ok
    assert len(world.builds()) == 1
    assert bridge.state.commands()[0].phase is Phase.BUILDING


def test_when_gitea_does_not_answer_the_rest_of_the_cycle_is_skipped(tmp_path):
    with Sim() as sim:
        sim.world.set_time(1_800_000_000)
        world = World(sim, seed(sim, tmp_path / "s", repos=4, pulls=1), tmp_path)
        bridge = world.bridge()
        bridge.poll_once()
        sim.fault("gitea", "down", times=1)
        sim.reset_requests()
        health = bridge.poll_once()
        assert len(sim.requests("gitea")) == 1
        assert len(health.errors) == 4 and "skipped" in health.errors[world.demo.repos[3]]
        assert bridge.poll_once().ok
        bridge.state.close()


def test_a_backlog_longer_than_one_cycle_reads_is_worked_through_over_cycles(world, monkeypatch):
    monkeypatch.setattr("cc_ci.bridge.poll.MAX_PAGES", 2)
    bridge = world.bridge()
    world.tick()
    for i in range(230):  # 5 pages of 50, read 2 pages per cycle
        world.comment(f"chatter {i}")
        world.tick(1)
    world.comment("!testme")
    for _ in range(5):
        bridge.poll_once()
    assert len(world.builds()) == 1
