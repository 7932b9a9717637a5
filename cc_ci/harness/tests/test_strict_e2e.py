"""cc-ci-run against a strict, recording fake abra (devworld/strictabra.py) on PATH: every
call it makes is the one docs/abra-sim.md lists (the golden table), and the app secrets abra
generated reach nothing in the run folder (the canary variant of the demo recipe, whose own
test reads the app's secret and puts it in its output, its JUnit file and a screenshot's
name). One full run (install, upgrade, backup, recipe-local) serves both tests."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cc_ci.contract.stages import row_stage
from devworld.demo import build_forge
from devworld.strictabra import golden_table, wrapper

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = re.compile(r"\bdemo-[0-9a-f]{6}\.ci\.test\b")
RUN_ID = "e2e-strict"


@pytest.fixture(scope="module")
def strict_run(world: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("strict")
    head = build_forge(tmp / "forge", secret_canary=True)
    calls = tmp / "calls.jsonl"
    (tmp / "bin").mkdir()
    wrapper(tmp / "bin" / "abra", calls)
    env = {k: v for k, v in world.items() if k not in ("HEAD", "FORGE", "CCCI_ABRA")}
    env |= {"CCCI_FORGE_URL": f"file://{tmp / 'forge'}", "PATH": f"{tmp / 'bin'}:{env['PATH']}"}
    results = tmp / "results"
    r = subprocess.run(
        [sys.executable, "-m", "cc_ci.harness.cli", "demo", "--src", "cc-ci/demo"]
        + ["--ref", head, "--run-id", RUN_ID, "--results-dir", str(results)],
        capture_output=True,
        text=True,
        timeout=1200,
        env=env,
        cwd=ROOT,
    )
    log = [json.loads(line) for line in calls.read_text().splitlines()]
    return r, results, log


def test_every_abra_call_of_a_full_run_is_the_golden_one(strict_run):
    r, results, log = strict_run
    rec = json.loads((results / RUN_ID / "run.json").read_text())
    status = {row_stage(s["name"]): s["status"] for s in rec["stages"]}  # upgrade from <tag>
    # backup passes only where a backup-bot-two is deployed (else: a stage error, exit 2)
    assert {k: v for k, v in status.items() if k != "backup"} == {
        "install": "passed",
        "upgrade": "passed",
        "recipe-local": "passed",
    }, r.stdout + r.stderr
    backed_up = any(e["argv"][:3] == ["app", "backup", "create"] and e["exit"] == 0 for e in log)
    wanted = [call for call, when in golden_table() if backed_up or "backup-bot-two" not in when]
    # the deployments' chains run side by side, so their calls interleave: the run's own
    # come first, then each deployment's in the table's order (each from its `app new` on)
    made = [" ".join(["abra", *e["argv"]]) for e in log]
    run_own = [c for c in made if not DOMAIN.search(c)]
    per_app: dict[str, list[str]] = {}
    for call in made[len(run_own) :]:
        m = DOMAIN.search(call)
        assert m, f"a call of no deployment after the deployments began: {call}"
        per_app.setdefault(m.group(0), []).append(DOMAIN.sub("<domain>", call))
    assert run_own == [c for c in wanted if "<domain>" not in c], "\n".join(made)
    new_app = "abra app new demo -s default -D <domain> -C -n -o"
    table: list[list[str]] = []
    for call in (c for c in wanted if "<domain>" in c):
        if call == new_app:
            table.append([])
        table[-1].append(call)
    assert sorted(per_app.values()) == sorted(table), "\n".join(made)
    refused = [
        e for e in log if "refused" in e or (e["exit"] and e["argv"][:2] != ["app", "backup"])
    ]
    assert refused == [], refused
    terminal = [e["tty"] for e in log if e["argv"][:2] in (["app", "backup"], ["app", "restore"])]
    assert terminal and all(t == [True, True, True] for t in terminal)


def test_no_app_secret_abra_generated_is_anywhere_in_the_run_folder(strict_run):
    r, results, log = strict_run
    generated = [s for e in log for s in e.get("secrets", [])]
    assert len(generated) == 2, "one secret per deployment (the fresh one and the upgrade's)"
    run_dir = results / RUN_ID
    rec = json.loads((run_dir / "run.json").read_text())
    local = next(s for s in rec["stages"] if s["name"] == "recipe-local")
    assert local["status"] == "passed", local
    assert local["tests"]["passed"] >= 4, "the canary test ran (and passed) with the others"
    assert "the app's own secret: [redacted]" in (run_dir / "recipe-local.log").read_text()
    assert any("redacted" in name for name in local["artifacts"]), local["artifacts"]
    for secret in generated:
        assert secret not in r.stdout + r.stderr
        for f in results.rglob("*"):
            assert secret not in f.name, f"a secret names {f}"
            if f.is_file():
                assert secret.encode() not in f.read_bytes(), f"a secret leaked into {f}"
