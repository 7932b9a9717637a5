"""One phase of a stage's tests: pytest in a subprocess, into the run folder."""

from __future__ import annotations

import io
from pathlib import Path

from cc_ci.contract.record import Counts
from cc_ci.harness.suite import BUILTIN, run_phase
from cc_ci.suite.context import SuiteContext


def context(run_dir: Path) -> SuiteContext:
    return SuiteContext(
        recipe="demo",
        domain="demo-1a2b3c.ci.test",
        stack="demo-1a2b3c_ci_test",
        base_url="https://demo-1a2b3c.ci.test",
        zone="ci.test",
        stage="install",
        phase="verify",
        resolve_to="127.0.0.1",
        ca_file=None,
        cert_spki=None,
        artifacts_dir=str(run_dir / "screenshots"),
        run_dir=str(run_dir),
        data_file=str(run_dir / "data.json"),
        env_file=str(run_dir / "app.env"),
        health_path="/",
        health_ok=(200,),
        main_service="app",
        front_page="/",
    )


def phase(tmp_path: Path, test: str, timeout: float = 120):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_x.py").write_text(test)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    log = io.StringIO()
    junit = run_dir / "install.verify.junit.xml"
    return run_phase(context(run_dir), [suite / "test_x.py"], None, junit, log, timeout), log


def test_the_builtin_browser_check_is_where_install_and_upgrade_look_for_it():
    # run_phase leaves out paths that do not exist: a wrong BUILTIN silently drops the check
    assert (BUILTIN / "test_front_page.py").is_file()


def test_a_failing_test_fails_the_phase_with_its_counts(tmp_path: Path):
    result, _ = phase(tmp_path, "def test_a():\n    pass\n\n\ndef test_b():\n    assert 0\n")
    assert (result.returncode, result.counts) == (1, Counts(passed=1, failed=1))
    assert result.failed and result.message == "tests failed"


def test_a_phase_that_outlasts_its_timeout_is_killed_and_says_so(tmp_path: Path):
    result, log = phase(tmp_path, "import time\n\n\ndef test_s():\n    time.sleep(60)\n", 2)
    assert result.failed and result.counts.errors == 1
    assert result.message == "pytest timed out after 2s"
    assert "pytest timed out after 2s" in log.getvalue()
