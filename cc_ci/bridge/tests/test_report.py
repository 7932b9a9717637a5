"""Every started build is watched to its end and reported: the comment edited in place with
the stage table, the commit status set, across restarts and outages."""

from __future__ import annotations

from datetime import UTC, datetime

from cc_ci.bridge.report import marker
from cc_ci.bridge.state import Phase
from cc_ci.bridge.tests.markdown import split_code, table_rows
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
    assert (
        "| install | ❌ failed | 1 min 15 s | `2 tests failed: see install.log` |" in comment.body
    )
    assert world.statuses()[-1]["status"] == "failure"

    world.tick()
    c2 = world.comment("!testme", pr=2)
    bridge.poll_once()
    second = world.sim.world.build(CI_REPO, 2)
    world.sim.world.finish_build(CI_REPO, 2, "failure", record(second, "error", []))
    bridge.report_once()
    assert bridge.state.command(c2.id).result == "error"
    assert world.statuses(pr=2)[-1]["status"] == "error"


def test_the_failing_tests_are_named_in_their_stage_row_first_few_then_how_many_more(world):
    bridge, _, build = started(world)
    rec = record(build, "failed", [("recipe-local", "failed", 9.0, "recipe-local: tests failed")])
    rec["stages"][0]["tests"] = {"passed": 1, "failed": 6, "errors": 1, "skipped": 0}
    rec["stages"][0]["failing"] = [
        "tests.test_recipe_local::test_deliberately_broken",
        "tests.test_recipe_local::test_a|b `@root` #1",
        "tests.test_recipe_local.TestLogin::test_login[admin]",
        "tests.test_recipe_local::test_not_shown",
    ]
    world.sim.world.finish_build(CI_REPO, build.number, "failure", rec)
    bridge.report_once()
    body = world.bot_comments()[0].body
    rows = table_rows(body)
    assert all(len(r) == 4 for r in rows), rows
    note = rows[2][3]
    assert note.startswith("`recipe-local: tests failed` failing: `test_deliberately_broken`, ")
    assert note.endswith(", `test_login[admin]` and 4 more")  # 7 failed or errored, 3 named
    assert "test_not_shown" not in body
    plain, _spans = split_code(note)
    assert "@root" not in plain and "#1" not in plain  # the hostile name is quoted, inert


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
    plain, spans = split_code(body)
    assert "Policy findings:" in plain
    assert any("<img src=x> @admin [x](http://evil)" in s for s in spans)
    assert "<img" not in plain and "@admin" not in plain and "evil" not in plain
    assert ["install", "❌ failed", "1 s", "`\\| refused \\|`"] in table_rows(body)


HOSTILE = (
    "a | pipe, see https://evil.example/x and www.evil.example, fixes #1 and "
    "recipe-maintainers/cc-ci#2, thanks @admin, `one` ``two`` <b>bold</b> "
    "[a](http://evil.example) ![i](http://evil.example/i.png)"
)


def test_text_from_a_record_makes_no_link_mention_issue_ref_or_table_break(world):
    bridge, command, build = started(world)
    # The contract's reader refuses a record whose names or statuses are not its own words,
    # so what a record can carry into the comment is free text: messages and findings.
    stages = [
        ("install", "failed", 3.0, HOSTILE),
        ("upgrade", "passed", 1.0, "deploy #3 @root www.evil.example"),
    ]
    finding = {
        "kind": "privileged",
        "severity": "error",
        "file": "compose.yml",
        "service": "app @root",
        "key": "privileged",
        "detail": HOSTILE,
    }
    rec = record(build, "failed", stages, [finding])
    world.sim.world.finish_build(CI_REPO, build.number, "failure", rec)
    bridge.report_once()
    body = world.bot_comments()[0].body
    plain, spans = split_code(body)
    # The bot's own links (the run page, the Drone build, the comment that asked, built from
    # its configuration and Gitea's URL of the comment) are the one place it writes a `#`.
    row = bridge.state.command(command.id)
    own = (
        f"[run page]({world.sim.dashboard_url}/runs/{build_run_id(build)}) · "
        f"[Drone build #{build.number}]({bridge.drone.build_url(build.number)}) · "
        f"[the comment that asked]({row.comment_url})"
    )
    assert own in plain.splitlines()
    plain = plain.replace(own, "")
    for made in ("evil", "#", "@admin", "@root", "<b>", "!["):
        assert made not in plain, (made, plain)
    assert "@alice" in plain  # the commenter, mentioned on purpose
    assert any("fixes #1 and recipe-maintainers/cc-ci#2, thanks @admin" in s for s in spans)
    rows = table_rows(body)
    assert all(len(r) == 4 for r in rows), rows
    assert rows[2][0] == "install" and rows[3][0] == "upgrade"
    assert "`deploy #3 @root www.evil.example`" in rows[3][3]


def test_direction_overrides_from_a_record_are_shown_not_obeyed(world):
    bridge, _, build = started(world)
    sneaky = "access granted \u202e\u2066 )lanigiro( \u2069 denied"
    world.sim.world.finish_build(
        CI_REPO,
        build.number,
        "failure",
        record(build, "failed", [("install", "failed", 1.0, sneaky)]),
    )
    bridge.report_once()
    body = world.bot_comments()[0].body
    assert not any(ch in body for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert "<U+202E><U+2066> )lanigiro( <U+2069>" in body


def test_unknown_stage_names_quoted_back_make_no_link_or_mention(world):
    bridge = world.bridge()
    world.tick()
    world.comment("!testme @admin #1 https://evil.example www.evil.example \u202eX")
    bridge.poll_once()
    (reply,) = world.bot_comments()
    plain, spans = split_code(reply.body)
    assert "does not know the stage" in plain
    for made in ("evil", "#", "@admin", "\u202e"):
        assert made not in plain, (made, plain)
    assert {"@admin", "#1", "https://evil.example", "www.evil.example", "<U+202E>X"} <= set(spans)


def test_a_marker_quoted_from_a_record_cannot_make_a_retry_edit_the_wrong_comment(world):
    # The bot's comment for command A quotes B's marker from A's run record; when B's
    # acknowledgement is posted but its answer lost, the retry must find B's own comment.
    bridge, a, build = started(world)
    world.tick()
    b = world.comment("!testme upgrade")
    world.sim.world.finish_build(
        CI_REPO,
        build.number,
        "failure",
        record(build, "failed", [("install", "failed", 1.0, marker(b.id))]),
    )
    bridge.report_once()  # A's report now holds B's marker, quoted
    (a_report,) = world.bot_comments()
    a_body = a_report.body
    world.sim.fault("gitea", "lost", times=1, path="/issues/1/comments")
    bridge.poll_once()  # B: built; its acknowledgement is created, the answer lost
    world.tick(5)
    bridge.poll_once()  # the retry looks for B's comment
    assert world.sim.world.comments[a_report.id].body == a_body
    assert len(world.bot_comments()) == 2


def test_without_a_run_record_the_report_says_what_drone_said(world):
    bridge, _, build = started(world)
    world.sim.world.finish_build(CI_REPO, build.number, "killed")
    world.tick(10)
    bridge.report_once()
    body = world.bot_comments()[0].body
    assert "no run record was read" in body and "killed" in body
    assert world.statuses()[-1]["status"] == "error"


def test_a_damaged_run_record_is_reported_at_once_without_the_table(world):
    bridge, command, build = started(world)
    world.sim.world.finish_build(CI_REPO, build.number, "success")
    folder = world.demo.results_dir / build_run_id(build)
    folder.mkdir(parents=True)
    # The harness replaces run.json atomically: a cut-short file is damaged, not half-written,
    # and reading it again would not mend it.
    (folder / "run.json").write_bytes(b'{"schema": 1, "status": "pass')
    world.tick(10)
    bridge.report_once()
    assert bridge.state.command(command.id).phase is Phase.REPORTED
    assert world.statuses()[-1]["status"] == "success"
    assert "no run record was read" in world.bot_comments()[0].body
    assert "event=run-record-unreadable" in world.log_text()


def test_the_run_record_is_read_from_the_results_directory_never_from_the_dashboard(world):
    # The dashboard's public URL goes through the proxy every app under test shares: an
    # app claiming its host could serve a record of its own. The bridge never asks it.
    bridge, _, build = started(world)
    world.sim.world.finish_build(
        CI_REPO,
        build.number,
        "failure",
        record(build, "failed", [("install", "failed", 9.0, "boom")]),
    )
    world.sim.world.records[build_run_id(build)] = record(
        build, "passed", [("install", "passed", 9.0, "all good")]
    )
    world.tick(10)
    bridge.report_once()
    body = world.bot_comments()[0].body
    assert "| install | ❌ failed | 9 s | `boom` |" in body
    assert world.statuses()[-1]["status"] == "failure"
    assert world.sim.requests("dashboard") == []
    assert f"{world.sim.dashboard_url}/runs/{build_run_id(build)}" in body  # still linked


def test_without_a_results_directory_the_report_has_no_table(world):
    bridge = world.bridge(edit=lambda raw: raw["report"].pop("results_dir"))
    world.tick()
    world.comment("!testme")
    bridge.poll_once()
    world.sim.world.finish_build(CI_REPO, 1, "success", "demo")
    world.tick(10)
    bridge.report_once()
    assert "no run record was read" in world.bot_comments()[0].body
    assert world.sim.requests("dashboard") == []


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
