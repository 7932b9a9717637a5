"""The bridge against the simulator: API requests per idle poll cycle, and how long a
`!testme` takes to be acknowledged (👀) and to become a Drone build, by polling and by
webhook. Prints; asserts nothing.

    .venv/bin/python bench/bridge_bench.py [--repos 50] [--pulls 20] [--interval 2] [--samples 15]

Idle cycles are counted in-process (`Bridge.poll_once()` against the simulator's request
log), for 1 PR and for <pulls> PRs per repository. The latencies are of `python -m cc_ci.bridge`
as a process: a comment is posted at a random moment on a random PR, and the time runs
until the 👀 reaction is on it and until the build shows up in the simulated Drone (both
watched every 2 ms). Polling runs with poll_interval = <interval>; the webhook run has
polling off, so every build is the webhook's. Targets (issues 5 and 14): one request per
repository per idle cycle, whatever the number of PRs; comment → build and comment → 👀
p95 ≤ interval + 1 s by polling, ≤ 1 s by webhook.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cc_ci.bridge.app import Bridge  # noqa: E402
from cc_ci.bridge.config import load_secrets, parse_config  # noqa: E402
from cc_ci.contract.eventline import EventLog  # noqa: E402
from devworld.forgesim import Sim  # noqa: E402
from devworld.forgesim.demo import CI_REPO, MEMBER, seed  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def idle_requests(repos: int, pulls: int, tmp: Path) -> tuple[float, int]:
    """(requests per idle cycle, cycles measured) for an in-process bridge."""
    with Sim() as sim:
        demo = seed(sim, tmp / f"idle-{pulls}", repos=repos, pulls=pulls)
        raw = tomllib.loads(demo.config(tmp / f"idle-{pulls}.sqlite3"))
        config = parse_config(raw)
        with open(os.devnull, "w") as null:
            bridge = Bridge(config, load_secrets(config), log=EventLog(stream=null))
            bridge.poll_once()  # the first cycle also asks who the bot is
            counts = []
            for _ in range(5):
                sim.reset_requests()
                bridge.poll_once()
                counts.append(len(sim.requests()))
            bridge.state.close()
    return sum(counts) / len(counts), len(counts)


def latencies(
    sim: Sim, repos: tuple[str, ...], pulls: int, samples: int, gap: float, rng: random.Random
) -> tuple[list[float], list[float]]:
    """(comment → 👀, comment → build) for each sample, in seconds."""
    eyes, builds = [], []
    for _ in range(samples):
        time.sleep(rng.uniform(0, gap))
        before = len(sim.world.builds_of(CI_REPO))
        repo, pr = rng.choice(repos), rng.randint(1, pulls)
        t0 = time.perf_counter()
        comment = sim.world.add_comment(repo, pr, MEMBER, "!testme install")
        deadline = t0 + 30
        seen_eyes = seen_build = None
        while seen_eyes is None or seen_build is None:
            now = time.perf_counter()
            if now > deadline:
                raise SystemExit("no 👀 or build within 30 s: is the bridge running? (see its log)")
            if seen_eyes is None and sim.world.reactions_of(comment.id):
                seen_eyes = now - t0
            if seen_build is None and len(sim.world.builds_of(CI_REPO)) > before:
                seen_build = now - t0
            time.sleep(0.002)
        eyes.append(seen_eyes)
        builds.append(seen_build)
    return eyes, builds


def line(what: str, lat: list[float], target: str) -> str:
    return (
        f"{what:<26} n={len(lat):<3} p50 {pct(lat, 50) * 1000:7.1f} ms"
        f"  p95 {pct(lat, 95) * 1000:7.1f} ms  max {max(lat) * 1000:7.1f} ms | target: {target}"
    )


def run_bridge(config: Path, log: Path, health_port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cc_ci.bridge", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"the bridge did not come up; see {log}")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repos", type=int, default=50)
    ap.add_argument("--pulls", type=int, default=20)
    ap.add_argument("--interval", type=int, default=2, help="poll interval, seconds")
    ap.add_argument("--samples", type=int, default=15)
    args = ap.parse_args()
    rng = random.Random(5)
    print(
        f"bridge bench: {args.repos} repositories × {args.pulls} open PRs, poll interval "
        f"{args.interval} s; python {sys.version.split()[0]}, {os.cpu_count()} cpus"
    )
    with tempfile.TemporaryDirectory(prefix="cc-ci-bridge-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for pulls in sorted({1, args.pulls}):
            per_cycle, cycles = idle_requests(args.repos, pulls, tmp)
            print(
                f"idle poll cycle, {pulls:>2} PR(s)/repo: {per_cycle:.1f} requests for "
                f"{args.repos} repositories ({per_cycle / args.repos:.2f} per repository, "
                f"{cycles} cycles) | target: 1 per repository"
            )

        with Sim() as sim:
            demo = seed(sim, tmp / "world", repos=args.repos, pulls=args.pulls)
            for name, interval in (("poll", args.interval), ("webhook", 0)):
                port = free_port()
                cfg = tmp / f"{name}.toml"
                cfg.write_text(
                    demo.config(
                        tmp / f"{name}.sqlite3",
                        poll_interval=interval,
                        webhook_listen=f"127.0.0.1:{port}",
                    )
                )
                if name == "webhook":
                    for repo in demo.repos:
                        sim.world.add_hook(
                            repo, f"http://127.0.0.1:{port}/hook", demo.webhook_secret
                        )
                proc = run_bridge(cfg, tmp / f"{name}.log", port)
                try:
                    time.sleep(0.2)
                    gap = args.interval if name == "poll" else 0.2
                    eyes, lat = latencies(sim, demo.repos, args.pulls, args.samples, gap, rng)
                finally:
                    stop(proc)
                target = f"p95 ≤ {args.interval + 1} s" if name == "poll" else "p95 ≤ 1 s"
                print(line(f"comment → build by {name}", lat, target))
                print(line(f"comment → 👀 by {name}", eyes, target))
                if name == "webhook":
                    delivered = [d.status for d in sim.deliveries]
                    print(
                        f"  webhook deliveries: {len(delivered)}; {delivered.count(202)} commands "
                        f"queued (202), {delivered.count(200)} ignored (200: the bot's own "
                        "comments)"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
