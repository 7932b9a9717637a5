"""The project's shape holds: stdlib-only parts, and recipe suites kept out of our own tests."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"bridge", "dashboard", "forgesim"}


def third_party_imports(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "tests" in path.relative_to(ROOT).parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY | {package}:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    return found


def test_bridge_imports_only_the_standard_library():
    assert third_party_imports("bridge") == []


def test_dashboard_imports_only_the_standard_library():
    assert third_party_imports("dashboard") == []


def test_forgesim_imports_only_the_standard_library():
    assert third_party_imports("forgesim") == []


def test_the_stdlib_check_catches_a_third_party_import(tmp_path: Path, monkeypatch):
    pkg = tmp_path / "bridge"
    pkg.mkdir()
    (pkg / "x.py").write_text("import yaml\nfrom json import loads\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert third_party_imports("bridge") == ["bridge/x.py:1 imports yaml"]


def test_a_bare_pytest_never_collects_recipe_suites():
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    collected = [line for line in r.stdout.splitlines() if "::" in line]
    assert collected, r.stdout + r.stderr
    assert not [c for c in collected if c.startswith("tests/")]
