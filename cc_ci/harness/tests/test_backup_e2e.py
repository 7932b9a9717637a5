"""End to end on the real swarm with the backupbot stand-in (devworld/backupbot): the demo
recipe's backup stage passes, and each way a recipe's backup can be wrong fails it, named.

The stand-in is up only for this module, then removed: other tests check how a backup stage
without any backupbot is reported."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cc_ci.harness.deploy.docker import docker
from cc_ci.harness.waiting import wait_for
from devworld import backupbot
from devworld.demo import build_forge

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bot(world):
    with backupbot.deployed() as service:
        yield service


def variant(world: dict[str, str], name: str) -> tuple[dict[str, str], str]:
    forge = Path(world["FORGE"]) / f"backup-{name}"
    head = build_forge(forge, backup_variant=name)
    return {**world, "CCCI_FORGE_URL": f"file://{forge}"}, head


def backup_run(run_ccci, record, env, head, results, run_id):
    r = run_ccci(env, results, "--ref", head, "--run-id", run_id, "--stages", "backup")
    rec = record(results, run_id)
    return r, rec, rec["stages"][0]


def locks() -> list[str]:
    """The restic locks in the stand-in's repository, read from the host (fast enough to
    catch a backup's lock while it is held)."""
    return sorted(p.name for p in (repository() / "locks").iterdir())


@functools.cache
def repository() -> Path:
    mount = docker("volume", "inspect", backupbot.VOLUME, "--format", "{{.Mountpoint}}").strip()
    return Path(mount) / "restic"


def test_the_demo_backup_stage_passes_and_records_its_snapshot(
    bot, world, tmp_path, run_ccci, record, demo_leftovers
):
    r, rec, stage = backup_run(run_ccci, record, world, world["HEAD"], tmp_path, "e2e-bk-pass")
    assert r.returncode == 0, r.stdout + r.stderr
    assert stage["status"] == "passed", stage
    assert stage["tests"]["passed"] == 3
    d = stage["details"]
    assert d["backupbot"] == bot and len(d["snapshot"]) == 8
    stack = rec["timings"]["deployments"][0]["domain"].replace(".", "_")
    assert d["paths"] == [f"/var/lib/docker/volumes/{stack}_content/_data"]
    assert d["files"] >= 1
    log = (tmp_path / "e2e-bk-pass" / "backup.log").read_text()
    assert "backupbot-standin: restic backup took" in log
    assert "backup check: snapshot" in log
    assert rec["teardown"]["status"] == "clean" and demo_leftovers() == []


def test_a_path_label_that_misses_the_data_fails_the_backup_naming_the_path(
    bot, world, tmp_path, run_ccci, record, demo_leftovers
):
    env, head = variant(world, "path-misses")
    r, rec, stage = backup_run(run_ccci, record, env, head, tmp_path, "e2e-bk-path")
    assert r.returncode != 0
    assert stage["status"] in ("failed", "error")
    assert "missing.txt does not exist" in stage["message"]
    assert "backupbot.backup.volumes.content.path" in stage["message"]
    assert rec["teardown"]["status"] == "clean" and demo_leftovers() == []


def test_a_pre_hook_that_dumps_nothing_fails_the_backup_naming_the_hook(
    bot, world, tmp_path, run_ccci, record, demo_leftovers
):
    env, head = variant(world, "empty-dump")
    r, rec, stage = backup_run(run_ccci, record, env, head, tmp_path, "e2e-bk-empty")
    assert r.returncode == 1, r.stdout + r.stderr
    assert stage["status"] == "failed"
    assert "content:dump.sql" in stage["message"] and "is empty in the snapshot" in stage["message"]
    assert "`: > /data/dump.sql`" in stage["message"]
    assert stage["details"]["snapshot"]
    assert rec["teardown"]["status"] == "clean" and demo_leftovers() == []


def test_a_restore_that_brings_the_data_back_not_fails_the_verify_test(
    bot, world, tmp_path, run_ccci, record, demo_leftovers
):
    env, head = variant(world, "restores-nothing")
    r, rec, stage = backup_run(run_ccci, record, env, head, tmp_path, "e2e-bk-nothing")
    assert r.returncode == 1, r.stdout + r.stderr
    assert stage["status"] == "failed"
    assert stage["tests"]["failed"] == 1
    junit = ET.parse(tmp_path / "e2e-bk-nothing" / "backup.junit.xml").getroot()
    failed = [tc.get("name") for tc in junit.iter("testcase") if tc.find("failure") is not None]
    assert failed == ["test_restore_brought_the_original_back"], failed
    assert rec["teardown"]["status"] == "clean" and demo_leftovers() == []


def test_backupbot_backup_on_two_services_is_refused_clearly(
    bot, world, tmp_path, run_ccci, record, demo_leftovers
):
    env, head = variant(world, "two-services")
    r, rec, stage = backup_run(run_ccci, record, env, head, tmp_path, "e2e-bk-two")
    assert r.returncode != 0
    assert "backupbot.backup=true is set on 2 services" in stage["message"]
    assert "the backup spec allows it on exactly one" in stage["message"]
    assert rec["teardown"]["status"] == "clean" and demo_leftovers() == []


def test_killing_the_run_mid_backup_leaves_no_snapshot_lock_and_no_app(
    bot, world, tmp_path, run_ccci, demo_leftovers
):
    env, head = variant(world, "slow")
    env = {k: v for k, v in env.items() if k not in ("HEAD", "FORGE")}
    argv = [sys.executable, "-m", "cc_ci.harness.cli", "demo", "--src", "cc-ci/demo"]
    argv += ["--ref", head, "--stages", "backup", "--run-id", "e2e-bk-kill"]
    p = subprocess.Popen(
        [*argv, "--results-dir", str(tmp_path)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for("restic to hold a lock on the repository", locks, 300, interval=0.02)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
    assert demo_leftovers(), "the killed run should have left its app behind"
    # The backup inside the bot runs to its end and lets go of its lock.
    wait_for("the repository's locks to be gone", lambda: not locks(), 300, interval=0.5)
    r = run_ccci(
        world, tmp_path, "--ref", world["HEAD"], "--run-id", "e2e-bk-after", "--stages",
        "recipe-local",
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "removing orphaned run app" in (tmp_path / "e2e-bk-after" / "setup.log").read_text()
    assert demo_leftovers() == [] and locks() == []
    c = backupbot.running_container()
    snaps = json.loads(docker("exec", c, "restic", "snapshots", "--json", "--no-lock"))
    assert snaps, "the stand-in's repository should hold the snapshots of this module's runs"
