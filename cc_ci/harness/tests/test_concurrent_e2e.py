"""Runs at once on one swarm (the runner's capacity above 1): two demo runs side by side both
pass, each with its own app and tests network; one SIGKILLed mid-stage does not stop the
other, and the next run's janitor clears the killed run's leftovers and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cc_ci.harness.deploy.docker import docker
from cc_ci.harness.deploy.janitor import SANDBOX_LABEL
from cc_ci.harness.sandbox.network import run_network_name
from cc_ci.harness.waiting import wait_for
from devworld.demo import build_forge

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]


def start(env: dict[str, str], results: Path, run_id: str, ref: str, stages: str):
    """cc-ci-run on the demo recipe, in the background."""
    env = {k: v for k, v in env.items() if k not in ("HEAD", "FORGE")}
    argv = [sys.executable, "-m", "cc_ci.harness.cli", "demo", "--src", "cc-ci/demo"]
    argv += ["--ref", ref, "--stages", stages, "--run-id", run_id, "--results-dir", str(results)]
    return subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(p: subprocess.Popen, timeout: float = 900) -> tuple[int, str]:
    out, _ = p.communicate(timeout=timeout)
    return p.returncode, out


def run_networks(prefix: str) -> list[str]:
    out = docker("network", "ls", "--format", "{{.Name}}", timeout=30).split()
    return [n for n in out if n.startswith(run_network_name(prefix))]


def containers_of(run_id: str) -> list[str]:
    """Names of the run's tests containers and relay."""
    out = docker(
        "ps", "-a", "--format", "{{.Names}}", "--filter", f"label={SANDBOX_LABEL}={run_id}"
    )
    return out.split()


def recipe_tests_running(run_id: str) -> bool:
    """The run's recipe tests' container (not only its relay) is running."""
    out = docker(
        "ps", "--format", "{{.Names}}", "--filter", f"label={SANDBOX_LABEL}={run_id}"
    ).split()
    return any(n.startswith("cc-ci-tests-") for n in out)


def stack_of(results: Path, run_id: str) -> str:
    rec = json.loads((results / run_id / "run.json").read_text())
    return rec["timings"]["deployments"][0]["domain"].replace(".", "_")


def of_stack(stack: str) -> list[str]:
    """Services, volumes, secrets and configs of an app stack still on the swarm."""
    found = []
    for kind in ("service", "volume", "secret", "config"):
        out = docker(kind, "ls", "--format", "{{.Name}}", timeout=60).split()
        found += [f"{kind} {n}" for n in out if n.startswith(stack + "_")]
    return found


def test_two_runs_at_once_both_pass_each_on_its_own_network(
    world, tmp_path, record, demo_leftovers
):
    runs = {
        rid: start(world, tmp_path, rid, world["HEAD"], "install,recipe-local")
        for rid in ("e2e-conc-a", "e2e-conc-b")
    }
    done = {rid: finish(p) for rid, p in runs.items()}
    for rid, (code, out) in done.items():
        assert code == 0, f"{rid}:\n{out}"
    recs = {rid: record(tmp_path, rid) for rid in runs}
    assert all(r["status"] == "passed" for r in recs.values())
    assert all(r["teardown"]["status"] == "clean" for r in recs.values())
    a, b = recs["e2e-conc-a"], recs["e2e-conc-b"]
    assert a["started_at"] < b["finished_at"] and b["started_at"] < a["finished_at"], "not at once"
    domains = [r["timings"]["deployments"][0]["domain"] for r in (a, b)]
    assert domains[0] != domains[1]
    for rid in runs:
        log = (tmp_path / rid / "recipe-local.log").read_text()
        assert f"network: {run_network_name(rid)} for this run" in log
        assert (
            f"teardown of {run_network_name(rid)}: clean"
            in (tmp_path / rid / "teardown.log").read_text()
        )
    assert run_networks("e2e-conc-") == []
    assert containers_of("e2e-conc-a") == containers_of("e2e-conc-b") == []
    assert demo_leftovers() == []


SLEEPS = "import time\n\n\ndef test_sleeps():\n    time.sleep({seconds})\n"


def test_a_run_sigkilled_mid_stage_stops_no_other_and_the_next_janitor_clears_only_its_leftovers(
    world, tmp_path, record, demo_leftovers
):
    # killed: recipe tests that sleep for ten minutes; survivor: tests that take a minute,
    # so it is still live when the next run's janitor sweeps
    killed, survivor, after = "e2e-conc-killed", "e2e-conc-survivor", "e2e-conc-after"
    envs, heads = {}, {}
    for rid, seconds in ((killed, 600), (survivor, 60)):
        forge = Path(world["FORGE"]) / rid
        heads[rid] = build_forge(
            forge, head_tests={"test_sleeps.py": SLEEPS.format(seconds=seconds)}
        )
        envs[rid] = {**world, "CCCI_FORGE_URL": f"file://{forge}"}
    procs = {rid: start(envs[rid], tmp_path, rid, heads[rid], "recipe-local") for rid in envs}
    try:
        wait_for(
            "both runs' recipe tests to run",
            lambda: recipe_tests_running(killed) and recipe_tests_running(survivor),
            600,
        )
        procs[killed].kill()
        procs[killed].wait(timeout=30)
        killed_stack, survivor_stack = stack_of(tmp_path, killed), stack_of(tmp_path, survivor)
        assert of_stack(killed_stack), "the killed run should have left its app behind"
        assert run_networks(killed) == [run_network_name(killed)]

        # the next run, while the survivor is still live
        code, out = finish(start(world, tmp_path, after, world["HEAD"], "install"))
        assert code == 0, out
        assert procs[survivor].poll() is None, "the survivor ended before the sweep"

        code, out = finish(procs[survivor])
        assert code == 0, out
    finally:
        for p in procs.values():
            p.kill()
    assert record(tmp_path, survivor)["status"] == "passed"
    setup = (tmp_path / after / "setup.log").read_text()
    assert f"janitor: removing orphaned run app {killed_stack}" in setup
    assert (
        f"janitor: removing the tests network {run_network_name(killed)} of run {killed}" in setup
    )
    assert f"janitor: cleared state of dead run {killed}" in setup
    assert survivor_stack not in setup and survivor not in setup
    assert of_stack(killed_stack) == []
    assert run_networks("e2e-conc-") == []
    assert containers_of(killed) == containers_of(survivor) == []
    assert demo_leftovers() == []
