"""The project's shape holds: the import rules between the parts, and recipe suites kept out of
our own tests.

The rules (docs/architecture.md, "Layout"):
- nothing of the installed package `cc_ci` (outside its tests) imports `devworld`;
- `cc_ci.contract` imports only the standard library;
- `cc_ci.bridge` and `cc_ci.dashboard` import only the standard library and `cc_ci.contract`;
- `cc_ci.suite` imports only the standard library, pytest, Playwright and `cc_ci.contract`
  (the recipe-tests image carries exactly these);
- recipe suites (`tests/<recipe>/`) import neither `devworld` nor the harness;
- no import cycles among cc-ci's own modules.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}
OWN = ("cc_ci", "devworld")


@dataclass(frozen=True)
class Rule:
    folder: str  # the files the rule is about, relative to the root
    allowed: tuple[str, ...]  # module prefixes they may import besides the standard library
    why: str

    def allows(self, module: str) -> bool:
        top = module.split(".")[0]
        if top in STDLIB:
            return True
        return any(module == a or module.startswith(a + ".") for a in self.allowed)


RULES = (
    Rule("cc_ci/contract", ("cc_ci.contract",), "contract imports only the standard library"),
    Rule(
        "cc_ci/bridge",
        ("cc_ci.bridge", "cc_ci.contract"),
        "bridge imports only the standard library and cc_ci.contract",
    ),
    Rule(
        "cc_ci/dashboard",
        ("cc_ci.dashboard", "cc_ci.contract"),
        "dashboard imports only the standard library and cc_ci.contract",
    ),
    Rule(
        "cc_ci/suite",
        ("cc_ci", "cc_ci.suite", "cc_ci.contract", "pytest", "_pytest", "playwright"),
        "suite imports only the standard library, pytest, Playwright and cc_ci.contract",
    ),
    Rule(
        "cc_ci/harness",
        ("cc_ci", "cc_ci.harness", "cc_ci.contract", "cc_ci.suite", "pytest", "yaml"),
        "the harness imports neither devworld nor the bridge or the dashboard",
    ),
    Rule("cc_ci", ("cc_ci",), "nothing installed imports devworld"),
    Rule(
        "tests",
        ("cc_ci.suite", "cc_ci.contract", "pytest", "playwright", "yaml"),
        "recipe suites import only cc_ci.suite and cc_ci.contract of cc-ci",
    ),
)


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path) -> list[Import]:
    """Absolute imports of one file (those under `if TYPE_CHECKING:` do not run: not counted)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip |= {id(n) for child in node.body for n in ast.walk(child)}
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [Import(path, node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append(Import(path, node.lineno, node.module))
            # `from cc_ci.harness import recipe` imports the module cc_ci.harness.recipe
            out += [
                Import(path, node.lineno, f"{node.module}.{a.name}")
                for a in node.names
                if _is_module(f"{node.module}.{a.name}")
            ]
    return out


def _module_file(module: str) -> Path | None:
    base = ROOT / Path(*module.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def _is_module(module: str) -> bool:
    return module.split(".")[0] in OWN and _module_file(module) is not None


def _is_test_file(path: Path, root: Path = ROOT) -> bool:
    return "tests" in path.relative_to(root).parts[1:] or path.name == "conftest.py"


def violations(root: Path | None = None) -> list[str]:
    """Every import that breaks a rule: `file:line imports MODULE: the rule`."""
    root = root or ROOT
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] not in ("cc_ci", "tests"):
            continue
        if rel.parts[0] == "cc_ci" and _is_test_file(path, root):
            continue
        # the most specific rule that names this file's folder
        rules = [r for r in RULES if rel.as_posix().startswith(r.folder + "/")]
        rule = max(rules, key=lambda r: len(r.folder))
        lines: set[int] = set()
        for imp in imports_of(path):
            if not rule.allows(imp.module) and imp.line not in lines:
                lines.add(imp.line)  # one finding per import statement
                found.append(f"{rel}:{imp.line} imports {imp.module}: {rule.why}")
    return found


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def import_cycles() -> list[list[str]]:
    """Cycles in the graph of cc-ci's own modules (cc_ci and devworld, tests left out)."""
    graph: dict[str, set[str]] = {}
    for top in OWN:
        for path in (ROOT / top).rglob("*.py"):
            if _is_test_file(path):
                continue
            graph[module_name(path)] = {
                i.module for i in imports_of(path) if _is_module(i.module)
            } - {module_name(path)}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # a package's __init__ importing its own submodule is how packages work
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return cycles


def test_every_part_imports_only_what_its_rule_allows():
    assert violations() == []


def test_a_violation_names_the_file_the_import_and_the_rule(tmp_path: Path, monkeypatch):
    (tmp_path / "cc_ci" / "bridge").mkdir(parents=True)
    (tmp_path / "cc_ci" / "bridge" / "x.py").write_text("import json\nimport devworld.forgesim\n")
    (tmp_path / "cc_ci" / "contract").mkdir()
    (tmp_path / "cc_ci" / "contract" / "y.py").write_text("from cc_ci.harness import run\n")
    assert violations(tmp_path) == [
        "cc_ci/bridge/x.py:2 imports devworld.forgesim: "
        "bridge imports only the standard library and cc_ci.contract",
        "cc_ci/contract/y.py:1 imports cc_ci.harness: contract imports only the standard library",
    ]


def test_cc_ci_and_devworld_have_no_import_cycles():
    assert import_cycles() == []


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


def test_the_wheel_holds_cc_ci_alone_with_its_data_and_no_tests(tmp_path: Path):
    r = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
            *("--disable-pip-version-check", "-q", "-w", str(tmp_path), str(ROOT)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    (wheel,) = tmp_path.glob("cc_ci-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"cc_ci"}
    assert not [n for n in names if "/tests/" in n]
    assert "cc_ci/harness/sandbox/requirements.txt" in names
    assert "cc_ci/suite/builtin/test_front_page.py" in names
