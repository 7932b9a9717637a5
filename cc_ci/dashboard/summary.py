"""What the run records say about each recipe: latest results, levels, ordering. Pure.

The level (a score in the spirit of YunoHost's app levels) counts how far along the
lifecycle a recipe is proven, each level requiring the ones before it:

    0  install does not pass (or has never run)
    1  installs: a fresh deploy of the PR head comes up healthy and its tests pass
    2  and upgrades: the previous release, upgraded to the PR head, keeps its data
    3  and backs up: backup, mutate, restore brings the original data back
    4  and its own tests pass: the recipe's recipe-local suite against the live app

The level, the overview's row and the README badges are made of one run: the recipe's
*current* run, the newest finished run of its default branch (`RunRecord.default_branch`: the
bridge's scheduled or tag runs). Every stage's result comes from that one run, so the level
never combines stages proven on different commits, and no pull request's run (which may be
broken on purpose) changes what the recipe shows. A stage the run did not carry out counts
as not passed; a skipped stage is not a pass. Pull requests' runs are listed on the recipe's
page, marked by PR, and each PR has its own badge (its newest finished run).
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
    """A stage's result in the current run, and that run."""

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
    """One per stage (STAGES), in order, all from `current`; None when it did not carry the
    stage out (or there is no current run)."""
    level: int
    current: RunRecord | None = None
    """The newest finished default-branch run: the level, the badges, the overview's row."""
    branch_running: RunRecord | None = None
    """A default-branch run newer than `current` that is still running, if any."""

    @property
    def latest(self) -> RunRecord | None:
        """The newest run of any kind (a PR's included)."""
        return self.runs[0] if self.runs else None

    @property
    def latest_finished(self) -> RunRecord | None:
        return next((r for r in self.runs if r.status is not RunStatus.RUNNING), None)

    def pr_run(self, pr: int) -> RunRecord | None:
        """PR `pr`'s newest finished run, else its newest run (None when it has none)."""
        runs = [r for r in self.runs if r.source.pr == pr]
        return next((r for r in runs if r.status is not RunStatus.RUNNING), None) or (
            runs[0] if runs else None
        )

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
    branch = [r for r in ordered if r.default_branch]
    current = next((r for r in branch if r.status is not RunStatus.RUNNING), None)
    running = branch[0] if branch and branch[0].status is RunStatus.RUNNING else None
    results = tuple(stage_result(current, stage) for stage in STAGES)
    return RecipeSummary(
        recipe=recipe,
        runs=ordered,
        broken=tuple(sorted(broken, key=lambda b: (b.seen_at, b.run_id), reverse=True)),
        stage_results=results,
        level=level(results),
        current=current,
        branch_running=running,
    )


def stage_result(run: RunRecord | None, stage: str) -> StageResult | None:
    """The stage's result in `run`, when the run carried it out or skipped it (over its
    rows: the upgrade stage has one per base)."""
    status = run.stage_status(stage) if run is not None else None
    if run is None or status not in _SETTLED_STAGE:
        return None
    return StageResult(stage, status, run.run_id, run.started_at)


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
    NONE = "none"
    """No default-branch run has finished or is running: only PRs' runs (or other runs)."""


_ATTENTION_RANK = {a: i for i, a in enumerate(Attention)}


@dataclass(frozen=True, slots=True)
class Row:
    """One overview row: a recipe (its current run) or an unreadable record."""

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
    no_branch_run: int = 0
    """Recipes with runs but no finished default-branch run."""


def overview_rows(
    summaries: Iterable[RecipeSummary], broken: Iterable[BrokenRecord]
) -> tuple[Row, ...]:
    """Errors first, then failures, then running, then passes; newest first within each."""
    rows = [_row(s) for s in summaries if s.latest is not None]
    rows += [Row(Attention.ERROR, b.seen_at, broken=b) for b in broken]
    rows.sort(key=lambda r: r.at, reverse=True)
    rows.sort(key=lambda r: _ATTENTION_RANK[r.attention])
    return tuple(rows)


def shown_run(summary: RecipeSummary) -> RunRecord | None:
    """The run a recipe's row shows: its current run, else a default-branch run under way."""
    return summary.current or summary.branch_running


def _row(summary: RecipeSummary) -> Row:
    run = shown_run(summary)
    if run is None:
        latest = summary.latest
        assert latest is not None
        return Row(Attention.NONE, latest.started_at, summary=summary)
    return Row(Attention(run.status.value), run.started_at, summary=summary)


def counts(summaries: Sequence[RecipeSummary], unreadable: int) -> Counts:
    """Counts over recipes with at least one readable run, by their current run."""
    by_status = {s: 0 for s in RunStatus}
    none = 0
    for summary in summaries:
        if summary.latest is None:
            continue
        run = shown_run(summary)
        if run is None:
            none += 1
        else:
            by_status[run.status] += 1
    return Counts(
        recipes=sum(by_status.values()) + none,
        passed=by_status[RunStatus.PASSED],
        failed=by_status[RunStatus.FAILED],
        error=by_status[RunStatus.ERROR],
        running=by_status[RunStatus.RUNNING],
        everything=sum(1 for s in summaries if s.level == MAX_LEVEL),
        unreadable=unreadable,
        no_branch_run=none,
    )


def history(summary: RecipeSummary) -> list[RunRecord | BrokenRecord]:
    """The recipe's runs and unreadable records together, newest first."""
    items: list[RunRecord | BrokenRecord] = [*summary.runs, *summary.broken]
    items.sort(key=lambda x: x.started_at if isinstance(x, RunRecord) else x.seen_at, reverse=True)
    return items
