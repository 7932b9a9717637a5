"""The dashboard in Chromium over real HTTP: what a visitor sees, clicks and gets.

Screenshots of each page land in build/test-artifacts/dashboard/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cc_ci.dashboard.tests.worlds import HOSTILE, World
from devworld.needs import needs

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    needs("playwright")
    chromium = needs("chromium")
    from playwright import sync_api as playwright

    with playwright.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser) -> Iterator:
    """A desktop-sized page that records console messages, dialogs and failed requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.problems = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: pg.problems.append(f"console {m.type}: {m.text}"))
    pg.on("dialog", lambda d: (pg.problems.append(f"dialog: {d.message}"), d.dismiss()))
    pg.on("pageerror", lambda e: pg.problems.append(f"page error: {e}"))
    pg.on(
        "requestfailed",
        # a navigation cancels images still loading on the page it leaves: not a failure
        lambda r: r.failure == "net::ERR_ABORTED"
        or pg.problems.append(f"request failed: {r.url} {r.failure}"),
    )
    yield pg
    context.close()


def test_a_visitor_clicks_from_the_overview_to_a_recipe_to_a_run_and_its_log(
    page, base: str, world: World, artifacts_dir: Path
):
    page.goto(base + "/")
    assert page.title() == "Recipes · cc-ci"
    summary = page.locator("p.summary").inner_text()
    assert "1 of 6 recipes pass everything" in summary and "3 unreadable run records" in summary
    firsts = page.locator("table.overview tbody tr > th").all_inner_texts()
    # unreadable records first (newest first), then error, failed, running, passed
    assert firsts == ["—", "keycloak", "—", *world.recipes]
    row = page.locator("tr", has=page.locator("a.recipe", has_text="custom-html"))
    marks = [t.strip() for t in row.locator("td.st .vh").all_inner_texts()]
    assert marks == [
        "install: passed",
        "upgrade: passed",
        "backup: passed",
        "recipe-local: passed",
    ]
    # the default branch's commit, not the newer PR #12 that failed
    assert row.locator("td[data-label=tested] a").get_attribute("href") == (
        "https://git.example.org/recipe-maintainers/custom-html/commit/"
        "0123456789abcdef0123456789abcdef01234567"
    )
    badge = row.locator("img.badge")
    badge.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=badge.element_handle()
    )
    page.screenshot(path=artifacts_dir / "overview.png", full_page=True)

    page.click("a.recipe:text-is('custom-html')")
    page.wait_for_url(base + "/recipes/custom-html")
    assert page.locator("h1").inner_text().startswith("custom-html")
    assert "Level 4 of 4" in page.locator("section.level-box").inner_text()
    runs = page.locator("table.history tbody tr > th").all_inner_texts()
    assert runs == ["drone-104-c1", "drone-103", "drone-102", "drone-101"]
    failed_upgrade = page.locator("table.history tr", has_text="drone-102")
    assert failed_upgrade.locator("td[data-label=upgrade] .vh").inner_text().strip() == (
        "upgrade: failed"
    )
    snippet = page.locator("pre.snippet").first.inner_text()
    assert snippet == f"[![cc-ci]({base}/badge/custom-html.svg)]({base}/recipes/custom-html)"
    page.screenshot(path=artifacts_dir / "recipe.png", full_page=True)

    page.click("table.history a:text-is('drone-103')")
    page.wait_for_url(base + "/runs/drone-103")
    facts = page.locator("dl.facts").inner_text()
    assert "the default branch, on the schedule" in facts and "0123456789abcdef" in facts
    install = page.locator("#stage-install")
    assert "4 passed, 0 failed, 0 errors, 1 skipped" in install.inner_text()
    assert "Last 40 of 120 lines" in install.inner_text()
    tail = install.locator(".log > pre").inner_text()
    assert tail.startswith("line 81: ok") and tail.rstrip().endswith(
        "line 120: ok deploying custom-html"
    )
    whole = install.locator("details pre")
    assert not whole.is_visible()
    install.locator("details summary").click()
    assert whole.is_visible() and whole.inner_text().startswith("line 1: ok")
    shot = install.locator(".shots img")
    shot.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete", arg=shot.element_handle())
    assert shot.evaluate("img => img.naturalWidth") == 160
    assert "clean" in page.locator("section.teardown h2").inner_text()
    page.screenshot(path=artifacts_dir / "run.png", full_page=True)

    page.click("a:text-is('raw install.log')")
    page.wait_for_url(base + "/runs/drone-103/install.log")
    assert page.locator("body").inner_text().startswith("line 1: \x1b[32mok")
    assert page.problems == []


def test_hostile_values_show_as_text_and_run_nothing(page, base: str, artifacts_dir: Path):
    page.goto(base + "/runs/drone-301")
    assert page.locator("script").count() == 0
    text = page.locator("main").inner_text()
    assert HOSTILE in text
    assert f"</pre>{HOSTILE}<script>alert(3)</script>" in text
    assert page.locator("a[href^='javascript'], a[href^='data']").count() == 0
    page.screenshot(path=artifacts_dir / "run-hostile.png", full_page=True)
    page.goto(base + "/recipes/evil")
    assert page.locator("script").count() == 0
    assert page.problems == [], page.problems  # no dialog opened, no blocked resource


def test_the_stylesheet_applies_under_the_content_security_policy(page, base: str):
    page.goto(base + "/")
    colour = page.locator("a.pill.s-passed").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(26, 127, 55)"
    assert page.problems == []


def test_an_unreadable_record_is_an_error_row_that_explains_itself(page, base: str):
    page.goto(base + "/")
    page.click("a:text-is('drone-902')")
    page.wait_for_url(base + "/runs/drone-902")
    assert "schema 2 is newer than this cc-ci reads (1)" in page.locator("main").inner_text()
    page.click("dd a:text-is('keycloak')")
    assert page.locator("h1").inner_text().startswith("keycloak")
    assert "unreadable" in page.locator("table.history").inner_text()


def test_the_overview_fits_a_phone_screen(browser, base: str, artifacts_dir: Path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    pg = context.new_page()
    try:
        for path, name in (
            ("/", "overview"),
            ("/recipes/custom-html", "recipe"),
            ("/runs/drone-103", "run"),
        ):
            pg.goto(base + path)
            width = pg.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width}px wide on a 390px screen"
            pg.screenshot(path=artifacts_dir / f"phone-{name}.png", full_page=True)
            if path == "/":
                card = pg.locator("tr", has=pg.locator("a.recipe", has_text="wordpress"))
                box = card.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
                assert card.locator("span.pill, a.pill").first.is_visible()
    finally:
        context.close()
