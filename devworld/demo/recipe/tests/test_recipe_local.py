"""The demo recipe's own tests: shipped in the recipe, run by cc-ci's recipe-local stage."""

import os


def test_cc_ci_tells_the_recipe_where_its_app_lives():
    assert os.environ["CCCI_BASE_URL"] == "https://" + os.environ["CCCI_APP_DOMAIN"]


def test_the_app_serves_its_front_page(app):
    r = app.get("/")
    assert r.status == 200
    assert "cc-ci demo" in r.text


def test_the_front_page_renders_in_a_browser(page, base_url, screenshot):
    page.goto(base_url + "/")
    assert "cc-ci demo" in page.locator("h1").inner_text()
    screenshot(page, "front")
