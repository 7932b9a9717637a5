"""Data written on the previous release survives the upgrade to the PR head."""

import secrets

import pytest


@pytest.mark.seed
def test_seed_a_marker_on_the_previous_release(app, run_data):
    run_data["version_before"] = app.get("/app-version.txt").text.strip()
    marker = secrets.token_hex(8)
    app.exec("sh", "-c", f"echo {marker} > /data/marker.txt")
    run_data["marker"] = marker


def test_the_app_runs_a_newer_version_than_before(app, run_data):
    now = app.get("/app-version.txt").text.strip()
    assert now != run_data["version_before"], f"still {now} after the upgrade"


def test_the_marker_survived_the_upgrade(app, run_data):
    r = app.get("/marker.txt")
    assert r.status == 200, "the marker written before the upgrade is gone"
    assert r.text.strip() == run_data["marker"]
