"""One phase of a stage's tests: pytest in a subprocess, into the run folder."""

from __future__ import annotations

from cc_ci.harness.suite import BUILTIN


def test_the_builtin_browser_check_is_where_install_and_upgrade_look_for_it():
    # run_phase leaves out paths that do not exist: a wrong BUILTIN silently drops the check
    assert (BUILTIN / "test_front_page.py").is_file()
