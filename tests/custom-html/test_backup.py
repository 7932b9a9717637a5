"""backup → mutate → restore brings the original page back."""

from __future__ import annotations

import pytest


@pytest.mark.seed
def test_write_the_original_page(app, put_file):
    put_file("cc-ci-state.txt", "original\n")
    assert app.get("/cc-ci-state.txt").text == "original\n"


@pytest.mark.mutate
def test_mutate_the_page_after_the_backup(app, put_file):
    put_file("cc-ci-state.txt", "mutated\n")
    assert app.get("/cc-ci-state.txt").text == "mutated\n"


def test_restore_brought_the_original_page_back(app):
    r = app.get("/cc-ci-state.txt")
    assert r.status == 200, "the page is gone after the restore"
    assert r.text == "original\n"
