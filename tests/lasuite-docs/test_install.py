"""A fresh lasuite-docs serves its frontend and its API, and keeps documents."""

from __future__ import annotations

import json
import secrets


def test_the_front_page_is_served(app):
    r = app.get("/")
    assert r.status == 200
    assert "text/html" in r.headers.get("content-type", "")


def test_the_public_api_config_answers(app):
    # Throttled (30 a minute by default): called once, never polled.
    r = app.get("/api/v1.0/config/")
    assert r.status == 200
    assert isinstance(json.loads(r.text), dict)


def test_the_api_refuses_an_anonymous_document(app):
    r = app.post("/api/v1.0/documents/", json_body={"title": "anonymous"})
    assert r.status in (401, 403)


def test_a_document_created_through_the_api_reads_back(docs):
    title = f"ci-{secrets.token_hex(4)}"
    doc_id = docs.create_document(title)
    r = docs.document(doc_id)
    assert r.status == 200
    assert json.loads(r.text)["title"] == title


def test_the_frontend_renders_in_a_browser(app, page, screenshot):
    page.goto(app.url("/"))
    page.wait_for_load_state("networkidle")
    assert page.title()
    screenshot(page, "home")
