"""End to end on the real swarm: the real recipe suites (tests/<recipe>/) run by cc-ci-run
against the local replicas of custom-html, matrix-synapse, keycloak and n8n (the backup stage
on the backupbot stand-in, devworld/backupbot, where the suite has backup tests), and two tests
of the tests for each: a head that loses the data on upgrade makes the data-survival tests
fail, and a head identical to the previous release (a no-op upgrade) fails the upgrade stage,
the harness saying so and the suite's "was upgraded" test failing with it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cc_ci.contract.stages import row_stage
from cc_ci.harness.deploy.docker import docker
from cc_ci.harness.settings import Settings
from devworld import backupbot, proxy

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[3]
ZONE = "ci.test"


def which_abra() -> str:
    real = shutil.which("abra")
    if real:
        return real
    sim = Path(sys.executable).parent / "abra-sim"
    assert sim.exists(), "neither abra nor .venv/bin/abra-sim: run scripts/bootstrap"
    return str(sim)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    state = Path(os.environ.get("CCCI_STATE_DIR", Path.home() / ".local" / "state" / "cc-ci"))
    forge = tmp_path_factory.mktemp("replica-forge")
    env = {
        **os.environ,
        "CCCI_STATE_DIR": str(state),
        "CCCI_ZONE": ZONE,
        "CCCI_RESOLVE_TO": "127.0.0.1",
        "CCCI_CA_FILE": str(state / "pki" / "ca.crt"),
        "CCCI_FORGE_URL": f"file://{forge}",
        "CCCI_ABRA": which_abra(),
    }
    proxy.up(Settings.from_env(env), state / "pki")
    return {**env, "FORGE": str(forge)}


@pytest.fixture
def bot(world):
    """The backupbot stand-in (devworld/backupbot) for one test, removed after it."""
    with backupbot.deployed() as service:
        yield service


def build(world: dict[str, str], recipe: str, forge: Path, *flags: str) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "devworld.replicas", "build", recipe, "--forge", str(forge), *flags],
        capture_output=True,
        text=True,
        timeout=3000,
        cwd=ROOT,
        env=world,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def run(world, forge: Path, recipe: str, head: str, results: Path, run_id: str, stages: str):
    env = {**world, "CCCI_FORGE_URL": f"file://{forge}"}
    env.pop("FORGE")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "cc_ci.harness.cli",
            recipe,
            "--src",
            f"replica/{recipe}",
            "--ref",
            head,
            "--stages",
            stages,
            "--run-id",
            run_id,
            "--results-dir",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=2400,
        env=env,
        cwd=ROOT,
    )
    print(r.stdout, r.stderr[-3000:])
    rec = json.loads((results / run_id / "run.json").read_text())
    # by stage: each run here upgrades from one base, its row `upgrade from <tag>`
    return r, rec, {row_stage(s["name"]): s for s in rec["stages"]}


def leftovers(rec: dict) -> list[str]:
    """What is left on the swarm of this run's own apps (other runs may share the swarm)."""
    stacks = [d["domain"].replace(".", "_") + "_" for d in rec["timings"]["deployments"]]
    assert stacks, "the run made no deployment"
    found = []
    for kind in ("service", "volume", "secret", "config"):
        out = docker(kind, "ls", "--format", "{{.Name}}", timeout=60).split()
        found += [f"{kind} {n}" for n in out if n.startswith(tuple(stacks))]
    return found


def upgraded(details: dict, service: str) -> list[dict]:
    """The `from → to` changes the upgrade stage's record lists for one service."""
    return next(s["changes"] for s in details["services"] if s["service"] == service)


def failed_tests(junit: Path) -> list[str]:
    root = ET.parse(junit).getroot()
    return [
        tc.get("name", "")
        for tc in root.iter("testcase")
        if tc.find("failure") is not None or tc.find("error") is not None
    ]


def test_custom_html_suite_passes_on_its_replica_with_every_stage(world, bot, tmp_path):
    forge = Path(world["FORGE"])
    head = build(world, "custom-html", forge)
    r, rec, stages = run(
        world,
        forge,
        "custom-html",
        head,
        tmp_path,
        "e2e-custom-html",
        "install,upgrade,backup,recipe-local",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert stages["install"]["status"] == "passed", stages["install"]
    assert stages["install"]["tests"]["passed"] >= 6
    assert stages["upgrade"]["status"] == "passed", stages["upgrade"]
    assert stages["upgrade"]["tests"]["passed"] >= 4
    details = stages["upgrade"]["details"]
    assert details["from"].startswith("1.0.0+") and details["from_repo"] == "replica/custom-html"
    assert details["proved"] is True and details["to"] == rec["source"]["ref"]
    app_changes = {(c["kind"], c["name"]) for c in upgraded(details, "app")}
    assert {("image", ""), ("config", "nginx_default_conf")} <= app_changes, app_changes
    assert stages["recipe-local"]["status"] == "passed", stages["recipe-local"]
    # backup-bot-two cannot be had here: the backup stage runs on the stand-in
    assert stages["backup"]["status"] == "passed", stages["backup"]
    assert stages["backup"]["tests"]["failed"] == 0
    assert stages["backup"]["details"]["backupbot"] == bot
    assert stages["backup"]["details"]["paths"][0].endswith("_content/_data")
    assert rec["deployments"] == 2
    assert rec["teardown"]["status"] == "clean"
    assert leftovers(rec) == []


def test_custom_html_marker_test_fails_when_the_upgrade_loses_the_volume(world, tmp_path):
    forge = Path(world["FORGE"]) / "lossy"
    head = build(world, "custom-html", forge, "--lose-data")
    r, rec, stages = run(world, forge, "custom-html", head, tmp_path, "e2e-lossy", "upgrade")
    assert r.returncode == 1, r.stdout + r.stderr
    assert stages["upgrade"]["status"] == "failed"
    failed = failed_tests(tmp_path / "e2e-lossy" / stages["upgrade"]["junit"])
    assert failed == ["test_the_marker_page_survived_the_upgrade"], failed
    assert rec["teardown"]["status"] == "clean"
    assert leftovers(rec) == []


def test_matrix_synapse_suite_on_its_replica_backup_through_its_dump_hook(world, bot, tmp_path):
    forge = Path(world["FORGE"])
    head = build(world, "matrix-synapse", forge)
    r, rec, stages = run(
        world,
        forge,
        "matrix-synapse",
        head,
        tmp_path,
        "e2e-synapse",
        "install,upgrade,backup,recipe-local",
    )
    assert stages["install"]["tests"]["passed"] >= 6
    assert stages["upgrade"]["status"] == "passed"
    assert stages["upgrade"]["tests"]["failed"] == 0
    assert stages["recipe-local"]["status"] == "passed"
    # The backup runs through the recipe's PostgreSQL dump hook (pg_backup.sh) and the
    # restore's load brings the original message back. A finding, not a pass: Synapse keeps
    # serving the message sent after the backup (most likely from its event cache, not yet
    # verified: the database is replaced underneath the running app, which nothing restarts), so that test fails and
    # the run exits 1 (devworld/replicas/matrix-synapse/README.md).
    assert r.returncode == 1, r.stdout + r.stderr
    assert stages["backup"]["status"] == "failed", stages["backup"]
    failed = failed_tests(tmp_path / "e2e-synapse" / "backup.junit.xml")
    assert failed == ["test_the_message_sent_after_the_backup_is_gone"], failed
    paths = stages["backup"]["details"]["paths"]
    assert any(p.endswith("_postgres/_data/backup.sql") for p in paths), paths
    log = (tmp_path / "e2e-synapse" / "backup.log").read_text()
    assert "backupbot.backup.pre-hook in " in log and "/pg_backup.sh backup" in log
    assert "backupbot.restore.post-hook in " in log
    assert rec["deployments"] == 2
    assert rec["teardown"]["status"] == "clean"
    assert leftovers(rec) == []


def test_matrix_synapse_survival_tests_fail_when_the_upgrade_loses_the_data(world, tmp_path):
    forge = Path(world["FORGE"]) / "lossy"
    head = build(world, "matrix-synapse", forge, "--lose-data")
    r, rec, stages = run(world, forge, "matrix-synapse", head, tmp_path, "e2e-lossy-mx", "upgrade")
    assert r.returncode == 1, r.stdout + r.stderr
    failed = failed_tests(tmp_path / "e2e-lossy-mx" / stages["upgrade"]["junit"])
    assert sorted(failed) == [
        "test_the_message_survived_the_upgrade",
        "test_the_user_still_logs_in_with_the_old_password",
    ], failed
    assert rec["teardown"]["status"] == "clean"
    assert leftovers(rec) == []


# -- keycloak and n8n, and the no-op upgrade of every replica ---------------------------------

LOST = {
    "keycloak": ["test_the_realm_survived_the_upgrade", "test_the_user_survived_the_upgrade"],
    "n8n": ["test_the_owner_still_signs_in", "test_the_workflow_survived_the_upgrade"],
}
NOT_UPGRADED = {
    "custom-html": "test_nginx_was_upgraded",
    "matrix-synapse": "test_synapse_was_upgraded",
    "keycloak": "test_keycloak_was_upgraded",
    "n8n": "test_n8n_was_upgraded",
}


@pytest.mark.parametrize("recipe", ["keycloak", "n8n"])
def test_the_suite_passes_on_its_replica_and_the_record_proves_the_upgrade(world, tmp_path, recipe):
    forge = Path(world["FORGE"])
    head = build(world, recipe, forge)
    run_id = f"e2e-{recipe}"
    r, rec, stages = run(world, forge, recipe, head, tmp_path, run_id, "install,upgrade")
    assert r.returncode == 0, r.stdout + r.stderr
    assert stages["install"]["status"] == "passed", stages["install"]
    assert stages["upgrade"]["status"] == "passed", stages["upgrade"]
    assert stages["upgrade"]["tests"]["failed"] == 0
    details = stages["upgrade"]["details"]
    assert details["proved"] is True and details["from"].startswith("1.0.0+")
    assert [c["kind"] for c in upgraded(details, "app")] == ["image"], details
    assert upgraded(details, "db") == [], "the database image is the same in both releases"
    assert rec["deployments"] == 2
    assert rec["teardown"]["status"] == "clean"
    assert leftovers(rec) == []


@pytest.mark.parametrize("recipe", sorted(LOST))
def test_the_survival_tests_fail_when_the_upgrade_loses_the_data(world, tmp_path, recipe):
    forge = Path(world["FORGE"]) / "lossy"
    head = build(world, recipe, forge, "--lose-data")
    run_id = f"e2e-lossy-{recipe}"
    r, rec, stages = run(world, forge, recipe, head, tmp_path, run_id, "upgrade")
    assert r.returncode == 1, r.stdout + r.stderr
    failed = failed_tests(tmp_path / run_id / stages["upgrade"]["junit"])
    assert sorted(failed) == LOST[recipe], failed
    assert rec["teardown"]["status"] == "clean"
    assert leftovers(rec) == []


@pytest.mark.parametrize("recipe", sorted(NOT_UPGRADED))
def test_a_no_op_upgrade_fails_the_upgrade_stage(world, tmp_path, recipe):
    forge = Path(world["FORGE"]) / "no-op"
    head = build(world, recipe, forge, "--no-op-upgrade")
    run_id = f"e2e-no-op-{recipe}"
    r, rec, stages = run(world, forge, recipe, head, tmp_path, run_id, "upgrade")
    assert r.returncode == 1, r.stdout + r.stderr
    upgrade = stages["upgrade"]
    assert upgrade["status"] == "failed"
    release = upgrade["details"]["from"]
    assert upgrade["message"] == (
        f"upgrade from {release}: the head deploys exactly what {release} did: "
        "nothing was upgraded"
    )
    assert upgrade["details"]["proved"] is False
    assert all(s["changes"] == [] for s in upgrade["details"]["services"]), upgrade["details"]
    failed = failed_tests(tmp_path / run_id / stages["upgrade"]["junit"])
    assert failed == [NOT_UPGRADED[recipe]], failed
    assert rec["teardown"]["status"] == "clean"
    assert leftovers(rec) == []
