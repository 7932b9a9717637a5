"""Fetching the recipe: the PR head from wherever it lives, the release tags (so the upgrade
base) from the recipe's own repository only. Real git over local forge folders
(devworld/forge.py), as the harness fetches from Gitea."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cc_ci.contract.redact import Redactor
from cc_ci.harness.plan import BaseRefused, choose_bases
from cc_ci.harness.recipe import FetchError, fetch_recipe, tag_commit
from devworld.demo import HISTORY, SRC, TEMPLATE
from devworld.forge import build_forge, build_fork

FORK = "mallory/demo"
PR = 3


class Log:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text


def git(repo: Path, *args: str) -> str:
    r = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo recipe's repository, and a fork of it whose author tagged a commit of
    their own `99.0.0+x` and moved the base's `1.1.0+1.1` onto it; the base serves the
    fork's PR head as refs/pull/3/head, as Gitea does."""
    forge = tmp_path_factory.mktemp("forge")
    base_head = build_forge(TEMPLATE, HISTORY, forge, SRC)
    fork = build_fork(forge, SRC, FORK, pr=PR, new_tags=("99.0.0+x",), moved_tags=("1.1.0+1.1",))
    release = git(forge / f"{SRC}.git", "rev-parse", "1.1.0+1.1^{commit}")
    return {"dir": forge, "url": f"file://{forge}", "fork": fork, "base_head": base_head,
            "release": release}  # fmt: skip


def fetch(forge: dict, tmp_path: Path, **kw) -> tuple:
    log = Log()
    dest = tmp_path / "recipe"
    if "ref" not in kw:
        kw["ref"] = forge["fork"].head
    out = fetch_recipe(forge["url"], dest=dest, log=log, redact=Redactor(), **kw)
    return out, log


def test_the_fork_is_a_fork_that_tags_its_own_releases(forge):
    fork_tags = git(forge["dir"] / f"{FORK}.git", "tag", "-l").split()
    assert "99.0.0+x" in fork_tags
    moved = git(forge["dir"] / f"{FORK}.git", "rev-parse", "1.1.0+1.1^{commit}")
    assert moved == forge["fork"].hostile != forge["release"]


def test_a_pr_from_a_fork_takes_its_head_from_the_pull_ref_and_its_tags_from_the_base(
    forge, tmp_path
):
    out, log = fetch(forge, tmp_path, src=FORK, repo=SRC, pr=PR)
    assert out.head == forge["fork"].head
    assert (out.path / "FORK.md").exists()
    assert "99.0.0+x" not in out.tags
    assert set(out.tags) == {"1.0.0+1.0", "1.1.0+1.1"}
    assert out.previous_release == "1.1.0+1.1"
    # the base's own 1.1.0+1.1, not the commit the fork moved it to
    assert tag_commit(out.path, "1.1.0+1.1", log, Redactor()) == forge["release"]
    assert f"refs/pull/{PR}/head" in log.text


def test_the_fork_gives_the_head_and_nothing_else_without_a_pull_ref(forge, tmp_path):
    out, log = fetch(forge, tmp_path, src=FORK, repo=SRC, pr=None)
    assert out.head == forge["fork"].head
    assert set(out.tags) == {"1.0.0+1.0", "1.1.0+1.1"}
    assert tag_commit(out.path, "1.1.0+1.1", log, Redactor()) == forge["release"]
    assert "--no-tags" in log.text


def test_the_pull_ref_alone_brings_a_head_no_branch_of_the_base_has(forge, tmp_path):
    # SRC = REPO: only refs/pull/3/head in the base holds the fork's commit
    out, _ = fetch(forge, tmp_path, src=SRC, repo=SRC, pr=PR)
    assert out.head == forge["fork"].head
    assert "99.0.0+x" not in out.tags


def test_a_base_the_fork_tagged_is_refused_as_the_upgrade_base(forge, tmp_path):
    out, _ = fetch(forge, tmp_path, src=FORK, repo=SRC, pr=PR)
    with pytest.raises(BaseRefused, match=r"99\.0\.0\+x: not a release tag of .* cc-ci/demo"):
        choose_bases(("99.0.0+x",), (), out.tags, out.previous_release, SRC)
    assert choose_bases((), (), out.tags, out.previous_release, SRC) == ("1.1.0+1.1",)


def test_without_a_base_repository_the_head_repository_is_the_base(forge, tmp_path):
    # a run by hand of the base alone: as before REPO, the tags are SRC's
    out, _ = fetch(forge, tmp_path, src=SRC, ref=forge["base_head"])
    assert out.head == forge["base_head"]
    assert out.previous_release == "1.1.0+1.1"


def test_a_local_path_is_cloned_as_it_is(forge, tmp_path):
    bare = str(forge["dir"] / f"{SRC}.git")
    out, _ = fetch(forge, tmp_path, src=bare, ref=forge["base_head"])
    assert out.head == forge["base_head"]
    assert set(out.tags) == {"1.0.0+1.0", "1.1.0+1.1"}


def test_a_head_that_is_nowhere_is_a_fetch_error(forge, tmp_path):
    with pytest.raises(FetchError, match="git fetch failed"):
        fetch(forge, tmp_path, src=FORK, repo=SRC, pr=PR, ref="0" * 40)


def test_a_maintainers_local_checkout_is_the_head_and_the_forge_the_base(forge, tmp_path):
    # docs/writing-tests.md, "Running a run again by hand": --src ~/src/demo --ref HEAD
    work = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(forge["dir"] / f"{SRC}.git"), str(work))
    # the maintainer's own identity: the machine's git may have none (a fresh HOME)
    me = ("-c", "user.name=m", "-c", "user.email=m@example.org")
    git(work, *me, "tag", "-a", "99.0.0+local", "-m", "a tag of the checkout's own")
    (work / "FIX.md").write_text("a fix, committed, not pushed\n")
    git(work, "add", "-A")
    git(work, *me, "commit", "-qm", "fix")
    out, _ = fetch(forge, tmp_path, src=str(work), repo=SRC, ref="HEAD")
    assert out.head == git(work, "rev-parse", "HEAD")
    assert (out.path / "FIX.md").exists()
    assert set(out.tags) == {"1.0.0+1.0", "1.1.0+1.1"}


def test_a_deleted_fork_leaves_the_head_in_the_bases_pull_ref(forge, tmp_path):
    # a contributor may delete their fork once the PR is open: Gitea keeps refs/pull/3/head
    gone = tmp_path / "forge"
    shutil.copytree(forge["dir"], gone)
    shutil.rmtree(gone / f"{FORK}.git")
    out, log = fetch({**forge, "url": f"file://{gone}"}, tmp_path, src=FORK, repo=SRC, pr=PR)
    assert out.head == forge["fork"].head
    assert "refs/remotes/head" not in log.text  # the fork was not needed, nor asked


def test_against_a_real_gitea_a_fork_prs_head_comes_from_the_pull_ref_and_no_fork_tag(
    tmp_path,
):
    """Gitea itself (built by scripts/bootstrap): it keeps a PR's head in the base repository
    as refs/pull/<n>/head, from a fork too, and still after the fork is deleted; the fork's
    own release tag is never fetched."""
    from devworld.needs import needs
    from devworld.real_gitea import RealGitea

    needs("gitea")
    base, fork_name = "recipes/demo", "mallory/demo"
    with RealGitea(tmp_path / "gitea") as g:
        g.user("mallory")
        g.org("recipes")
        g.repo(base)
        g.api("POST", f"/repos/{base}/tags", {"tag_name": "1.0.0+1.0", "target": "main"})
        assert g.fork(base, "mallory") == fork_name
        fork_tag = {"tag_name": "99.0.0+x", "target": "main"}
        g.api("POST", f"/repos/{fork_name}/tags", fork_tag, sudo="mallory")
        pr = g.pull_request(base, fork_name, "from-fork", "mallory")
        head = pr["head"]["sha"]
        for step in ("with the fork", "the fork deleted"):
            if step == "the fork deleted":
                g.api("DELETE", f"/repos/{fork_name}", sudo="mallory")
            out, _ = fetch(
                {"url": g.url, "fork": None}, tmp_path / step, src=fork_name, repo=base,
                pr=pr["number"], ref=head,
            )  # fmt: skip
            assert out.head == head, step
            assert (out.path / "from-fork.txt").exists(), step
            assert out.tags == ("1.0.0+1.0",), step
            assert out.previous_release == "1.0.0+1.0", step
