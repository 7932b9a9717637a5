"""The pure decisions: configuration, command parsing, the next step, the report's words."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cc_ci.bridge.command import Command, UnknownStages, parse_command
from cc_ci.bridge.config import ConfigError, parse_config
from cc_ci.bridge.flow import Step, backoff, classify, next_step
from cc_ci.bridge.gitea import Comment
from cc_ci.bridge.poll import OVERLAP, Listing, is_new, next_since
from cc_ci.bridge.report import RunSummary, commit_state, read_summary, text
from cc_ci.bridge.state import CommandRow, Outcome, Phase
from cc_ci.bridge.tests.markdown import split_code
from cc_ci.contract.record import RunRecord, Source, StageResult
from cc_ci.contract.record_read import RecordError
from cc_ci.contract.redact import MASK, Redactor

EXAMPLE = """
[gitea]
url = "https://git.example.org/"
token_file = "/run/credentials/cc-ci-bridge/gitea-token"
[drone]
url = "https://drone.example.org"
token_file = "/run/credentials/cc-ci-bridge/drone-token"
repo = "recipe-maintainers/cc-ci"
branch = "main"
[trigger]
command = "!testme"
org = "recipe-maintainers"
allow = []
repos = ["recipe-maintainers/custom-html", "recipe-maintainers/custom-html-tiny"]
poll_interval = 30
[recipes]
"recipe-maintainers/custom-html-tiny" = "custom-html-tiny"
[webhook]
listen = "127.0.0.1:8091"
secret_file = "/run/credentials/cc-ci-bridge/webhook-secret"
[state]
path = "/var/lib/cc-ci/bridge.sqlite3"
[report]
dashboard_url = "https://ci.example.org"
results_dir = "/var/lib/cc-ci/results"
"""


def example(**changes) -> dict:
    raw = tomllib.loads(EXAMPLE)
    for dotted, value in changes.items():
        section, _, key = dotted.partition("__")
        if value is None:
            del raw[section][key]
        else:
            raw.setdefault(section, {})[key] = value
    return raw


def test_the_documented_example_parses():
    c = parse_config(example())
    assert c.gitea.url == "https://git.example.org"
    assert c.drone.repo == "recipe-maintainers/cc-ci"
    assert c.recipe_for("recipe-maintainers/custom-html") == "custom-html"
    assert c.recipe_for("recipe-maintainers/custom-html-tiny") == "custom-html-tiny"
    assert c.webhook is not None and (c.webhook.host, c.webhook.port) == ("127.0.0.1", 8091)
    assert c.dashboard_url == "https://ci.example.org"
    assert c.results_dir == Path("/var/lib/cc-ci/results")
    assert c.trigger.poll_interval == 30


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"gitea__token_file": None}, "missing key gitea.token_file"),
        ({"drone__branch": None}, "missing key drone.branch"),
        ({"trigger__colour": "red"}, "unknown key trigger.colour"),
        ({"gitea__token": "abc"}, "unknown key gitea.token"),
        ({"extra__x": 1}, "unknown section [extra]"),
        ({"trigger__repos": []}, "trigger.repos must be a non-empty list"),
        ({"trigger__repos": ["nope"]}, "trigger.repos[] must be an owner/name"),
        ({"trigger__poll_interval": -1}, "trigger.poll_interval"),
        ({"trigger__poll_interval": True}, "trigger.poll_interval"),
        ({"trigger__command": "!test me"}, "trigger.command must be one word"),
        ({"gitea__url": "git.example.org"}, "gitea.url must be an http(s) URL"),
        ({"webhook__listen": "8091"}, "webhook.listen must be host:port"),
        ({"recipes__a/b": "x"}, "not in trigger.repos"),
        ({"recipes__recipe-maintainers/custom-html": "Bad Name"}, "must be a recipe name"),
    ],
)
def test_a_bad_configuration_is_refused_naming_what_is_wrong(changes, message):
    with pytest.raises(ConfigError) as e:
        parse_config(example(**changes))
    assert message in str(e.value)


def test_missing_sections_and_polling_off_without_a_webhook_are_refused():
    raw = example()
    del raw["state"]
    with pytest.raises(ConfigError, match=r"missing section \[state\]"):
        parse_config(raw)
    raw = example(trigger__poll_interval=0)
    del raw["webhook"]
    with pytest.raises(ConfigError, match="then \\[webhook\\] is required"):
        parse_config(raw)
    assert parse_config(example(trigger__poll_interval=0)).trigger.poll_interval == 0


def test_optional_sections_may_be_left_out():
    raw = example()
    for section in ("webhook", "report", "recipes"):
        del raw[section]
    del raw["trigger"]["allow"]
    del raw["trigger"]["poll_interval"]
    c = parse_config(raw)
    assert c.webhook is None and c.dashboard_url is None and c.results_dir is None
    assert c.trigger.allow == () and c.trigger.poll_interval == 30


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        ("!testme", Command(())),
        ("  !testme  \r\nmore text", Command(())),
        ("!testme install", Command(("install",))),
        ("!testme backup, install", Command(("install", "backup"))),
        ("!testme recipe-local upgrade upgrade", Command(("upgrade", "recipe-local"))),
        ("!testme install prod", UnknownStages(("prod",))),
        ("!testme Install", UnknownStages(("Install",))),
        ("!testme2", None),
        ("please !testme", None),
        ("`!testme`", None),
        ("", None),
        ("\n!testme", None),
    ],
)
def test_the_first_line_is_the_command(body, parsed):
    assert parse_command(body, "!testme") == parsed


def test_stages_param_is_a_comma_list_empty_for_all():
    assert Command(()).stages_param == ""
    assert Command(("install", "backup")).stages_param == "install,backup"


def row(**kw) -> CommandRow:
    base = {"comment_id": 1, "repo": "o/r", "pr": 1, "login": "a", "comment_url": ""}
    base |= {"stages": "", "unknown_stages": "", "phase": Phase.RECEIVED, "received_at": 0}
    base |= {"recipe": "r"}
    return CommandRow(**(base | kw))


ACKED = {"reacted": True, "pending_posted": True}
BUILT = {"phase": Phase.BUILDING, "build": 3, "build_status": "pending", **ACKED}


@pytest.mark.parametrize(
    ("fields", "step"),
    [
        ({}, Step.AUTHORIZE),
        ({"phase": Phase.DENIED}, None),
        # authorized: 👀 and the pending status before Drone is asked
        ({"phase": Phase.REQUESTING}, Step.REACT),
        ({"phase": Phase.REQUESTING, "reacted": True}, Step.PENDING_STATUS),
        ({"phase": Phase.REQUESTING, **ACKED}, Step.CREATE_BUILD),
        # Drone did not answer: the comment says so, then the create is tried again
        ({"phase": Phase.REQUESTING, **ACKED, "drone_down": True}, Step.ACK_COMMENT),
        (
            {"phase": Phase.REQUESTING, **ACKED, "drone_down": True, "bot_comment": 5},
            Step.UPDATE_COMMENT,
        ),
        (
            {
                "phase": Phase.REQUESTING,
                **ACKED,
                "drone_down": True,
                "bot_comment": 5,
                "shown": "drone-down",
            },
            Step.CREATE_BUILD,
        ),
        ({"phase": Phase.REQUESTING, **ACKED, "superseded_by": "cd"}, Step.SUPERSEDE),
        # the automatic retry: acknowledged long ago; its pending status waits for its build
        (
            {"phase": Phase.REQUESTING, "reacted": True, "retried_build": 2, "bot_comment": 5},
            Step.CREATE_BUILD,
        ),
        (BUILT | {"pending_posted": False, "retried_build": 2}, Step.PENDING_STATUS),
        # the build exists: the comment links it and follows its place in the queue
        (BUILT, Step.ACK_COMMENT),
        (BUILT | {"bot_comment": 5, "shown": "queued"}, None),
        (BUILT | {"bot_comment": 5, "shown": "queued", "queue_ahead": 2}, Step.UPDATE_COMMENT),
        (BUILT | {"bot_comment": 5, "shown": "queued-2", "queue_ahead": 2}, None),
        (
            BUILT | {"bot_comment": 5, "shown": "queued-2", "build_status": "running"},
            Step.UPDATE_COMMENT,
        ),
        (BUILT | {"bot_comment": 0, "shown": "", "build_status": "running"}, None),
        (BUILT | {"bot_comment": 5, "superseded_by": "cd"}, Step.SUPERSEDE),
        ({**BUILT, "reacted": False}, Step.REACT),
        ({"phase": Phase.FINISHED}, Step.REACT),
        ({"phase": Phase.FINISHED, "reacted": True}, Step.FINAL_COMMENT),
        (
            {"phase": Phase.FINISHED, "reacted": True, "final_posted": True, "head_sha": "ab"},
            Step.FINAL_STATUS,
        ),
        (
            {
                "phase": Phase.FINISHED,
                "reacted": True,
                "final_posted": True,
                "outcome": Outcome.REJECTED,
            },
            Step.CLOSE,
        ),
        (
            {
                "phase": Phase.FINISHED,
                "reacted": True,
                "final_posted": True,
                "head_sha": "ab",
                "final_status_posted": True,
            },
            Step.CLOSE,
        ),
        ({"phase": Phase.REPORTED}, None),
    ],
)
def test_the_next_step_follows_from_the_stored_row(fields, step):
    assert next_step(row(**fields)) == step


def test_backoff_doubles_up_to_five_minutes():
    assert [backoff(n) for n in (1, 2, 3, 8, 9, 30)] == [2, 4, 8, 256, 300, 300]


def comment(created: int, updated: int | None = None) -> Comment:
    t = datetime.fromtimestamp(created, UTC)
    u = datetime.fromtimestamp(updated if updated is not None else created, UTC)
    return Comment(1, "o/r", "a", "!testme", t, u, 1, "")


def test_a_comment_is_new_from_the_floor_on():
    baseline, since = 1000, 2000
    assert is_new(comment(2000 - OVERLAP), baseline, since)
    assert not is_new(comment(2000 - OVERLAP - 1, 2500), baseline, since)
    assert not is_new(comment(999), 1000, 1000)


def test_a_comment_updated_after_it_was_created_is_never_a_command():
    assert classify(comment(2000, 2001), "bot", "!testme") == Command(())
    assert classify(comment(2000, 2002), "bot", "!testme") is None


def test_the_cursor_moves_only_after_a_complete_listing():
    listing = Listing((comment(10, 50), comment(20, 30)), True, 1)
    assert next_since(5, listing) == 50
    assert next_since(5, Listing(listing.comments, False, 3)) == 5
    assert next_since(60, listing) == 60
    assert next_since(5, Listing((), True, 1)) == 5
    assert next_since(5, Listing(listing.comments, False, 20, truncated=True)) == 20


def test_the_record_decides_the_commit_state_before_drone():
    run = RunSummary("failed", (), (), None)
    assert commit_state("failure", run) == "failure"
    assert commit_state("failure", RunSummary("error", (), (), None)) == "error"
    assert commit_state("success", None) == "success"
    assert commit_state("killed", None) == "error"
    assert commit_state(None, None) == "error"


def test_a_record_of_the_wrong_shape_is_refused_whole_not_read_in_part():
    started = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    data = RunRecord(
        "drone-1", "custom-html", Source(None, None, None), started, (StageResult("x"),)
    ).to_json()
    assert [s.name for s in read_summary(json.dumps(data).encode(), "drone-1").stages] == ["x"]
    junk_stage = {**data, "stages": [*data["stages"], "junk"]}
    for body in (None, {"stages": []}, junk_stage):
        with pytest.raises(RecordError):
            read_summary(json.dumps(body).encode(), "drone-1")
    with pytest.raises(RecordError, match="does not match its folder"):
        read_summary(json.dumps(data).encode(), "drone-2")  # the dashboard answered for another run


def test_untrusted_text_is_one_line_in_a_code_span():
    keep = Redactor()
    assert text("a\nb  |c|", redact=keep) == "`a b |c|`"
    assert text("a|b", redact=keep, cell=True) == "`a\\|b`"
    assert text("<b>@x</b> #1 https://e.example", redact=keep) == "`<b>@x</b> #1 https://e.example`"
    assert text("", redact=keep) == "" and text(" \n ", redact=keep) == ""
    assert len(text("x" * 500, 50, redact=keep)) == 52


@pytest.mark.parametrize("quoted", ["x `y` z", "``a`` and `", "`edge", "edge`", "```"])
def test_backticks_in_untrusted_text_stay_inside_its_code_span(quoted):
    plain, spans = split_code(text(quoted, redact=Redactor()))
    assert plain == "" and spans == [quoted]


def test_direction_overrides_and_control_characters_are_shown_not_obeyed():
    shown = text("abc\u202edcba\u2066x\u2069\x1b[31m", redact=Redactor())
    assert shown == "`abc<U+202E>dcba<U+2066>x<U+2069>\ufffd[31m`"


def test_untrusted_text_is_masked_before_it_is_cut():
    secret = "0123456789abcdef0123"
    quoted = text("x" * 30 + secret, 40, redact=Redactor([secret]))
    assert "01234567" not in quoted and "[redacted]"[:9] in quoted


def test_the_redactor_masks_every_secret_longest_first():
    r = Redactor(("abcd1234", "abcd12345678", "no"))
    assert r("x abcd12345678 y abcd1234 no") == f"x {MASK} y {MASK} no"
