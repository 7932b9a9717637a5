"""Fetch a recipe at the PR head, with the release tags the upgrade stage needs.

The token for a private forge is read from a file and handed to git through its environment
(GIT_CONFIG_* → http.extraHeader): never on a command line, in a URL, or in a log.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cc_ci.contract.redact import Redactor
from cc_ci.harness import children
from cc_ci.harness.deploy.abra import LogSink
from cc_ci.harness.plan import previous_release


class FetchError(RuntimeError):
    """The recipe could not be fetched at the requested ref."""


@dataclass(frozen=True, slots=True)
class Checkout:
    path: Path
    head: str  # full sha of the PR head
    tags: tuple[str, ...]
    previous_release: str | None


def _git(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    log: LogSink,
    redact: Redactor,
    timeout: float = 300,
) -> str:
    log.write(f"$ git {' '.join(args)}\n")
    try:
        r = children.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"git {args[0]} timed out after {timeout:.0f}s") from exc
    out = redact((r.stdout or "") + (r.stderr or ""))
    if out:
        log.write(out if out.endswith("\n") else out + "\n")
    if r.returncode != 0:
        last = out.strip().splitlines()[-1] if out.strip() else f"exit {r.returncode}"
        raise FetchError(f"git {args[0]} failed: {last}")
    return r.stdout


def git_env(token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_CONFIG")}
    env |= {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
    if token:
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: token {token}",
        }
    return env


def clone_url(forge_url: str, src: str) -> str:
    """Where the repository `src` is cloned from: `<forge_url>/<owner/name>.git`, or `src`
    itself when it is a local path (absolute: cli.py resolves one given by hand)."""
    if src.startswith("/"):
        return src
    return f"{forge_url}/{src}.git"


def fetch_recipe(
    forge_url: str,
    src: str,
    ref: str,
    dest: Path,
    log: LogSink,
    redact: Redactor,
    token: str | None = None,
    *,
    repo: str | None = None,
    pr: int | None = None,
) -> Checkout:
    """Fetch the recipe into `dest` and check out the PR head `ref` (a sha, tag or branch).

    The release tags (and so the upgrade base) come from the base repository `repo`, the
    recipe's own, only; `src`, the PR head repository (a fork, maybe), gives the head and
    nothing else: its tags are never fetched. With a PR number the head is fetched from the
    base repository's `refs/pull/<pr>/head`, as Gitea serves it; `src` is still searched for
    `ref` (a forge without pull refs, a head pushed since). Without `repo` the base is `src`.
    """
    base = repo or src
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    env = git_env(token)

    def git(*args: str) -> str:
        return _git(list(args), dest, env, log, redact)

    def fetched(commit: str) -> bool:
        try:
            git("rev-parse", "--verify", "-q", f"{commit}^{{commit}}")
        except FetchError:
            return False
        return True

    git("init", "-q")
    git("remote", "add", "base", clone_url(forge_url, base))
    # --no-tags, and the base's tags by an explicit refspec: no tag follows a head's commit
    git("fetch", "-q", "--no-tags", "base", *BASE_REFSPECS)
    remotes = ["base"]
    if pr is not None:
        try:
            git("fetch", "-q", "--no-tags", "base", f"+refs/pull/{pr}/head:refs/remotes/pull/{pr}")
        except FetchError:
            log.write(f"the base repository {base} serves no refs/pull/{pr}/head\n")
    if src != base:
        git("remote", "add", "head", clone_url(forge_url, src))
        remotes.insert(0, "head")
        if not fetched(ref):
            # the fork, for the head only: its branches, never its tags
            git("fetch", "-q", "--no-tags", "head", "+refs/heads/*:refs/remotes/head/*")
    if not fetched(ref):
        # A commit or branch not fetched yet: ask the head repository, then the base, by name.
        for i, remote in enumerate(remotes):
            try:
                git("fetch", "-q", "--no-tags", remote, ref)
            except FetchError:
                if i == len(remotes) - 1:
                    raise
                continue
            ref = "FETCH_HEAD"
            break
    git("checkout", "-q", "-f", "--detach", ref)
    return describe_checkout(dest, log, redact)


BASE_REFSPECS = ("+refs/heads/*:refs/remotes/base/*", "+refs/tags/*:refs/tags/*")
"""What is fetched of the base repository: its branches and its tags, nothing else."""


def tag_commit(repo: Path, tag: str, log: LogSink, redact: Redactor) -> str:
    """The commit a release tag of the base repository names (full sha)."""
    return _git(
        ["rev-parse", f"refs/tags/{tag}^{{commit}}"], repo, git_env(None), log, redact
    ).strip()


def describe_checkout(dest: Path, log: LogSink, redact: Redactor) -> Checkout:
    env = git_env(None)
    head = _git(["rev-parse", "HEAD"], dest, env, log, redact).strip()
    tags = tuple(_git(["tag", "-l"], dest, env, log, redact).split())
    head_tags = _git(["tag", "--points-at", "HEAD"], dest, env, log, redact).split()
    return Checkout(dest, head, tags, previous_release(list(tags), head_tags))


def checkout(repo: Path, ref: str, log: LogSink, redact: Redactor) -> None:
    """Move the recipe's working tree to `ref`, discarding anything abra left in it."""
    env = git_env(None)
    _git(["checkout", "-q", "-f", "--detach", ref], repo, env, log, redact)
    _git(["clean", "-q", "-fdx"], repo, env, log, redact)
