"""The pipelines of .drone.yml run for real by Drone's exec runner (`drone-runner-exec exec`).

drone-runner-exec is not served by the Go module proxy; scripts/bootstrap builds it from
../shared/vendor (vendor_go_tool). The binary is looked up as $DRONE_RUNNER_EXEC, on PATH, or
in $CCCI_TOOLS/bin (`needs("drone-runner-exec")`, devworld/needs.py: failed under CI when it
is missing, skipped elsewhere).

The runner's local `exec` command has no flag for build parameters, which the Drone server
normally exports to every step beneath the step's own `environment:`. The tests hand them
over the same way: each recipe-ci step gets them as its `environment:` (the file itself sets
none, which test_drone_yml.py checks), and nothing else in the pipeline is changed. A stub
`cc-ci-run` on PATH records what it was given.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("CCCI_TOOLS", Path.home() / ".cache" / "cc-ci"))
RUNNER = (
    os.environ.get("DRONE_RUNNER_EXEC")
    or shutil.which("drone-runner-exec")
    or str(TOOLS / "bin" / "drone-runner-exec")
)

pytestmark = pytest.mark.needs("drone-runner-exec", found=os.access(RUNNER, os.X_OK) and RUNNER)

STUB = """#!/bin/sh
python3 - "$@" <<'EOF'
import json, os, subprocess, sys
head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout
marker = open("tests/marker").read() if os.path.exists("tests/marker") else None
keys = ["RECIPE", "REPO", "SRC", "REF", "PR", "STAGES", "CCCI_TRIGGER", "CCCI_SUITES_DIR",
        "DRONE_BUILD_NUMBER", "HOME"]
json.dump({"argv": sys.argv[1:], "env": {k: os.environ.get(k) for k in keys},
           "cwd": os.getcwd(), "head": head.strip(), "marker": marker}, open(%(out)r, "w"))
EOF
exit %(code)d
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()


@pytest.fixture
def forge(tmp_path: Path) -> dict:
    """A cc-ci repository with two commits on main, served from a bare repository."""
    work = tmp_path / "cc-ci"
    (work / "tests").mkdir(parents=True)
    (work / "scripts").mkdir()
    git(work, "init", "-q", "-b", "main")
    git(work, "config", "user.email", "ci@example.org")
    git(work, "config", "user.name", "ci")
    (work / "tests" / "marker").write_text("first")
    test_script = work / "scripts" / "test"
    test_script.write_text(f'#!/bin/sh\ngit rev-parse HEAD > {tmp_path / "self-test.out"}\n')
    test_script.chmod(0o755)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "first")
    first = git(work, "rev-parse", "HEAD")
    (work / "tests" / "marker").write_text("second")
    git(work, "commit", "-qam", "second")
    second = git(work, "rev-parse", "HEAD")
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return {"url": f"file://{bare}", "first": first, "second": second, "tmp": tmp_path}


def run_pipeline(
    forge: dict,
    stage: str,
    event: str,
    commit: str,
    params: dict[str, str],
    code: int = 0,
    path: str | None = None,
    timeout: float = 300,
) -> tuple[subprocess.CompletedProcess, dict | None]:
    """Run one pipeline of .drone.yml; `cc-ci-run` is a recording stub unless `path` (the
    steps' PATH) is given, as the runner's service gives it on the server."""
    tmp: Path = forge["tmp"]
    out = tmp / f"stub-{stage}.json"
    stubs = tmp / "bin"
    stubs.mkdir(exist_ok=True)
    stub = stubs / "cc-ci-run"
    stub.write_text(STUB % {"out": str(out), "code": code})
    stub.chmod(0o755)
    docs = [d for d in yaml.safe_load_all((ROOT / ".drone.yml").read_text()) if d]
    for doc in docs:
        if doc["name"] == stage and params:
            for step in doc["steps"]:
                assert not step.get("environment")
                step["environment"] = dict(params)
    # the runner opens its `source` argument's default (.drone.yml) in its working directory
    # even when a source is given, so the derived pipeline is written under that name
    pipeline = tmp / ".drone.yml"
    pipeline.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    root = tmp / "root"
    root.mkdir(exist_ok=True)
    argv = [
        RUNNER, "exec", "--no-pretty",
        f"--stage-name={stage}", f"--build-event={event}", "--build-number=42",
        f"--repo-http={forge['url']}", f"--commit-after={commit}",
        "--commit-target=main", "--commit-ref=refs/heads/main", "--repo-timeout=5",
        str(root), str(pipeline),
    ]  # fmt: skip
    env = {
        "PATH": path or f"{stubs}:{os.environ['PATH']}",
        "USER": os.environ.get("USER", "root"),
    }
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp)
    return r, (json.loads(out.read_text()) if out.exists() else None)


PARAMS = {
    "RECIPE": "custom-html",
    "REPO": "recipe-maintainers/custom-html",
    "SRC": "alice/custom-html",
    "REF": "0123456789abcdef0123456789abcdef01234567",
    "PR": "7",
    "STAGES": "install,upgrade",
    "UPGRADE_FROM": "1.0.0+1.0",
}


def test_recipe_ci_hands_every_parameter_to_cc_ci_run_at_the_build_commit(forge):
    params = {**PARAMS, "CCCI_COMMAND": "1007", "CCCI_RESULTS_DIR": str(forge["tmp"] / "results")}
    r, seen = run_pipeline(forge, "recipe-ci", "custom", forge["first"], params)
    assert r.returncode == 0, r.stdout + r.stderr
    assert seen is not None, "cc-ci-run never ran:\n" + r.stdout + r.stderr
    assert seen["argv"] == [
        "custom-html",
        "--repo", "recipe-maintainers/custom-html",
        "--src", "alice/custom-html",
        "--ref", PARAMS["REF"],
        "--stages", "install,upgrade",
        "--upgrade-from", "1.0.0+1.0",
        "--run-id", "drone-42-c1007",
        "--results-dir", str(forge["tmp"] / "results"),
    ]  # fmt: skip
    assert seen["env"]["PR"] == "7"
    # this repository at the build's commit, not the tip of the branch
    assert seen["head"] == forge["first"] != forge["second"]
    assert seen["marker"] == "first"
    assert seen["env"]["CCCI_SUITES_DIR"] == os.path.join(seen["cwd"], "tests")
    # the exec runner gives every build a fresh HOME: nothing may rely on the daemon's HOME
    assert seen["env"]["HOME"].endswith("/home/drone")


def test_recipe_ci_writes_to_the_default_results_dir_when_the_runner_sets_none(forge):
    older = ("UPGRADE_FROM", "REPO")  # parameters a bridge before them does not send
    params = {k: v for k, v in PARAMS.items() if k not in older} | {"STAGES": ""}
    r, seen = run_pipeline(forge, "recipe-ci", "custom", forge["second"], params)
    assert r.returncode == 0, r.stdout + r.stderr
    # a build no command started (no CCCI_COMMAND) is drone-<build>
    assert seen["argv"][seen["argv"].index("--run-id") + 1] == "drone-42"
    assert seen["argv"][-2:] == ["--results-dir", "/var/lib/cc-ci/results"]
    assert seen["argv"][seen["argv"].index("--stages") + 1] == ""
    # an older bridge sends no UPGRADE_FROM: the shell passes it empty, the default base
    assert seen["argv"][seen["argv"].index("--upgrade-from") + 1] == ""
    # and no REPO: passed empty, so the base repository is SRC, as before REPO
    assert seen["argv"][seen["argv"].index("--repo") + 1] == ""
    assert seen["marker"] == "second"


def test_a_failed_run_fails_the_build(forge):
    r, seen = run_pipeline(forge, "recipe-ci", "custom", forge["first"], PARAMS, code=1)
    assert seen is not None
    assert r.returncode != 0


def test_self_test_clones_the_pushed_commit_and_runs_scripts_test(forge):
    r, _ = run_pipeline(forge, "self-test", "push", forge["second"], {})
    assert r.returncode == 0, r.stdout + r.stderr
    assert (forge["tmp"] / "self-test.out").read_text().strip() == forge["second"]


@pytest.mark.e2e
def test_recipe_ci_runs_the_demo_recipe_for_real(tmp_path):
    """The pipeline as the server runs it: this repository at its HEAD commit, the real
    cc-ci-run on the steps' PATH, its CCCI_* settings as the runner's env file gives them
    (DRONE_RUNNER_ENVFILE), and the demo recipe's build parameters as the bridge sends them
    (an empty UPGRADE_FROM, who asked, the command's id): a green build and a run record
    under the Drone run id drone-<build>-c<command>."""
    from devworld.demo.world import demo_world

    head = git(ROOT, "rev-parse", "HEAD")
    bare = tmp_path / "cc-ci.git"
    # the build's commit on the branch the pipeline fetches, whatever this checkout is on
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(ROOT, "push", "-q", str(bare), "HEAD:refs/heads/main")
    env, recipe_head = demo_world(tmp_path / "forge")
    settings = {k: v for k, v in env.items() if k.startswith("CCCI_")}
    results = tmp_path / "results"
    params = {
        **settings,
        "RECIPE": "demo",
        "REPO": "cc-ci/demo",
        "SRC": "cc-ci/demo",
        "REF": recipe_head,
        "PR": "3",
        "STAGES": "install,recipe-local",
        "UPGRADE_FROM": "",
        "CCCI_TRIGGERED_BY": "alice",
        "CCCI_COMMAND": "1007",
        "CCCI_RESULTS_DIR": str(results),
    }
    forge = {"url": f"file://{bare}", "tmp": tmp_path}
    steps_path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    r, _ = run_pipeline(forge, "recipe-ci", "custom", head, params, path=steps_path, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    record = json.loads((results / "drone-42-c1007" / "run.json").read_text())
    assert record["status"] == "passed"
    assert record["run_id"] == "drone-42-c1007"
    assert (record["trigger"]["by"], record["trigger"]["command"]) == ("alice", 1007)
    assert record["source"]["ref"] == recipe_head
    assert record["source"]["pr"] == 3
    assert [s["name"] for s in record["stages"]] == ["install", "recipe-local"]
    assert record["teardown"]["status"] == "clean"


def test_a_default_branch_run_names_its_job_in_the_run_id_and_has_no_pr(forge):
    params = {**PARAMS, "SRC": "recipe-maintainers/custom-html", "PR": "", "STAGES": ""}
    params |= {"UPGRADE_FROM": "", "CCCI_TRIGGER": "schedule", "CCCI_JOB": "1764633600"}
    r, seen = run_pipeline(forge, "recipe-ci", "custom", forge["second"], params)
    assert r.returncode == 0, r.stdout + r.stderr
    assert seen is not None, "cc-ci-run never ran:\n" + r.stdout + r.stderr
    assert seen["argv"][seen["argv"].index("--run-id") + 1] == "drone-42-j1764633600"
    assert seen["env"]["PR"] == "" and seen["env"]["CCCI_TRIGGER"] == "schedule"
