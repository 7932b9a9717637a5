"""Flat, shields-style SVG badges whose widths fit their text. Pure.

Text is measured the way shields.io does it: from the advance widths of Verdana at 11 px,
so a badge is as wide as its words, not a fixed box. `textLength` pins the rendered text
to the measured width, so a viewer without Verdana still draws it inside the box.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from cc_ci.contract.record import RunStatus, StageStatus
from cc_ci.contract.stages import STAGES
from cc_ci.dashboard.summary import RecipeSummary

FONT_SIZE = 11
UNITS_PER_EM = 2048
PADDING = 5
"""Space left and right of each text, in pixels."""
HEIGHT = 20
LABEL = "cc-ci"

# Verdana's advance widths (font units, 2048 per em) for printable ASCII, space to tilde.
_ASCII_UNITS = tuple(
    int(n)
    for n in """
    720 806 940 1676 1302 2204 1488 550 930 930 1302 1676 745 930 745 930
    1302 1302 1302 1302 1302 1302 1302 1302 1302 1302 930 930 1676 1676 1676 1117
    2048 1400 1404 1430 1578 1295 1177 1588 1539 862 931 1419 1140 1726 1532 1612
    1235 1612 1424 1400 1262 1499 1400 2025 1403 1260 1403 930 930 930 1676 1302
    1302 1230 1276 1067 1276 1220 720 1276 1296 562 705 1212 562 1992 1296 1243
    1276 1276 874 1067 807 1296 1212 1676 1212 1212 1076 1300 930 1300 1676
    """.split()
)
_FALLBACK_UNITS = 1302  # a digit's width, for letters outside ASCII
_WIDE_UNITS = 2048  # East Asian wide and full-width characters


class Color:
    GREEN = "#4c1"
    RED = "#e05d44"
    ORANGE = "#fe7d37"
    BLUE = "#007ec6"
    YELLOW = "#dfb317"
    YELLOWGREEN = "#a4a61d"
    GREY = "#9f9f9f"
    LABEL = "#555"


@dataclass(frozen=True, slots=True)
class Badge:
    label: str
    message: str
    color: str


_RUN = {
    RunStatus.PASSED: Badge(LABEL, "passing", Color.GREEN),
    RunStatus.FAILED: Badge(LABEL, "failing", Color.RED),
    RunStatus.ERROR: Badge(LABEL, "error", Color.ORANGE),
    RunStatus.RUNNING: Badge(LABEL, "running", Color.BLUE),
}
_STAGE = {
    StageStatus.PASSED: ("passing", Color.GREEN),
    StageStatus.FAILED: ("failing", Color.RED),
    StageStatus.ERROR: ("error", Color.ORANGE),
    StageStatus.SKIPPED: ("skipped", Color.GREY),
}
UNKNOWN = Badge(LABEL, "unknown", Color.GREY)
NO_BRANCH_RUN = "no default-branch run"
"""What a recipe's badges say before its default branch has been run: a PR's result is never
shown in its place."""
_LEVEL_COLORS = (Color.RED, Color.ORANGE, Color.YELLOW, Color.YELLOWGREEN, Color.GREEN)


def char_width(ch: str) -> float:
    """Width in pixels of one character in Verdana 11px."""
    code = ord(ch)
    if 32 <= code < 127:
        units = _ASCII_UNITS[code - 32]
    elif unicodedata.combining(ch) or unicodedata.category(ch) in ("Cc", "Cf", "Mn"):
        units = 0
    elif unicodedata.east_asian_width(ch) in ("W", "F"):
        units = _WIDE_UNITS
    else:
        units = _FALLBACK_UNITS
    return units * FONT_SIZE / UNITS_PER_EM


def text_width(text: str) -> float:
    """Width in pixels of `text` in Verdana 11px (no kerning, like shields)."""
    return sum(char_width(ch) for ch in text)


def choose(summary: RecipeSummary | None, stage: str | None = None) -> Badge:
    """The badge for a recipe: its current run (the newest finished default-branch run), or
    one stage's result in that run.

    A README does not flip to "running" while a run is under way: the badge shows
    "running" only while the first default-branch run is, and before there is any it says
    "no default-branch run", whatever a PR's run said.
    """
    if stage is not None:
        label = f"{LABEL} {stage}"
        if stage not in STAGES:
            return UNKNOWN
        if summary is None:
            return Badge(label, "unknown", Color.GREY)
        if summary.current is None:
            return _before_branch_run(summary, label)
        result = summary.stage_result(stage)
        if result is None:
            return Badge(label, "not run", Color.GREY)
        message, color = _STAGE[result.status]
        return Badge(label, message, color)
    if summary is None or summary.latest is None:
        return UNKNOWN
    if summary.current is None:
        return _before_branch_run(summary, LABEL)
    return _RUN[summary.current.status]


def choose_level(summary: RecipeSummary | None) -> Badge:
    """The level badge: the level of the current run, as `n/4`."""
    label = f"{LABEL} level"
    if summary is None or summary.latest is None:
        return Badge(label, "unknown", Color.GREY)
    if summary.current is None:
        return _before_branch_run(summary, label)
    return Badge(label, f"{summary.level}/{len(STAGES)}", _LEVEL_COLORS[summary.level])


def choose_pr(summary: RecipeSummary | None, pr: int) -> Badge:
    """A pull request's badge: its newest finished run (running before any finished)."""
    label = f"{LABEL} PR #{pr}"
    run = summary.pr_run(pr) if summary is not None else None
    if run is None:
        return Badge(label, "no run", Color.GREY)
    return Badge(label, _RUN[run.status].message, _RUN[run.status].color)


def _before_branch_run(summary: RecipeSummary, label: str) -> Badge:
    if summary.branch_running is not None:
        return Badge(label, "running", Color.BLUE)
    return Badge(label, NO_BRANCH_RUN, Color.GREY)


@lru_cache(maxsize=256)
def render(badge: Badge) -> str:
    """The badge as a standalone SVG document."""
    label_w = math.ceil(text_width(badge.label)) + 2 * PADDING
    message_w = math.ceil(text_width(badge.message)) + 2 * PADDING
    total = label_w + message_w
    label = escape(badge.label, quote=True)
    message = escape(badge.message, quote=True)
    color = escape(badge.color, quote=True)
    title = f"{label}: {message}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{HEIGHT}" '
        f'role="img" aria-label="{title}"><title>{title}</title>'
        '<linearGradient id="s" x2="0" y2="100%">'
        '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="{HEIGHT}" rx="3" fill="#fff"/></clipPath>'
        '<g clip-path="url(#r)">'
        f'<rect width="{label_w}" height="{HEIGHT}" fill="{Color.LABEL}"/>'
        f'<rect x="{label_w}" width="{message_w}" height="{HEIGHT}" fill="{color}"/>'
        f'<rect width="{total}" height="{HEIGHT}" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        + _text(label_w / 2, badge.label, label)
        + _text(label_w + message_w / 2, badge.message, message)
        + "</g></svg>"
    )


def _text(x: float, raw: str, escaped: str) -> str:
    length = f"{text_width(raw):.1f}"
    return (
        f'<text x="{x:g}" y="15" fill="#010101" fill-opacity=".3" '
        f'textLength="{length}">{escaped}</text>'
        f'<text x="{x:g}" y="14" textLength="{length}">{escaped}</text>'
    )
