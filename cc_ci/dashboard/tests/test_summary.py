"""What the records say about a recipe: its level, the latest result per stage, the order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cc_ci.contract.record import RunRecord, StageStatus
from cc_ci.contract.record_read import BrokenRecord, parse_record
from cc_ci.dashboard.summary import Attention, counts, history, overview_rows, summarize
from cc_ci.dashboard.tests.worlds import ALL, record, stage

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def run(run_id: str, recipe: str = "app", hours: float = 0, **kw) -> RunRecord:
    return parse_record(record(run_id, recipe, started=T0 + timedelta(hours=hours), **kw), run_id)


def stages(*statuses: str) -> list[dict]:
    return [stage(name, s) for name, s in zip(ALL, statuses, strict=False)]


@pytest.mark.parametrize(
    ("statuses", "level"),
    [
        (("passed", "passed", "passed", "passed"), 4),
        (("passed", "passed", "passed", "skipped"), 3),
        (("passed", "passed", "failed", "passed"), 2),
        (("passed", "error", "passed", "passed"), 1),
        (("failed", "skipped", "skipped", "skipped"), 0),
        (("passed", "skipped", "passed", "passed"), 1),
    ],
)
def test_the_level_counts_passing_lifecycle_stages_in_order_from_install(statuses, level):
    summary = summarize("app", [run("r1", stages=stages(*statuses))])
    assert summary.level == level


def test_a_recipe_that_never_ran_install_is_level_zero():
    summary = summarize("app", [run("r1", stages=[stage("backup")])])
    assert summary.level == 0
    assert summary.stage_result("install") is None


def test_the_level_is_one_runs_never_a_mix_of_runs():
    """A newer default-branch run that carried out only install says nothing passed in the
    others: the level is that run's (its commit's), not the older full run's stages."""
    full = run("r1", hours=0, stages=stages("passed", "passed", "passed", "passed"))
    install_only = run("r2", hours=1, stages=[stage("install")])
    summary = summarize("app", [full, install_only])
    assert summary.current.run_id == "r2"
    assert summary.level == 1
    assert summary.stage_result("install").run_id == "r2"
    assert summary.stage_result("upgrade") is None
    assert {r.run_id for r in summary.stage_results if r is not None} == {"r2"}


def test_a_newer_failure_of_a_stage_lowers_the_level():
    old = run("r1", hours=0, stages=stages("passed", "passed", "passed", "passed"))
    new = run(
        "r2", hours=1, status="failed", stages=stages("passed", "failed", "skipped", "skipped")
    )
    summary = summarize("app", [old, new])
    assert summary.level == 1
    assert summary.stage_result("upgrade").status is StageStatus.FAILED


def test_a_run_still_running_leaves_the_last_finished_run_current():
    done = run("r1", hours=0, stages=stages("passed", "passed"))
    live = run(
        "r2",
        hours=1,
        status="running",
        stages=[stage("install"), stage("upgrade", "running"), stage("backup", "pending")],
    )
    summary = summarize("app", [done, live])
    assert summary.latest.run_id == "r2"
    assert summary.current.run_id == "r1"
    assert summary.branch_running.run_id == "r2"  # shown as under way, counted for nothing
    assert summary.stage_result("upgrade").run_id == "r1"
    assert summary.stage_result("install").run_id == "r1"
    assert summary.level == 2


def test_pull_requests_runs_never_make_the_level_or_the_overview_row():
    branch = run("b1", hours=0, stages=stages("passed", "passed", "passed", "passed"))
    broken_pr = run("p1", hours=5, pr=3, status="failed", stages=stages("failed"))
    fixed_pr = run("p2", hours=6, pr=4, stages=stages("passed", "passed", "passed", "passed"))
    summary = summarize("app", [branch, broken_pr, fixed_pr])
    assert summary.latest.run_id == "p2"
    assert summary.current.run_id == "b1" and summary.level == 4
    (row,) = overview_rows([summary], [])
    assert row.attention is Attention.PASSED and row.at == branch.started_at
    assert summary.pr_run(3).run_id == "p1" and summary.pr_run(4).run_id == "p2"
    assert summary.pr_run(5) is None


def test_a_run_by_hand_or_an_old_record_without_a_kind_is_no_default_branch_run():
    by_hand = run("h1", trigger=None)
    summary = summarize("app", [by_hand])
    assert summary.current is None and summary.level == 0
    (row,) = overview_rows([summary], [])
    assert row.attention is Attention.NONE
    assert counts([summary], unreadable=0).no_branch_run == 1


def test_a_tag_run_is_a_default_branch_run_too():
    summary = summarize("app", [run("t1", kind="tag")])
    assert summary.current.run_id == "t1" and summary.level == 4


def test_runs_are_listed_newest_first_whatever_order_they_come_in():
    runs = [run("a", hours=2), run("b", hours=5), run("c", hours=1)]
    assert [r.run_id for r in summarize("app", runs).runs] == ["b", "a", "c"]


def test_the_overview_lists_errors_then_failures_then_running_then_passes_newest_first():
    summaries = [
        summarize("passed-old", [run("p1", "passed-old", hours=1)]),
        summarize("passed-new", [run("p2", "passed-new", hours=9)]),
        summarize("failed", [run("f1", "failed", hours=2, status="failed")]),
        summarize("running", [run("g1", "running", hours=8, status="running")]),
        summarize("pr-only", [run("q1", "pr-only", hours=10, pr=2, status="error")]),
        summarize("error-old", [run("e1", "error-old", hours=3, status="error")]),
        summarize("error-new", [run("e2", "error-new", hours=4, status="error")]),
    ]
    broken = BrokenRecord("x1", None, "run.json is empty", T0 + timedelta(hours=3.5))
    rows = overview_rows(summaries, [broken])
    names = [r.summary.recipe if r.summary else r.broken.run_id for r in rows]
    assert names == [
        "error-new",
        "x1",
        "error-old",
        "failed",
        "running",
        "passed-new",
        "passed-old",
        "pr-only",
    ]
    assert [r.attention for r in rows][:3] == [Attention.ERROR] * 3


def test_the_counts_say_how_many_recipes_pass_everything():
    summaries = [
        summarize("a", [run("a1", "a", stages=stages("passed", "passed", "passed", "passed"))]),
        summarize("b", [run("b1", "b", stages=stages("passed", "passed", "passed", "skipped"))]),
        summarize("c", [run("c1", "c", status="failed", stages=stages("failed"))]),
        summarize("d", [], [BrokenRecord("d1", "d", "bad", T0)]),
    ]
    c = counts(summaries, unreadable=1)
    assert (c.recipes, c.everything, c.passed, c.failed, c.unreadable) == (3, 1, 2, 1, 1)


def test_a_recipes_history_mixes_unreadable_records_in_by_time():
    broken = BrokenRecord("x", "app", "bad", T0 + timedelta(hours=1.5))
    summary = summarize("app", [run("r1", hours=1), run("r2", hours=2)], [broken])
    assert [item.run_id for item in history(summary)] == ["r2", "x", "r1"]


def test_an_upgrade_from_several_bases_counts_as_passed_only_when_every_row_passed():
    def upgraded(run_id: str, hours: float, *statuses: str) -> RunRecord:
        rows = [stage(f"upgrade from 1.{i}.0+1.{i}", s) for i, s in enumerate(statuses)]
        return run(run_id, hours=hours, stages=[stage("install"), *rows])

    both = summarize("app", [upgraded("r1", 0, "passed", "passed")])
    assert both.stage_result("upgrade").status is StageStatus.PASSED and both.level == 2
    one = summarize(
        "app", [upgraded("r1", 0, "passed", "passed"), upgraded("r2", 1, "passed", "failed")]
    )
    assert (one.stage_result("upgrade").status, one.stage_result("upgrade").run_id) == (
        StageStatus.FAILED,
        "r2",
    )
    assert one.level == 1
