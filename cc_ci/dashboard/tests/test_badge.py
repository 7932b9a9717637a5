"""Badges: the right words and colour for a recipe, and an SVG whose boxes fit the words."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from cc_ci.contract.record_read import parse_record
from cc_ci.dashboard import badge
from cc_ci.dashboard.badge import (
    NO_BRANCH_RUN,
    PADDING,
    Badge,
    Color,
    choose,
    choose_level,
    choose_pr,
    render,
    text_width,
)
from cc_ci.dashboard.summary import summarize
from cc_ci.dashboard.tests.worlds import ALL, record, stage

NS = {"svg": "http://www.w3.org/2000/svg"}
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def summary_of(*runs: dict):
    return summarize("app", [parse_record(r, r["run_id"]) for r in runs])


def boxes(svg: str) -> tuple[int, list[tuple[float, float]], list[tuple[float, float, str]]]:
    """(total width, [(x, width) of the two coloured rects], [(x, textLength, text)])."""
    root = ET.fromstring(svg)
    rects = root.findall("svg:g/svg:rect", NS)[:2]
    spans = [(0.0, float(rects[0].get("width")))]
    spans.append((float(rects[1].get("x")), float(rects[1].get("width"))))
    texts = [
        (float(t.get("x")), float(t.get("textLength")), t.text or "")
        for t in root.findall("svg:g/svg:text", NS)
    ]
    return int(root.get("width")), spans, texts


def test_the_width_table_covers_every_printable_ascii_character():
    assert len(badge._ASCII_UNITS) == 127 - 32
    assert text_width("i") < text_width("n") < text_width("m") < text_width("W") + 1
    assert text_width("passing") == pytest.approx(41.75, abs=0.01)  # Verdana 11px metrics


def test_characters_outside_ascii_still_take_room_and_wide_ones_more():
    assert text_width("é") > 0
    assert text_width("漢") > text_width("é")
    assert text_width("e\u0301") == pytest.approx(text_width("e"))  # a combining accent


@pytest.mark.parametrize(
    "b",
    [
        Badge("cc-ci", "passing", Color.GREEN),
        Badge("cc-ci recipe-local", "failing", Color.RED),
        Badge("cc-ci", "unknown", Color.GREY),
        Badge("WWWWWWWWWWWWW", "iiii", Color.BLUE),
    ],
)
def test_each_half_of_the_badge_is_exactly_its_text_plus_padding(b):
    total, spans, texts = boxes(render(b))
    (lx, lw), (mx, mw) = spans
    assert lx == 0 and mx == lw and total == lw + mw
    for (x0, w), word in ((spans[0], b.label), (spans[1], b.message)):
        measured = text_width(word)
        assert measured + 2 * PADDING <= w < measured + 2 * PADDING + 1
        centred = [t for t in texts if t[2] == word]
        assert len(centred) == 2  # the text and its shadow
        for x, length, _ in centred:
            assert x == pytest.approx(x0 + w / 2)
            assert length == pytest.approx(measured, abs=0.05)


def test_a_longer_message_makes_a_wider_badge():
    short = boxes(render(Badge("cc-ci", "error", Color.ORANGE)))[0]
    long = boxes(render(Badge("cc-ci", "passing", Color.GREEN)))[0]
    assert long > short


def test_badge_text_is_escaped_and_the_svg_stays_well_formed():
    hostile = "<script>\"'&"
    svg = render(Badge(hostile, hostile, Color.RED))
    root = ET.fromstring(svg)
    assert "<script>" not in svg
    assert {t.text for t in root.findall("svg:g/svg:text", NS)} == {hostile}
    assert root.get("aria-label") == f"{hostile}: {hostile}"


def test_an_unknown_recipe_gets_the_grey_unknown_badge():
    assert choose(None) == Badge("cc-ci", "unknown", Color.GREY)
    assert choose(None, "install") == Badge("cc-ci install", "unknown", Color.GREY)


def test_an_unknown_stage_gets_the_grey_unknown_badge_without_repeating_it():
    s = summary_of(record("r1", "app"))
    assert choose(s, "<script>") == Badge("cc-ci", "unknown", Color.GREY)


@pytest.mark.parametrize(
    ("status", "message", "color"),
    [
        ("passed", "passing", Color.GREEN),
        ("failed", "failing", Color.RED),
        ("error", "error", Color.ORANGE),
    ],
)
def test_the_overall_badge_shows_the_latest_run(status, message, color):
    s = summary_of(
        record("r1", "app", started=T0),
        record("r2", "app", started=T0 + timedelta(hours=1), status=status),
    )
    assert choose(s) == Badge("cc-ci", message, color)


def test_a_run_in_progress_does_not_replace_the_badge_of_the_last_finished_run():
    s = summary_of(
        record("r1", "app", started=T0, status="failed"),
        record("r2", "app", started=T0 + timedelta(hours=1), status="running"),
    )
    assert choose(s).message == "failing"
    only_running = summary_of(record("r3", "app", status="running"))
    assert choose(only_running) == Badge("cc-ci", "running", Color.BLUE)


def test_a_stage_badge_shows_that_stage_in_the_current_run_only():
    s = summary_of(
        record("r1", "app", started=T0),
        record(
            "r2",
            "app",
            started=T0 + timedelta(hours=1),
            status="failed",
            stages=[stage("install"), stage("upgrade", "failed"), stage("backup", "skipped")],
        ),
    )
    assert choose(s, "install") == Badge("cc-ci install", "passing", Color.GREEN)
    assert choose(s, "upgrade") == Badge("cc-ci upgrade", "failing", Color.RED)
    assert choose(s, "backup") == Badge("cc-ci backup", "skipped", Color.GREY)
    # r2 did not plan it: r1's pass is another commit's, and does not count
    assert choose(s, "recipe-local") == Badge("cc-ci recipe-local", "not run", Color.GREY)
    assert set(ALL) == {"install", "upgrade", "backup", "recipe-local"}


def test_a_red_pr_run_does_not_turn_the_readme_badge_red():
    s = summary_of(
        record("b1", "app", started=T0),
        record(
            "p1",
            "app",
            started=T0 + timedelta(hours=2),
            status="failed",
            pr=9,
            stages=[stage(n, "failed") for n in ALL],
        ),
    )
    assert choose(s) == Badge("cc-ci", "passing", Color.GREEN)
    assert choose(s, "install") == Badge("cc-ci install", "passing", Color.GREEN)
    assert choose_level(s) == Badge("cc-ci level", "4/4", Color.GREEN)
    # the PR has its own badge, and it is red
    assert choose_pr(s, 9) == Badge("cc-ci PR #9", "failing", Color.RED)
    assert choose_pr(s, 10) == Badge("cc-ci PR #10", "no run", Color.GREY)


def test_before_any_default_branch_run_the_badges_say_so_not_a_prs_result():
    s = summary_of(record("p1", "app", status="passed", pr=9))
    for chosen in (choose(s), choose(s, "install"), choose_level(s)):
        assert (chosen.message, chosen.color) == (NO_BRANCH_RUN, Color.GREY)
    assert choose_pr(s, 9).message == "passing"
    first = summary_of(record("b1", "app", status="running"), record("p1", "app", pr=9))
    assert choose(first).message == choose_level(first).message == "running"


@pytest.mark.parametrize(
    ("statuses", "message", "color"),
    [
        (("failed",), "0/4", Color.RED),
        (("passed", "failed"), "1/4", Color.ORANGE),
        (("passed", "passed", "error"), "2/4", Color.YELLOW),
        (("passed", "passed", "passed", "skipped"), "3/4", Color.YELLOWGREEN),
        (("passed",) * 4, "4/4", Color.GREEN),
    ],
)
def test_the_level_badge_is_the_current_runs_level(statuses, message, color):
    stages = [stage(n, st) for n, st in zip(ALL, statuses, strict=False)]
    s = summary_of(
        record("b1", "app", stages=stages, status="failed" if "failed" in statuses else "passed")
    )
    assert choose_level(s) == Badge("cc-ci level", message, color)
    assert choose_level(None) == Badge("cc-ci level", "unknown", Color.GREY)
