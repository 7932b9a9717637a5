"""Run records made with the writer's own types, for the contract's tests.

`finished_run` is a record as the harness leaves it after a full run that passed; tests
`replace` what they are about. `T0` is its start.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cc_ci.contract.record import (
    CI,
    Counts,
    RunRecord,
    Source,
    StageResult,
    StageStatus,
    Teardown,
    TeardownStatus,
    Trigger,
    TriggerKind,
)
from cc_ci.contract.stages import STAGES
from cc_ci.harness.outcome import run_status

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SHA = "9f2c1e0" * 5 + "abcde"


def passed_stage(name: str, seconds: float = 12.5) -> StageResult:
    return StageResult(
        name,
        StageStatus.PASSED,
        seconds,
        Counts(passed=3),
        "",
        f"{name}.log",
        f"{name}.junit.xml",
        (f"screenshots/{name}-front.png",),
    )


def finished_run(
    run_id: str = "drone-42",
    recipe: str = "custom-html",
    *,
    stages: tuple[StageResult, ...] | None = None,
    teardown: Teardown | None = None,
    **changes: object,
) -> RunRecord:
    """A finished run of every stage; its status and exit code follow its stages and
    teardown, as the harness's `outcome.run_status` decides them."""
    stages = stages if stages is not None else tuple(passed_stage(s) for s in STAGES)
    teardown = teardown or Teardown(TeardownStatus.CLEAN, 6.1, (), "teardown.log")
    status, exit_code = run_status(stages, teardown)
    code = int(exit_code)
    run = RunRecord(
        run_id=run_id,
        recipe=recipe,
        source=Source(f"recipe-maintainers/{recipe}", SHA, 7, None, f"recipe-maintainers/{recipe}"),
        started_at=T0,
        stages=stages,
        status=status,
        finished_at=T0 + timedelta(seconds=124),
        duration_s=124.0,
        exit_code=code,
        deployments=2,
        teardown=teardown,
        trigger=Trigger("decentral1se", command=1007),
        ci=CI("drone", 42, None),
        tools={"abra": "abra-sim 0.13.0"},
    )
    return replace(run, **changes)


def on_default_branch(run: RunRecord, job: int = 1764633600) -> RunRecord:
    """The same run as the bridge's scheduled run of the recipe's default branch: no PR, no
    command, `trigger.kind` schedule, the run id naming the job."""
    build = int(run.run_id.split("-")[1])
    return replace(
        run,
        run_id=f"drone-{build}-j{job}",
        source=replace(run.source, pr=None),
        trigger=Trigger(None, kind=TriggerKind.SCHEDULE),
    )


def running_run(run_id: str = "drone-43", recipe: str = "custom-html") -> RunRecord:
    """A run whose install is under way: what the harness writes after the first save."""
    return RunRecord(
        run_id,
        recipe,
        Source(f"recipe-maintainers/{recipe}", SHA, 7),
        T0,
        (StageResult("install", StageStatus.RUNNING, log="install.log"),)
        + tuple(StageResult(s) for s in STAGES[1:]),
    )
