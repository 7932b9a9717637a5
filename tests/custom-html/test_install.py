"""A fresh custom-html serves its site from the content volume, over HTTPS."""

from __future__ import annotations

import secrets

ROOT = "/usr/share/nginx/html"


def test_the_front_page_is_served(app):
    r = app.get("/")
    assert r.status == 200
    assert "text/html" in r.headers.get("content-type", "")
    assert r.headers.get("server", "").startswith("nginx")


def test_the_served_root_is_the_content_volume(app):
    assert app.volume_path("content") == ROOT, "the site would not survive a redeploy"


def test_a_file_written_to_the_volume_is_served(app, put_file):
    body = f"volume-check {secrets.token_hex(8)}\n"
    put_file("cc-ci-probe.txt", body)
    r = app.get("/cc-ci-probe.txt")
    assert r.status == 200
    assert r.text == body


def test_a_missing_page_is_a_404(app):
    assert app.get(f"/no-such-page-{secrets.token_hex(4)}.html").status == 404


def test_a_page_from_the_volume_renders_in_a_browser(app, page, put_file, screenshot):
    marker = secrets.token_hex(6)
    put_file("cc-ci.html", f"<!doctype html><title>cc-ci</title><h1 id=m>marker {marker}</h1>\n")
    page.goto(app.url("/cc-ci.html"))
    assert page.locator("#m").inner_text() == f"marker {marker}"
    screenshot(page, "volume-page")
