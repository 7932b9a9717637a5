"""docs/dashboard.md says what the code does: its snippets, levels and headers are the real ones."""

from __future__ import annotations

import re
from pathlib import Path

from cc_ci.dashboard.__main__ import _parser
from cc_ci.dashboard.server import CSP
from cc_ci.dashboard.summary import LEVEL_MEANING, MAX_LEVEL
from cc_ci.dashboard.views import badge_snippets

DOC = (Path(__file__).resolve().parents[3] / "docs" / "dashboard.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, re.S)


def test_the_badge_snippets_in_the_doc_are_the_ones_the_recipe_page_offers():
    offered = badge_snippets("custom-html", "https://ci.example.org")
    markdown = {md for _, md, _ in offered}
    html = {h for _, _, h in offered}
    (md_block,) = blocks("markdown")
    (html_block,) = blocks("html")
    assert set(md_block.strip().splitlines()) <= markdown
    assert set(html_block.strip().splitlines()) <= html


def test_the_doc_quotes_the_content_security_policy_actually_sent():
    assert f"`Content-Security-Policy: {CSP}`" in DOC


def test_the_doc_lists_every_level_and_every_option():
    rows = re.findall(r"^\| (\d) \|", DOC, re.M)
    assert (
        rows
        == [str(n) for n in range(MAX_LEVEL + 1)]
        == [str(n) for n in range(len(LEVEL_MEANING))]
    )
    for action in _parser()._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                assert f"`{flag}" in DOC, flag
