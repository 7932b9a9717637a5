"""How long each step of a run may take: the recipe asks, the operator's settings cap.

A recipe's `recipe_meta.py` asks for DEPLOY_TIMEOUT and STAGE_TIMEOUT (or gets meta.py's
defaults); the operator's CCCI_DEPLOY_TIMEOUT and CCCI_STAGE_TIMEOUT are ceilings. A recipe
may ask for less, never more: a PR cannot buy itself a longer hold on the runner than the
operator allows, and an operator who lowers a ceiling is obeyed by every recipe. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from cc_ci.harness.meta import RecipeMeta
from cc_ci.harness.settings import Settings


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds; each bounds one step, so a stage of several steps takes longer in all."""

    deploy: float  # `abra app deploy`, and then the wait until the app is healthy
    stage: float  # each pytest phase of a stage; the recipe-local container
    backup: float  # `abra app backup create`, and `abra app restore`
    capped: tuple[str, ...] = ()  # what the ceilings cut, for the run's setup log


def timeouts(settings: Settings, meta: RecipeMeta) -> Timeouts:
    """The recipe's asks, each cut to the operator's ceiling (the stage's caps backups too)."""
    asks = (
        ("DEPLOY_TIMEOUT", meta.deploy_timeout, "CCCI_DEPLOY_TIMEOUT", settings.deploy_timeout),
        ("STAGE_TIMEOUT", meta.stage_timeout, "CCCI_STAGE_TIMEOUT", settings.stage_timeout),
        ("BACKUP_TIMEOUT", meta.backup_timeout, "CCCI_STAGE_TIMEOUT", settings.stage_timeout),
    )
    capped = tuple(
        f"recipe_meta {name} {ask:g}s is over the operator's {key}: {ceiling:g}s applies"
        for name, ask, key, ceiling in asks
        if ask > ceiling
    )
    deploy, stage, backup = (min(ask, ceiling) for _, ask, _, ceiling in asks)
    return Timeouts(deploy, stage, backup, capped)
