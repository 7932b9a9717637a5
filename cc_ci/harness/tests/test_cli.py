"""cc-ci-run's command line: what the bridge's build parameters become before a run starts."""

from __future__ import annotations

import pytest

from cc_ci.contract.names import InvalidInput
from cc_ci.contract.record import Trigger
from cc_ci.harness.cli import (
    main,
    parse_args,
    parse_repository,
    parse_trigger,
    parse_upgrade_from,
    table,
)

URL = "https://git.example.org/recipe-maintainers/custom-html/pulls/7#issuecomment-1007"


@pytest.mark.parametrize("given", [None, "", " ", ","])
def test_an_empty_upgrade_from_means_the_default_base(given):
    assert parse_upgrade_from(given) == ()


def test_upgrade_from_is_a_comma_list_of_tags_each_checked_as_a_ref():
    assert parse_upgrade_from("1.0.0+1.0, 1.1.0+1.1,1.0.0+1.0") == ("1.0.0+1.0", "1.1.0+1.1")
    for bad in ("../x", "-rf", "a b", "$(id)", "x.lock"):
        with pytest.raises(InvalidInput, match="is not a tag name"):
            parse_upgrade_from(f"1.0.0,{bad}")


def test_upgrade_from_comes_from_the_flag_else_the_environment():
    assert parse_args(["demo"], {"UPGRADE_FROM": "1.0.0"}).upgrade_from == "1.0.0"
    assert parse_args(["demo", "--upgrade-from", ""], {"UPGRADE_FROM": "1.0.0"}).upgrade_from == ""


def test_the_pipelines_empty_upgrade_from_is_accepted(monkeypatch, capsys):
    # what .drone.yml passes when no base was asked for: every input is accepted, and the
    # run stops only at the next thing it reads, a setting this test makes malformed
    monkeypatch.setenv("CCCI_HTTPS_PORT", "0")
    monkeypatch.setenv("UPGRADE_FROM", "")
    assert main(["demo", "--upgrade-from", "", "--ref", "0" * 40]) == 2
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("CCCI_HTTPS_PORT=0 is not a port") == 2
    assert "upgrade-from" not in err


def test_upgrade_from_without_the_upgrade_stage_is_refused_before_anything_runs(capsys):
    assert main(["demo", "--stages", "install", "--upgrade-from", "1.0.0+1.0"]) == 2
    err = capsys.readouterr().err
    assert "--upgrade-from 1.0.0+1.0: the upgrade stage is not among --stages install" in err
    assert main(["demo", "--upgrade-from", "1.0;rm"]) == 2
    assert "'1.0;rm' is not a tag name" in capsys.readouterr().err


def test_the_base_repository_comes_from_the_flag_else_the_environment():
    assert (
        parse_args(["demo"], {"REPO": "recipe-maintainers/demo"}).repo == "recipe-maintainers/demo"
    )
    assert parse_args(["demo", "--repo", "o/r"], {"REPO": "x/y"}).repo == "o/r"
    # what .drone.yml passes when an older bridge sent no REPO: the base is SRC
    assert parse_args(["demo", "--repo", ""], {}).repo == ""


def test_a_repository_is_owner_name_or_for_a_run_by_hand_a_local_git_repository(tmp_path):
    assert parse_repository("alice/demo", "--src", {}) == "alice/demo"
    with pytest.raises(InvalidInput, match="is not OWNER/NAME"):
        parse_repository("alice/demo/x", "--src", {})
    (tmp_path / "checkout" / ".git").mkdir(parents=True)
    assert parse_repository(str(tmp_path / "checkout"), "--src", {}) == str(tmp_path / "checkout")
    with pytest.raises(InvalidInput, match="is not a git repository on this machine"):
        parse_repository(str(tmp_path), "--src", {})
    # never in a build: a build's parameters must not make the runner read the host's files
    with pytest.raises(InvalidInput, match="a local path is for runs by hand, not in a build"):
        parse_repository(str(tmp_path / "checkout"), "--repo", {"DRONE_BUILD_NUMBER": "7"})


def test_who_asked_and_where_go_into_the_records_trigger():
    env = {"CCCI_TRIGGERED_BY": "alice", "CCCI_COMMENT_URL": URL}
    assert parse_trigger(env) == Trigger("alice", URL)
    assert parse_trigger({"CCCI_TRIGGERED_BY": "alice"}) == Trigger("alice", None)
    assert parse_trigger({"CCCI_TRIGGERED_BY": "", "CCCI_COMMENT_URL": ""}) is None
    for bad in ("javascript:alert(1)", "https://x/a b", "https://x/\n", "/relative", "https://"):
        with pytest.raises(InvalidInput, match="CCCI_COMMENT_URL"):
            parse_trigger({"CCCI_COMMENT_URL": bad})


def test_the_summary_prints_the_repro_line_under_the_stage_table(tmp_path):
    from datetime import UTC, datetime

    from cc_ci.contract.record import RunRecord, Source, StageResult, StageStatus

    repro = "cc-ci-run demo --repo cc-ci/demo --src mallory/demo --ref abc --pr 3"
    record = RunRecord(
        run_id="local-1",
        recipe="demo",
        source=Source("mallory/demo", "abc", 3, base_repo="cc-ci/demo"),
        started_at=datetime(2026, 12, 1, tzinfo=UTC),
        stages=(
            StageResult("install", StageStatus.PASSED, 1.0),
            StageResult("upgrade from 1.1.0+1.1", StageStatus.PASSED, 2.0),
            StageResult("upgrade from 1.0.0+1.0", StageStatus.FAILED, 2.0, message="x"),
        ),
        status="failed",
        exit_code=1,
        duration_s=5.0,
        repro=repro,
    )
    lines = table(record, tmp_path).splitlines()
    assert lines[2].split()[:4] == ["upgrade", "from", "1.1.0+1.1", "PASS"]
    assert lines[3].split()[:4] == ["upgrade", "from", "1.0.0+1.0", "FAIL"]
    assert lines[-1] == f"  to run it again: {repro}"
    assert lines[-2].startswith("  run record: ")


def test_why_the_run_was_started_goes_into_the_records_trigger_and_a_job_into_its_run_id():
    from cc_ci.contract.record import TriggerKind
    from cc_ci.harness.cli import default_run_id

    scheduled = parse_trigger({"CCCI_TRIGGER": "schedule"})
    assert scheduled == Trigger(None, None, None, TriggerKind.SCHEDULE)
    assert parse_trigger({"CCCI_TRIGGER": "pr", "CCCI_COMMAND": "7"}).kind is TriggerKind.PR
    with pytest.raises(InvalidInput, match="CCCI_TRIGGER 'nightly'"):
        parse_trigger({"CCCI_TRIGGER": "nightly"})
    env = {"DRONE_BUILD_NUMBER": "12", "CCCI_JOB": "1764633600"}
    assert default_run_id(env) == "drone-12-j1764633600"
    with pytest.raises(InvalidInput, match="CCCI_JOB '0x1'"):
        default_run_id({"DRONE_BUILD_NUMBER": "12", "CCCI_JOB": "0x1"})
