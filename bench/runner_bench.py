"""Harness benchmark on the demo recipe: stage wall times, and the harness's own overhead.

    .venv/bin/python bench/runner_bench.py      (after scripts/bootstrap; uses the local proxy)

It runs cc-ci-run on the demo recipe (install, upgrade, recipe-local) twice: its two
deployments side by side (CCCI_MAX_DEPLOYMENTS=2, the default) and in series (1), then
deploys the same stack directly with `docker stack deploy` and times how long Docker takes to
converge it and serve it through Traefik. Side by side it prints each run's wall time, each
chain's (its stages and its teardown), Docker's own work per chain (the direct figures) and
the time in the test suites; the harness's overhead is the wall time beyond the floor (in
series the sum of the chains' Docker work and tests, side by side the longest chain's); and
the ratios parallel / its longest chain (target ≤ 1.15) and parallel / serial (≤ 0.65).
Prints the figures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.chain_figures import side_by_side  # noqa: E402
from cc_ci.harness.deploy.docker import docker, remove_stack  # noqa: E402
from cc_ci.harness.deploy.lifecycle import services_converged  # noqa: E402
from cc_ci.harness.settings import Settings  # noqa: E402
from cc_ci.harness.waiting import wait_for  # noqa: E402
from cc_ci.suite.web import request  # noqa: E402
from devworld.demo.world import demo_world  # noqa: E402


def direct_lifecycle(env: dict[str, str], forge: Path, prev: str, head: str) -> dict[str, float]:
    """The same stack with docker alone: fresh deploy → healthy, update prev → head →
    healthy, and removal, each timed; what Docker itself spends on what a run asks of it."""
    settings = Settings.from_env(env)
    label = f"bnch-{secrets.token_hex(3)}"
    domain = f"{label}.{settings.zone}"
    stack = domain.replace(".", "_")
    times: dict[str, float] = {}

    def healthy() -> bool:
        return (
            request(
                f"https://{domain}/", resolve_to=settings.resolve_to, ca_file=settings.ca_file
            ).status
            == 200
        )

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(
            ["git", "clone", "-q", str(forge / "cc-ci" / "demo.git"), str(work)],
            check=True,
            timeout=60,
        )
        docker("secret", "create", f"{stack}_admin_password_v1", "-", input=secrets.token_hex(12))
        base = {
            **os.environ,
            "STACK_NAME": stack,
            "DOMAIN": domain,
            "LETS_ENCRYPT_ENV": "",
            "SECRET_ADMIN_PASSWORD_VERSION": "v1",
            "GREETING": "hello",
        }
        try:
            for step, ref, entry in (("fresh", prev, "v1"), ("update", head, "v2")):
                subprocess.run(["git", "-C", str(work), "checkout", "-q", ref], check=True)
                t0 = time.monotonic()
                subprocess.run(
                    ["docker", "stack", "deploy", "-c", "compose.yml", stack],
                    cwd=work,
                    env={**base, "ENTRYPOINT_VERSION": entry},
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
                wait_for(f"direct {step} converged", lambda: services_converged(stack), 120, 0.2)
                wait_for(f"direct {step} healthy", healthy, 120, 0.2)
                times[step] = time.monotonic() - t0
        finally:
            t0 = time.monotonic()
            remove_stack(stack)
            times["remove"] = time.monotonic() - t0
            for kind in ("secret", "config"):
                for name in docker(kind, "ls", "--format", "{{.Name}}").split():
                    if name.startswith(stack + "_"):
                        docker(kind, "rm", name, check=False)
    return times


def run_once(env: dict[str, str], head: str, results: Path, run_id: str, at_once: int):
    """cc-ci-run on the demo recipe with `at_once` deployments at once: (wall s, record)."""
    t0 = time.monotonic()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "cc_ci.harness.cli",
            "demo",
            "--src",
            "cc-ci/demo",
            "--ref",
            head,
            "--stages",
            "install,upgrade,recipe-local",
            "--run-id",
            run_id,
            "--results-dir",
            str(results),
        ],
        env={**env, "CCCI_MAX_DEPLOYMENTS": str(at_once)},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - t0
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"the {run_id} run failed (exit {r.returncode})")
    return wall, json.loads((results / run_id / "run.json").read_text())


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        forge, results = Path(tmp) / "forge", Path(tmp) / "results"
        env, head = demo_world(forge)
        # one of each, in one invocation: side by side (CCCI_MAX_DEPLOYMENTS 2), in series (1)
        parallel = run_once(env, head, results, "bench-parallel", 2)
        serial = run_once(env, head, results, "bench-serial", 1)
        direct = direct_lifecycle(env, forge, "1.1.0+1.1", head)
    wall, rec = parallel
    deployments = rec["timings"]["deployments"]
    updates = sum(1 for d in deployments if "upgrade_s" in d)
    converge = direct["fresh"] * len(deployments) + direct["update"] * updates
    removal = direct["remove"] * len(deployments)
    docker_time = converge + removal
    print(f"cc-ci-run on the demo recipe (abra: {rec['tools'].get('abra')})")
    print(f"{'stage':<24}{'status':<9}{'serial s':>9}{'parallel s':>11}")
    serial_stages = {s["name"]: s for s in serial[1]["stages"]}
    for s in rec["stages"]:
        other = serial_stages.get(s["name"], {}).get("duration_s") or float("nan")
        print(f"{s['name']:<24}{s['status']:<9}{other:>9.1f}{s['duration_s']:>11.1f}")
    for d in deployments:
        extra = f", upgrade→healthy {d['upgrade_s']:.1f}s" if "upgrade_s" in d else ""
        print(
            f"deployment {d['kind']:<8} deploy {d['deploy_s']:.1f}s, healthy after "
            f"{d['healthy_s']:.1f}s, teardown {d['teardown_s']:.1f}s{extra} (parallel run)"
        )
    print(
        f"docker alone: fresh deploy → healthy {direct['fresh']:.1f} s, update → healthy "
        f"{direct['update']:.1f} s, stack removal {direct['remove']:.1f} s"
    )
    print(
        f"docker's own work in a run    {docker_time:8.1f} s ({len(deployments)} deploys → "
        f"healthy, {updates} update, {len(deployments)} removals: {converge:.1f} + {removal:.1f})"
    )
    # Docker's own work per chain: the fresh chain deploys and removes once; an upgrade
    # chain deploys its base, updates it to the head, and removes it
    per_chain = {
        c["chain"]: direct["fresh"]
        + direct["remove"]
        + (direct["update"] if c["kind"] == "upgrade" else 0.0)
        for c in rec["timings"]["chains"]
    }
    print()
    for line in side_by_side(serial, parallel, per_chain):
        print(line)
    print(
        f"teardown, longest             {max(d['teardown_s'] for d in deployments):8.1f} s "
        f"(target ≤ 15 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
