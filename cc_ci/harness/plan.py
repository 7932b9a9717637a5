"""Which deployments a run makes, and which stages share each one; which releases the upgrade
stage starts from; the command that makes the same run again. Pure functions.

A full run costs two deployments:
  fresh    the PR head deployed from scratch: install, then recipe-local, then backup
           (backup last, because it mutates and restores the data);
  upgrade  the previous release, seeded, then upgraded to the PR head: upgrade.
Each further base release (`--upgrade-from`, recipe_meta.py's UPGRADE_FROM) is one more
upgrade deployment, its own row in the record (`upgrade from <tag>`).
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cc_ci.contract.stages import STAGES, StageName, upgrade_row
from cc_ci.harness.outcome import NO_PREVIOUS_RELEASE


class DeployKind(enum.StrEnum):
    FRESH = "fresh"
    UPGRADE = "upgrade"


FRESH_ORDER = (StageName.INSTALL, StageName.RECIPE_LOCAL, StageName.BACKUP)


@dataclass(frozen=True, slots=True)
class Deployment:
    kind: DeployKind
    stages: tuple[str, ...]
    """The record's rows it serves: stage names, or for an upgrade its `upgrade from <tag>`."""
    base: str | None = None
    """For an upgrade: the release it starts from."""


@dataclass(frozen=True, slots=True)
class Plan:
    deployments: tuple[Deployment, ...]
    skipped: tuple[tuple[str, str], ...]  # (stage, why)

    @property
    def stage_order(self) -> tuple[str, ...]:
        return tuple(s for d in self.deployments for s in d.stages)


def plan_run(stages: tuple[str, ...], bases: Sequence[str]) -> Plan:
    """Group the selected stages into deployments, one upgrade per base release (`bases`,
    from `choose_bases`); say why any stage cannot run."""
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stages {unknown}")
    if isinstance(bases, str):
        raise TypeError(f"bases are a sequence of tags, not the string {bases!r}")
    deployments: list[Deployment] = []
    skipped: list[tuple[str, str]] = []
    fresh = tuple(s for s in FRESH_ORDER if s in stages)
    if fresh:
        deployments.append(Deployment(DeployKind.FRESH, fresh))
    if StageName.UPGRADE in stages:
        for base in bases:
            deployments.append(Deployment(DeployKind.UPGRADE, (upgrade_row(base),), base))
        if not bases:
            skipped.append((StageName.UPGRADE, NO_PREVIOUS_RELEASE))
    return Plan(tuple(deployments), tuple(skipped))


class BaseRefused(ValueError):
    """An upgrade base asked for is not a release of the base repository."""


def choose_bases(
    asked: Sequence[str],
    extra: Sequence[str],
    tags: Iterable[str],
    previous: str | None,
    base_repo: str,
) -> tuple[str, ...]:
    """The releases the upgrade stage starts from, each once: those `asked` for
    (`--upgrade-from`), else the previous release followed by the recipe suite's `extra`
    ones (recipe_meta.py's UPGRADE_FROM). Each must be a release tag (`is_release_tag`) of
    the base repository, whose `tags` these are; anything else is refused, naming it."""
    wanted = tuple(dict.fromkeys(asked or ([previous] if previous else []) + list(extra)))
    releases = sorted({t for t in tags if is_release_tag(t)}, key=version_key)
    bad = [t for t in wanted if t not in releases]
    if bad:
        where = "--upgrade-from" if asked else "recipe_meta.py UPGRADE_FROM"
        known = ", ".join(releases[-5:]) if releases else "none"
        raise BaseRefused(
            f"{where} {', '.join(bad)}: not a release tag of the base repository {base_repo} "
            f"(its newest releases: {known}); nothing was deployed"
        )
    return wanted


def upgrade_rows(rows: Sequence[str], bases: Sequence[str]) -> tuple[str, ...]:
    """The record's rows once the bases are chosen: the `upgrade` row becomes one
    `upgrade from <tag>` per base, in its place (it stays, to be skipped, without any)."""
    if not bases:
        return tuple(rows)
    out: list[str] = []
    for row in rows:
        out += [upgrade_row(b) for b in bases] if row == StageName.UPGRADE else [row]
    return tuple(out)


def repro_command(
    recipe: str,
    *,
    src: str,
    ref: str,
    stages: Sequence[str],
    repo: str | None = None,
    pr: int | None = None,
    bases: Sequence[str] = (),
    forge_url: str,
) -> str:
    """The one shell line that makes this run again on a machine set up by scripts/bootstrap:
    `cc-ci-run` with the recipe, its repositories, the exact head commit, the PR, the stages
    and the upgrade bases, each word quoted for the shell (`shlex.quote`), and the forge in
    front as `CCCI_FORGE_URL=…` (always: scripts/local-env.sh, which such a machine sources,
    sets a local one)."""
    argv = ["cc-ci-run", recipe]
    if repo is not None and repo != src:
        argv += ["--repo", repo]
    argv += ["--src", src, "--ref", ref]
    if pr is not None:
        argv += ["--pr", str(pr)]
    if tuple(stages) != STAGES:
        argv += ["--stages", ",".join(stages)]
    if bases and StageName.UPGRADE in stages:
        argv += ["--upgrade-from", ",".join(bases)]
    return f"CCCI_FORGE_URL={shlex.quote(forge_url)} {shlex.join(argv)}"


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
