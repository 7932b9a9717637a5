"""What the run records say about each recipe: latest results, levels, ordering. Pure.

The level (a score in the spirit of YunoHost's app levels) counts how far along the
lifecycle a recipe is proven, each level requiring the ones before it:

    0  install does not pass (or has never run)
    1  installs: a fresh deploy of the PR head comes up healthy and its tests pass
    2  and upgrades: the previous release, upgraded to the PR head, keeps its data
    3  and backs up: backup, mutate, restore brings the original data back
    4  and its own tests pass: the recipe's recipe-local suite against the live app

Each stage counts with its *latest result*: its status in the newest run that carried it
out or skipped it (a run that did not plan a stage, e.g. `!testme install`, says nothing
about the others). A skipped stage is not a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cc_ci.contract.record import FINISHED_STAGE, RunRecord, RunStatus, StageStatus
from cc_ci.contract.record_read import BrokenRecord
from cc_ci.contract.stages import STAGES

MAX_LEVEL = len(STAGES)

LEVEL_MEANING = (
    "install does not pass",
    "installs",
    "installs and upgrades",
    "installs, upgrades and backs up",
    "installs, upgrades, backs up and passes its own tests",
)

_SETTLED_STAGE = FINISHED_STAGE | {StageStatus.SKIPPED}


@dataclass(frozen=True, slots=True)
class StageResult:
    """A stage's latest result and the run it came from."""

    stage: str
    status: StageStatus
    run_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecipeSummary:
    recipe: str
    runs: tuple[RunRecord, ...]
    """Newest first."""
    broken: tuple[BrokenRecord, ...]
    """Unreadable records that name this recipe, newest first."""
    stage_results: tuple[StageResult | None, ...]
    """One per stage (STAGES), in order; None when the stage never ran."""
    level: int

    @property
    def latest(self) -> RunRecord | None:
        return self.runs[0] if self.runs else None

    @property
    def latest_finished(self) -> RunRecord | None:
        return next((r for r in self.runs if r.status is not RunStatus.RUNNING), None)

    def stage_result(self, stage: str) -> StageResult | None:
        if stage not in STAGES:
            return None
        return self.stage_results[STAGES.index(stage)]


def newest_first(runs: Iterable[RunRecord]) -> tuple[RunRecord, ...]:
    return tuple(sorted(runs, key=lambda r: (r.started_at, r.run_id), reverse=True))


def summarize(
    recipe: str, runs: Iterable[RunRecord], broken: Iterable[BrokenRecord] = ()
) -> RecipeSummary:
    ordered = newest_first(runs)
    results = tuple(latest_stage_result(ordered, stage) for stage in STAGES)
    return RecipeSummary(
        recipe=recipe,
        runs=ordered,
        broken=tuple(sorted(broken, key=lambda b: (b.seen_at, b.run_id), reverse=True)),
        stage_results=results,
        level=level(results),
    )


def latest_stage_result(runs_newest_first: Sequence[RunRecord], stage: str) -> StageResult | None:
    """The stage's status in the newest run that carried it out or skipped it."""
    for run in runs_newest_first:
        status = run.stage_status(stage)  # over its rows: the upgrade stage has one per base
        if status in _SETTLED_STAGE:
            return StageResult(stage, status, run.run_id, run.started_at)
    return None


def level(results: Sequence[StageResult | None]) -> int:
    """How many lifecycle stages, counted in order from install, pass (see the module doc)."""
    n = 0
    for result in results:
        if result is None or result.status is not StageStatus.PASSED:
            break
        n += 1
    return n


# --- the overview --------------------------------------------------------------------------


class Attention(StrEnum):
    """A row's state on the overview, in the order rows are listed."""

    ERROR = "error"
    FAILED = "failed"
    RUNNING = "running"
    PASSED = "passed"


_ATTENTION_RANK = {a: i for i, a in enumerate(Attention)}


@dataclass(frozen=True, slots=True)
class Row:
    """One overview row: a recipe (its latest run) or an unreadable record."""

    attention: Attention
    at: datetime
    summary: RecipeSummary | None = None
    broken: BrokenRecord | None = None


@dataclass(frozen=True, slots=True)
class Counts:
    recipes: int
    passed: int
    failed: int
    error: int
    running: int
    everything: int
    """Recipes at the top level: every lifecycle stage passes."""
    unreadable: int


def overview_rows(
    summaries: Iterable[RecipeSummary], broken: Iterable[BrokenRecord]
) -> tuple[Row, ...]:
    """Errors first, then failures, then running, then passes; newest first within each."""
    rows = [_row(s) for s in summaries if s.latest is not None]
    rows += [Row(Attention.ERROR, b.seen_at, broken=b) for b in broken]
    rows.sort(key=lambda r: r.at, reverse=True)
    rows.sort(key=lambda r: _ATTENTION_RANK[r.attention])
    return tuple(rows)


def _row(summary: RecipeSummary) -> Row:
    latest = summary.latest
    assert latest is not None
    return Row(Attention(latest.status.value), latest.started_at, summary=summary)


def counts(summaries: Sequence[RecipeSummary], unreadable: int) -> Counts:
    """Counts over recipes with at least one readable run."""
    by_status = {s: 0 for s in RunStatus}
    for summary in summaries:
        if summary.latest is not None:
            by_status[summary.latest.status] += 1
    return Counts(
        recipes=sum(by_status.values()),
        passed=by_status[RunStatus.PASSED],
        failed=by_status[RunStatus.FAILED],
        error=by_status[RunStatus.ERROR],
        running=by_status[RunStatus.RUNNING],
        everything=sum(1 for s in summaries if s.level == MAX_LEVEL),
        unreadable=unreadable,
    )


def history(summary: RecipeSummary) -> list[RunRecord | BrokenRecord]:
    """The recipe's runs and unreadable records together, newest first."""
    items: list[RunRecord | BrokenRecord] = [*summary.runs, *summary.broken]
    items.sort(key=lambda x: x.started_at if isinstance(x, RunRecord) else x.seen_at, reverse=True)
    return items
