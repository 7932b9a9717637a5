"""A `!testme` on a PR starts one build, acknowledged on the PR; anything else starts none."""

from __future__ import annotations

from cc_ci.bridge.state import Phase
from devworld.forgesim.demo import BOT, MEMBER, ORG, OUTSIDER


def test_testme_on_a_pr_starts_one_build_with_the_contract_parameters(world):
    bridge = world.bridge()
    world.tick()
    world.comment("!testme")
    bridge.poll_once()
    (build,) = world.builds()
    assert build.branch == "main"
    assert build.params["RECIPE"] == "custom-html"
    assert build.params["SRC"] == f"{MEMBER}/custom-html"  # PR #1 comes from a fork
    assert build.params["REF"] == world.head(1)
    assert build.params["PR"] == "1"
    assert build.params["STAGES"] == ""


def test_the_command_is_acknowledged_with_a_reaction_a_comment_and_a_pending_status(world):
    bridge = world.bridge()
    world.tick()
    command = world.comment("!testme")
    bridge.poll_once()
    assert [r["content"] for r in world.sim.world.reactions_of(command.id)] == ["eyes"]
    (ack,) = world.bot_comments()
    assert "/drone/recipe-maintainers/cc-ci/1" in ack.body
    assert f"{world.sim.dashboard_url}/runs/drone-1" in ack.body
    (status,) = world.statuses()
    assert (status["status"], status["context"]) == ("pending", "cc-ci/custom-html")


def test_stage_names_become_a_comma_list_in_run_order(world):
    bridge = world.bridge()
    world.tick()
    world.comment("  !testme recipe-local,  install upgrade install \nplease")
    bridge.poll_once()
    (build,) = world.builds()
    assert build.params["STAGES"] == "install,upgrade,recipe-local"


def test_an_unknown_stage_gets_a_reply_listing_the_valid_ones_and_starts_nothing(world):
    bridge = world.bridge()
    world.tick()
    world.comment("!testme install deploy-to-prod")
    bridge.poll_once()
    assert world.builds() == []
    (reply,) = world.bot_comments()
    assert "deploy-to-prod" in reply.body
    for stage in ("install", "upgrade", "backup", "recipe-local"):
        assert f"`{stage}`" in reply.body
    assert world.statuses() == []


def test_comments_that_are_not_the_command_start_nothing(world):
    bridge = world.bridge()
    world.tick()
    for body in ("please !testme", "!testme-all", "!TESTME", "> !testme", "", "lgtm\n!testme"):
        world.comment(body)
    bridge.poll_once()
    assert world.builds() == []
    assert world.bot_comments() == []


def test_a_command_on_an_issue_that_is_not_a_pr_is_ignored(world):
    bridge = world.bridge()
    world.tick()
    world.comment("!testme", pr=3)
    bridge.poll_once()
    assert world.builds() == []
    assert bridge.state.commands() == []


def test_the_bots_own_comments_are_never_commands(world):
    bridge = world.bridge()
    world.tick()
    world.comment("!testme", login=BOT)
    bridge.poll_once()
    assert world.builds() == []


def test_a_non_member_starts_nothing_and_the_denial_is_logged(world):
    bridge = world.bridge()
    world.tick()
    c = world.comment("!testme", login=OUTSIDER)
    bridge.poll_once()
    assert world.builds() == []
    assert world.bot_comments() == []
    assert bridge.state.command(c.id).phase is Phase.DENIED
    assert f"event=denied repo={world.repo} pr=1 comment={c.id} by={OUTSIDER}" in world.log_text()


def test_a_login_on_the_allow_list_may_trigger_without_membership(world):
    bridge = world.bridge(edit=lambda raw: raw["trigger"].update(allow=[OUTSIDER.upper()]))
    world.tick()
    world.comment("!testme", login=OUTSIDER)
    bridge.poll_once()
    assert len(world.builds()) == 1


def test_a_303_from_the_membership_check_is_not_membership(world):
    # The bot is no member of the org it asks about: Gitea answers 303 (to the public
    # members route) instead of 204, and the bridge must not follow it to a yes.
    world.sim.world.orgs[ORG].discard(BOT)
    bridge = world.bridge()
    world.tick()
    world.comment("!testme")
    bridge.poll_once()
    assert world.builds() == []
    assert [r.status for r in world.sim.requests("gitea") if "/members/" in r.path] == [303]


def test_gitea_failing_the_membership_check_three_times_is_waited_out_and_builds_once(world):
    bridge = world.bridge()
    world.tick()
    c = world.comment("!testme")
    world.sim.fault("gitea", "500", times=3, path="/members/")
    bridge.poll_once()
    for _ in range(20):  # 2 s, 4 s, 8 s of backoff, looked at every second
        world.tick(1)
        bridge.advance_due()
    assert len(world.builds()) == 1
    asked = [r.status for r in world.sim.requests("gitea") if "/members/" in r.path]
    assert asked == [500, 500, 500, 204]
    assert bridge.state.command(c.id).phase is Phase.BUILDING
    assert "event=denied" not in world.log_text()
    assert world.log_text().count("event=retry") == 3
    world.tick(600)
    bridge.poll_once()
    assert len(world.builds()) == 1


def test_no_answer_or_a_senseless_one_on_membership_is_retried_not_a_denial(world):
    bridge = world.bridge()
    world.tick()
    c = world.comment("!testme")
    world.sim.fault("gitea", "down", times=1, path="/members/")
    world.sim.fault("gitea", "malformed", times=1, path="/members/")
    bridge.poll_once()
    assert bridge.state.command(c.id).phase is Phase.RECEIVED
    world.tick(3)
    bridge.advance_due()
    assert bridge.state.command(c.id).phase is Phase.RECEIVED
    world.tick(5)
    bridge.advance_due()
    assert len(world.builds()) == 1


def test_only_gitea_saying_not_a_member_denies(world):
    bridge = world.bridge()
    world.tick()
    c = world.comment("!testme", login=OUTSIDER)
    world.sim.fault("gitea", "500", times=1, path="/members/")
    bridge.poll_once()
    assert bridge.state.command(c.id).phase is Phase.RECEIVED  # not yet known
    world.tick(3)
    bridge.advance_due()
    assert bridge.state.command(c.id).phase is Phase.DENIED  # 404: definite
    assert world.builds() == [] and world.bot_comments() == []
    assert world.sim.world.reactions_of(c.id) == []


def test_drone_answering_null_is_reported_on_the_pr_as_an_error(world):
    world.sim.world.drone_repos["recipe-maintainers/cc-ci"].branches.clear()
    bridge = world.bridge()
    world.tick()
    world.comment("!testme")
    bridge.poll_once()
    assert world.builds() == []
    (reply,) = world.bot_comments()
    assert "could not start a build" in reply.body
    assert "no pipeline matched" in reply.body
    # acknowledged before Drone was asked, then the error
    assert [s["status"] for s in world.statuses()] == ["pending", "error"]


def test_a_pr_whose_head_repository_was_deleted_is_answered_not_built(world):
    world.sim.world.issues[(world.repo, 1)].head_repo = None
    bridge = world.bridge()
    world.tick()
    world.comment("!testme")
    bridge.poll_once()
    assert world.builds() == []
    assert "head" in world.bot_comments()[0].body


def test_drone_failing_is_retried_with_backoff_and_builds_once(world):
    bridge = world.bridge()
    world.tick()
    c = world.comment("!testme")
    world.sim.fault("drone", "500", times=1)
    bridge.poll_once()
    assert world.builds() == []
    row = bridge.state.command(c.id)
    assert row.phase is Phase.REQUESTING and row.failures == 1
    bridge.poll_once()  # not due yet
    assert world.builds() == []
    world.tick(3)
    bridge.poll_once()
    assert len(world.builds()) == 1
    assert len(world.bot_comments()) == 1


def test_a_build_whose_creation_answer_was_lost_is_found_not_created_again(world):
    bridge = world.bridge()
    world.tick()
    c = world.comment("!testme")
    world.sim.fault("drone", "lost", times=1, path="/builds")
    bridge.poll_once()
    assert len(world.builds()) == 1  # Drone made it; the bridge never heard
    assert bridge.state.command(c.id).phase is Phase.REQUESTING
    world.tick(3)
    bridge.poll_once()
    assert len(world.builds()) == 1
    assert bridge.state.command(c.id).build == 1
    assert len(world.bot_comments()) == 1


def test_a_crash_after_recording_the_intent_resumes_without_a_second_build(world):
    bridge = world.bridge()
    world.tick()
    c = world.comment("!testme")
    world.sim.fault("drone", "lost", times=1, path="/builds")
    bridge.poll_once()
    # The process dies here; the next one resumes from the state file.
    world.tick(1)
    bridge = world.bridge()
    world.tick(3)
    bridge.poll_once()
    assert len(world.builds()) == 1
    assert bridge.state.command(c.id).phase is Phase.BUILDING


def test_a_lost_answer_to_the_acknowledgement_does_not_post_it_twice(world):
    bridge = world.bridge()
    world.tick()
    world.comment("!testme")
    world.sim.fault("gitea", "lost", times=1, path="/issues/1/comments")
    bridge.poll_once()
    world.tick(3)
    bridge.poll_once()
    assert len(world.bot_comments()) == 1
