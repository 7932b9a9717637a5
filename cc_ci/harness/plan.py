"""Which deployments a run makes, and which stages share each one. Pure functions.

A full run costs at most two deployments:
  fresh    the PR head deployed from scratch: install, then recipe-local, then backup
           (backup last, because it mutates and restores the data);
  upgrade  the previous release, seeded, then upgraded to the PR head: upgrade.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cc_ci.contract.stages import STAGES, StageName
from cc_ci.harness.outcome import NO_PREVIOUS_RELEASE


class DeployKind(enum.StrEnum):
    FRESH = "fresh"
    UPGRADE = "upgrade"


FRESH_ORDER = (StageName.INSTALL, StageName.RECIPE_LOCAL, StageName.BACKUP)


@dataclass(frozen=True, slots=True)
class Deployment:
    kind: DeployKind
    stages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    deployments: tuple[Deployment, ...]
    skipped: tuple[tuple[str, str], ...]  # (stage, why)

    @property
    def stage_order(self) -> tuple[str, ...]:
        return tuple(s for d in self.deployments for s in d.stages)


def plan_run(stages: tuple[str, ...], previous_release: str | None) -> Plan:
    """Group the selected stages into deployments; say why any stage cannot run."""
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stages {unknown}")
    deployments: list[Deployment] = []
    skipped: list[tuple[str, str]] = []
    fresh = tuple(s for s in FRESH_ORDER if s in stages)
    if fresh:
        deployments.append(Deployment(DeployKind.FRESH, fresh))
    if StageName.UPGRADE in stages:
        if previous_release:
            deployments.append(Deployment(DeployKind.UPGRADE, (StageName.UPGRADE,)))
        else:
            skipped.append((StageName.UPGRADE, NO_PREVIOUS_RELEASE))
    return Plan(tuple(deployments), tuple(skipped))


def version_key(tag: str) -> tuple:
    """Sort key for recipe tags like 1.7.1+1.27.2 (recipe semver, then upstream version)."""
    recipe_part, _, upstream = tag.partition("+")
    core, _, pre = recipe_part.partition("-")

    def nums(text: str) -> tuple:
        out = []
        for piece in text.replace("_", ".").split("."):
            out.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
        return tuple(out)

    # A pre-release sorts before its release.
    return (nums(core), 0 if pre else 1, pre, nums(upstream))


def is_release_tag(tag: str) -> bool:
    """A published release: X.Y.Z+upstream. Pre-releases (X.Y.Z-rc1+…) do not count."""
    core = tag.partition("+")[0]
    parts = core.split(".")
    return len(parts) == 3 and all(p.isdigit() for p in parts)


def previous_release(tags: list[str], head_tags: list[str]) -> str | None:
    """The release the upgrade stage starts from: the newest release tag that is not the head.

    `head_tags` are the tags pointing at the head commit itself (a release PR): those are what
    is being tested, so the one before them is the previous release.
    """
    releases = sorted((t for t in tags if is_release_tag(t)), key=version_key)
    candidates = [t for t in releases if t not in head_tags]
    if head_tags:
        newest_head = max(
            (t for t in head_tags if is_release_tag(t)), key=version_key, default=None
        )
        if newest_head is not None:
            candidates = [t for t in candidates if version_key(t) < version_key(newest_head)]
    return candidates[-1] if candidates else None
