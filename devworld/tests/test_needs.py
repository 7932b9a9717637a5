"""The one rule for a missing part (devworld/needs.py): under CI=true a test that needs what
scripts/bootstrap builds fails naming the step; elsewhere it skips naming it; what bootstrap
cannot bring is a skip that says why, everywhere. And no test skips any other way."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from devworld.needs import COMPONENTS, Component, Verdict, decide, needs, under_ci

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = (ROOT / "scripts" / "bootstrap").read_text()
VERSIONS = (ROOT / "scripts" / "versions.sh").read_text()

BUILT = Component("gitea", "Gitea 1.26", lambda: None, "go_tool gitea (build_gitea)")
UNBUILDABLE = Component("abra", "abra", lambda: None, None, "the Go module proxy refuses it")


def test_a_part_that_is_there_is_used():
    assert decide(BUILT, True, ci=True) == (Verdict.PRESENT, "")
    assert decide(UNBUILDABLE, True, ci=False) == (Verdict.PRESENT, "")


def test_under_ci_a_missing_part_bootstrap_builds_fails_naming_the_step():
    verdict, why = decide(BUILT, False, ci=True)
    assert verdict is Verdict.FAIL
    assert "missing under CI=true" in why and "go_tool gitea (build_gitea)" in why


def test_outside_ci_a_missing_part_is_skipped_naming_the_step_that_brings_it():
    verdict, why = decide(BUILT, False, ci=False)
    assert verdict is Verdict.SKIP
    assert "run scripts/bootstrap (its step go_tool gitea (build_gitea) brings it)" in why


@pytest.mark.parametrize("ci", [True, False])
def test_a_part_bootstrap_cannot_bring_is_a_skip_that_says_why_even_under_ci(ci):
    verdict, why = decide(UNBUILDABLE, False, ci=ci)
    assert verdict is Verdict.SKIP
    assert "scripts/bootstrap cannot bring it: the Go module proxy refuses it" in why


def test_ci_means_the_ci_variable_set_to_true():
    assert under_ci({"CI": "true"}) and under_ci({"CI": "TRUE"})
    assert not under_ci({}) and not under_ci({"CI": "1"}) and not under_ci({"CI": "false"})


def test_needs_fails_or_skips_the_calling_test_and_returns_where_the_part_is(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="step go_tool gitea"):
        needs("gitea", found=False)
    with pytest.raises(pytest.skip.Exception, match="cannot bring it"):
        needs("abra", found=False)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="run scripts/bootstrap"):
        needs("gitea", found=False)
    assert needs("gitea", found="/opt/gitea") == "/opt/gitea"
    assert needs("sh") == COMPONENTS["sh"].find()
    with pytest.raises(ValueError, match="known components are gitea"):
        needs("gittea")


def test_every_step_named_is_a_step_of_scripts_bootstrap():
    functions = set(re.findall(r"^([a-z_]+)\(\) \{", BOOTSTRAP, re.M))
    packages = set(re.search(r"DEBIAN_PACKAGES=\(([^)]*)\)", VERSIONS, re.S).group(1).split())
    for c in COMPONENTS.values():
        if c.step is None:
            assert c.cannot, c.name
            continue
        function, _, detail = c.step.partition(" ")
        assert function in functions, (c.name, c.step)
        if function in ("go_tool", "vendor_go_tool"):
            name, built_by = re.fullmatch(r"(\S+) \((\S+)\)", detail).groups()
            assert f"{function} {name} " in BOOTSTRAP and built_by in functions, c.step
        if function == "apt_packages" and detail != "(the base system)":
            assert detail.strip("()") in packages, c.step


def test_the_parts_bootstrap_cannot_bring_are_the_ones_it_says_it_cannot():
    assert {c.name for c in COMPONENTS.values() if c.step is None} == {"abra"}
    assert "UNAVAILABLE abra" in BOOTSTRAP


def run_pytest(tmp_path: Path, body: str, ci: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_x.py"
    test.write_text(body)
    env = {"PATH": "/usr/bin:/bin", "CI": ci, "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"]
        + ["-p", "devworld.needs", "-c", str(tmp_path / "none.ini"), str(test)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )


MARKED = """
import pytest
pytestmark = pytest.mark.needs("gitea", found=False)
def test_it():
    pass
"""


def test_the_needs_marker_fails_under_ci_and_skips_elsewhere_in_a_real_pytest(tmp_path):
    (tmp_path / "none.ini").write_text("[pytest]\nmarkers =\n  needs: parts\n")
    failed = run_pytest(tmp_path, MARKED, "true")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "ERROR" in failed.stdout and "step go_tool gitea (build_gitea)" in failed.stdout
    skipped = run_pytest(tmp_path, MARKED, "")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "SKIPPED" in skipped.stdout and "run scripts/bootstrap" in skipped.stdout


SKIPS = re.compile(r"pytest\.skip\(|\.skipif\(|importorskip\(|pytest\.mark\.skip\b")
WORLD_STATE_SKIPS = {
    # not a missing part: the shared swarm runs a backupbot, so the premise of the test
    # (no backupbot anywhere) does not hold here
    "devworld/tests/test_abrasim.py": 'pytest.skip("a backupbot service is deployed on this swarm")',
}


def test_no_test_skips_but_through_needs():
    found = {}
    for path in sorted(ROOT.glob("**/*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "build/")) or rel in (
            "devworld/needs.py",
            "devworld/tests/test_needs.py",
        ):
            continue
        hits = [line.strip() for line in path.read_text().splitlines() if SKIPS.search(line)]
        if hits:
            found[rel] = hits
    assert found == {k: [v] for k, v in WORLD_STATE_SKIPS.items()}
