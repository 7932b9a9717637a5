"""Runs of each recipe's default branch, against the simulator: the schedule fires once per
period, a new release tag starts one build, a restart plans nothing twice, a create whose
answer was lost makes one build, and the run record such a build leaves is what the
dashboard's README badge and level are made of."""

from __future__ import annotations

import sqlite3
import tomllib

import pytest

from cc_ci.bridge.app import health_status
from cc_ci.bridge.branch import job_message, period_start
from cc_ci.bridge.config import ConfigError, parse_config
from cc_ci.bridge.state import JobPhase
from cc_ci.contract.names import JOB_PARAM, TRIGGER_PARAM, drone_run_id
from cc_ci.contract.record import TriggerKind
from cc_ci.dashboard import badge
from cc_ci.dashboard.index import Index
from devworld.forgesim.demo import CI_REPO

DAY = 86400


def schedule_builds(world):
    return [b for b in world.builds() if b.params.get(TRIGGER_PARAM) in ("schedule", "tag")]


def test_the_schedule_starts_one_build_of_the_default_branch_per_period(world):
    bridge = world.bridge(schedule_interval=DAY)
    main = world.sim.world.repos[world.repo].branches["main"]
    bridge.branch_once()
    (b,) = world.builds()
    (job,) = bridge.state.jobs()
    assert health_status(bridge)[1]["open_jobs"] == 1
    assert b.params["RECIPE"] == "custom-html" and b.params["SRC"] == world.repo
    assert b.params["REF"] == main  # the default branch's head commit
    assert b.params["PR"] == "" and b.params["STAGES"] == ""
    assert b.params[TRIGGER_PARAM] == "schedule" and b.params[JOB_PARAM] == str(job.job_id)
    assert "CCCI_COMMAND" not in b.params
    assert b.message == job_message(job) and "(schedule, job" in b.message
    assert job.phase is JobPhase.BUILDING and job.reason == str(
        period_start(world.sim.world.now(), DAY)
    )
    # the rest of the period: nothing more, however often the loop comes round
    for _ in range(5):
        world.tick(3600)
        bridge.branch_once()
        bridge.report_once()
    assert len(world.builds()) == 1
    # the next period: one more, of the head as it is then
    world.sim.world.push_branch(world.repo)
    world.tick(DAY)
    bridge.branch_once()
    bridge.branch_once()
    first, second = world.builds()
    assert second.params["REF"] == world.sim.world.repos[world.repo].branches["main"] != main
    assert int(second.params[JOB_PARAM]) > int(first.params[JOB_PARAM])
    assert world.log_text().count("event=job-planned") == 2


def test_a_restart_plans_nothing_twice_and_a_bridge_down_for_days_plans_one(world):
    world.bridge(schedule_interval=DAY).branch_once()
    assert len(world.builds()) == 1
    world.bridge(schedule_interval=DAY).branch_once()  # a restart in the same period
    assert len(world.builds()) == 1
    world.tick(3 * DAY)  # down for three days
    bridge = world.bridge(schedule_interval=DAY)
    bridge.branch_once()
    bridge.branch_once()
    assert len(world.builds()) == 2


def test_a_create_whose_answer_was_lost_makes_one_build(world):
    bridge = world.bridge(schedule_interval=DAY)
    world.sim.fault("drone", "lost", times=1, path="/builds")
    bridge.branch_once()  # Drone created it; the answer never came
    assert len(world.builds()) == 1
    (job,) = bridge.state.jobs()
    assert job.phase is JobPhase.REQUESTING and job.failures == 1
    world.tick(job.next_at - world.sim.world.now())
    world.bridge(schedule_interval=DAY).branch_once()  # and a restart on top
    (b,) = world.builds()
    (job,) = world.bridges[0].state.jobs()
    assert job.phase is JobPhase.BUILDING and job.build == b.number
    assert "event=build-found job=" in world.log_text()


def test_a_new_tag_starts_one_build_and_the_tags_there_before_none(world):
    w = world.sim.world
    w.add_tag(world.repo, "1.0.0+1.0")
    bridge = world.bridge(tags=True, tag_poll_interval=60)
    bridge.branch_once()  # the first read: the tags there are, known; no build
    assert world.builds() == [] and bridge.state.known_tags(world.repo) == {"1.0.0+1.0"}
    head = w.push_branch(world.repo)
    w.add_tag(world.repo, "1.1.0+1.1")
    bridge.branch_once()  # not yet time to read the tags again
    assert world.builds() == []
    world.tick(60)
    bridge.branch_once()
    (b,) = world.builds()
    assert b.params[TRIGGER_PARAM] == "tag" and b.params["REF"] == head
    assert "new tag 1.1.0+1.1" in b.message
    for _ in range(3):
        world.tick(60)
        bridge.branch_once()
    world.tick(60)
    world.bridge(tags=True, tag_poll_interval=60).branch_once()  # a restart
    assert len(world.builds()) == 1
    # two tags at once: one build, named after the newest
    w.add_tag(world.repo, "1.2.0+1.2")
    world.tick(1)
    w.add_tag(world.repo, "1.2.1+1.2")
    world.tick(60)
    bridge = world.bridges[0]
    bridge.branch_once()
    assert len(world.builds()) == 2 and "new tag 1.2.1+1.2" in world.builds()[1].message


def test_an_unanswered_tag_read_is_tried_again_and_plans_nothing(world):
    world.sim.world.add_tag(world.repo, "1.0.0+1.0")
    world.sim.fault("gitea", "500", times=1, path="/tags")
    bridge = world.bridge(tags=True, tag_poll_interval=60)
    bridge.branch_once()
    assert not bridge.state.tags_read(world.repo) and "event=tags-failed" in world.log_text()
    world.tick(60)
    bridge.branch_once()
    assert bridge.state.tags_read(world.repo) and world.builds() == []


def test_the_finished_build_is_the_recipes_current_run_and_a_red_pr_run_changes_no_badge(
    world,
):
    """From the schedule to the README badge: the build's record is a default-branch run,
    and a newer failing PR run beside it leaves the badge and the level alone."""
    bridge = world.bridge(schedule_interval=DAY)
    bridge.branch_once()
    (b,) = world.builds()
    (job,) = bridge.state.jobs()
    world.sim.world.finish_build(CI_REPO, b.number, "success", record="demo")
    bridge.report_once()
    assert bridge.state.job(job.job_id).phase is JobPhase.DONE
    assert bridge.state.job(job.job_id).build_status == "success"
    run_id = drone_run_id(b.number, job=job.job_id)
    assert (world.demo.results_dir / run_id / "run.json").is_file()
    # a member's !testme on PR #1, which fails
    world.tick()
    world.comment("!testme")
    bridge.poll_once()
    pr_build = world.builds()[-1]
    world.tick()
    world.sim.world.finish_build(CI_REPO, pr_build.number, "failure", record="demo")
    bridge.report_once()
    snap = Index(world.demo.results_dir).snapshot()
    summary = snap.summaries["custom-html"]
    assert summary.latest.source.pr == 1 and summary.latest.trigger.kind is TriggerKind.PR
    assert summary.current.run_id == run_id
    assert summary.current.trigger.kind is TriggerKind.SCHEDULE
    assert badge.choose(summary).message == "passing"
    assert badge.choose_level(summary).message == "4/4"
    assert badge.choose_pr(summary, 1).message == "failing"


def test_a_build_that_is_gone_after_a_drone_reset_ends_the_job(world):
    bridge = world.bridge(schedule_interval=DAY)
    bridge.branch_once()
    world.sim.world.reset_drone()
    world.comment("!testme")  # another build takes number 1
    world.tick()
    bridge.poll_once()
    bridge.report_once()
    (job,) = bridge.state.jobs()
    assert job.phase is JobPhase.DONE and job.build_status == "unknown"
    assert "event=build-gone job=" in world.log_text()


def test_with_both_off_nothing_is_read_or_built(world):
    bridge = world.bridge()
    before = len(world.sim.requests("gitea"))
    bridge.branch_once()
    assert bridge.state.jobs() == [] and world.builds() == []
    assert len(world.sim.requests("gitea")) == before


def test_an_old_state_file_gets_the_job_tables_and_plans_from_them(world, tmp_path):
    bridge = world.bridge(schedule_interval=DAY)
    bridge.state.close()
    world.bridges.clear()
    with sqlite3.connect(world.state_path) as db:  # as a schema-3 bridge left it
        for table in ("jobs", "branch_watch", "known_tags"):
            db.execute(f"DROP TABLE {table}")
        db.execute("UPDATE meta SET value='3'")
    bridge = world.bridge(schedule_interval=DAY)
    bridge.branch_once()
    assert len(world.builds()) == 1 and len(bridge.state.jobs()) == 1


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ({"interval": 30}, "schedule.interval must be 0 (off) or at least 60 seconds"),
        ({"interval": -1}, "schedule.interval must be a whole number of seconds"),
        ({"interval": True}, "schedule.interval must be a whole number of seconds"),
        ({"tags": "yes"}, "schedule.tags must be true or false"),
        ({"tag_poll_interval": 1}, "schedule.tag_poll_interval must be a whole number"),
        ({"every": 5}, "unknown key schedule.every"),
    ],
)
def test_a_bad_schedule_setting_is_named(world, section, error):
    raw = tomllib.loads(world.config_text())
    raw["schedule"] = section
    with pytest.raises(ConfigError, match=error.replace("(", r"\(").replace(")", r"\)")):
        parse_config(raw)


def test_without_a_schedule_section_the_default_is_daily_with_tags(world):
    raw = tomllib.loads(world.config_text())
    del raw["schedule"]
    config = parse_config(raw)
    assert (config.schedule.interval, config.schedule.tags) == (DAY, True)


def test_the_loop_runs_the_schedule(world):
    """`Bridge.run`, the service's loop, plans and builds the period's job on its own."""
    import threading
    import time

    bridge = world.bridge(schedule_interval=DAY)
    stop = threading.Event()
    loop = threading.Thread(target=bridge.run, args=(stop,), daemon=True)
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while not world.builds() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        bridge.wake.set()
        loop.join(timeout=10)
    assert not loop.is_alive()
    (b,) = world.builds()
    assert b.params[TRIGGER_PARAM] == "schedule"
    assert "event=started" in world.log_text() and "schedule=86400" in world.log_text()


def test_a_docker_error_is_retried_once_as_a_new_build_and_then_stands(world):
    from devworld.forgesim.world import demo_record

    bridge = world.bridge(schedule_interval=DAY)
    bridge.branch_once()
    (first,) = world.builds()

    def docker_error(build):
        record = demo_record(build, "error")
        record.update(error_class="docker", retryable=True)
        return record

    world.sim.world.finish_build(CI_REPO, first.number, "failure", record=docker_error(first))
    bridge.report_once()
    bridge.branch_once()
    first, second = world.builds()
    (job,) = bridge.state.jobs()
    assert job.retried_build == first.number and job.retried_class == "docker"
    assert job.phase is JobPhase.BUILDING and job.build == second.number
    assert second.params[JOB_PARAM] == first.params[JOB_PARAM]
    assert f"retry of build {first.number}" in second.message
    assert "event=retry-run job=" in world.log_text()
    # the retry errs the same way: it stands, nothing more is built
    world.sim.world.finish_build(CI_REPO, second.number, "failure", record=docker_error(second))
    bridge.report_once()
    bridge.branch_once()
    assert len(world.builds()) == 2
    assert bridge.state.job(job.job_id).phase is JobPhase.DONE
