"""A page written on the previous release is still served after the upgrade, and the
upgrade changed the nginx that serves it."""

from __future__ import annotations

import secrets

import pytest


@pytest.mark.seed
def test_seed_a_marker_page_on_the_previous_release(app, run_data, put_file):
    marker = secrets.token_hex(8)
    put_file("cc-ci-marker.txt", marker + "\n")
    assert app.get("/cc-ci-marker.txt").text.strip() == marker
    run_data["marker"] = marker
    run_data["server_before"] = app.get("/").headers.get("server", "")


def test_the_marker_page_survived_the_upgrade(app, run_data):
    r = app.get("/cc-ci-marker.txt")
    assert r.status == 200, "the page written before the upgrade is gone"
    assert r.text.strip() == run_data["marker"]


def test_the_site_still_answers_after_the_upgrade(app):
    assert app.get("/").status == 200


def test_nginx_was_upgraded(app, run_data, upgraded_from):
    before, after = run_data["server_before"], app.get("/").headers.get("server", "")
    print(f"server: {before!r} ({upgraded_from}) → {after!r}")
    assert before.startswith("nginx/"), f"{upgraded_from} served no nginx version: {before!r}"
    assert after != before, f"still {after!r}, as in {upgraded_from}: nginx was not upgraded"
