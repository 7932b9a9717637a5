"""scripts/demo's pure parts (devworld/demo/play.py): its command line, the URLs it prints,
the bot's PR comment shown in a terminal, and the progress line from a live run record."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cc_ci.bridge.report import ack_body, final_body, marker, summarize_record
from cc_ci.bridge.state import CommandRow, Phase
from cc_ci.contract.record import (
    RunRecord,
    RunStatus,
    Source,
    StageResult,
    StageStatus,
    Teardown,
    TeardownStatus,
    utc_now,
)
from cc_ci.contract.redact import Redactor
from devworld import world as w
from devworld.demo import play

NO_SECRETS = Redactor()


def info(**changes) -> w.Info:
    base = {
        "dir": "/tmp/world",
        "gitea_url": "http://127.0.0.1:3001",
        "drone_url": "http://127.0.0.1:3002",
        "dashboard_url": "http://127.0.0.1:3003",
        "webhook_url": "http://127.0.0.1:3004/hook",
        "admin_token": "a",
        "drone_token": "d",
        "pr_branch": "demo-1.2",
        "pr_head": "f" * 40,
        "ccci_head": "e" * 40,
        "results_dir": "/tmp/world/results",
        "runner_state": "/tmp/world/state/runner",
        "ports": {},
        "pids": {},
    }
    return w.Info(**{**base, **changes})


# --- the command line --------------------------------------------------------------------


def test_no_arguments_is_one_command_of_every_stage_then_down():
    opts = play.parse_args([])
    assert opts.mode == "once"
    assert opts.stages == ()
    assert opts.command == "!testme"
    assert opts.results_dir == play.ROOT / "results"


@pytest.mark.parametrize("given", ["install,upgrade", "install upgrade", " install , upgrade "])
def test_stages_become_the_words_of_the_comment(given):
    opts = play.parse_args(["--keep", "--stages", given, "--results-dir", "/x"])
    assert opts.mode == "keep"
    assert opts.command == "!testme install upgrade"
    assert opts.results_dir == Path("/x")


def test_down_is_its_own_mode():
    assert play.parse_args(["--down"]).mode == "down"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--stages", "install,deploy"], "unknown stage 'deploy'"),
        (["--keep", "--down"], "not allowed with argument"),
        (["--down", "--stages", "install"], "--down removes the world"),
        (["--runner-only"], "unrecognized arguments: --runner-only"),
    ],
)
def test_bad_arguments_are_refused_naming_what_is_wrong(argv, says, capsys):
    with pytest.raises(SystemExit) as exc:
        play.parse_args(argv)
    assert exc.value.code == 2
    assert says in capsys.readouterr().err


def test_the_unknown_stage_error_lists_the_stages_there_are():
    with pytest.raises(ValueError, match="the stages are install, upgrade, backup, recipe-local"):
        play.parse_stages("instal")


# --- what it prints ------------------------------------------------------------------------


def test_the_urls_are_the_pr_the_build_and_the_runs_dashboard_page():
    u = play.urls(info(), pr=1, build=3, comment=17)
    assert u.pr == "http://127.0.0.1:3001/cc-ci/demo/pulls/1"
    assert u.build == "http://127.0.0.1:3002/cc-ci/cc-ci/3"
    assert u.run_page == "http://127.0.0.1:3003/runs/drone-3-c17"


def test_where_to_look_gives_every_url_and_the_demo_logins():
    text = play.where_to_look(play.urls(info(), 1, 3, 17))
    for part in ("/cc-ci/demo/pulls/1", "/cc-ci/cc-ci/3", "/runs/drone-3-c17"):
        assert part in text
    for login in ("maintainer", "outsider", "cc-ci-bot"):
        assert f"{login} / {w.password(login)}" in text


def command_row(**changes) -> CommandRow:
    base = {
        "comment_id": 17,
        "repo": "cc-ci/demo",
        "pr": 1,
        "login": "maintainer",
        "comment_url": "http://127.0.0.1:3001/cc-ci/demo/pulls/1#issuecomment-17",
        "stages": "",
        "unknown_stages": "",
        "phase": Phase.FINISHED,
        "received_at": 0,
        "recipe": "demo",
        "head_sha": "abcdef0123" * 4,
        "build": 3,
    }
    return CommandRow(**{**base, **changes})


def record(*stages: StageResult, status=RunStatus.PASSED) -> RunRecord:
    return RunRecord(
        run_id="drone-3-c17",
        recipe="demo",
        source=Source("cc-ci/demo", "abcdef0123" * 4, 1, None),
        started_at=utc_now(),
        stages=stages,
        status=status,
        teardown=Teardown(TeardownStatus.CLEAN),
        repro="cc-ci-run demo --src cc-ci/demo --ref abcdef",
    )


def test_the_bots_final_comment_reads_as_a_table_in_a_terminal():
    run = record(
        StageResult("install", StageStatus.PASSED, 21.4),
        StageResult("upgrade from 1.1.0+1.1", StageStatus.PASSED, 75.0),
        StageResult("recipe-local", StageStatus.FAILED, 9.0, message="1 test failed"),
        status=RunStatus.FAILED,
    )
    body = final_body(
        command_row(),
        "failure",
        "http://127.0.0.1:3002/cc-ci/cc-ci/3",
        "http://127.0.0.1:3003/runs/drone-3-c17",
        summarize_record(run),
        NO_SECRETS,
    )
    text = play.render_comment(body)
    lines = text.splitlines()
    assert marker(17) not in text and "|" not in text and "**" not in text and "`" not in text
    assert lines[0].startswith("❌ cc-ci failed: demo at abcdef0123")
    assert "run page <http://127.0.0.1:3003/runs/drone-3-c17>" in text
    assert "Drone build #3 <http://127.0.0.1:3002/cc-ci/cc-ci/3>" in text
    rows = [line for line in lines if line.startswith("  ")]
    assert rows[0].split() == ["stage", "status", "duration", "note"]
    assert rows[1].split() == ["install", "✅", "passed", "21", "s"]
    assert rows[2].split()[:4] == ["upgrade", "from", "1.1.0+1.1", "✅"]
    assert rows[3].split() == ["recipe-local", "❌", "failed", "9", "s", "1", "test", "failed"]
    # aligned as a terminal shows them: every row's duration starts in the header's column
    col = play.cells(rows[0][: rows[0].index("duration")])
    for r in rows[1:4]:
        at = re.search(r" (\d+ (s|min))", r).start(1)
        assert play.cells(r[:at]) == col, r
    assert "Teardown: clean." in text
    assert "    cc-ci-run demo --src cc-ci/demo --ref abcdef" in lines  # the repro, indented


def test_the_ack_is_not_the_verdict_and_the_final_comment_is():
    ack = ack_body(command_row(phase=Phase.BUILDING), "http://d/3", None)
    final = final_body(command_row(), "success", "http://d/3", None, None, NO_SECRETS)
    assert not play.is_final(ack)
    assert play.is_final(final)
    assert not play.is_final(None)


def test_a_screenshot_line_becomes_its_address():
    body = "[![screenshot of the app](http://x/runs/r/thumb/a.png)](http://x/runs/r/a.png)"
    assert play.render_comment(body) == "screenshot of the app: http://x/runs/r/a.png"


@pytest.mark.parametrize(
    ("stages", "says"),
    [
        ([("install", "pending"), ("upgrade", "pending")], "fetching the recipe"),
        (
            [("install", "passed"), ("upgrade", "running")],
            "stage upgrade running (done: install passed)",
        ),
        ([("install", "passed"), ("upgrade", "pending")], "between stages (done: install passed)"),
        ([("install", "passed"), ("upgrade", "failed")], "every stage done: tearing down"),
    ],
)
def test_the_progress_line_names_the_stage_running_and_those_done(stages, says):
    rec = {"stages": [{"name": n, "status": s} for n, s in stages]}
    assert play.stage_progress(rec).startswith(says)


def test_emoji_take_two_columns():
    assert [play.cells(t) for t in ("ab", "✅ passed", "⚠️ error", "⏭️ x")] == [2, 9, 8, 4]


def test_minutes():
    assert play.minutes(9.4) == "9 s"
    assert play.minutes(125) == "2 min 05 s"


def test_the_exit_code_is_the_run_records_verdict():
    def played(status):
        rec = None if status is None else {"status": status}
        return play.Played(1, 17, 3, "drone-3-c17", "", 1.0, 2.0, 60.0, rec)

    assert [play.verdict_code(played(s)) for s in ("passed", "failed", "error", None)] == [
        0,
        1,
        2,
        2,
    ]
