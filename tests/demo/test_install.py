"""A fresh deploy of the demo recipe serves its page from its volume, behind Traefik."""


def test_front_page_is_served_over_https_with_the_greeting(app):
    r = app.get("/")
    assert r.status == 200
    assert "hello from the cc-ci demo app" in r.text


def test_the_page_comes_from_the_content_volume(app):
    app.exec("sh", "-c", "echo volume-check > /data/probe.txt")
    assert app.get("/probe.txt").text.strip() == "volume-check"


def test_the_generated_admin_secret_reaches_the_app(app):
    assert len(app.secret("admin_password")) == 24


def test_the_page_renders_in_a_browser(app, page, screenshot):
    page.goto(app.url("/"))
    assert page.locator("h1").inner_text() == "hello from the cc-ci demo app"
    screenshot(page, "greeting")
