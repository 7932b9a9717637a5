""".drone.yml against the contract: the bridge's build parameters reach cc-ci-run.

Drone substitutes `${VAR}` and `$VAR` in the YAML itself before parsing it (unknown ones
become empty), so every shell variable must be written `$$VAR`; build parameters are
exported to each step's environment, below the step's own `environment:`.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PARAMS = (
    "RECIPE",
    "REPO",
    "SRC",
    "REF",
    "PR",
    "STAGES",
    "UPGRADE_FROM",
    "CCCI_TRIGGERED_BY",
    "CCCI_COMMENT_URL",
    "CCCI_COMMAND",
    "CCCI_TRIGGER",
    "CCCI_JOB",
)
# a `$` that Drone would substitute: not part of a `$$` escape
SINGLE_DOLLAR = re.compile(r"(?<!\$)\$(?!\$)(\{|[A-Za-z_])")


@pytest.fixture(scope="module")
def pipelines() -> dict[str, dict]:
    docs = [d for d in yaml.safe_load_all((ROOT / ".drone.yml").read_text()) if d]
    by_name = {d["name"]: d for d in docs}
    assert len(by_name) == len(docs), "pipeline names must be unique"
    return by_name


def commands(pipeline: dict) -> list[str]:
    return [c for step in pipeline["steps"] for c in step.get("commands", [])]


def drone_substituted(command: str) -> str:
    """What the shell receives after Drone's substitution, for an escaped-only command."""
    return command.replace("$$", "$")


def test_recipe_ci_is_an_exec_pipeline_for_custom_builds_as_many_at_once_as_the_runner_takes(
    pipelines,
):
    p = pipelines["recipe-ci"]
    assert p["kind"] == "pipeline"
    assert p["type"] == "exec"
    assert p["trigger"]["event"] == ["custom"]
    # concurrency is the runner's capacity (drone.runner.capacity), not capped here
    assert "concurrency" not in p
    assert p["platform"] == {"os": "linux", "arch": "amd64"}


def test_recipe_ci_clones_itself_at_the_build_commit_not_with_drones_clone(pipelines):
    p = pipelines["recipe-ci"]
    assert p["clone"]["disable"] is True
    first = p["steps"][0]["commands"]
    assert any("git fetch" in c and "$${DRONE_GIT_HTTP_URL}" in c for c in first)
    assert any(c.startswith("git checkout") and "$${DRONE_COMMIT_SHA}" in c for c in first)


def test_every_build_parameter_reaches_cc_ci_run(pipelines):
    p = pipelines["recipe-ci"]
    runs = [c for c in commands(p) if c.startswith("cc-ci-run")]
    assert len(runs) == 1
    argv = shlex.split(drone_substituted(runs[0]))
    assert argv[:2] == ["cc-ci-run", "${RECIPE}"]
    flags = dict(zip(argv[2::2], argv[3::2], strict=True))
    # empty from a bridge before REPO: cc-ci-run takes `--repo ""` as "the base is SRC"
    assert flags["--repo"] == "${REPO}"
    assert flags["--src"] == "${SRC}"
    assert flags["--ref"] == "${REF}"
    assert flags["--stages"] == "${STAGES}"
    # empty when no base was asked for: cc-ci-run takes `--upgrade-from ""` as the default
    assert flags["--upgrade-from"] == "${UPGRADE_FROM}"
    assert flags["--run-id"] == (
        "drone-${DRONE_BUILD_NUMBER}${CCCI_COMMAND:+-c${CCCI_COMMAND}}${CCCI_JOB:+-j${CCCI_JOB}}"
    )
    assert flags["--results-dir"] == "${CCCI_RESULTS_DIR:-/var/lib/cc-ci/results}"
    # PR, CCCI_TRIGGERED_BY, CCCI_COMMENT_URL, CCCI_TRIGGER, CCCI_COMMAND and CCCI_JOB have no
    # flag of their own in the runner contract (CCCI_COMMAND and CCCI_JOB are also part of
    # --run-id): they reach cc-ci-run
    # through the environment, so no step may shadow or drop any parameter.
    for step in p["steps"]:
        assert not set(PARAMS) & set(step.get("environment") or {}), step["name"]
    for c in commands(p):
        assert not re.search(r"\bunset\b|\benv -i\b", c)
        assert not re.match(rf"(export )?({'|'.join(PARAMS)})=", c)


def test_cc_ci_run_reads_the_suites_of_the_checked_out_commit(pipelines):
    cmds = commands(pipelines["recipe-ci"])
    export = cmds.index('export CCCI_SUITES_DIR="$${DRONE_WORKSPACE}/tests"')
    assert export < next(i for i, c in enumerate(cmds) if c.startswith("cc-ci-run"))


@pytest.mark.parametrize("name", ["recipe-ci", "self-test"])
def test_shell_variables_are_escaped_from_drones_substitution(pipelines, name):
    for c in commands(pipelines[name]):
        assert not SINGLE_DOLLAR.search(c), f"unescaped $ in {c!r}"


def test_self_test_runs_the_test_command_on_push(pipelines):
    p = pipelines["self-test"]
    assert p["type"] == "exec"
    assert p["trigger"]["event"] == ["push"]
    assert "scripts/test" in commands(p)
    assert not p.get("clone", {}).get("disable", False)


def test_only_the_two_pipelines_exist(pipelines):
    assert set(pipelines) == {"recipe-ci", "self-test"}
