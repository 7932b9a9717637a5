"""Turn a replica folder into images and a recipe repository with two release tags.

A replica is `devworld/replicas/<recipe>/`: `recipe/` is a recipe template (compose.yml, .env.sample,
abra.sh, configs) whose `{{KEY}}` placeholders each release fills in, and `replica.py` says
how its images are built and which releases the history holds:

    DATA_VOLUMES = ("content",)          # what --lose-data drops on upgrade
    def releases() -> list[Release]: …   # builds (or finds) the images, oldest release first

The newest release is the commit the run tests (the "PR head"); the one before it is what
the upgrade stage starts from.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from devworld.forge import Release, build_forge

ROOT = Path(__file__).resolve().parent
OWNER = "replica"


class ReplicaError(RuntimeError):
    """A replica is unknown or malformed."""


@dataclass(frozen=True, slots=True)
class Replica:
    recipe: str
    folder: Path

    @property
    def src(self) -> str:
        return f"{OWNER}/{self.recipe}"

    @property
    def template(self) -> Path:
        return self.folder / "recipe"

    def module(self) -> ModuleType:
        path = self.folder / "replica.py"
        spec = importlib.util.spec_from_file_location(f"replica_{self.recipe}", path)
        if spec is None or spec.loader is None:
            raise ReplicaError(f"{path} cannot be loaded")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in ("DATA_VOLUMES", "releases"):
            if not hasattr(mod, name):
                raise ReplicaError(f"{path} defines no {name}")
        return mod


def replicas(root: Path = ROOT) -> list[Replica]:
    """The replicas that can run here: folders with a replica.py, by name."""
    return [Replica(p.parent.name, p.parent) for p in sorted(root.glob("*/replica.py"))]


def find(recipe: str, root: Path = ROOT) -> Replica:
    for r in replicas(root):
        if r.recipe == recipe:
            return r
    known = ", ".join(r.recipe for r in replicas(root))
    raise ReplicaError(f"no replica of {recipe!r} here (replicas: {known})")


def drop_volumes(text: str, volumes: Sequence[str]) -> str:
    """A compose file with each named volume replaced by a new, empty one (`<name>_lost`).

    Used for the test of the test: a head that loses the data on upgrade, which a
    data-survival test must notice. Pure text change on the volume's mounts and declaration.
    """
    for vol in volumes:
        v = re.escape(vol)
        text = re.sub(rf"(?m)^(\s+-\s+['\"]?){v}:", rf"\g<1>{vol}_lost:", text)
        text = re.sub(rf"(?m)^(\s+source:\s+){v}\s*$", rf"\g<1>{vol}_lost", text)
        text = re.sub(rf"(?m)^(  ){v}:(.*)$", rf"\g<1>{vol}_lost:\g<2>", text)
    return text


def no_op_head(history: Sequence[Release]) -> list[Release]:
    """The history without its newest release, and a head (untagged, as a PR head is) whose
    files are exactly the release before it: an upgrade that upgrades nothing."""
    prev = history[-2]
    head = Release(None, f"no-op head: the files of {prev.tag} again", prev.values)
    return [*history[:-1], head]


def build(
    replica: Replica, forge: Path, lose_data: bool = False, no_op_upgrade: bool = False
) -> str:
    """Build the replica's images and `<forge>/replica/<recipe>.git`; return the head's sha.

    `lose_data`: the head mounts fresh volumes in place of the data volumes.
    `no_op_upgrade`: the head deploys exactly what the previous release did."""
    mod = replica.module()
    history: list[Release] = list(mod.releases())
    if len(history) < 2 or not all(r.tag for r in history):
        raise ReplicaError(f"{replica.recipe}: a replica needs two or more tagged releases")
    if no_op_upgrade:
        history = no_op_head(history)
    volumes = tuple(mod.DATA_VOLUMES)

    def rewrite(rel: Path, text: str, is_head: bool) -> str:
        if lose_data and is_head and rel.name.startswith("compose") and rel.suffix == ".yml":
            return drop_volumes(text, volumes)
        return text

    return build_forge(replica.template, history, forge, replica.src, rewrite)


def release_per_version(
    recipe: str, versions: Sequence[str], values: Callable[[str], Mapping[str, str]]
) -> list[Release]:
    """One release per application version, oldest first: tags 1.0.0+<v>, 1.1.0+<v>, …

    `values(version)` gives the release's placeholders (its image tags); RELEASE is added.
    """
    out = []
    for i, version in enumerate(versions):
        tag = f"1.{i}.0+{version}"
        out.append(Release(tag, f"{recipe} {tag}", {**values(version), "RELEASE": tag}))
    return out
