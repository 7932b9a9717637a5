"""backup → mutate → restore brings the original data back."""

import pytest


@pytest.mark.seed
def test_write_the_original(app):
    app.exec("sh", "-c", "echo original > /data/state.txt")


@pytest.mark.mutate
def test_mutate_after_the_backup(app):
    app.exec("sh", "-c", "echo mutated > /data/state.txt")
    assert app.get("/state.txt").text.strip() == "mutated"


def test_restore_brought_the_original_back(app):
    assert app.get("/state.txt").text.strip() == "original"
