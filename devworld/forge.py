"""A local forge folder: recipe templates turned into git repositories with release tags.

`scripts/demo` and `scripts/replica` serve recipes to `cc-ci-run` from such a folder
(`CCCI_FORGE_URL=file://<forge>`), so a run fetches, checks out and upgrades exactly as it
would from Gitea. A template is a recipe folder whose files may hold `{{KEY}}` placeholders;
each commit of the history fills them from its release's values.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

GIT_ID = [
    "-c",
    "user.name=cc-ci",
    "-c",
    "user.email=forge@cc-ci.invalid",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
]
# rewrite(relative path, text, is_head) -> text: how a test variant changes the PR head
Rewrite = Callable[[Path, str, bool], str]


@dataclass(frozen=True, slots=True)
class Release:
    tag: str | None  # None: an untagged commit (the PR head)
    message: str
    values: Mapping[str, str] = field(default_factory=dict)


def _git(repo: Path, *args: str) -> str:
    r = subprocess.run(
        ["git", *GIT_ID, *args], cwd=repo, capture_output=True, text=True, timeout=120
    )
    if r.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {r.stderr.strip()}")
    return r.stdout.strip()


def render(
    template: Path,
    dest: Path,
    release: Release,
    is_head: bool,
    rewrite: Rewrite | None = None,
    head_files: Mapping[str, str] | None = None,
) -> None:
    """Replace `dest`'s files (all but .git) with the template filled for `release`;
    the head also gets `head_files` (relative path → text)."""
    for item in dest.iterdir():
        if item.name != ".git":
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    for src in sorted(template.rglob("*")):
        if src.is_dir() or "__pycache__" in src.parts:
            continue
        rel = src.relative_to(template)
        text = src.read_text()
        for key, value in release.values.items():
            text = text.replace("{{" + key + "}}", value)
        if rewrite is not None:
            text = rewrite(rel, text, is_head)
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        out.chmod(src.stat().st_mode & 0o777)
    for rel_name, text in (head_files or {}).items() if is_head else ():
        out = dest / rel_name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)


def build_forge(
    template: Path,
    history: Sequence[Release],
    forge: Path,
    src: str,
    rewrite: Rewrite | None = None,
    head_files: Mapping[str, str] | None = None,
) -> str:
    """(Re)create `<forge>/<src>.git` from `history`; return the last commit's sha."""
    bare = forge / f"{src}.git"
    with tempfile.TemporaryDirectory(prefix="cc-ci-forge-") as tmp:
        work = Path(tmp)
        _git(work, "init", "-q", "-b", "main")
        for i, release in enumerate(history):
            render(template, work, release, i == len(history) - 1, rewrite, head_files)
            _git(work, "add", "-A")
            _git(work, "commit", "-q", "--allow-empty", "-m", release.message)
            if release.tag:
                _git(work, "tag", "-a", release.tag, "-m", f"release {release.tag}")
        head = _git(work, "rev-parse", "HEAD")
        if bare.exists():
            shutil.rmtree(bare)
        bare.parent.mkdir(parents=True, exist_ok=True)
        _git(work, "clone", "-q", "--bare", str(work), str(bare))
    return head


@dataclass(frozen=True, slots=True)
class Fork:
    head: str
    """The PR head: a commit on the fork's branch `change`, on top of the base's main."""
    hostile: str
    """The fork's own commit that its release tags (new and moved) name."""


def build_fork(
    forge: Path,
    base: str,
    fork: str,
    *,
    pr: int | None = None,
    new_tags: Sequence[str] = ("99.0.0+x",),
    moved_tags: Sequence[str] = (),
    hostile_files: Mapping[str, str] | None = None,
) -> Fork:
    """(Re)create `<forge>/<fork>.git`, a fork of `<forge>/<base>.git` whose author added
    release tags of their own: `new_tags` and `moved_tags` (tags of the base, moved) all name
    a commit of the fork's (the base's main with `hostile_files` written over it), and the
    PR head is one more commit on the branch `change`. With `pr`, the base also serves that
    head as `refs/pull/<pr>/head`, as Gitea does for every PR, from a fork or not."""
    base_bare = forge / f"{base}.git"
    bare = forge / f"{fork}.git"
    with tempfile.TemporaryDirectory(prefix="cc-ci-fork-") as tmp:
        work = Path(tmp) / "work"
        _git(Path(tmp), "clone", "-q", str(base_bare), str(work))
        _git(work, "checkout", "-q", "-b", "hostile", "origin/main")
        for rel, text in (hostile_files or {"HOSTILE": "a commit of the fork's\n"}).items():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).write_text(text)
        _git(work, "add", "-A")
        _git(work, "commit", "-q", "-m", "the fork's own release")
        hostile = _git(work, "rev-parse", "HEAD")
        for tag in (*new_tags, *moved_tags):
            _git(work, "tag", "-f", "-a", tag, "-m", f"the fork's {tag}")
        _git(work, "checkout", "-q", "-b", "change", "origin/main")
        (work / "FORK.md").write_text("a change proposed from a fork\n")
        _git(work, "add", "-A")
        _git(work, "commit", "-q", "-m", "the PR from the fork")
        head = _git(work, "rev-parse", "HEAD")
        if bare.exists():
            shutil.rmtree(bare)
        bare.parent.mkdir(parents=True, exist_ok=True)
        _git(work, "clone", "-q", "--bare", str(work), str(bare))
        if pr is not None:
            _git(base_bare, "fetch", "-q", "--no-tags", str(work), f"change:refs/pull/{pr}/head")
    return Fork(head, hostile)
