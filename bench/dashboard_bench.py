"""How fast the dashboard answers over a big results directory. Prints figures; asserts nothing.

    python bench/dashboard_bench.py [--recipes 200] [--runs 50] [--requests 400]

Builds <recipes> × <runs> run records in a temporary results directory (a few running and a
few unreadable among them, logs for the run pages asked for), starts `python -m cc_ci.dashboard`
on a free loopback port, and times the overview, recipe pages, run pages and badges over
keep-alive HTTP. "server" is the time the dashboard itself reports (Server-Timing: the
index refresh and the rendering), "round trip" is what the client saw.
Targets (issue 6): `/` p95 ≤ 50 ms, badge p50 ≤ 5 ms, server time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("install", "upgrade", "backup", "recipe-local")


def make_record(run_id: str, recipe: str, started: datetime, rng: random.Random) -> dict:
    roll = rng.random()
    if roll < 0.7:
        statuses, status = ["passed"] * 4, "passed"
    elif roll < 0.9:
        statuses, status = ["passed", "failed", "skipped", "skipped"], "failed"
    else:
        statuses, status = ["error", "skipped", "skipped", "skipped"], "error"
    stages = [
        {
            "name": name,
            "status": s,
            "duration_s": round(rng.uniform(5, 90), 1),
            "tests": {
                "passed": 3 if s == "passed" else 0,
                "failed": int(s == "failed"),
                "errors": 0,
                "skipped": 0,
            },
            "message": "" if s == "passed" else f"{name} {s}: see the log",
            "log": f"{name}.log",
            "junit": f"{name}.junit.xml",
            "artifacts": [f"screenshots/{name}-front.png"] if name == "install" else [],
        }
        for name, s in zip(STAGES, statuses, strict=True)
    ]
    # Most runs are PRs'; about one in four is the default branch's (the schedule, a tag),
    # which the badges and the level are made of.
    branch = rng.random() < 0.25
    return {
        "schema": 1,
        "run_id": run_id,
        "recipe": recipe,
        "source": {
            "repo": f"recipe-maintainers/{recipe}",
            "ref": f"{rng.getrandbits(160):040x}",
            "pr": None if branch else rng.randint(1, 400),
            "url": None,
        },
        "trigger": {
            "by": None if branch else "maintainer",
            "comment_url": None,
            "kind": rng.choice(("schedule", "tag")) if branch else "pr",
        },
        "ci": {"system": "drone", "build": 1, "url": None},
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_at": (started + timedelta(seconds=300)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": 300.0,
        "status": status,
        "exit_code": {"passed": 0, "failed": 1, "error": 2}[status],
        "deployments": 2,
        "stages": stages,
        "teardown": {"status": "clean", "duration_s": 5.0, "leftovers": [], "log": "teardown.log"},
    }


def build(
    results: Path, recipes: int, runs: int, rng: random.Random
) -> tuple[list[str], list[str]]:
    now = datetime.now(UTC)
    names = [f"recipe-{i:03d}" for i in range(recipes)]
    run_ids = []
    for r, recipe in enumerate(names):
        for n in range(runs):
            run_id = f"drone-{r * runs + n + 1}"
            started = now - timedelta(hours=(runs - n) * 6 + rng.random())
            rec = make_record(run_id, recipe, started, rng)
            if n == runs - 1 and r % 40 == 0:  # a few recipes have a run under way
                rec.update(status="running", finished_at=None, duration_s=None, exit_code=None)
                rec["stages"][1]["status"] = "running"
            folder = results / run_id
            folder.mkdir()
            (folder / "run.json").write_text(json.dumps(rec))
            run_ids.append(run_id)
    for i in range(5):  # unreadable records
        folder = results / f"broken-{i}"
        folder.mkdir()
        (folder / "run.json").write_text('{"schema": 1, "run_id": "broken')
    return names, run_ids


def give_logs(results: Path, run_id: str) -> None:
    folder = results / run_id
    for name in (*STAGES, "teardown"):
        lines = "".join(f"{name} line {i}: abra app deploy … ok\n" for i in range(300))
        (folder / f"{name}.log").write_text(lines)


class Client:
    def __init__(self, host: str, port: int) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=30)

    def get(self, target: str) -> tuple[float, float, int]:
        """(server ms from Server-Timing, round-trip ms, status)."""
        t0 = time.perf_counter()
        self.conn.request("GET", target)
        resp = self.conn.getresponse()
        resp.read()
        rtt = (time.perf_counter() - t0) * 1000
        timing = resp.headers.get("Server-Timing", "app;dur=nan")
        return float(timing.split("dur=")[1]), rtt, resp.status


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(client: Client, name: str, targets: Callable[[int], str], n: int, target: str) -> None:
    for i in range(min(20, n)):  # warm up
        client.get(targets(n + i))
    server, rtt = [], []
    for i in range(n):
        s, r, status = client.get(targets(i))
        if status != 200:
            raise SystemExit(f"{targets(i)} answered {status}")
        server.append(s)
        rtt.append(r)
    print(
        f"{name:<17} n={n:<5} server p50 {pct(server, 50):6.2f} ms  p95 {pct(server, 95):6.2f} ms"
        f"  max {max(server):6.2f} ms | round trip p50 {pct(rtt, 50):6.2f} ms"
        f"  p95 {pct(rtt, 95):6.2f} ms | target: {target}"
    )


def start(results: Path, log: Path, *extra: str) -> tuple[subprocess.Popen, str, int, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cc_ci.dashboard",
            "--results-dir",
            str(results),
            "--listen",
            "127.0.0.1:0",
            *extra,
        ],
        cwd=ROOT,
        stderr=open(log, "w"),  # noqa: SIM115 - the child keeps it
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("event=listening"):
                url = line.split("url=")[1].split()[0]
                host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
                return proc, host, int(port), time.perf_counter() - t0
        if proc.poll() is not None:
            raise SystemExit(f"the dashboard exited: {log.read_text()}")
        time.sleep(0.05)  # polling a log file for the listening line, with a deadline
    proc.kill()
    raise SystemExit("the dashboard did not start within 120 s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", type=int, default=200)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--requests", type=int, default=400)
    args = ap.parse_args()
    rng = random.Random(6)
    with tempfile.TemporaryDirectory(prefix="cc-ci-dash-bench-") as tmp:
        results = Path(tmp) / "results"
        results.mkdir()
        t0 = time.perf_counter()
        recipes, run_ids = build(results, args.recipes, args.runs, rng)
        sample_runs = rng.sample(run_ids, 20)
        for run_id in sample_runs:
            give_logs(results, run_id)
        print(
            f"built {len(run_ids)} run records ({args.recipes} recipes × {args.runs} runs, "
            f"5 unreadable) in {time.perf_counter() - t0:.1f} s; python {sys.version.split()[0]}, "
            f"{os.cpu_count()} cpus"
        )
        proc, host, port, startup = start(results, Path(tmp) / "dashboard.log")
        try:
            print(f"startup (first full index of every record): {startup:.2f} s")
            c = Client(host, port)
            n = args.requests
            measure(c, "/", lambda i: "/", n, "p95 ≤ 50 ms")
            measure(c, "recipe page", lambda i: f"/recipes/{recipes[i * 7 % len(recipes)]}", n, "-")
            measure(c, "run page", lambda i: f"/runs/{sample_runs[i % len(sample_runs)]}", n, "-")
            kinds = (None, "level", *STAGES, "pr/7")

            def badge(i: int) -> str:
                what = kinds[i % len(kinds)]
                recipe = recipes[i * 13 % len(recipes)]
                return f"/badge/{recipe}.svg" if what is None else f"/badge/{recipe}/{what}.svg"

            measure(c, "badge", badge, n * 5, "p50 ≤ 5 ms")
            measure(c, "api run", lambda i: f"/api/runs/{run_ids[i * 31 % len(run_ids)]}", n, "-")

            # A busy moment: a running run's record is rewritten before every request, so each
            # overview re-reads that record, re-summarises its recipe and renders afresh.
            live = results / "drone-50" / "run.json"  # recipe-000's run under way
            busy = json.loads(live.read_text())

            def rewrite_then_overview(i: int) -> str:
                busy["stages"][1]["duration_s"] = float(i)
                tmp_file = live.with_name(".run.json.tmp")
                tmp_file.write_text(json.dumps(busy))
                os.replace(tmp_file, live)
                return "/"

            measure(c, "/ re-rendered", rewrite_then_overview, n // 4, "p95 ≤ 50 ms")

            # A new run lands: the next overview pays for noticing it (one listing, one parse).
            folder = results / "drone-new"
            folder.mkdir()
            rec = make_record("drone-new", recipes[0], datetime.now(UTC), rng)
            (folder / "run.json").write_text(json.dumps(rec))
            s, r, _ = c.get("/")
            print(f"first / after a new run landed: server {s:.2f} ms, round trip {r:.2f} ms")
        finally:
            proc.terminate()
            proc.wait(timeout=30)

        # For comparison: a stat of every record on every request (--rescan-interval 0).
        proc, host, port, _ = start(results, Path(tmp) / "dashboard0.log", "--rescan-interval", "0")
        try:
            c = Client(host, port)
            measure(c, "/ (rescan 0)", lambda i: "/", max(50, n // 8), "what the index saves")
            measure(c, "badge (rescan 0)", badge, max(50, n // 8), "what the index saves")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
