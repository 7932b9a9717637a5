"""What the benches print of a run's chains (cc_ci/harness/chains.py), from its run record:
each chain's wall time, the time its deployment spent in abra and the swarm, the time in its
test suites, and the serial and parallel runs side by side. Figures only; asserts nothing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChainFigures:
    name: str
    wall_s: float  # its stages and its teardown
    swarm_s: float  # deploy → healthy, the upgrade → healthy, teardown (abra and the swarm)
    tests_s: float  # its pytest phases


def chains_of(rec: dict) -> list[ChainFigures]:
    """Each chain of the run record `rec`, with its deployment's and phases' timings."""
    timings = rec.get("timings", {})
    deployments = timings.get("deployments", [])
    phases = timings.get("phases", [])
    out = []
    for i, c in enumerate(timings.get("chains", [])):
        d = deployments[i] if i < len(deployments) else {}
        swarm = sum(
            d.get(k) or 0.0
            for k in ("deploy_s", "healthy_s", "upgrade_s", "upgrade_healthy_s", "teardown_s")
        )
        tests = sum(p["seconds"] for p in phases if p["stage"] in c["stages"])
        out.append(ChainFigures(c["chain"], c.get("wall_s") or 0.0, swarm, tests))
    return out


def side_by_side(
    serial: tuple[float, dict], parallel: tuple[float, dict], docker_s: dict[str, float] | None
) -> list[str]:
    """Lines comparing a serial and a parallel run (wall seconds, record) of one recipe.

    `docker_s` is Docker's own work per chain, measured directly (runner_bench.py), or None:
    then the swarm time the record gives per deployment stands for it. The harness's
    overhead is the wall time beyond what the run cannot avoid: in series the sum over its
    chains of Docker's work and the tests, side by side the longest chain's."""
    rows: list[tuple[str, str, str]] = []
    floors = {}
    for label, (wall, rec) in (("serial", serial), ("parallel", parallel)):
        chains = chains_of(rec)
        floor_parts = []
        for c in chains:
            work = docker_s.get(c.name, c.swarm_s) if docker_s else c.swarm_s
            floor_parts.append(work + c.tests_s)
        floor = sum(floor_parts) if label == "serial" else max(floor_parts, default=0.0)
        floors[label] = (wall, chains, floor)
    s_wall, s_chains, s_floor = floors["serial"]
    p_wall, p_chains, p_floor = floors["parallel"]
    rows.append(("run wall time", f"{s_wall:.1f} s", f"{p_wall:.1f} s"))
    for sc, pc in zip(s_chains, p_chains, strict=False):
        rows.append((f"chain {sc.name}", f"{sc.wall_s:.1f} s", f"{pc.wall_s:.1f} s"))
        work_label = "  docker's own work" if docker_s else "  abra + swarm (record)"
        s_work = docker_s.get(sc.name, sc.swarm_s) if docker_s else sc.swarm_s
        p_work = docker_s.get(pc.name, pc.swarm_s) if docker_s else pc.swarm_s
        rows.append((work_label, f"{s_work:.1f} s", f"{p_work:.1f} s"))
        rows.append(("  in test suites", f"{sc.tests_s:.1f} s", f"{pc.tests_s:.1f} s"))
    rows.append(("floor (docker + tests)", f"{s_floor:.1f} s", f"{p_floor:.1f} s"))
    rows.append(
        (
            "harness overhead",
            f"{s_wall - s_floor:.1f} s = {(s_wall - s_floor) / s_wall:.0%}",
            f"{p_wall - p_floor:.1f} s = {(p_wall - p_floor) / p_wall:.0%}",
        )
    )
    longest = max((c.wall_s for c in p_chains), default=0.0)
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{'':<{width}}{'serial':>16}{'parallel':>16}"]
    lines += [f"{a:<{width}}{b:>16}{c:>16}" for a, b, c in rows]
    if longest:
        lines.append(
            f"parallel / its longest chain: {p_wall / longest:.2f} (target ≤ 1.15; longest "
            f"chain {longest:.1f} s)"
        )
    lines.append(f"parallel / serial: {p_wall / s_wall:.2f} (target ≤ 0.65 on the demo recipe)")
    return lines
