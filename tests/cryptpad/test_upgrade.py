"""A marker in the data volume survives the upgrade, and the app still loads."""

from __future__ import annotations

import secrets

import pytest


@pytest.mark.seed
def test_seed_a_marker_in_the_data_volume(write_marker, read_marker, run_data):
    marker = secrets.token_hex(8)
    write_marker("cc-ci-marker.txt", marker + "\n")
    assert read_marker("cc-ci-marker.txt") == marker + "\n"
    run_data["marker"] = marker


def test_the_marker_survived_the_upgrade(read_marker, run_data):
    text = read_marker("cc-ci-marker.txt")
    assert text is not None, "the marker written before the upgrade is gone"
    assert text.strip() == run_data["marker"]


def test_the_public_config_still_names_both_origins(app, api_config, sandbox_domain):
    assert api_config["httpSafeOrigin"].rstrip("/") == f"https://{sandbox_domain}"
