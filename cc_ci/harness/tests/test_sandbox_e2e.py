"""End to end on the real swarm: a PR's own tests run confined. Tests that try to reach the
Docker socket, host files, cc-ci's secrets or the world outside the test network all fail,
and the run reports a failed stage, not an error; a canary planted in the runner's
environment and token files turns up nowhere."""

from __future__ import annotations

import hashlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cc_ci.contract.redact import Redactor
from cc_ci.harness.deploy.docker import docker
from cc_ci.harness.deploy.janitor import SANDBOX_LABEL, janitor
from cc_ci.harness.runlog import FileLog
from cc_ci.harness.sandbox.image import ensure_sandbox_image
from cc_ci.harness.waiting import wait_for
from devworld.demo import ESCAPE_TESTS, build_forge

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]


def host_address() -> str:
    """This host's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))
        return s.getsockname()[0]


def escape_tests(canary: str, host_files: list[Path]) -> str:
    addresses = ["1.1.1.1:443", "172.17.0.1:443", "172.18.0.1:443", f"{host_address()}:443"]
    values = {
        "CANARY_SHA256": hashlib.sha256(canary.encode()).hexdigest(),
        "HOST_FILES": ",".join(map(str, host_files)),
        "HOST_ADDRESSES": ",".join(addresses),
    }
    text = ESCAPE_TESTS.read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def junit_cases(junit: Path) -> dict[str, str]:
    """test name → "passed" or the failure message."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failure = case.find("failure")
        out[case.get("name")] = "passed" if failure is None else failure.get("message", "")
    return out


def sandbox_containers(run_id: str) -> list[str]:
    return docker(
        "ps", "-a", "-q", "--filter", f"label={SANDBOX_LABEL}={run_id}", timeout=30
    ).split()


def test_recipe_tests_that_try_to_escape_all_fail_and_no_canary_is_in_reach(
    world, tmp_path, run_ccci, record, demo_leftovers
):
    canary = f"ccci-canary-{secrets.token_hex(16)}"
    token_file = tmp_path / "credentials" / "git-token"
    sops_file = tmp_path / "secrets" / "gitea_token"
    marker = tmp_path / "host-marker"
    for path, text in ((token_file, canary), (sops_file, canary), (marker, "host file")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    forge = Path(world["FORGE"]) / "escape"
    head = build_forge(
        forge,
        head_tests={"test_escape.py": escape_tests(canary, [marker, token_file, sops_file])},
        leaky_app=True,
    )
    env = {
        **world,
        "CCCI_FORGE_URL": f"file://{forge}",
        "CCCI_GIT_TOKEN_FILE": str(token_file),
        "CCCI_CANARY": canary,
        "DRONE_TOKEN": canary,
        "GITEA_TOKEN": canary,
    }
    results = tmp_path / "results"
    r = run_ccci(env, results, "--ref", head, "--run-id", "e2e-escape", "--stages", "recipe-local")
    assert r.returncode == 1, r.stdout + r.stderr
    rec = record(results, "e2e-escape")
    stage = rec["stages"][0]
    assert (rec["status"], stage["status"]) == ("failed", "failed")
    cases = junit_cases(results / "e2e-escape" / stage["junit"])
    escapes = {name: msg for name, msg in cases.items() if name.startswith("test_escape")}
    assert len(escapes) == 10 and "passed" not in escapes.values(), cases
    log = (results / "e2e-escape" / "recipe-local.log").read_text()
    assert "no Docker socket in reach" in escapes["test_escape_talks_to_the_docker_socket"]
    assert "FileNotFoundError" in escapes["test_escape_reads_host_files"]
    assert "PermissionError" in escapes["test_escape_reads_the_shadow_file"]
    assert "no canary in" in escapes["test_escape_finds_the_canary_in_its_environment_or_files"]
    assert "no canary in" in escapes["test_escape_finds_the_canary_in_what_the_app_sees"]
    assert "out of reach" in escapes["test_escape_connects_outside_the_test_network"]
    assert "1.1.1.1:443: [Errno 101] Network is unreachable" in log
    assert "gaierror" in escapes["test_escape_resolves_a_name_on_the_internet"]
    assert "can't start new thread" in escapes["test_escape_starts_two_thousand_threads"]
    assert "allocation was stopped" in escapes["test_escape_allocates_three_gigabytes"]
    assert "No space left on device" in escapes["test_escape_floods_the_log_and_fills_the_disk"]
    assert "bytes of output left out" in log and len(log) < 3 << 20
    assert cases["test_the_app_is_reachable_through_traefik"] == "passed"
    assert stage["tests"] == {"passed": 4, "failed": 10, "errors": 0, "skipped": 0}
    everything = r.stdout + r.stderr
    everything += "".join(
        p.read_text(errors="replace") for p in (results / "e2e-escape").rglob("*") if p.is_file()
    )
    assert canary not in everything
    assert rec["teardown"]["status"] == "clean"
    assert demo_leftovers() == []
    assert sandbox_containers("e2e-escape") == []


SLOW = "import time\n\n\ndef test_sleeps_past_the_timeout():\n    time.sleep(600)\n"


def slow_world(world: dict[str, str], tmp_path: Path, stage_timeout: int) -> tuple[dict, str]:
    """A PR head whose recipe tests sleep for ten minutes, and cc-ci's demo suite with
    this STAGE_TIMEOUT."""
    suites = tmp_path / "suites"
    shutil.copytree(ROOT / "tests" / "demo", suites / "demo")
    meta = suites / "demo" / "recipe_meta.py"
    meta.write_text(meta.read_text() + f"STAGE_TIMEOUT = {stage_timeout}\n")
    forge = Path(world["FORGE"]) / "slow"
    head = build_forge(forge, head_tests={"test_slow.py": SLOW})
    return {**world, "CCCI_FORGE_URL": f"file://{forge}", "CCCI_SUITES_DIR": str(suites)}, head


def test_recipe_tests_that_outlast_the_stage_timeout_are_killed_and_fail_the_stage(
    world, tmp_path, run_ccci, record, demo_leftovers
):
    env, head = slow_world(world, tmp_path, 20)
    r = run_ccci(env, tmp_path, "--ref", head, "--run-id", "e2e-slow", "--stages", "recipe-local")
    assert r.returncode == 1, r.stdout + r.stderr
    stage = record(tmp_path, "e2e-slow")["stages"][0]
    assert stage["status"] == "failed"
    assert "timed out after 20s" in stage["message"]
    assert stage["duration_s"] < 120
    assert sandbox_containers("e2e-slow") == []
    assert demo_leftovers() == []


def test_the_janitor_removes_a_tests_container_whose_run_is_gone(world, tmp_path):
    name = f"cc-ci-tests-orphan-{secrets.token_hex(3)}"
    docker("create", "--name", name, "--label", f"{SANDBOX_LABEL}=e2e-dead", ensure_sandbox_image())
    log = FileLog(tmp_path / "setup.log", Redactor())
    janitor(Path(world["CCCI_STATE_DIR"]), "ci.test", log)
    assert sandbox_containers("e2e-dead") == []
    assert f"removing the tests container {name}" in (tmp_path / "setup.log").read_text()


def test_sigterm_while_the_recipe_tests_run_removes_their_container(
    world, tmp_path, record, demo_leftovers
):
    env, head = slow_world(world, tmp_path, 600)
    env = {k: v for k, v in env.items() if k not in ("HEAD", "FORGE")}
    argv = [sys.executable, "-m", "cc_ci.harness.cli", "demo", "--src", "cc-ci/demo", "--ref", head]
    argv += ["--stages", "recipe-local", "--run-id", "e2e-term-sbx", "--results-dir", str(tmp_path)]
    p = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for("the tests' container to run", lambda: sandbox_containers("e2e-term-sbx"), 180)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=180)
    assert p.returncode == 2, out + err
    rec = record(tmp_path, "e2e-term-sbx")
    assert "interrupted" in rec["stages"][0]["message"]
    assert rec["teardown"]["status"] == "clean"
    assert sandbox_containers("e2e-term-sbx") == []
    assert demo_leftovers() == []
