"""Harness benchmark on the demo recipe: stage wall times, and the harness's own overhead.

    .venv/bin/python bench/runner_bench.py      (after scripts/bootstrap; uses the local proxy)

It runs cc-ci-run on the demo recipe (install, upgrade, recipe-local), then deploys the same
stack directly with `docker stack deploy` and times how long Docker takes to converge it and
serve it through Traefik. The harness's overhead is the run's wall time minus what Docker
itself spends (direct convergence and removal × the run's deployments) minus the time inside
the test suites. Prints the figures; asserts nothing.
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


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        forge, results = Path(tmp) / "forge", Path(tmp) / "results"
        env, head = demo_world(forge)
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
                "bench",
                "--results-dir",
                str(results),
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        wall = time.monotonic() - t0
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            return 1
        rec = json.loads((results / "bench" / "run.json").read_text())
        direct = direct_lifecycle(env, forge, "1.1.0+1.1", head)
    deployments = rec["timings"]["deployments"]
    updates = sum(1 for d in deployments if "upgrade_s" in d)
    converge = direct["fresh"] * len(deployments) + direct["update"] * updates
    removal = direct["remove"] * len(deployments)
    test_time = sum(p["seconds"] for p in rec["timings"]["phases"])
    docker_time = converge + removal
    overhead = wall - docker_time - test_time
    print(f"cc-ci-run on the demo recipe (abra: {rec['tools'].get('abra')})")
    print(f"{'stage':<14}{'status':<9}{'seconds':>8}")
    for s in rec["stages"]:
        print(f"{s['name']:<14}{s['status']:<9}{s['duration_s']:>8.1f}")
    for d in deployments:
        extra = f", upgrade→healthy {d['upgrade_s']:.1f}s" if "upgrade_s" in d else ""
        print(
            f"deployment {d['kind']:<8} deploy {d['deploy_s']:.1f}s, healthy after "
            f"{d['healthy_s']:.1f}s, teardown {d['teardown_s']:.1f}s{extra}"
        )
    print(f"run wall time                 {wall:8.1f} s")
    print(
        f"docker alone: fresh deploy → healthy {direct['fresh']:.1f} s, update → healthy "
        f"{direct['update']:.1f} s, stack removal {direct['remove']:.1f} s"
    )
    print(
        f"docker's own work in the run  {docker_time:8.1f} s ({len(deployments)} deploys → "
        f"healthy, {updates} update, {len(deployments)} removals: {converge:.1f} + {removal:.1f})"
    )
    print(f"time inside test suites       {test_time:8.1f} s")
    print(
        f"harness overhead              {overhead:8.1f} s = {overhead / wall:.1%} of the run "
        f"(run − docker's own work − tests; target ≤ 10%)"
    )
    print(
        f"  counting docker's removals as overhead: {overhead + removal:.1f} s = "
        f"{(overhead + removal) / wall:.1%}"
    )
    print(
        f"teardown, longest             {max(d['teardown_s'] for d in deployments):8.1f} s "
        f"(target ≤ 15 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
