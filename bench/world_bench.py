"""The bridge on the real stack (devworld/world.py: a real Gitea, a real Drone server and its
exec runner, the bridge and the dashboard from the NixOS modules' configuration): how long a
maintainer's `!testme install` takes to get its 👀, to become a Drone build and to end as the
verdict on the PR, by polling and by Gitea's signed webhook, and how much of the verdict time
is the harness's (cc-ci-run's own run, from the run record). Then the same bridge's figures
against the simulator (bench/bridge_bench.py) for comparison. Prints; asserts nothing.

    flock -o /tmp/cc-ci-swarm.lock .venv/bin/python bench/world_bench.py [--runs 3] [--no-forgesim]

It brings up a world of its own (in a temporary folder) and removes it at the end. Every run
deploys the demo recipe on the swarm, hence the lock. The verdict runs ask for `install` only,
to keep them short: the harness's share grows with the stages asked for. The times are taken
by a watcher polling Gitea and Drone about every 0.1 s, so they are that much coarse.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bridge_bench import pct  # noqa: E402

from devworld import world as w  # noqa: E402
from devworld.demo import play  # noqa: E402

COMMAND = "!testme install"


def figures(what: str, values: list[float]) -> str:
    if not values:
        return f"{what:<34} n=0"
    return (
        f"{what:<34} n={len(values):<2} median {statistics.median(values):7.2f} s"
        f"  p95 {pct(values, 95):7.2f} s  min {min(values):7.2f} s  max {max(values):7.2f} s"
    )


def harness_parts(record: dict | None) -> dict[str, float]:
    """cc-ci-run's wall time and, from the record's `timings`, what went to deploying (and
    waiting for health), to pytest and to tearing down (docs/run-record.md)."""
    if not record:
        return {}
    t = record.get("timings") or {}
    deps = t.get("deployments") or []
    phases = t.get("phases") or []
    return {
        "run": float(record.get("duration_s") or 0.0),
        "deploy": sum(float(d.get("deploy_s") or 0) + float(d.get("healthy_s") or 0) for d in deps),
        "pytest": sum(float(p.get("seconds") or 0) for p in phases),
        "teardown": sum(float(d.get("teardown_s") or 0) for d in deps),
    }


def bench(info: w.Info, pr: int, runs: int, label: str) -> None:
    g = play.gitea(info)
    eyes, builds, verdicts, shares = [], [], [], []
    parts: dict[str, list[float]] = {}
    for i in range(runs):
        p = play.play(info, g, pr, COMMAND, tell=lambda _m: None)
        status = (p.record or {}).get("status")
        print(
            f"  {label} run {i + 1}/{runs}: 👀 {p.eyes_s or -1:.2f} s, build {p.build_s:.2f} s, "
            f"verdict {p.verdict_s:.1f} s ({status})",
            flush=True,
        )
        if p.eyes_s is not None:
            eyes.append(p.eyes_s)
        builds.append(p.build_s)
        verdicts.append(p.verdict_s)
        h = harness_parts(p.record)
        for k, v in h.items():
            parts.setdefault(k, []).append(v)
        if h.get("run"):
            shares.append(h["run"] / p.verdict_s)
    print(figures(f"comment → 👀 by {label}", eyes))
    print(figures(f"comment → Drone build by {label}", builds))
    print(figures(f"comment → verdict on the PR by {label}", verdicts))
    for key, words in (
        ("run", "cc-ci-run's run (the harness)"),
        ("deploy", "  of it: deploy + healthy"),
        ("pytest", "  of it: pytest phases"),
        ("teardown", "  of it: teardown"),
    ):
        print(figures(f"{words}", parts.get(key, [])))
    if shares:
        print(
            f"the harness's share of the verdict time ({label}): median "
            f"{statistics.median(shares) * 100:.0f} % (min {min(shares) * 100:.0f} %, max "
            f"{max(shares) * 100:.0f} %); the rest is the bridge, Drone's queue and the "
            "pipeline's checkout, and the report"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="verdict runs per mode (default 3)")
    ap.add_argument("--no-forgesim", action="store_true", help="skip bench/bridge_bench.py")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    print(
        f"world bench: `{COMMAND}` on the demo recipe's PR, {args.runs} runs by polling "
        f"(interval 2 s) and {args.runs} by Gitea's signed webhook (polling off); install "
        "only, to keep each run short"
    )
    with tempfile.TemporaryDirectory(prefix="cc-ci-world-bench-") as tmp:
        d = Path(tmp) / "w"
        started = time.monotonic()
        try:
            info = w.up(d, say=lambda m: print(f"  {m}", flush=True))
            print(f"  the world came up in {time.monotonic() - started:.0f} s")
            g = play.gitea(info)
            pr = play.demo_pr(g, info)["number"]
            print("by polling:")
            bench(info, pr, args.runs, "poll")
            info = w.set_polling(d, 0)
            g.api(
                "POST",
                f"/repos/{w.DEMO_REPO}/hooks",
                {"type": "gitea", "active": True, "events": ["pull_request_comment"],
                 "config": {"url": info.webhook_url, "content_type": "json",
                            "secret": (d / "webhook-secret").read_text()}},
            )  # fmt: skip
            print("by webhook (polling off):")
            bench(info, pr, args.runs, "webhook")
        finally:
            for line in w.down(d):
                print(f"  world: {line}")
    if not args.no_forgesim:
        print("\nthe same bridge against the simulator (bench/bridge_bench.py):", flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "bridge_bench.py")], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
