"""The JSON API's documents. Pure: summaries in, JSON-ready dicts out.

`/api/runs/<run-id>` is not built here: it serves the run record itself, as written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cc_ci.contract.record import RunRecord
from cc_ci.contract.record_read import BrokenRecord
from cc_ci.contract.stages import STAGES
from cc_ci.dashboard import badge
from cc_ci.dashboard.markup import local
from cc_ci.dashboard.summary import MAX_LEVEL, Counts, RecipeSummary, Row


def _time(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def unreadable(broken: BrokenRecord) -> dict[str, Any]:
    return {
        "run_id": broken.run_id,
        "recipe": broken.recipe,
        "reason": broken.reason,
        "seen_at": _time(broken.seen_at),
        "url": local("runs", broken.run_id),
    }


def run_brief(run: RunRecord) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "status": run.status.value,
        "started_at": _time(run.started_at),
        "finished_at": _time(run.finished_at),
        "duration_s": run.duration_s,
        "source": {
            "repo": run.source.repo,
            "base_repo": run.source.base_repo,
            "ref": run.source.ref,
            "pr": run.source.pr,
            "url": run.source.url,
        },
        "trigger": run.trigger.kind.value if run.trigger and run.trigger.kind else None,
        "default_branch": run.default_branch,
        "stages": {s.name: s.status.value for s in run.stages},  # by row: `upgrade from <tag>`
        "teardown": run.teardown.status.value if run.teardown else None,
        "url": local("runs", run.run_id),
    }


def recipe_brief(summary: RecipeSummary) -> dict[str, Any]:
    latest = summary.latest
    current = summary.current
    chosen = badge.choose(summary)
    return {
        "recipe": summary.recipe,
        "status": current.status.value if current else None,
        "level": summary.level if current else None,
        "max_level": MAX_LEVEL,
        "badge": chosen.message,
        "current_run": run_brief(current) if current else None,
        "latest_run": run_brief(latest) if latest else None,
        "stages": {
            name: (
                {"status": r.status.value, "run_id": r.run_id, "at": _time(r.at)}
                if r is not None
                else None
            )
            for name, r in zip(STAGES, summary.stage_results, strict=True)
        },
        "url": local("recipes", summary.recipe),
        "badge_url": local("badge", f"{summary.recipe}.svg"),
        "level_badge_url": local("badge", summary.recipe, "level.svg"),
    }


def recipes_document(rows: tuple[Row, ...], counts: Counts) -> dict[str, Any]:
    """Recipes in the overview's order (what needs attention first), then unreadable records."""
    return {
        "counts": {
            "recipes": counts.recipes,
            "passed": counts.passed,
            "failed": counts.failed,
            "error": counts.error,
            "running": counts.running,
            "pass_everything": counts.everything,
            "no_default_branch_run": counts.no_branch_run,
            "unreadable": counts.unreadable,
        },
        "recipes": [recipe_brief(r.summary) for r in rows if r.summary is not None],
        "unreadable": [unreadable(r.broken) for r in rows if r.broken is not None],
    }


def recipe_document(summary: RecipeSummary) -> dict[str, Any]:
    return {
        **recipe_brief(summary),
        "runs": [run_brief(r) for r in summary.runs],
        "unreadable": [unreadable(b) for b in summary.broken],
    }
