"""The pure parts of the commands maintainers type and of what the bridge answers: parsing
`help` and `from=`, the retry rule, and the words of the final comment."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from cc_ci.bridge.answers import STAGE_MEANING, help_body
from cc_ci.bridge.command import (
    BadOption,
    Command,
    Help,
    UnknownStages,
    parse_command,
    row_fields,
)
from cc_ci.bridge.identity import RecordMismatch
from cc_ci.bridge.report import (
    ERROR_CLASSES,
    RunSummary,
    StageLine,
    ack_body,
    build_message,
    code,
    drone_params,
    final_body,
    linkable,
    path_url,
    retrying_body,
    superseded_body,
    superseded_description,
)
from cc_ci.bridge.retry import Retry, retry_decision
from cc_ci.bridge.state import CommandRow, Phase
from cc_ci.bridge.tests.markdown import split_code
from cc_ci.contract.record import RETRYABLE, ErrorClass, RunStatus, StageStatus, TeardownStatus
from cc_ci.contract.redact import Redactor
from cc_ci.contract.stages import STAGES, StageName

W = "!testme"
NO_SECRETS = Redactor()


def row(**changes) -> CommandRow:
    base = {
        "comment_id": 1007,
        "repo": "recipe-maintainers/custom-html",
        "pr": 7,
        "login": "alice",
        "comment_url": "https://git.example.org/recipe-maintainers/custom-html/pulls/7#issuecomment-1007",
        "stages": "",
        "unknown_stages": "",
        "phase": Phase.FINISHED,
        "received_at": 0,
        "recipe": "custom-html",
        "head_sha": "9f2c1e0" * 5 + "abcde",
        "head_repo": "alice/custom-html",
        "build": 12,
    }
    return CommandRow(**(base | changes))


def summary(status="error", error_class="docker", retryable=True, **kw) -> RunSummary:
    stages = kw.pop(
        "stages",
        (StageLine("install", StageStatus.ERROR, 4.0, "Cannot connect to the Docker daemon"),),
    )
    return RunSummary(
        RunStatus(status),
        stages,
        (),
        TeardownStatus.CLEAN,
        error_class=error_class,
        retryable=retryable,
        **kw,
    )


# --- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        ("!testme help", Help()),
        ("!testme   help  \nmore", Help()),
        ("!testme install help", Help()),
        ("!testme upgrade from=1.1.0+1.1", Command((StageName.UPGRADE,), ("1.1.0+1.1",))),
        (
            "!testme upgrade from=1.0.0+1.0,1.1.0+1.1",
            Command((StageName.UPGRADE,), ("1.0.0+1.0", "1.1.0+1.1")),
        ),
        ("!testme from=1.0.0 install,upgrade", Command(STAGES[:2], ("1.0.0",))),
        ("!testme from=v2,v2", Command((), ("v2",))),
        ("!testme install, upgrade", Command(STAGES[:2])),
        ("!testme upgrade from=1.0 deploy", UnknownStages(("deploy",))),
    ],
)
def test_help_and_upgrade_bases_are_read_from_the_first_line(body, parsed):
    assert parse_command(body, W) == parsed


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("!testme upgrade from=", "names no tag"),
        ("!testme upgrade from=,", "names no tag"),
        ("!testme upgrade from=../../etc", "'../../etc', which is not a tag name"),
        ("!testme upgrade from=-rf", "'-rf', which is not a tag name"),
        ("!testme upgrade from=$(id)", "'$(id)', which is not a tag name"),
        ("!testme upgrade from=a;b", "which is not a tag name"),
        ("!testme upgrade from=x.lock", "which is not a tag name"),
        ("!testme upgrade from=1 from=2", "from= is given twice"),
        ("!testme install from=1.0", "the upgrade stage is not asked for"),
        ("!testme upgrade to=1.0", "there is no option to="),
        ("!testme upgrade from=1,2,3,4,5,6", "names 6 tags, at most 5"),
    ],
)
def test_an_option_that_cannot_be_run_is_answered_with_why(body, says):
    parsed = parse_command(body, W)
    assert isinstance(parsed, BadOption)
    assert says in parsed.problem


def test_what_the_state_keeps_of_each_kind_of_command():
    assert row_fields(Command(STAGES[1:2], ("1.0", "1.1"))) == {
        "stages": "upgrade",
        "upgrade_from": "1.0,1.1",
    }
    assert row_fields(Help()) == {"answer": "help"}
    assert row_fields(BadOption("why")) == {"answer": "invalid", "reason": "why"}
    assert row_fields(UnknownStages(("deploy", "x"))) == {"unknown_stages": "deploy,x"}


# --- the build --------------------------------------------------------------------------


def test_the_build_carries_the_upgrade_bases_and_the_comment_that_asked():
    c = row(stages="upgrade", upgrade_from="1.0.0+1.0,1.1.0+1.1")
    params = drone_params(c)
    assert params["UPGRADE_FROM"] == "1.0.0+1.0,1.1.0+1.1"
    assert params["CCCI_COMMENT_URL"] == c.comment_url
    assert drone_params(row())["UPGRADE_FROM"] == ""
    assert "CCCI_COMMENT_URL" not in drone_params(row(comment_url=""))
    ack = ack_body(c, "https://drone/x/12", None)
    assert "(upgrade, upgrading from `1.0.0+1.0`, `1.1.0+1.1`)" in ack


def test_the_build_names_the_recipes_own_repository_apart_from_the_pr_heads():
    # REPO: the enrolled repository the PR is against, where release tags come from;
    # SRC: the head's repository, the fork
    params = drone_params(row())
    assert (params["REPO"], params["SRC"]) == (
        "recipe-maintainers/custom-html",
        "alice/custom-html",
    )


def test_each_upgrade_row_is_labelled_with_its_base_and_the_repository_is_named():
    run = summary(
        status="failed",
        error_class=None,
        stages=(
            StageLine("install", StageStatus.PASSED, 4.0, ""),
            StageLine("upgrade from 1.1.0+1.1", StageStatus.PASSED, 9.0, ""),
            StageLine("upgrade from 1.0.0+1.0", StageStatus.FAILED, 9.0, "tests failed"),
            StageLine("upgrade from `x`|y", StageStatus.FAILED, 9.0, ""),
        ),
        base_repo="recipe-maintainers/custom-html",
    )
    body = final_body(row(), "failure", "https://d/12", None, run, NO_SECRETS)
    assert "| upgrade from `1.1.0+1.1` | ✅ passed | 9 s |  |" in body
    assert "| upgrade from `1.0.0+1.0` | ❌ failed | 9 s | `tests failed` |" in body
    # a row name that is no row of the contract is quoted whole, as any unknown text
    assert "| ``upgrade from `x`\\|y`` |" in body
    assert (
        "Upgraded from release tags of `recipe-maintainers/custom-html`, the recipe's own "
        "repository." in body
    )


def test_a_retry_has_a_build_message_of_its_own():
    first, retry = build_message(row()), build_message(row(retried_build=12))
    assert first == "cc-ci custom-html: recipe-maintainers/custom-html#7 by alice (comment 1007)"
    assert retry == first.removesuffix(")") + ", retry of build 12)"


# --- the retry rule ---------------------------------------------------------------------


@pytest.mark.parametrize("error_class", ["docker", "image"])
def test_a_retryable_docker_or_image_error_is_retried_once(error_class):
    assert retry_decision(summary(error_class=error_class), None) == Retry(ErrorClass(error_class))
    assert retry_decision(summary(error_class=error_class), 11) is None


@pytest.mark.parametrize(
    "run",
    [
        None,
        summary(retryable=False),
        summary(error_class="converge"),
        summary(error_class="health"),
        summary(error_class="teardown"),
        summary(error_class="harness"),
        summary(error_class=None),
        summary(status="failed", error_class=None),
        summary(status="passed", error_class=None),
    ],
)
def test_anything_else_is_reported_as_it_is(run):
    assert retry_decision(run, None) is None


def test_every_retried_class_says_why_in_words():
    assert set(RETRYABLE) <= set(ERROR_CLASSES)
    assert set(ERROR_CLASSES) == {e.value for e in ErrorClass}


def test_a_record_that_is_not_the_commands_is_never_retried():
    mismatch = RecordMismatch("drone-12-c1007", "source.ref", "f" * 40, "9f2c1e0")
    assert retry_decision(mismatch, None) is None


def test_the_retrying_comment_of_the_retry_links_both_tries_and_says_how_far_it_is():
    retry = row(phase=Phase.BUILDING, build=13, build_status="running", retried_build=12)
    body = retrying_body(
        retry,
        "https://drone/x/12",
        "https://ci/runs/drone-12-c1007",
        None,  # the first try's record could not be read again: its detail is left out
        "docker",
        NO_SECRETS,
        retry_url="https://drone/x/13",
        retry_run_link="https://ci/runs/drone-13-c1007",
    )
    assert "retrying once: the Docker daemon did not answer. Testing" in body
    assert "The first try: [run page](https://ci/runs/drone-12-c1007) · [Drone build #12](" in body
    assert (
        "The retry: [run page](https://ci/runs/drone-13-c1007) · "
        "[Drone build #13](https://drone/x/13)\n" in body
    )
    assert "Running." in body


def test_the_retrying_comment_says_so_and_why():
    body = retrying_body(
        row(), "https://drone/x/12", "https://ci/runs/drone-12", summary(), "docker", NO_SECRETS
    )
    assert "retrying once: the Docker daemon did not answer" in body
    assert "install: `Cannot connect to the Docker daemon`" in body
    assert "[Drone build #12](https://drone/x/12)" in body


# --- the final comment ------------------------------------------------------------------


def test_the_final_comment_links_the_run_the_build_and_the_comment_that_asked():
    c = row()
    body = final_body(
        c, "success", "https://drone/x/12", "https://ci/runs/drone-12", None, NO_SECRETS
    )
    assert "[run page](https://ci/runs/drone-12)" in body
    assert "[Drone build #12](https://drone/x/12)" in body
    assert f"[the comment that asked]({c.comment_url})" in body


def test_a_comment_url_that_could_break_out_of_its_link_is_left_out():
    for bad in ("javascript:alert(1)", "https://x/a) [evil](https://e", "https://x/ a", ""):
        assert not linkable(bad)
        body = final_body(row(comment_url=bad), "success", "https://d/1", None, None, NO_SECRETS)
        assert "the comment that asked" not in body
    assert linkable("https://git.example.org/o/r/pulls/7#issuecomment-1007")


def test_an_error_shows_its_class_the_screenshot_and_the_repro_line():
    run = summary(
        repro="cc-ci-run custom-html --src alice/custom-html --ref 9f2c1e0",
        screenshot="screenshots/install-front page.png",
    )
    body = final_body(row(), "error", "https://d/12", "https://ci/runs/drone-12", run, NO_SECRETS)
    assert "| install | ⚠️ error | 4 s | `Cannot connect to the Docker daemon` |" in body
    assert "Error class: `docker`: the Docker daemon did not answer." in body
    assert (
        "[![screenshot of the app](https://ci/runs/drone-12/thumb/screenshots/install-front%20page.png)]"
        "(https://ci/runs/drone-12/screenshots/install-front%20page.png)"
    ) in body
    assert "```\ncc-ci-run custom-html --src alice/custom-html --ref 9f2c1e0\n```" in body


def test_without_a_dashboard_there_is_no_screenshot_and_a_pass_has_no_error_class():
    run = summary(status="passed", error_class=None, screenshot="screenshots/a.png", stages=())
    body = final_body(row(), "success", "https://d/12", None, run, NO_SECRETS)
    assert "screenshot" not in body and "Error class" not in body


def test_the_retry_is_named_in_the_final_comment():
    c = row(retried_build=11, retried_class="docker", build=12)
    body = final_body(
        c, "error", "https://d/12", None, summary(), NO_SECRETS, retried_url="https://d/11"
    )
    assert (
        "This is the automatic retry: [build #11](https://d/11) ended in an error "
        "(the Docker daemon did not answer)." in body
    )


def test_record_text_cannot_make_links_mentions_or_leave_its_code_fence():
    hostile = "x\n```\n@admin [a](https://evil) <img src=x> ```` `"
    block = code(hostile, redact=NO_SECRETS)
    fence, inner, closing = block.split("\n")
    assert fence == closing == "`" * 5
    assert "\n" not in inner and inner.startswith("x ```")
    url = path_url("https://ci/runs/drone-1", "screenshots/a)](https://evil) @b <i>.png")
    assert re.fullmatch(r"https://ci/runs/drone-1/screenshots/[A-Za-z0-9%._/-]+", url)
    run = summary(
        stages=(StageLine("install", StageStatus.ERROR, 1.0, "@admin [a](https://evil)"),),
        repro=hostile,
        screenshot="screenshots/a)](https://evil).png",
    )
    body = final_body(row(), "error", "https://d/1", "https://ci/runs/drone-1", run, NO_SECRETS)
    # Outside code (the repro's fence, the message's code span) nothing of it is left.
    plain, spans = split_code(body)
    assert "@admin" not in plain and "](https://evil)" not in plain and "<img" not in plain
    assert "`@admin [a](https://evil)`" in body  # the stage message, quoted in a code span
    assert any(s.startswith("\nx ```") for s in spans)  # the repro, in its fence


def test_direction_overrides_in_the_repro_line_are_shown_not_obeyed():
    block = code("cc-ci-run x \u202e\u2066 )lanigiro( \u2069 --ref 1\x07", redact=NO_SECRETS)
    assert not any(ch in block for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2069\x07")
    assert "<U+202E><U+2066> )lanigiro( <U+2069> --ref 1\ufffd" in block


def leaked(secret: str, text: str, n: int = 8) -> list[str]:
    """The pieces of `secret`, `n` characters or more, that `text` holds."""
    return [secret[i : i + n] for i in range(len(secret) - n + 1) if secret[i : i + n] in text]


def test_a_secret_where_the_new_parts_of_the_comment_are_cut_leaks_no_part_of_it():
    token = "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc"
    redact = Redactor([token])
    # Each one is cut just inside the secret: masked first, nothing of it survives the cut.
    run = summary(
        stages=(StageLine("install", StageStatus.ERROR, 4.0, "m" * 185 + " " + token),),
        repro="cc-ci-run " + "r" * 580 + " " + token,
        screenshot=f"screenshots/{token}.png",
    )
    retrying = retrying_body(
        row(), "https://d/12", "https://ci/runs/drone-12", run, "docker", redact
    )
    final = final_body(row(), "error", "https://d/12", "https://ci/runs/drone-12", run, redact)
    assert "To run it again by hand" in final and " [redacte…\n```" in final  # masked, then cut
    for body in (retrying, final):
        assert leaked(token, body) == [], body
    # A file name with a secret in it is not put in a URL, where encoding would hide it.
    assert "screenshot" not in final
    assert leaked(token, code("x" * 595 + " " + token, redact=redact)) == []


def test_the_superseded_report_and_a_mismatch_quote_what_they_did_not_write_inertly():
    token = "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc"
    redact = Redactor([token])
    hostile = "@admin [a](https://evil) <b>`x"
    for new in (hostile, token, "r" * 5 + token):
        c = row(superseded_by=new)
        body = superseded_body(c, W, "https://d/12", redact)
        plain, spans = split_code(body)
        assert "superseded by" in plain and "`!testme` again" in body
        for made in ("@admin", "](https://evil)", "<b>"):
            assert made not in plain, (made, plain)
        assert leaked(token, body) == [] and leaked(token, superseded_description(c, redact)) == []
    assert "superseded by `9f2c1e09f2`" in superseded_body(
        row(superseded_by="9f2c1e0" * 5 + "abcde"), W, None, NO_SECRETS
    )
    # a record that is not the command's: every value it quotes is inert, masked, then cut
    recorded = "r" * 70 + " " + token
    for field, value in (("source.repo", hostile), ("source.ref", recorded)):
        mismatch = RecordMismatch("drone-12-c1007", field, value, "alice/custom-html")
        body = final_body(
            row(build_status="success"), "error", "https://d/12", None, mismatch, redact
        )
        plain, spans = split_code(body)
        assert f"is not this command's: its `{field}` is" in body
        assert "`drone-12-c1007`" in body and "Drone says `success`." in body
        for made in ("@admin", "](https://evil)", "<b>"):
            assert made not in plain, (made, plain)
        assert leaked(token, body) == [], body
        assert "| stage |" not in body


def test_help_lists_the_syntax_every_stage_and_the_enrolled_recipe():
    body = help_body(row(answer="help"), W)
    assert "`custom-html`" in body and "`recipe-maintainers/custom-html`" in body
    for stage in STAGES:
        assert f"| `{stage}` | {STAGE_MEANING[stage]} |" in body
    for example in ("`!testme`", "`!testme install upgrade`", "`!testme upgrade from=TAG[,TAG]`"):
        assert example in body
    assert "retried once" in body


def test_the_summary_takes_the_base_repository_from_an_upgrade_rows_details():
    from datetime import UTC, datetime

    from cc_ci.bridge.report import summarize_record
    from cc_ci.contract.record import RunRecord, Source, StageResult

    details = {"from": "1.1.0+1.1", "from_repo": "recipe-maintainers/custom-html"}
    record = RunRecord(
        "drone-12-c1007",
        "custom-html",
        Source("alice/custom-html", "9f2c1e0", 7, base_repo="recipe-maintainers/custom-html"),
        datetime(2026, 12, 1, tzinfo=UTC),
        (
            StageResult("install", StageStatus.PASSED),
            StageResult("upgrade from 1.1.0+1.1", StageStatus.PASSED, details=details),
        ),
    )
    run = summarize_record(record)
    assert run.base_repo == "recipe-maintainers/custom-html"
    assert [s.name for s in run.stages] == ["install", "upgrade from 1.1.0+1.1"]
    assert summarize_record(replace(record, stages=record.stages[:1])).base_repo is None
