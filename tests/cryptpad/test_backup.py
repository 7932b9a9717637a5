"""backup → mutate → restore: the data volume's marker is back as it was."""

from __future__ import annotations

import pytest


@pytest.mark.seed
def test_write_the_original(write_marker):
    write_marker("cc-ci-state.txt", "original\n")


@pytest.mark.mutate
def test_mutate_after_the_backup(write_marker, read_marker):
    write_marker("cc-ci-state.txt", "mutated\n")
    assert read_marker("cc-ci-state.txt") == "mutated\n"


def test_restore_brought_the_original_back(read_marker):
    assert read_marker("cc-ci-state.txt") == "original\n"
