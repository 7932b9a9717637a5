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


def unknown_stages(names: Iterable[str]) -> tuple[str, ...]:
    """The names that are not stages, each once, in the order given."""
    return tuple(dict.fromkeys(n for n in names if n not in STAGES))


def in_order(names: Iterable[str]) -> tuple[StageName, ...]:
    """The stages among `names`, each once, in lifecycle order (names that are not stages
    are left out: check them with `unknown_stages` first)."""
    wanted = set(names)
    return tuple(s for s in STAGES if s in wanted)
