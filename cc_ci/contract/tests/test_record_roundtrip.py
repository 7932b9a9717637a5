"""One contract, proven from both ends: records written by the harness's writer are read back
by the one reader as the same record, and what the bridge and the dashboard show of them is
what the harness recorded.

Each case is a run the harness can end in: every stage passing; each stage outcome (passed,
failed, error, skipped) in one run; a run that could not be carried out; a PR refused by the
compose policy gate (the real gate, on a real compose file); a teardown that left resources
behind; and a run still under way. Each is written with `write_record` into one results
directory, which the dashboard's index then reads, and fed, as the dashboard serves it, to
the bridge's report.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from cc_ci.bridge.report import commit_state, final_body, read_summary
from cc_ci.bridge.state import CommandRow, Phase
from cc_ci.contract.names import drone_build, drone_run_id
from cc_ci.contract.record import (
    Counts,
    ErrorClass,
    RunRecord,
    RunStatus,
    StageResult,
    StageStatus,
    Teardown,
    TeardownStatus,
    write_record,
)
from cc_ci.contract.record_read import decode_record
from cc_ci.contract.redact import Redactor
from cc_ci.contract.stages import STAGES
from cc_ci.contract.tests.samples import (
    T0,
    finished_run,
    on_default_branch,
    passed_stage,
    running_run,
)
from cc_ci.dashboard import api, badge
from cc_ci.dashboard.index import Index
from cc_ci.dashboard.server import App
from cc_ci.dashboard.summary import Attention
from cc_ci.harness.policy.gate import gate

PRIVILEGED_SOCKET = """
services:
  app:
    image: nginx:1.27.2
    privileged: true
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
"""


@dataclass(frozen=True)
class Case:
    record: RunRecord
    # what the bridge shows
    commit: str
    rows: tuple[str, ...]
    """Lines of the PR comment's stage table."""
    findings: tuple[str, ...] = ()
    # what the dashboard shows
    attention: Attention = Attention.PASSED
    level: int = 0
    badge: str = "passing"
    stage_badges: tuple[str, ...] = ("unknown",) * 4

    @property
    def build(self) -> int:
        build = drone_build(self.record.run_id)
        assert build is not None
        return build


def refused_by_the_gate(tmp_path: Path) -> RunRecord:
    """The first deployment refused: the harness records the gate's verdict, fails the
    deployment's first stage with the verdict's summary and skips the rest."""
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    (recipe / "compose.yml").write_text(textwrap.dedent(PRIVILEGED_SOCKET))
    env = {"DOMAIN": "refu-0a1b2c.ci.test", "STACK_NAME": "refu-0a1b2c_ci_test"}
    verdict = gate(recipe, env, "refused", None)
    assert verdict.refused
    why = verdict.summary()
    stages = (
        StageResult("install", StageStatus.FAILED, message=why),
        StageResult("upgrade", StageStatus.SKIPPED, message="no previous release tag"),
        StageResult("backup", StageStatus.SKIPPED, message=f"not run: {why}"),
        StageResult("recipe-local", StageStatus.SKIPPED, message=f"not run: {why}"),
    )
    return finished_run(
        drone_run_id(104, 1007),
        "refused",
        stages=stages,
        teardown=Teardown(),
        deployments=0,
        policy=(verdict.to_record("fresh deployment"),),
    )


def cases(tmp_path: Path) -> dict[str, Case]:
    every_outcome = (
        passed_stage("install", 31.2),
        replace(
            passed_stage("upgrade", 75.0),
            status=StageStatus.FAILED,
            tests=Counts(passed=2, failed=4, errors=1),
            message="upgrade: tests failed",
            failing=(
                "test_upgrade::test_data_survived",
                "test_upgrade::test_version[2.0]",
                "test_upgrade.TestFront::test_page",
                "test_login",
            ),
        ),
        StageResult(
            "backup",
            StageStatus.ERROR,
            4.0,
            Counts(passed=1),
            "backup: abra app backup create exited 1",
            "backup.log",
        ),
        StageResult("recipe-local", StageStatus.SKIPPED, 0.0, message="the recipe ships no tests/"),
    )
    unreachable = "the swarm is not reachable: Cannot connect to the Docker daemon"
    could_not_run = tuple(
        StageResult(s, StageStatus.ERROR, message=unreachable)
        if s == "install"
        else StageResult(s, StageStatus.SKIPPED, message=f"not run: {unreachable}")
        for s in STAGES
    )
    leftovers = ("volume leak-1a2b3c_ci_test_content", "secret leak-1a2b3c_ci_test_db_v1")
    policy_rows = (
        "| install | ❌ failed | – | `refused by the compose policy: 2 findings: compose.yml: ",
        "Policy findings:",
        "- `error bind-mount: compose.yml app volumes[0]: bind mount of host path",
    )
    made = {
        "passed": Case(
            finished_run(drone_run_id(101, 1007), "passes"),
            "success",
            tuple(f"| {s} | ✅ passed | 12 s |  |" for s in STAGES),
            level=4,
            stage_badges=("passing",) * 4,
        ),
        "every outcome": Case(
            finished_run(drone_run_id(102, 1007), "mixed", stages=every_outcome),
            "error",
            (
                "| install | ✅ passed | 31 s |  |",
                "| upgrade | ❌ failed | 1 min 15 s | `upgrade: tests failed` failing: "
                "`test_data_survived`, `test_version[2.0]`, `test_page` and 2 more |",
                "| backup | ⚠️ error | 4 s | `backup: abra app backup create exited 1` |",
                "| recipe-local | ⏭️ skipped | 0 s | `the recipe ships no tests/` |",
            ),
            attention=Attention.ERROR,
            level=1,
            badge="error",
            stage_badges=("passing", "failing", "error", "skipped"),
        ),
        "could not be carried out": Case(
            finished_run(
                drone_run_id(103, 1007),
                "unreachable",
                stages=could_not_run,
                teardown=Teardown(),
                deployments=0,
                error_class=ErrorClass.DOCKER,
                retryable=True,
                repro="cc-ci-run unreachable --src recipe-maintainers/unreachable --pr 7",
            ),
            "error",
            (
                f"| install | ⚠️ error | – | `{unreachable}` |",
                f"| upgrade | ⏭️ skipped | – | `not run: {unreachable}` |",
                "Error class: `docker`: the Docker daemon did not answer.",
                "```\ncc-ci-run unreachable --src recipe-maintainers/unreachable --pr 7\n```",
            ),
            attention=Attention.ERROR,
            badge="error",
            stage_badges=("error", "skipped", "skipped", "skipped"),
        ),
        "refused by the policy": Case(
            refused_by_the_gate(tmp_path),
            "failure",
            policy_rows,
            findings=(
                "error bind-mount: compose.yml app volumes[0]: bind mount of host path "
                "/var/run/docker.sock (the Docker socket: root on the host)",
                "error privileged: compose.yml app privileged: runs privileged: every "
                "capability, every device",
            ),
            attention=Attention.FAILED,
            badge="failing",
            stage_badges=("failing", "skipped", "skipped", "skipped"),
        ),
        "teardown left resources": Case(
            finished_run(
                drone_run_id(105, 1007),
                "leaks",
                teardown=Teardown(TeardownStatus.LEFTOVER, 30.5, leftovers, "teardown.log"),
                error_class=ErrorClass.TEARDOWN,
            ),
            "error",
            (
                *(f"| {s} | ✅ passed | 12 s |  |" for s in STAGES),
                "Error class: `teardown`: the teardown left something behind.",
            ),
            attention=Attention.ERROR,
            level=4,
            badge="error",
            stage_badges=("passing",) * 4,
        ),
        "still running": Case(
            running_run(drone_run_id(106, 1007), "busy"),
            "error",  # the build was killed, and a record saying "running" decides nothing
            ("| install | ⏳ running | – |  |", "| upgrade | ⏳ pending | – |  |"),
            attention=Attention.RUNNING,
            badge="running",
            stage_badges=("running",) * 4,  # the first default-branch run is under way
        ),
    }
    # Each run is a run of the recipe's default branch (what the badges and the level are
    # made of); the PR's runs beside them are test_a_pr_run_changes_no_badge's.
    return {k: replace(c, record=on_default_branch(c.record)) for k, c in made.items()}


@pytest.fixture
def world(tmp_path: Path) -> tuple[dict[str, Case], Path]:
    """Every case written by the harness's writer into one results directory."""
    results = tmp_path / "results"
    all_cases = cases(tmp_path)
    for case in all_cases.values():
        timings = {"deployments": [], "phases": [{"stage": "install", "phase": "verify"}]}
        write_record(results / case.record.run_id, case.record, timings=timings)
    return all_cases, results


def raw(results: Path, case: Case) -> bytes:
    return (results / case.record.run_id / "run.json").read_bytes()


def command(case: Case) -> CommandRow:
    return CommandRow(
        comment_id=9,
        repo=f"recipe-maintainers/{case.record.recipe}",
        pr=7,
        login="decentral1se",
        comment_url="https://git.example.org/c/9",
        stages="",
        unknown_stages="",
        phase=Phase.FINISHED,
        received_at=0,
        recipe=case.record.recipe,
        head_sha=case.record.source.ref,
        head_repo=f"recipe-maintainers/{case.record.recipe}",
        build=case.build,
    )


def test_every_record_reads_back_as_the_record_the_harness_wrote(world):
    all_cases, results = world
    for name, case in all_cases.items():
        back = decode_record(raw(results, case), case.record.run_id)
        assert back == case.record, name
        # the fields the bridge and the dashboard read, spelled out
        assert (back.status, back.exit_code, back.started_at, back.finished_at) == (
            case.record.status,
            case.record.exit_code,
            case.record.started_at,
            case.record.finished_at,
        )
        assert back.stages == case.record.stages, name
        assert back.teardown == case.record.teardown, name
        assert back.policy == case.record.policy, name
        assert (back.source, back.trigger, back.ci) == (
            case.record.source,
            case.record.trigger,
            case.record.ci,
        )
        assert (back.error_class, back.retryable, back.repro) == (
            case.record.error_class,
            case.record.retryable,
            case.record.repro,
        ), name


def test_the_bridge_reports_what_the_harness_recorded(world):
    all_cases, results = world
    for name, case in all_cases.items():
        summary = read_summary(raw(results, case), case.record.run_id)
        assert summary.status == case.record.status, name
        assert [(s.name, s.status, s.message) for s in summary.stages] == [
            (s.name, s.status, s.message) for s in case.record.stages
        ], name
        assert summary.teardown == (case.record.teardown and case.record.teardown.status)
        assert summary.findings == case.findings, name
        assert (summary.error_class, summary.retryable, summary.repro) == (
            case.record.error_class,
            case.record.retryable,
            case.record.repro,
        ), name
        # Drone's verdict as cc-ci-run's exit code makes it; a build killed mid-run has none
        drone = {0: "success", 1: "failure", 2: "failure"}.get(case.record.exit_code, "killed")
        state = commit_state(drone, summary)
        assert state == case.commit, name
        body = final_body(command(case), state, "https://drone/1", None, summary, Redactor())
        for row in case.rows:
            assert row in body, f"{name}: {row!r} not in\n{body}"
        if case.record.teardown and case.record.teardown.leftovers:
            assert "Teardown: leftover." in body


def test_the_dashboard_shows_what_the_harness_recorded(world):
    all_cases, results = world
    snap = Index(results).snapshot()
    assert set(snap.runs) == {c.record.run_id for c in all_cases.values()}
    for name, case in all_cases.items():
        run_id, recipe = case.record.run_id, case.record.recipe
        assert snap.runs[run_id] == case.record, name
        summary = snap.summaries[recipe]
        assert summary.level == case.level, name
        assert badge.choose(summary).message == case.badge, name
        assert tuple(badge.choose(summary, s).message for s in STAGES) == case.stage_badges
        (row,) = [r for r in snap.rows if r.summary is summary]
        assert row.attention is case.attention, name
        doc = api.recipe_document(summary)
        assert doc["latest_run"]["status"] == case.record.status
        assert doc["latest_run"]["default_branch"] and doc["latest_run"]["trigger"] == "schedule"
        assert doc["latest_run"]["stages"] == {s.name: s.status for s in case.record.stages}
        assert doc["latest_run"]["started_at"] == "2026-11-23T12:00:00Z"
    assert snap.counts.recipes == len(all_cases)
    assert (snap.counts.passed, snap.counts.failed, snap.counts.error, snap.counts.running) == (
        1,
        1,
        3,
        1,
    )
    assert snap.counts.everything == 2  # level 4: every stage passes (the leak is an error)
    assert snap.counts.unreadable == 0


def test_the_dashboard_serves_the_record_as_written_and_shows_its_details(world):
    all_cases, results = world
    app = App(Index(results), now=lambda: T0)
    for name, case in all_cases.items():
        served = app.respond(f"/api/runs/{case.record.run_id}")
        assert served.status == 200, name
        assert served.body == raw(results, case)
        assert json.loads(served.body)["timings"]["phases"][0]["stage"] == "install"
        page = app.respond(f"/runs/{case.record.run_id}").body.decode()
        assert page.startswith("<!doctype html>") or page.startswith("<!DOCTYPE html>")
        for stage in case.record.stages:
            if stage.message:
                assert stage.message.replace("'", "&#x27;") in page, f"{name}: {stage.name}"
            for test in stage.failing:  # every id the record keeps, with how many more
                assert f"<li><code>{test}</code></li>" in page, f"{name}: {test}"
            more = stage.tests.failed + stage.tests.errors - len(stage.failing)
            if stage.failing and more:
                assert f"and {more} more in the JUnit XML" in page, name
        for leftover in case.record.teardown.leftovers if case.record.teardown else ():
            assert leftover in page, name


def test_a_running_record_rewritten_as_finished_is_seen_finished_by_both(world):
    all_cases, results = world
    index = Index(results, full_rescan_s=0)
    running = all_cases["still running"].record
    assert index.snapshot().runs[running.run_id].status is RunStatus.RUNNING
    done = replace(
        running,
        stages=tuple(passed_stage(s) for s in STAGES),
        status=RunStatus.PASSED,
        exit_code=0,
        finished_at=T0,
        duration_s=1.0,
        teardown=Teardown(TeardownStatus.CLEAN),
    )
    path = write_record(results / running.run_id, done)
    assert index.snapshot().runs[running.run_id] == done
    assert read_summary(path.read_bytes(), running.run_id).status is RunStatus.PASSED
