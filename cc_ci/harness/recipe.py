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
        r = subprocess.run(
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
    """Where the PR head repository `src` (owner/name) is cloned from."""
    return f"{forge_url}/{src}.git"


def fetch_recipe(
    forge_url: str,
    src: str,
    ref: str,
    dest: Path,
    log: LogSink,
    redact: Redactor,
    token: str | None = None,
) -> Checkout:
    """Clone `<forge_url>/<src>.git` into `dest` and check out `ref` (a sha, tag or branch)."""
    url = clone_url(forge_url, src)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    env = git_env(token)
    _git(["init", "-q"], dest, env, log, redact)
    _git(["remote", "add", "origin", url], dest, env, log, redact)
    _git(
        ["fetch", "-q", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*"],
        dest,
        env,
        log,
        redact,
    )
    try:
        _git(["rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], dest, env, log, redact)
    except FetchError:
        # A commit that no branch reaches (a PR head in the base repo): ask for it by name.
        _git(["fetch", "-q", "origin", ref], dest, env, log, redact)
        ref = "FETCH_HEAD"
    _git(["checkout", "-q", "-f", "--detach", ref], dest, env, log, redact)
    return describe_checkout(dest, log, redact)


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
