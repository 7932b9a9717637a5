"""The pages as HTML: hostile values stay text, links go only where they should, logs read well."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cc_ci.contract.record import RunRecord
from cc_ci.dashboard.index import Index
from cc_ci.dashboard.logs import TAIL_LINES, clean, excerpt_from_bytes, read_excerpt
from cc_ci.dashboard.markup import ago, duration, safe_url
from cc_ci.dashboard.paths import resolve_inside
from cc_ci.dashboard.runpage import run_page
from cc_ci.dashboard.tests.worlds import HOSTILE, World, demo_world
from cc_ci.dashboard.views import badge_snippets, overview_page, recipe_page


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def attrs(self, name: str) -> list[str]:
        return [a[name] for _, a in self.tags if a.get(name) is not None]


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    world: World = demo_world(tmp_path_factory.mktemp("w") / "results")
    snap = Index(world.results).snapshot()
    now = world.now
    opts = {"forge": "https://git.example.org", "stylesheet": "/static/style.css"}
    out = {"overview": overview_page(snap.rows, snap.counts, now, **opts)}
    for recipe, summary in snap.summaries.items():
        out[f"recipe:{recipe}"] = recipe_page(summary, now, base="https://ci.example.org", **opts)
    for run_id, item in snap.runs.items():
        if isinstance(item, RunRecord):
            paths = [s.log for s in item.stages if s.log]
            if item.teardown and item.teardown.log:
                paths.append(item.teardown.log)
            logs = {
                p: read_excerpt(resolve_inside(Index(world.results).root, run_id, p), p)
                for p in paths
            }
            out[f"run:{run_id}"] = run_page(item, logs, now, **opts)
    return out


def test_hostile_values_never_become_markup_on_any_page(pages):
    for name, html in pages.items():
        parsed = Tags(html)
        tags = {t for t, _ in parsed.tags}
        assert "script" not in tags, name
        assert not [a for _, attrs in parsed.tags for a in attrs if a.startswith("on")], name
        for tag, attrs in parsed.tags:
            if tag == "img":
                assert attrs["src"].startswith("/"), (name, attrs)


def test_hostile_values_are_shown_as_the_text_they_are(pages):
    text = "".join(Tags(pages["run:drone-301"]).text)
    assert HOSTILE in text  # the message, the repo, the trigger, the leftovers
    assert f"</pre>{HOSTILE}<script>alert(3)</script>" in text  # the log
    assert "screenshots/x\"'<b>.png" in text


def test_links_lead_only_to_the_dashboard_or_to_http_urls(pages):
    for name, html in pages.items():
        for href in Tags(html).attrs("href"):
            assert href.startswith("/") or href.startswith(("http://", "https://")), (name, href)
            assert not href.startswith("//"), (name, href)


def test_a_javascript_url_in_a_record_is_shown_but_not_linked(pages):
    parsed = Tags(pages["run:drone-301"])
    assert not [h for h in parsed.attrs("href") if "javascript" in h.lower() or "data:" in h]


def test_a_screenshot_path_with_quotes_is_linked_percent_encoded(pages):
    srcs = Tags(pages["run:drone-301"]).attrs("src")
    assert "/runs/drone-301/screenshots/x%22%27%3Cb%3E.png" in srcs


def test_the_run_page_shows_source_trigger_and_stage_facts(pages):
    parsed = Tags(pages["run:drone-103"])
    text = " ".join(parsed.text)
    assert "4 passed, 0 failed, 0 errors, 1 skipped" in text
    pr_run = Tags(pages["run:drone-104-c1"])
    assert "decentral1se" in " ".join(pr_run.text)
    assert "https://git.example.org/recipe-maintainers/custom-html/pulls/12" in pr_run.attrs("href")
    hrefs = parsed.attrs("href")
    assert (
        "https://git.example.org/recipe-maintainers/custom-html/commit/"
        "0123456789abcdef0123456789abcdef01234567" in hrefs
    )
    assert "/runs/drone-103/install.log" in hrefs
    assert "/runs/drone-103/screenshots/install-front.png" in parsed.attrs("src")


def test_a_long_log_shows_its_tail_and_folds_the_whole(pages):
    html = pages["run:drone-103"]
    assert f"Last {TAIL_LINES} of 120 lines" in html
    assert "<details><summary>Whole log (120 lines" in html
    tail_start = html.index("Last 40 of 120 lines")
    shown = html[tail_start : html.index("<details>", tail_start)]
    assert "line 120:" in shown and "line 81:" in shown and "line 80:" not in shown


def test_the_recipe_page_states_the_level_and_offers_badge_snippets(pages):
    html = pages["recipe:custom-html"]
    assert "Level 4 of 4" in html
    # from one run, the newest finished default-branch one, not the newer PR's
    level_box = html[html.index('class="level-box"') : html.index("</section>")]
    assert "/runs/drone-103" in level_box and "drone-104-c1" not in level_box
    assert (
        "[![cc-ci](https://ci.example.org/badge/custom-html.svg)](https://ci.example.org/recipes/custom-html)"
        in html
    )
    assert "level 1/4" in pages["recipe:wordpress"]


def test_the_recipe_page_marks_each_run_by_what_it_was_for(pages):
    text = " ".join(Tags(pages["recipe:custom-html"]).text)
    assert "PR #12" in text and "default branch" in text
    assert (
        "https://ci.example.org/badge/custom-html/pr/&lt;n&gt;.svg" in pages["recipe:custom-html"]
    )
    ghost = pages["recipe:ghost"]
    assert "No level yet" in ghost and "no level yet" in ghost


def test_the_overview_shows_the_default_branch_not_the_newest_pr(pages):
    html = pages["overview"]
    row = html[html.index('href="/recipes/custom-html"') :]
    row = row[: row.index("</tr>")]
    assert "/runs/drone-103" in row and "drone-104-c1" not in row
    ghost = html[html.index('href="/recipes/ghost"') :]
    assert "no default-branch run" in ghost[: ghost.index("</tr>")]


def test_badge_snippets_name_each_badge_with_an_absolute_url():
    snippets = badge_snippets("custom-html", "https://ci.example.org")
    assert [s[0] for s in snippets] == [
        None,
        "level",
        "install",
        "upgrade",
        "backup",
        "recipe-local",
    ]
    assert snippets[1][1] == (
        "[![cc-ci level](https://ci.example.org/badge/custom-html/level.svg)]"
        "(https://ci.example.org/recipes/custom-html)"
    )
    md, html = snippets[3][1], snippets[3][2]
    assert md == (
        "[![cc-ci upgrade](https://ci.example.org/badge/custom-html/upgrade.svg)]"
        "(https://ci.example.org/recipes/custom-html)"
    )
    assert html == (
        '<a href="https://ci.example.org/recipes/custom-html"><img '
        'src="https://ci.example.org/badge/custom-html/upgrade.svg" alt="cc-ci upgrade"></a>'
    )


def test_the_overview_summary_line_counts_what_passes(pages):
    text = "".join(Tags(pages["overview"]).text)
    assert "1 of 6 recipes pass everything" in text
    assert "1 with no default-branch run" in text
    assert "3 unreadable run records" in text


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://git.example.org/a/b/pulls/1", True),
        ("http://localhost:3000/x", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//evil.example/", False),
        ("/relative", False),
        ("https://", False),
        ("https://a.example/ x", False),
        ("https://a.example/\nx", False),
        ("", False),
        (None, False),
    ],
)
def test_only_absolute_http_urls_are_linked(url, ok):
    assert safe_url(url) == (url if ok else None)


def test_terminal_colours_and_control_characters_are_cleaned_from_logs():
    assert (
        clean("\x1b[32mok\x1b[0m\r\nnext\x07 line\x00\tx\rprogress") == "ok\nnext line\tx\nprogress"
    )


def test_a_short_log_is_shown_whole_without_folding():
    ex = excerpt_from_bytes("a.log", b"one\ntwo\n", 8)
    assert (ex.tail, ex.lines, ex.folded) == ("one\ntwo", 2, False)


def test_a_huge_log_offers_only_its_tail(tmp_path: Path):
    big = tmp_path / "big.log"
    big.write_bytes(b"".join(b"line %d\n" % i for i in range(200_000)))
    ex = read_excerpt(big, "big.log")
    assert ex.whole is None and ex.folded
    assert ex.tail.splitlines()[-1] == "line 199999"
    assert len(ex.tail.splitlines()) == TAIL_LINES


def test_a_huge_log_of_one_long_line_still_shows_its_end(tmp_path: Path):
    big = tmp_path / "one-line.log"
    big.write_bytes(b"x" * 1_000_000 + b" END\n")
    ex = read_excerpt(big, "one-line.log")
    assert ex.tail.endswith("x END")


def test_a_missing_log_says_so():
    assert read_excerpt(None, "gone.log").found is False


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (4.25, "4.2 s"), (124, "2 min 04 s"), (3725, "1 h 02 min")],
)
def test_durations_read_like_a_person_would_say_them(seconds, text):
    assert duration(seconds) == text


def test_times_read_relative_to_now():
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert ago(now - timedelta(seconds=20), now) == "just now"
    assert ago(now - timedelta(minutes=5), now) == "5 min ago"
    assert ago(now - timedelta(hours=3), now) == "3 h ago"
    assert ago(now - timedelta(days=1), now) == "1 day ago"
    assert ago(now - timedelta(days=40), now) == "2026-10-14"


def test_the_run_page_names_each_upgrades_base_its_repository_and_the_repro_line():
    from cc_ci.contract.record_read import parse_record
    from cc_ci.dashboard.tests.worlds import record, stage

    details = {
        "from": "1.1.0+1.1",
        "from_repo": "recipe-maintainers/demo",
        "from_commit": "ab" * 20,
    }
    rec = record(
        "r1",
        "demo",
        stages=[stage("install"), stage("upgrade from 1.1.0+1.1", details=details)],
        repro="cc-ci-run demo --repo recipe-maintainers/demo --src mallory/demo --ref 9f2c --pr 7",
        pr=7,
    )
    rec["source"] |= {"repo": "mallory/demo", "base_repo": "recipe-maintainers/demo"}
    html = run_page(
        parse_record(rec, "r1"),
        {},
        datetime(2026, 11, 24, tzinfo=UTC),
        forge="https://git.example.org",
        stylesheet="/s.css",
    )
    parsed = Tags(html)
    text = " ".join(" ".join(parsed.text).split())
    assert (
        "Upgraded from <b>1.1.0+1.1</b> of recipe-maintainers/demo"
        ' at <span class="sha">abababababab</span>' in html
    )
    assert (
        "cc-ci-run demo --repo recipe-maintainers/demo --src mallory/demo --ref 9f2c --pr 7" in text
    )
    assert "stage-upgrade-from-1.1.0+1.1" in parsed.attrs("id")
    hrefs = parsed.attrs("href")
    # the PR and the base are the recipe's own repository's; the head is the fork's
    assert "https://git.example.org/recipe-maintainers/demo/pulls/7" in hrefs
    assert "https://git.example.org/recipe-maintainers/demo" in hrefs
    assert "https://git.example.org/mallory/demo" in hrefs


def test_the_upgrade_stage_shows_its_release_repository_and_changes_as_text():
    from cc_ci.dashboard.runpage import upgrade_facts

    details = {
        "from": "1.0.0+1.22.1",
        "from_repo": "replica/<b>custom-html",
        "to": "f" * 40,
        "proved": False,
        "services": [
            {"service": "app", "changes": [
                {"kind": "image", "name": "", "from": "nginx:1.22", "to": "nginx:1.26"},
                {"kind": "env", "name": "GZIP", "from": None, "to": "set"},
            ]},
            {"service": "db", "changes": []},
            "junk",
        ],
        "mismatches": ["app: runs image <x>"],
        "stale_tasks": "not a list",
    }  # fmt: skip
    html = upgrade_facts(details)
    assert "Upgraded from <b>1.0.0+1.22.1</b> of replica/&lt;b&gt;custom-html" in html
    assert "ffffffffffff</span>" in html and "f" * 13 not in html
    assert "image: nginx:1.22 → nginx:1.26; env GZIP: (none) → set" in html
    assert "<li>db: unchanged</li>" in html
    assert "not as asked: app: runs image &lt;x&gt;" in html
    assert upgrade_facts(None) == "" and upgrade_facts({"x": 1}) == ""
