"""Replica benchmark: per replica, each stage's wall time, the deployments a full run made,
and the time from deploy to healthy, beside the earlier real build's figures on a real server.

    .venv/bin/python bench/replica_bench.py [--results-dir results] [--run] [--images]
    .venv/bin/python bench/replica_bench.py --compare [RECIPE …]

It reads the newest run record `scripts/replica` wrote for each replica (run ids
`replica-<recipe>-<time>`, in the results folder) that ran install and upgrade and passed.
`--run` first runs `scripts/replica --all`; `--images` also times a warm build of each
replica's images and recipe repository (everything cached: the figure a second run pays).
For the backup stage it also prints `backup create` and `restore` as abra ran them, and the
share of the stage restic itself took (the `backupbot-standin: restic … took N s` lines the
backupbot stand-in writes to the stage's log; a real backup-bot-two writes none).
`--compare` runs each replica (all, or those named) twice with `scripts/replica`, its
deployments in series (CCCI_MAX_DEPLOYMENTS=1) and side by side (2), and prints the two
runs side by side: wall time, each chain's time, the time abra and the swarm spent on each
chain's deployment (from the record: deploy → healthy, upgrade → healthy, teardown), the
time in its test suites, the harness's overhead, and the ratios parallel / its longest
chain and parallel / serial. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.chain_figures import side_by_side  # noqa: E402
from cc_ci.contract.stages import row_stage  # noqa: E402
from devworld.replicas.build import replicas  # noqa: E402

# What the earlier real-server build measured on a 2-vCPU server with pulled images.
REAL_SERVER = {
    "custom-html": "124 s for install + upgrade + backup (Drone build #33)",
    "keycloak": "about 31 min for three stages, three deployments; install 8 m 30 s, "
    "upgrade 10 m 10 s, backup 8 m 15 s (5–8 min per deploy)",
    "matrix-synapse": "install about 2.7 min, upgrade 2.3 min, backup 1.5 min",
    "n8n": "all three stages green; no times recorded",
}


def newest_full_run(results: Path, recipe: str) -> dict | None:
    for run_json in sorted(results.glob(f"replica-{recipe}-*/run.json"), reverse=True):
        try:
            rec = json.loads(run_json.read_text())
        except (OSError, ValueError):
            continue
        names = {row_stage(s["name"]) for s in rec.get("stages", [])}
        if {"install", "upgrade"} <= names and rec.get("status") == "passed":
            rec["_path"] = str(run_json)
            return rec
    return None


RESTIC_LINE = re.compile(r"backupbot-standin: restic (\w+) took ([0-9.]+)s")
ABRA_CALL = re.compile(r"^\$ abra app (backup create|restore) ")
ABRA_EXIT = re.compile(r"^  exit -?\d+ in ([0-9.]+)s")


def backup_figures(log: str) -> dict[str, float]:
    """From a backup stage's log: seconds of `backup create`, of `restore`, and of restic
    (every restic command the stand-in ran, summed)."""
    out = {"backup create": 0.0, "restore": 0.0, "restic": 0.0}
    call = None
    for line in log.splitlines():
        if m := ABRA_CALL.match(line):
            call = m.group(1)
        elif (m := ABRA_EXIT.match(line)) and call:
            out[call] += float(m.group(1))
            call = None
        elif m := RESTIC_LINE.search(line):
            out["restic"] += float(m.group(2))
    return out


def report_backup(rec: dict) -> None:
    stage = next((s for s in rec["stages"] if s["name"] == "backup"), None)
    if stage is None or stage.get("duration_s") is None:
        print("  backup: not run (scripts/replica runs it on the backupbot stand-in)")
        return
    log = Path(rec["_path"]).parent / "backup.log"
    f = backup_figures(log.read_text()) if log.exists() else {}
    wall = stage["duration_s"]
    if not f.get("restic"):
        print(f"  backup: {wall:.1f} s wall; no restic timings in {log}")
        return
    print(
        f"  backup: {wall:.1f} s wall; backup create {f['backup create']:.1f} s, restore "
        f"{f['restore']:.1f} s; restic itself {f['restic']:.1f} s = "
        f"{100 * f['restic'] / wall:.0f}% of the stage"
    )


def warm_build_seconds(recipe: str) -> float:
    with tempfile.TemporaryDirectory(prefix="cc-ci-bench-forge-") as forge:
        t0 = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "devworld.replicas", "build", recipe, "--forge", forge],
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=3600,
        )
        return time.monotonic() - t0


def report(recipe: str, rec: dict | None, warm: float | None) -> None:
    print(f"\n== {recipe}")
    if rec is None:
        print("  no passed run record with install and upgrade: run scripts/replica " + recipe)
    else:
        print(f"  run record: {rec['_path']}")
        for s in rec["stages"]:
            dur = f"{s['duration_s']:7.1f} s" if s.get("duration_s") is not None else "      -"
            print(f"  {s['name']:<13}{s['status']:<9}{dur}")
        print(f"  {'whole run':<22}{rec['duration_s']:7.1f} s")
        report_backup(rec)
        deps = rec.get("deployments", 0)
        print(f"  deployments: {deps} (target at most 2){'' if deps <= 2 else '  OVER TARGET'}")
        for d in rec.get("timings", {}).get("deployments", []):
            healthy = d.get("deploy_s", 0.0) + d.get("healthy_s", float("nan"))
            line = f"  {d['kind']:<8} deploy → healthy {healthy:6.1f} s"
            if "upgrade_s" in d:
                line += f"; upgrade deploy → healthy {d['upgrade_s']:6.1f} s"
            line += f"; teardown {d.get('teardown_s', float('nan')):5.1f} s"
            print(line)
    if warm is not None:
        print(f"  warm image + repository build: {warm:.1f} s")
    print(f"  earlier real server: {REAL_SERVER.get(recipe, 'none recorded')}")


def replica_run(recipe: str, results: Path, at_once: int) -> tuple[float, dict] | None:
    """`scripts/replica RECIPE` with `at_once` deployments at once: (wall s, its record)."""
    env = {**os.environ, "CCCI_MAX_DEPLOYMENTS": str(at_once)}
    r = subprocess.run(
        [str(ROOT / "scripts" / "replica"), recipe, "--results-dir", str(results)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    rec = newest_full_run(results, recipe)
    if r.returncode != 0 or rec is None:
        print(f"  scripts/replica {recipe} (CCCI_MAX_DEPLOYMENTS={at_once}) did not pass:")
        print("\n".join((r.stdout + r.stderr).splitlines()[-15:]))
        return None
    # the run's own wall time: scripts/replica also builds images and brings up the proxy
    return rec["duration_s"], rec


def compare(recipes: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="cc-ci-bench-replicas-") as tmp:
        for recipe in recipes:
            print(f"\n== {recipe}: in series and side by side")
            serial = replica_run(recipe, Path(tmp) / "serial", 1)
            parallel = replica_run(recipe, Path(tmp) / "parallel", 2)
            if serial is None or parallel is None:
                continue
            for line in side_by_side(serial, parallel, None):
                print(f"  {line}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results-dir", type=Path, default=ROOT / "results")
    p.add_argument("--run", action="store_true", help="run scripts/replica --all first")
    p.add_argument("--images", action="store_true", help="time a warm build of each replica")
    p.add_argument(
        "--compare",
        nargs="*",
        metavar="RECIPE",
        help="run each replica (all, or these) in series and side by side and compare",
    )
    args = p.parse_args()
    if args.compare is not None:
        known = [r.recipe for r in replicas()]
        unknown = [r for r in args.compare if r not in known]
        if unknown:
            p.error(f"unknown replicas {', '.join(unknown)}; known: {', '.join(known)}")
        return compare(args.compare or known)
    if args.run:
        subprocess.run([str(ROOT / "scripts" / "replica"), "--all"], cwd=ROOT, check=False)
    for r in replicas():
        warm = warm_build_seconds(r.recipe) if args.images else None
        report(r.recipe, newest_full_run(args.results_dir, r.recipe), warm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
