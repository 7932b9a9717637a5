"""End to end on the real swarm: cc-ci-run takes the demo recipe through its stages behind
Traefik, records the run, and leaves nothing behind — even when it is killed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cc_ci.harness.deploy.docker import docker
from cc_ci.harness.waiting import wait_for
from devworld.demo import SRC, build_forge
from devworld.forge import build_fork

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]


def test_demo_passes_install_upgrade_and_recipe_local_and_leaves_nothing(
    world, tmp_path, run_ccci, record, demo_leftovers
):
    r = run_ccci(
        world,
        tmp_path,
        "--ref",
        world["HEAD"],
        "--run-id",
        "e2e-full",
        "--stages",
        "install,upgrade,recipe-local",
    )
    print(r.stdout, r.stderr)
    assert r.returncode == 0, r.stdout + r.stderr
    rec = record(tmp_path, "e2e-full")
    assert rec["status"] == "passed"
    assert rec["source"]["ref"] == world["HEAD"]
    assert rec["deployments"] == 2
    stages = {s["name"]: s for s in rec["stages"]}
    assert stages["install"]["status"] == "passed" and stages["install"]["tests"]["passed"] >= 5
    upgrade = stages["upgrade from 1.1.0+1.1"]  # the default base: the previous release
    assert upgrade["status"] == "passed" and upgrade["tests"]["passed"] >= 3
    # the record proves the upgrade: the release and repository it came from, what changed
    details = upgrade["details"]
    assert (details["from"], details["from_repo"], details["proved"]) == (
        "1.1.0+1.1",
        "cc-ci/demo",
        True,
    ), details
    app_changes = next(s["changes"] for s in details["services"] if s["service"] == "app")
    assert {(c["kind"], c["name"]) for c in app_changes} >= {
        ("image", ""),
        ("config", "entrypoint"),
    }
    assert stages["recipe-local"]["status"] == "passed"
    assert stages["recipe-local"]["tests"]["passed"] == 3
    assert stages["recipe-local"]["artifacts"] == ["screenshots/recipe-local-front.png"]
    assert (tmp_path / "e2e-full" / "screenshots" / "recipe-local-front.png").stat().st_size > 1000
    assert "screenshots/install-front.png" in stages["install"]["artifacts"]
    assert (tmp_path / "e2e-full" / "screenshots" / "install-front.png").stat().st_size > 1000
    assert (tmp_path / "e2e-full" / "install.junit.xml").exists()
    assert rec["teardown"] == {
        "status": "clean",
        "duration_s": rec["teardown"]["duration_s"],
        "leftovers": [],
        "log": "teardown.log",
    }
    assert "install" in r.stdout and "PASS" in r.stdout
    assert f"to run it again: {rec['repro']}" in r.stdout
    # the two deployments were side by side (the default: CCCI_MAX_DEPLOYMENTS=2), each on
    # its own app, and each chain's wall time is in the record
    fresh, up = rec["timings"]["chains"]
    assert (fresh["stages"], up["stages"]) == (["install", "recipe-local"], [upgrade["name"]])
    assert up["started_s"] < fresh["ended_s"] and fresh["started_s"] < up["ended_s"]
    assert all(c["wall_s"] > 0 and not c["interrupted"] for c in (fresh, up))
    assert len({d["domain"] for d in rec["timings"]["deployments"]}) == 2
    assert "at most 2 at once" in (tmp_path / "e2e-full" / "setup.log").read_text()
    assert demo_leftovers() == []


def test_a_failing_recipe_test_exits_1_with_the_failure_in_the_record(
    world, tmp_path, run_ccci, record, demo_leftovers
):
    forge = Path(world["FORGE"]) / "broken"
    head = build_forge(forge, broken_test=True)
    env = {**world, "CCCI_FORGE_URL": f"file://{forge}"}
    r = run_ccci(env, tmp_path, "--ref", head, "--run-id", "e2e-broken", "--stages", "recipe-local")
    assert r.returncode == 1, r.stdout + r.stderr
    rec = record(tmp_path, "e2e-broken")
    stage = rec["stages"][0]
    assert (rec["status"], stage["status"]) == ("failed", "failed")
    assert stage["tests"]["failed"] == 1 and stage["tests"]["passed"] == 3
    assert "a failing recipe test" in (tmp_path / "e2e-broken" / "recipe-local.log").read_text()
    assert rec["teardown"]["status"] == "clean"
    assert demo_leftovers() == []


def test_backup_without_backup_bot_two_is_a_clear_stage_error(
    world, tmp_path, run_ccci, record, demo_leftovers
):
    r = run_ccci(
        world, tmp_path, "--ref", world["HEAD"], "--run-id", "e2e-backup", "--stages", "backup"
    )
    assert r.returncode == 2, r.stdout + r.stderr
    rec = record(tmp_path, "e2e-backup")
    stage = rec["stages"][0]
    assert stage["status"] == "error"
    assert "backupbot" in stage["message"].lower() or "backup" in stage["message"].lower()
    assert "Traceback" not in r.stderr
    assert rec["teardown"]["status"] == "clean"
    assert demo_leftovers() == []


SLEEPS = "import time\n\n\ndef test_sleeps():\n    time.sleep(600)\n"


def start_two_chains(world: dict[str, str], results: Path, run_id: str):
    """A run of two chains at once, in the background: recipe-local (the PR's tests sleep
    for ten minutes in their container) beside the upgrade from the previous release;
    returns once both chains' apps are deployed and healthy, before either tears down."""
    forge = Path(world["FORGE"]) / run_id
    head = build_forge(forge, head_tests={"test_sleeps.py": SLEEPS})
    env = {**world, "CCCI_FORGE_URL": f"file://{forge}"}
    p = start(env, results, run_id, head, "recipe-local,upgrade")
    wait_for("both chains' apps to be up", lambda: _both_up(results / run_id), 300)
    return p


def _both_up(run_dir: Path) -> bool:
    deployments = _record_now(run_dir).get("timings", {}).get("deployments", [])
    return len(deployments) == 2 and all(
        "healthy_s" in d and "teardown_s" not in d for d in deployments
    )


def test_sigterm_mid_stage_tears_down_both_chains(world, tmp_path, record, demo_leftovers):
    p = start_two_chains(world, tmp_path, "e2e-term")
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=180)
    assert p.returncode == 2, out + err
    rec = record(tmp_path, "e2e-term")
    for stage in rec["stages"]:  # each chain's running stage
        assert (stage["status"], stage["message"]) == ("error", "the run was interrupted"), stage
    assert [c["interrupted"] for c in rec["timings"]["chains"]] == [True, True]
    assert all("teardown_s" in d for d in rec["timings"]["deployments"])
    assert rec["teardown"]["status"] == "clean"
    assert demo_leftovers() == []


def test_the_next_runs_janitor_removes_what_a_sigkilled_run_left(
    world, tmp_path, run_ccci, record, demo_leftovers
):
    """Killed with both chains' apps up: its claims name both, the next run removes both."""
    p = start_two_chains(world, tmp_path, "e2e-kill")
    p.kill()
    p.communicate(timeout=30)
    deployments = record(tmp_path, "e2e-kill")["timings"]["deployments"]
    stacks = {d["domain"].replace(".", "_") for d in deployments}
    left = demo_leftovers()
    assert len(stacks) == 2 and all(any(s in x for x in left) for s in stacks), left
    # The next run starts with the janitor; a run of just an upgrade-less, fast stage set.
    r = run_ccci(
        world,
        tmp_path,
        "--ref",
        world["HEAD"],
        "--run-id",
        "e2e-after-kill",
        "--stages",
        "recipe-local",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    setup = (tmp_path / "e2e-after-kill" / "setup.log").read_text()
    assert all(f"removing orphaned run app {stack}" in setup for stack in stacks), setup
    assert "janitor: cleared state of dead run e2e-kill" in setup
    assert demo_leftovers() == []


def start(env: dict[str, str], results: Path, run_id: str, ref: str, stages: str):
    """cc-ci-run on the demo recipe, in the background."""
    env = {k: v for k, v in env.items() if k not in ("HEAD", "FORGE")}
    argv = [sys.executable, "-m", "cc_ci.harness.cli", "demo", "--src", "cc-ci/demo"]
    argv += ["--ref", ref, "--stages", stages, "--run-id", run_id, "--results-dir", str(results)]
    return subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def start_install(world: dict[str, str], results: Path, run_id: str):
    """cc-ci-run's install stage on the demo head, in the background; returns once the stage
    is running (its app deployed and healthy)."""
    p = start(world, results, run_id, world["HEAD"], "install")
    wait_for("the install stage to start", lambda: _stage_running(results / run_id), 120)
    return p


def _record_now(run_dir: Path) -> dict:
    """The run record as it is now; empty before it is first written."""
    try:
        return json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return {}


def _stage_running(run_dir: Path) -> bool:
    rec = _record_now(run_dir)
    return (
        any(s["status"] == "running" for s in rec.get("stages", []))
        and rec.get("deployments", 0) >= 1
        and any(line.startswith("healthy") for line in _read(run_dir / "install.log"))
    )


def _read(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def test_a_pr_that_mounts_the_docker_socket_is_refused_before_anything_is_deployed(
    world, tmp_path, run_ccci, record, demo_leftovers
):
    forge = Path(world["FORGE"]) / "hostile"
    head = build_forge(forge, hostile=True)
    env = {**world, "CCCI_FORGE_URL": f"file://{forge}"}
    r = run_ccci(
        env, tmp_path, "--ref", head, "--run-id", "e2e-hostile", "--stages", "install,recipe-local"
    )
    assert r.returncode == 1, r.stdout + r.stderr
    rec = record(tmp_path, "e2e-hostile")
    install = rec["stages"][0]
    assert install["status"] == "failed"
    assert "/var/run/docker.sock" in install["message"]
    assert rec["stages"][1]["status"] == "skipped"
    assert rec["deployments"] == 0
    assert rec["teardown"]["status"] == "not-needed"
    assert rec["policy"][0]["refused"] is True
    assert demo_leftovers() == []


def test_a_volume_that_cannot_be_removed_fails_the_run_naming_it(
    world, tmp_path, record, demo_leftovers
):
    p = start_install(world, tmp_path, "e2e-pinned")
    domain = record(tmp_path, "e2e-pinned")["timings"]["deployments"][0]["domain"]
    volume = f"{domain.replace('.', '_')}_content"
    # Something outside the app holds its volume: teardown cannot remove it.
    holder = docker(
        "run", "-d", "-v", f"{volume}:/held", "cc-ci/demo-app:1.0", "sleep", "600"
    ).strip()
    try:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 2, out + err
        rec = record(tmp_path, "e2e-pinned")
        assert rec["teardown"]["status"] == "leftover"
        assert f"volume {volume}" in rec["teardown"]["leftovers"]
        assert rec["status"] == "error"
        assert volume in out
    finally:
        docker("rm", "-f", holder, check=False)
        docker("volume", "rm", "-f", volume, check=False)
    assert demo_leftovers() == []


def test_the_git_token_never_reaches_logs_or_the_record(world, tmp_path, run_ccci):
    canary = "canary-token-4f1d9e2b7c"
    token = tmp_path / "token"
    token.write_text(canary + "\n")
    env = {**world, "CCCI_GIT_TOKEN_FILE": str(token)}
    r = run_ccci(
        env,
        tmp_path / "results",
        "--ref",
        world["HEAD"],
        "--run-id",
        "e2e-token",
        "--stages",
        "recipe-local",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert canary not in r.stdout + r.stderr
    for f in (tmp_path / "results").rglob("*"):
        if f.is_file():
            assert canary.encode() not in f.read_bytes(), f"the token leaked into {f}"


def test_a_forks_own_release_tags_never_become_the_base_and_each_base_is_its_own_row(
    world, tmp_path, run_ccci, record, demo_leftovers
):
    """A PR from a fork whose author tagged `99.0.0+x` and moved `1.1.0+1.1` onto a commit
    of their own (the demo's head again, so an upgrade from it would upgrade nothing and
    fail): the bases are the recipe's own releases, upgraded from one after the other."""
    forge = Path(world["FORGE"]) / "forked"
    build_forge(forge)
    fork = build_fork(forge, SRC, "mallory/demo", pr=3, moved_tags=("1.1.0+1.1",))
    # in series (CCCI_MAX_DEPLOYMENTS=1): one upgrade chain after the other
    env = {**world, "CCCI_FORGE_URL": f"file://{forge}", "CCCI_MAX_DEPLOYMENTS": "1"}
    head = ["--repo", SRC, "--src", "mallory/demo", "--ref", fork.head, "--pr", "3"]
    r = run_ccci(
        env, tmp_path, *head, "--run-id", "e2e-bases", "--stages", "upgrade",
        "--upgrade-from", "1.0.0+1.0,1.1.0+1.1",
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    rec = record(tmp_path, "e2e-bases")
    assert rec["source"] | {"url": None} == {
        "repo": "mallory/demo", "base_repo": SRC, "ref": fork.head, "pr": 3, "url": None,
    }  # fmt: skip
    assert [s["name"] for s in rec["stages"]] == [
        "upgrade from 1.0.0+1.0",
        "upgrade from 1.1.0+1.1",
    ]
    assert rec["deployments"] == 2
    first, second = rec["timings"]["chains"]
    assert second["started_s"] >= first["ended_s"], rec["timings"]["chains"]
    assert (
        "at most 1 at once (CCCI_MAX_DEPLOYMENTS)"
        in (tmp_path / "e2e-bases" / "setup.log").read_text()
    )
    base = forge / f"{SRC}.git"
    for s in rec["stages"]:
        tag = s["name"].removeprefix("upgrade from ")
        assert s["status"] == "passed" and s["tests"]["passed"] >= 3, s
        commit = subprocess.run(
            ["git", "rev-parse", f"{tag}^{{commit}}"], cwd=base, capture_output=True, text=True
        ).stdout.strip()
        base_facts = {k: s["details"].get(k) for k in ("from", "from_repo", "from_commit")}
        assert base_facts == {"from": tag, "from_repo": SRC, "from_commit": commit}
        assert s["details"]["proved"] is True, s["details"]
        assert commit != fork.hostile
        assert (
            s["log"] == f"upgrade-from-{tag}.log" and s["junit"] == f"upgrade-from-{tag}.junit.xml"
        )
    assert "99.0.0+x" not in (tmp_path / "e2e-bases" / "run.json").read_text()
    assert rec["repro"] == (
        f"CCCI_FORGE_URL=file://{forge} cc-ci-run demo --repo cc-ci/demo --src mallory/demo "
        f"--ref {fork.head} --pr 3 --stages upgrade --upgrade-from 1.0.0+1.0,1.1.0+1.1"
    )
    assert f"to run it again: {rec['repro']}" in r.stdout
    assert rec["teardown"]["status"] == "clean"

    # the fork's own tag, asked for by name: refused, nothing deployed
    r = run_ccci(
        env, tmp_path, *head, "--run-id", "e2e-fork-tag", "--stages", "upgrade",
        "--upgrade-from", "99.0.0+x",
    )  # fmt: skip
    assert r.returncode == 2, r.stdout + r.stderr
    rec = record(tmp_path, "e2e-fork-tag")
    assert rec["deployments"] == 0 and rec["teardown"]["status"] == "not-needed"
    (row,) = rec["stages"]
    assert row["status"] == "error"
    assert row["message"].startswith(
        "--upgrade-from 99.0.0+x: not a release tag of the base repository cc-ci/demo"
    )
    assert demo_leftovers() == []
