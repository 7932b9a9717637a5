"""What abra-sim reads from a recipe checkout: its abra.sh exports and its git state.

abra-sim never changes the checkout (no clone, fetch or checkout): it deploys the working
tree as it finds it, which is what real abra does with `--chaos`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from cc_ci.contract.envfile import abra_sh_exports
from devworld.abrasim.layout import App, Fatal

CHAOS_SHA_LENGTH = 8  # abra's chaos version is the first 8 hex digits of HEAD


@dataclass(frozen=True, slots=True)
class Version:
    """What this deploy is of, for abra's labels and the env file's TYPE stamp."""

    version: str  # the tag, the requested version, or the short HEAD sha
    chaos_version: str | None  # short HEAD sha, "+U" when dirty; None for a release deploy


def _git(recipe_dir: Path, *args: str) -> str:
    r = subprocess.run(
        ["git", "-C", str(recipe_dir), *args], capture_output=True, text=True, timeout=30
    )
    if r.returncode != 0:
        raise Fatal(f"git {args[0]} in {recipe_dir} failed: {r.stderr.strip()}")
    return r.stdout.strip()


def deploy_env(app: App, recipe_dir: Path) -> dict[str, str]:
    """The variables a deploy interpolates with: env file, then abra.sh exports, then
    STACK_NAME (abra lets abra.sh override the env file)."""
    env = app.env
    abra_sh = recipe_dir / "abra.sh"
    if abra_sh.exists():
        env |= abra_sh_exports(abra_sh.read_text())
    env["STACK_NAME"] = app.stack
    return env


def version_of(recipe_dir: Path, *, chaos: bool, requested: str | None) -> Version:
    """The version a deploy of this working tree is labelled with.

    `-C`: the short HEAD sha, with `+U` in the chaos label when the tree is dirty. Otherwise
    the requested version, or a tag at HEAD; with neither, abra deploys the latest commit as
    a chaos deploy, and so does abra-sim.
    """
    sha = _git(recipe_dir, "rev-parse", "HEAD")[:CHAOS_SHA_LENGTH]
    dirty = bool(_git(recipe_dir, "status", "--porcelain"))
    chaos_version = f"{sha}+U" if dirty else sha
    if chaos:
        return Version(sha, chaos_version)
    if requested:
        return Version(requested, None)
    tags = _git(recipe_dir, "tag", "--points-at", "HEAD", "--sort=-v:refname").splitlines()
    if tags:
        return Version(tags[0], None)
    return Version(sha, chaos_version)


def version_labels(stack: str, version: Version) -> dict[str, str]:
    labels = {f"coop-cloud.{stack}.version": version.version}
    if version.chaos_version:
        labels[f"coop-cloud.{stack}.chaos-version"] = version.chaos_version
    return labels
