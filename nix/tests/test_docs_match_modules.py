"""The operator docs name only units and options the modules define (no drift)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = "\n".join(p.read_text() for p in sorted((ROOT / "nix" / "modules").glob("*.nix")))
DOCS = {p.name: p.read_text() for p in (ROOT / "docs").glob("*.md")}
OWN_DOCS = ("install.md", "secrets.md", "architecture.md", "runbook.md")


def defined_units() -> set[str]:
    units = set(re.findall(r"systemd\.(?:services|timers)\.(cc-ci-[a-z-]+)", MODULES))
    units |= set(re.findall(r'unit = "(cc-ci-[a-z-]+)"', MODULES))
    return units


def declared_options() -> set[str]:
    """Dotted option paths under services.cc-ci, from each module's options block."""
    paths: set[str] = set()
    for text in (p.read_text() for p in (ROOT / "nix" / "modules").glob("*.nix")):
        block = re.search(r"options\.services\.cc-ci(?:\.([a-z.]+))? = \{(.*?)\n  \};", text, re.S)
        if not block:
            continue
        prefix = block.group(1)
        stack: list[str] = [prefix] if prefix else []
        for line in block.group(2).splitlines():
            m = re.match(r"^(\s+)([A-Za-z]+) = (mkOption|mkEnableOption|mkPackageOption|\{)", line)
            if not m:
                continue
            depth = (len(m.group(1)) - 4) // 2
            stack = stack[: depth + (1 if prefix else 0)]
            name = ".".join([*stack, m.group(2)])
            if m.group(3) == "{":
                stack.append(m.group(2))
            else:
                paths.add(name)
    return paths


def test_every_unit_the_docs_name_is_defined():
    named = {u for doc in OWN_DOCS for u in re.findall(r"cc-ci-[a-z-]+", DOCS[doc])}
    # a command, prefixes, a network
    named -= {"cc-ci-run", "cc-ci-ingress-", "cc-ci-run-", "cc-ci-tests"}
    assert named, "the docs name no units"
    assert named <= defined_units()


def test_every_option_in_the_install_table_is_declared():
    options = declared_options()
    assert {"domain", "drone.runner.capacity", "drone.buildTimeout", "bridge.repos"} <= options
    assert {"harness.gitTokenFile", "harness.environment", "bridge.settings"} <= options
    table = re.findall(r"^\| `([^|]+)` \|", DOCS["install.md"], re.M)
    named, per_part = set(), set()
    for cell in table:
        for opt in re.findall(r"(\*\.)?([a-zA-Z]+(?:\.[a-zA-Z]+)*)", cell):
            (per_part if opt[0] else named).add(opt[1])
    assert named and per_part == {"version", "extraEnv"}
    missing = {n for n in named if n not in options}
    missing |= {n for n in per_part if not any(o.endswith("." + n) for o in options)}
    assert not missing, f"documented but not declared: {sorted(missing)}"


def test_every_file_option_the_install_guide_lists_is_declared():
    guide = DOCS["install.md"]
    listed = set(re.findall(r"`([a-z]+\.[a-zA-Z.]*File)`", guide))
    assert len(listed) >= 6
    assert listed <= declared_options()
