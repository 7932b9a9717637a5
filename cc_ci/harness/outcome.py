"""What a run's results mean: pure rules over plain data.

run.py deploys, runs pytest and tears down; this module says what came of it: each stage's
outcome (from its pytest phases, or from what ended it early), which stage is blamed when a
deployment that serves several stages fails (plan.py), why a stage was skipped, and the
run's status and exit code. No I/O; tests/test_outcome.py states every rule.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cc_ci.contract.record import (
    RETRYABLE,
    Counts,
    ErrorClass,
    RunStatus,
    StageResult,
    StageStatus,
    Teardown,
    TeardownStatus,
)

# -- one pytest phase ------------------------------------------------------------------------

# pytest's exit codes: 0 passed, 1 tests failed, 2 interrupted or collection errors,
# 3 internal error, 4 usage error, 5 no tests collected.
SUITE_PROBLEMS = {1: "tests failed", 2: "the suite could not be collected or was interrupted"}
# The recipe-tests container's exit codes that are pytest's own verdict, reported as they are.
PYTEST_CODES = (0, 1, 2, 5)


@dataclass(frozen=True, slots=True)
class PhaseResult:
    """One pytest run of a stage (its seed, mutate or verify phase)."""

    returncode: int  # pytest's exit code; a phase cut short counts as 1
    counts: Counts
    junit: Path | None
    note: str = ""  # why the phase was cut short (a timeout, the memory cap); else empty

    @property
    def failed(self) -> bool:
        return self.returncode in SUITE_PROBLEMS

    @property
    def message(self) -> str:
        return self.note or SUITE_PROBLEMS.get(self.returncode, "")


def phase_result(
    returncode: int, counts: Counts, junit: Path | None, note: str = ""
) -> PhaseResult:
    """A phase as its stage counts it. One cut short (a note says why) counts one error unless
    its JUnit already shows a failure or an error, so its counts never read as clean."""
    if note and not counts.failed + counts.errors:
        counts = counts + Counts(errors=1)
    return PhaseResult(returncode, counts, junit, note)


def pytest_could_not_run(returncode: int, wrote_junit: bool) -> bool:
    """pytest itself failed (an internal or usage error, or an exit 1 or 2 before any JUnit
    was written): cc-ci's problem, a stage error, not a failing test."""
    return returncode in (3, 4) or (returncode in (1, 2) and not wrote_junit)


def sandbox_exit(
    exit_code: int, *, timed_out: bool, timeout: float, oom_killed: bool, memory: str
) -> tuple[int, str]:
    """How the recipe-tests container ended, as (pytest exit code, note). Everything after
    it started is the tests' doing: a kill for time or memory, or a foreign exit code, fails."""
    if timed_out:
        return 1, f"the recipe's tests timed out after {timeout:.0f}s"
    if exit_code in PYTEST_CODES:  # pytest finished (a child of its may have been OOM-killed)
        return exit_code, ""
    if oom_killed:
        return 1, f"the recipe's tests were killed: over the {memory} memory cap"
    return 1, f"the recipe's tests ended with exit code {exit_code} (pytest's own are 0-5)"


# -- one stage -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a stage ends: its status, and one line a maintainer can act on."""

    status: StageStatus
    message: str = ""
    error_class: ErrorClass | None = None
    """For an error: what kind of trouble it was (the run record's `error_class`)."""


OPEN = (StageStatus.PENDING, StageStatus.RUNNING)

# Why a stage is skipped or closed without having run (the plan's reasons included).
NO_PREVIOUS_RELEASE = "no previous release tag to upgrade from"
NO_RECIPE_TESTS = Outcome(StageStatus.SKIPPED, "the recipe ships no tests/")
INTERRUPTED = "the run was interrupted"
ENDED_EARLY = Outcome(StageStatus.ERROR, "the run ended before this stage ran")


def no_tests(stage: str, recipe: str) -> str:
    """Why a stage whose phases ran no test at all is skipped."""
    if stage == "recipe-local":
        return "the recipe's tests/ holds no tests"
    return f"no tests for {stage} in tests/{recipe}/"


def not_run(message: str) -> str:
    """Why a stage is skipped after an earlier one was ended by `message`."""
    return f"not run: {message}"


def total(phases: Sequence[PhaseResult]) -> Counts | None:
    """The stage's test counts: its phases' together, or None when no phase ran."""
    return sum((p.counts for p in phases), start=Counts()) if phases else None


def stage_outcome(stage: str, recipe: str, phases: Sequence[PhaseResult]) -> Outcome:
    """A stage whose steps all ran: failed by its first failed phase, skipped when no test
    ran (nothing was tested), passed otherwise."""
    failed = next((p for p in phases if p.failed), None)
    if failed is not None:
        return Outcome(StageStatus.FAILED, f"{stage}: {failed.message}")
    counts = total(phases)
    if counts is None or counts.passed + counts.failed + counts.errors == 0:
        return Outcome(StageStatus.SKIPPED, no_tests(stage, recipe))
    return Outcome(StageStatus.PASSED)


class Fault(enum.StrEnum):
    """What ended a stage or a deployment early, as the shell names the exception it caught."""

    UNHEALTHY = "unhealthy"  # the app did not deploy or become healthy: the recipe's fault
    REFUSED = "refused"  # the compose policy gate refused what was to be deployed
    CANNOT = "cannot"  # abra, the sandbox, the fetch, pytest itself or recipe_meta.py failed
    INTERRUPTED = "interrupted"  # SIGTERM or SIGINT


class Step(enum.StrEnum):
    """Where a fault was met."""

    STAGE = "stage"  # a stage's own steps: its phases, backup create and restore, the sandbox
    RESTORE = "restore"  # the backup stage's wait for the app to be healthy after restore
    UPGRADE = "upgrade"  # the upgrade stage's deploys: the previous release, then the PR head
    DEPLOYMENT = "deployment"  # the deployment its stages share, or what escaped a stage of it
    RUN = "run"  # around the deployments: fetch, recipe_meta.py, the janitor


def fault_outcome(
    fault: Fault,
    detail: str,
    step: Step,
    *,
    stage: str = "",
    previous: str | None = None,
    error_class: ErrorClass | None = None,
) -> Outcome:
    """The outcome of the stage a fault ended. A recipe's or a PR's fault (unhealthy,
    refused) fails it; what cc-ci could not carry out, or an interruption, is an error, and
    so is an unhealthy app whose cause is the CI's own (`error_class`: the Docker daemon, an
    image that cannot be had, a task no node can run, a proxy that does not answer).
    An error names its class: `error_class`, else `harness` (cc-ci itself failed)."""
    if fault is Fault.INTERRUPTED:
        return Outcome(StageStatus.ERROR, INTERRUPTED, ErrorClass.HARNESS)
    if fault is Fault.CANNOT:
        inside = step in (Step.STAGE, Step.RESTORE)
        message = f"{stage}: {detail}" if inside else detail
        return Outcome(StageStatus.ERROR, message, error_class or ErrorClass.HARNESS)
    if fault is Fault.REFUSED:
        return Outcome(StageStatus.FAILED, detail)
    status = StageStatus.ERROR if error_class is not None else StageStatus.FAILED
    if step is Step.RESTORE:
        return Outcome(status, f"unhealthy after restore: {detail}", error_class)
    if step is Step.UPGRADE:
        return Outcome(status, f"upgrade from {previous}: {detail}", error_class)
    return Outcome(status, f"deployment failed: {detail}", error_class)


def blame(
    stages: Sequence[StageResult], outcome: Outcome, among: Sequence[str] | None = None
) -> tuple[tuple[str, Outcome], ...]:
    """Close the stages that never finished after `outcome` ended them: (stage, outcome) each.

    `among` is the stages of the deployment that failed (plan.Deployment.stages, in its
    order), or None for the whole run (in the record's order). The stage that was running,
    or when none was the first that would have run, takes `outcome`; every other open one
    is skipped, saying why. Stages that finished keep their result.
    """
    by_name = {s.name: s for s in stages}
    order = tuple(among) if among is not None else tuple(by_name)
    open_ = [by_name[n] for n in order if n in by_name and by_name[n].status in OPEN]
    if not open_:
        return ()
    culprit = next((s for s in open_ if s.status == StageStatus.RUNNING), open_[0])
    skipped = Outcome(StageStatus.SKIPPED, not_run(outcome.message))
    return tuple((s.name, outcome if s is culprit else skipped) for s in open_)


# -- the run ---------------------------------------------------------------------------------


class ExitCode(enum.IntEnum):
    """What cc-ci-run exits with."""

    PASSED = 0  # every stage that ran passed, and teardown left nothing
    FAILED = 1  # a test or a gate failed, or nothing at all was tested
    ERROR = 2  # the run could not be carried out, or teardown left something behind


def teardown_raised(detail: str) -> list[str]:
    """The leftovers of a teardown that raised: unknown, so the run cannot be called clean."""
    return [f"unknown ({detail})"]


def teardown_result(teardowns: Sequence[tuple[float, Sequence[str]]]) -> Teardown:
    """The run's teardown from each deployment's (seconds, leftovers): not needed when
    nothing was deployed, leftover when anything remained, clean otherwise."""
    if not teardowns:
        return Teardown()
    left = tuple(x for _, items in teardowns for x in items)
    return Teardown(
        TeardownStatus.LEFTOVER if left else TeardownStatus.CLEAN,
        round(sum(seconds for seconds, _ in teardowns), 2),
        left,
        "teardown.log",
    )


def run_error_class(
    status: RunStatus, teardown: Teardown, classes: Sequence[ErrorClass]
) -> tuple[ErrorClass | None, bool]:
    """A run's `error_class` and `retryable`: for an error, the class of the first error a
    stage ended in, else `teardown` when teardown left something, else `harness` (a stage
    left open: cc-ci lost track); nothing for a run that is not an error."""
    if status is not RunStatus.ERROR:
        return None, False
    if classes:
        cls = classes[0]
    elif teardown.status == TeardownStatus.LEFTOVER:
        cls = ErrorClass.TEARDOWN
    else:
        cls = ErrorClass.HARNESS
    return cls, cls in RETRYABLE


def run_status(stages: Sequence[StageResult], teardown: Teardown) -> tuple[RunStatus, ExitCode]:
    """The run's status and exit code: error beats failed beats passed.

    A leftover after teardown, or a stage still open, is an error; a run in which every
    stage was skipped tested nothing, and is never reported as a pass.
    """
    if teardown.status == TeardownStatus.LEFTOVER or any(
        s.status == StageStatus.ERROR or s.status in OPEN for s in stages
    ):
        return RunStatus.ERROR, ExitCode.ERROR
    if any(s.status == StageStatus.FAILED for s in stages):
        return RunStatus.FAILED, ExitCode.FAILED
    if all(s.status == StageStatus.SKIPPED for s in stages):
        return RunStatus.FAILED, ExitCode.FAILED
    return RunStatus.PASSED, ExitCode.PASSED
