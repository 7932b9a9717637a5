"""A fresh cryptpad serves its UI on the main domain, its sandbox on the sandbox domain, and
says so in its public config."""

from __future__ import annotations

import secrets

from playwright.sync_api import expect


def test_the_front_page_is_served(app):
    r = app.get("/")
    assert r.status == 200
    assert "text/html" in r.headers.get("content-type", "")


def test_the_public_config_names_both_origins(app, api_config, sandbox_domain):
    assert api_config["httpUnsafeOrigin"].rstrip("/") == f"https://{app.domain}"
    assert api_config["httpSafeOrigin"].rstrip("/") == f"https://{sandbox_domain}"


def test_the_datastore_is_not_served(app):
    assert app.get("/datastore/").status in (403, 404)


def test_the_data_volume_is_mounted_and_writable(write_marker, read_marker):
    text = f"probe {secrets.token_hex(6)}\n"
    write_marker("cc-ci-probe.txt", text)
    assert read_marker("cc-ci-probe.txt") == text


def test_the_app_loads_in_the_browser_with_its_sandbox(app, page, sandbox_domain, screenshot):
    page.goto(app.url("/drive/"))
    sandbox = f"https://{sandbox_domain}"
    frame = page.locator("iframe#sbox-iframe")
    expect(frame).to_have_count(1, timeout=60_000)
    assert (frame.get_attribute("src") or "").startswith(sandbox)
    inner = page.frame_locator("iframe#sbox-iframe")
    expect(inner.locator("body")).to_be_visible(timeout=60_000)
    screenshot(page, "drive")


def test_the_sandbox_domain_serves_the_app_too(page, sandbox_domain, screenshot):
    response = page.goto(f"https://{sandbox_domain}/")
    assert response is not None and response.status < 400
    screenshot(page, "sandbox")
