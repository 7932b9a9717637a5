"""cc-ci-run's command line: what the bridge's build parameters become before a run starts."""

from __future__ import annotations

import pytest

from cc_ci.contract.names import InvalidInput
from cc_ci.contract.record import Trigger
from cc_ci.harness.cli import main, parse_args, parse_trigger, parse_upgrade_from

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


def test_a_base_this_harness_cannot_choose_yet_is_refused_not_ignored(capsys):
    assert main(["demo", "--upgrade-from", "1.0.0+1.0"]) == 2
    err = capsys.readouterr().err
    assert "--upgrade-from 1.0.0+1.0: this cc-ci-run upgrades only from the previous" in err
    assert main(["demo", "--upgrade-from", "1.0;rm"]) == 2
    assert "'1.0;rm' is not a tag name" in capsys.readouterr().err


def test_who_asked_and_where_go_into_the_records_trigger():
    env = {"CCCI_TRIGGERED_BY": "alice", "CCCI_COMMENT_URL": URL}
    assert parse_trigger(env) == Trigger("alice", URL)
    assert parse_trigger({"CCCI_TRIGGERED_BY": "alice"}) == Trigger("alice", None)
    assert parse_trigger({"CCCI_TRIGGERED_BY": "", "CCCI_COMMENT_URL": ""}) is None
    for bad in ("javascript:alert(1)", "https://x/a b", "https://x/\n", "/relative", "https://"):
        with pytest.raises(InvalidInput, match="CCCI_COMMENT_URL"):
            parse_trigger({"CCCI_COMMENT_URL": bad})


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
