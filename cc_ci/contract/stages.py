"""The stages a run can carry out, and their order. Pure.

The order is the lifecycle's: a run record lists its planned stages in it, `!testme` and
`--stages` put what they are given into it, and the dashboard's levels count along it. It is
not the order the stages execute in: the harness's plan (cc_ci/harness/plan.py) groups them
into deployments.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class StageName(enum.StrEnum):
    INSTALL = "install"
    UPGRADE = "upgrade"
    BACKUP = "backup"
    RECIPE_LOCAL = "recipe-local"


STAGES: tuple[StageName, ...] = tuple(StageName)
"""Every stage, in lifecycle order."""


UPGRADE_ROW = "upgrade from "
"""The upgrade stage runs once per base release, each run its own row in the record, named
`upgrade from <tag>` (`upgrade_row`). A row named after its stage alone is a stage that ran
once, or that was skipped before a base was chosen (no previous release)."""


def upgrade_row(base: str) -> str:
    """The record's row of the upgrade stage from release `base`: `upgrade from 1.1.0+1.1`."""
    return UPGRADE_ROW + base


def row_stage(row: str) -> str:
    """The stage a record's row (or its file name, `row_file`) belongs to: `upgrade` for
    `upgrade from 1.1.0+1.1`, the row's own name otherwise."""
    if row.startswith((UPGRADE_ROW, row_file(UPGRADE_ROW))):
        return StageName.UPGRADE
    return row


def row_base(row: str) -> str | None:
    """The release an upgrade row started from, or None for any other row."""
    return row.removeprefix(UPGRADE_ROW) if row.startswith(UPGRADE_ROW) else None


def row_file(row: str) -> str:
    """The row's name as the start of its files' names (its log, JUnit, screenshots):
    `upgrade-from-1.1.0+1.1`; a stage's name is its own."""
    return row.replace(" ", "-")


def unknown_stages(names: Iterable[str]) -> tuple[str, ...]:
    """The names that are not stages, each once, in the order given."""
    return tuple(dict.fromkeys(n for n in names if n not in STAGES))


def in_order(names: Iterable[str]) -> tuple[StageName, ...]:
    """The stages among `names`, each once, in lifecycle order (names that are not stages
    are left out: check them with `unknown_stages` first)."""
    wanted = set(names)
    return tuple(s for s in STAGES if s in wanted)
