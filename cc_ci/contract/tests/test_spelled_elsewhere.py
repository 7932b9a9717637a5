"""Where the contract's forms must be spelled out in another language, they are the contract's:
the Drone run id in .drone.yml (shell), the recipe-name rule in nix/lib.nix, the patterns the
docs quote; and the parts that build a Drone run id build it with `drone_run_id`."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from cc_ci.bridge.report import drone_params, run_url
from cc_ci.bridge.state import CommandRow, Phase
from cc_ci.contract.names import (
    COMMAND_PARAM,
    JOB_PARAM,
    RECIPE_RE,
    RUN_ID_RE,
    InvalidInput,
    drone_build,
    drone_command,
    drone_job,
    drone_run_id,
    validate_recipe,
    validate_run_id,
)
from cc_ci.harness.cli import default_run_id

ROOT = Path(__file__).resolve().parents[3]
BUILDS = (0, 1, 42, 9071, 10**18 - 1)
COMMANDS = (None, 1, 1007, 10**18 - 1)
JOBS = (1, 1764633600, 10**18 - 1)


def recipe_ci_run_id_word() -> str:
    """The shell word .drone.yml passes as cc-ci-run's --run-id, as the shell receives it
    (after Drone's own substitution turned `$$` into `$`)."""
    docs = [d for d in yaml.safe_load_all((ROOT / ".drone.yml").read_text()) if d]
    (pipeline,) = [d for d in docs if d["name"] == "recipe-ci"]
    commands = [c for step in pipeline["steps"] for c in step.get("commands", [])]
    (run,) = [c for c in commands if c.startswith("cc-ci-run")]
    m = re.search(r'--run-id\s+("[^"]*"|\S+)', run.replace("$$", "$"))
    assert m, run
    return m.group(1)


def test_a_drone_run_id_names_its_build_and_its_command_and_nothing_else():
    for build in BUILDS:
        for command in COMMANDS:
            run_id = drone_run_id(build, command)
            assert validate_run_id(run_id) == run_id
            assert drone_build(run_id) == build
            assert drone_command(run_id) == command
            assert drone_job(run_id) is None
        for job in JOBS:
            run_id = drone_run_id(build, job=job)
            assert validate_run_id(run_id) == run_id
            assert (drone_build(run_id), drone_command(run_id), drone_job(run_id)) == (
                build,
                None,
                job,
            )
    # the same build number after a reset of Drone, for another command: another run
    assert drone_run_id(1, 1007) != drone_run_id(1, 1012)
    # a command's and a job's of the same ids are different runs
    assert drone_run_id(1, 1007) != drone_run_id(1, job=1007)
    with pytest.raises(InvalidInput):
        drone_run_id(1, 1007, job=1)
    for other in (
        "local-20261123T120000Z-1a2b",
        "drone-",
        "drone-01",
        "drone-x",
        "drone-1 ",
        "drone-1-c",
        "drone-1-c01",
        "drone-1-1007",
        "drone-1-j",
        "drone-1-j0",
        "drone-1-c1-j2",
    ):
        assert drone_build(other) is None and drone_command(other) is None
        assert drone_job(other) is None
    for bad in (-1, True, 1.0, "42", 10**18):
        with pytest.raises(InvalidInput):
            drone_run_id(bad)  # type: ignore[arg-type]
    for bad_command in (0, -1, True, "1007", 10**18):
        with pytest.raises(InvalidInput):
            drone_run_id(1, bad_command)  # type: ignore[arg-type]


@pytest.mark.needs("sh")
def test_the_run_id_drone_yml_passes_is_the_contracts_drone_run_id():
    word = recipe_ci_run_id_word()
    assert "DRONE_BUILD_NUMBER" in word and COMMAND_PARAM in word and JOB_PARAM in word
    cases = [(b, c, None) for b in BUILDS for c in COMMANDS]
    cases += [(b, None, j) for b in BUILDS for j in JOBS]
    for build, command, job in cases:
        env = {"DRONE_BUILD_NUMBER": str(build)}
        if command is not None:
            env[COMMAND_PARAM] = str(command)
        if job is not None:
            env[JOB_PARAM] = str(job)
        r = subprocess.run(
            ["sh", "-c", f"printf %s {word}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        assert r.stdout == drone_run_id(build, command, job=job)


def test_the_harness_and_the_bridge_name_a_builds_run_with_drone_run_id():
    assert default_run_id({"DRONE_BUILD_NUMBER": "42"}) == drone_run_id(42)
    env = {"DRONE_BUILD_NUMBER": "42", COMMAND_PARAM: "1007"}
    assert default_run_id(env) == drone_run_id(42, 1007)
    assert default_run_id({"DRONE_BUILD_NUMBER": "42", JOB_PARAM: "77"}) == drone_run_id(42, job=77)
    assert run_url("https://ci.example.org", 42, 1007) == (
        f"https://ci.example.org/runs/{drone_run_id(42, 1007)}"
    )
    # the bridge passes the command id under the name .drone.yml and the harness read
    c = CommandRow(1007, "o/r", 1, "a", "", "", "", Phase.REQUESTING, 0, "r", "ab12cd3", "o/r")
    assert drone_params(c)[COMMAND_PARAM] == "1007"


def test_the_patterns_the_docs_quote_are_the_contracts():
    quoted: dict[str, set[str]] = {"recipe": set(), "run id": set()}
    for doc in sorted((ROOT / "docs").glob("*.md")):
        for pattern in re.findall(r"`(\^[^`]*\$)`", doc.read_text()):
            if "{0,62}" in pattern:
                quoted["recipe"].add(pattern)
            elif "{0,63}" in pattern:
                quoted["run id"].add(pattern)
    assert quoted == {"recipe": {RECIPE_RE.pattern}, "run id": {RUN_ID_RE.pattern}}


NAMES = ("a", "custom-html", "0ad", "ab-", "a" * 63, "a" * 64, "-ab", "Ab", "a_b", "a.b", "")


@pytest.mark.needs("nix-instantiate")
def test_nix_lib_accepts_the_recipe_names_the_contract_accepts():
    """policyToml (the operator's allow-list) refuses keys that are not recipe names."""
    cases = " ".join(
        f"(builtins.tryEval (builtins.deepSeq (lib.policyToml {{ {json.dumps(n)} = {{ }}; }}) true)).success"
        for n in NAMES
    )
    r = subprocess.run(
        [
            "nix-instantiate",
            "--eval",
            "--strict",
            "--json",
            "-E",
            f"let lib = import {ROOT / 'nix' / 'lib.nix'}; in [ {cases} ]",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    accepted = dict(zip(NAMES, json.loads(r.stdout), strict=True))

    def contract_accepts(name: str) -> bool:
        try:
            validate_recipe(name)
        except InvalidInput:
            return False
        return True

    assert accepted == {n: contract_accepts(n) for n in NAMES}
