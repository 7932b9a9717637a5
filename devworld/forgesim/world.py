"""The simulated forge's state: users, organisations, repositories, PRs, comments,
reactions, commit statuses, webhooks, and Drone's repositories and builds.

All of it sits behind one lock; the HTTP handlers and the Python API both go through the
methods here. Times are unix seconds from a clock tests can set.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cc_ci.contract.names import COMMAND_PARAM, JOB_PARAM, TRIGGER_PARAM, drone_run_id
from cc_ci.contract.record import (
    CI,
    RunRecord,
    RunStatus,
    Source,
    StageResult,
    StageStatus,
    Teardown,
    TeardownStatus,
    Trigger,
    TriggerKind,
)
from cc_ci.contract.stages import STAGES, in_order


class SimError(Exception):
    """A request to the Python or control API that the world cannot satisfy."""


@dataclass
class User:
    id: int
    login: str
    full_name: str = ""
    is_admin: bool = False


@dataclass
class Tag:
    name: str
    sha: str
    created: float


@dataclass
class Repo:
    id: int
    full_name: str
    writers: set[str] = field(default_factory=set)
    fork_of: str | None = None
    private: bool = False
    default_branch: str = "main"
    branches: dict[str, str] = field(default_factory=dict)
    """Branch name → head commit sha (the default branch gets one when the repo is added)."""
    tags: list[Tag] = field(default_factory=list)
    """Oldest first; Gitea lists them newest first."""

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]


@dataclass
class Issue:
    repo: str
    number: int
    title: str
    login: str
    created: float
    is_pull: bool = False
    state: str = "open"
    head_repo: str | None = None
    """A PR's head repository (None: it was deleted)."""
    head_ref: str = ""
    head_sha: str = ""
    base_ref: str = "main"
    earlier_heads: list[str] = field(default_factory=list)
    """Heads a push replaced: the commits still exist (statuses can be set on them)."""


@dataclass
class Comment:
    id: int
    repo: str
    number: int
    login: str
    body: str
    created: float
    updated: float


@dataclass
class Hook:
    repo: str
    url: str
    secret: str
    events: tuple[str, ...] = ("issue_comment", "pull_request_comment")
    """Gitea files a comment on a PR under `pull_request_comment`, on an issue under
    `issue_comment`; a hook gets only the events it was registered for."""


@dataclass
class Build:
    id: int
    repo: str
    number: int
    status: str
    trigger: str
    branch: str
    sha: str
    message: str
    params: dict[str, str]
    created: int
    updated: int
    started: int = 0
    finished: int = 0
    parent: int = 0
    event: str = "custom"
    action: str = ""
    stage_statuses: list[str] = field(default_factory=lambda: ["pending", "pending"])
    logs: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class DroneRepo:
    full_name: str
    branches: set[str]
    """Branches whose .drone.yml has a pipeline triggered by `custom` (else create → null)."""
    writers: set[str] = field(default_factory=set)
    readers: set[str] = field(default_factory=set)
    branch_heads: dict[str, str] = field(default_factory=dict)


def build_run_id(b: Build) -> str:
    """The run id cc-ci-run gives build `b`, as .drone.yml passes it: drone-<n>-c<command>,
    or drone-<n>-j<job> for a default-branch job's."""
    command = b.params.get(COMMAND_PARAM, "")
    job = b.params.get(JOB_PARAM, "")
    return drone_run_id(
        b.number,
        int(command) if command.isdigit() else None,
        job=int(job) if job.isdigit() else None,
    )


def demo_record(b: Build, status: str) -> dict[str, Any]:
    """A run record (docs/run-record.md) for a finished build, written by the harness's own
    writer from the build's parameters: the stages it asked for, each passed, failed or
    errored as the build did."""
    verdict = {"success": RunStatus.PASSED, "failure": RunStatus.FAILED}.get(
        status, RunStatus.ERROR
    )
    names = in_order(b.params.get("STAGES", "").split(",")) or STAGES
    pr = b.params.get("PR", "")
    command = b.params.get(COMMAND_PARAM, "")
    started = datetime.fromtimestamp(b.started or b.created, UTC)
    finished = datetime.fromtimestamp(b.finished or b.updated, UTC)
    by = b.params.get("CCCI_TRIGGERED_BY")
    comment_url = b.params.get("CCCI_COMMENT_URL")
    kind_text = b.params.get(TRIGGER_PARAM, "")
    kind = TriggerKind(kind_text) if kind_text in {k.value for k in TriggerKind} else None
    return RunRecord(
        run_id=build_run_id(b),
        recipe=b.params.get("RECIPE", "custom-html"),
        source=Source(
            b.params.get("SRC"),
            b.params.get("REF"),
            int(pr) if pr.isdigit() else None,
            base_repo=b.params.get("REPO"),
        ),
        trigger=Trigger(by, comment_url, int(command) if command.isdigit() else None, kind)
        if by or comment_url or command or kind
        else None,
        started_at=started,
        stages=tuple(
            StageResult(name, StageStatus(verdict), 12.5 + 3 * i) for i, name in enumerate(names)
        ),
        status=verdict,
        finished_at=finished,
        duration_s=float(max((finished - started).total_seconds(), 0)),
        exit_code={RunStatus.PASSED: 0, RunStatus.FAILED: 1}.get(verdict, 2),
        deployments=2 if "upgrade" in names else 1,
        teardown=Teardown(TeardownStatus.CLEAN, 4.0, (), "teardown.log"),
        ci=CI("drone", b.number, None),
    ).to_json()


def _write_record(folder: Path, record: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".run.json.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, folder / "run.json")


def fake_sha(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()


class World:
    def __init__(self, clock: Callable[[], float] | None = None, utc_offset_h: int = 2) -> None:
        self.lock = threading.RLock()
        self._clock = clock or time.time
        self._fixed: float | None = None
        self.tz = timezone(timedelta(hours=utc_offset_h))
        self.users: dict[str, User] = {}
        self.orgs: dict[str, set[str]] = {}
        self.repos: dict[str, Repo] = {}
        self.issues: dict[tuple[str, int], Issue] = {}
        self.comments: dict[int, Comment] = {}
        self.reactions: dict[int, list[dict[str, Any]]] = {}
        self.statuses: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.hooks: list[Hook] = []
        self.gitea_tokens: dict[str, str] = {}
        self.drone_tokens: dict[str, str] = {}
        self.drone_admins: set[str] = set()
        self.drone_queue_api = True
        """False: a Drone built without the queue API (its `oss` build answers 501)."""
        self.drone_repos: dict[str, DroneRepo] = {}
        self.builds: list[Build] = []
        self.records: dict[str, Any] = {}
        """Run records the dashboard stand-in serves, by run id."""
        self.results_dir: Path | None = None
        """Where `finish_build` also writes each record, as `<run id>/run.json` (as the
        harness does, for the bridge to read)."""
        self._ids = 1000
        self.observers: list[Callable[[str, Comment], None]] = []
        """Called with ("created" | "edited", comment) after every change to a comment."""

    # --- time -----------------------------------------------------------------------------

    def now(self) -> float:
        return self._fixed if self._fixed is not None else self._clock()

    def set_time(self, at: float | None) -> None:
        """Freeze the clock at `at` (None: follow real time again)."""
        with self.lock:
            self._fixed = at

    def advance(self, seconds: float) -> None:
        with self.lock:
            self._fixed = self.now() + seconds

    def iso(self, t: float) -> str:
        """RFC 3339, whole seconds, in the server's offset (as Gitea renders times)."""
        return datetime.fromtimestamp(int(t), UTC).astimezone(self.tz).isoformat()

    def next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    # --- building the world ---------------------------------------------------------------

    def add_user(self, login: str, *, token: str | None = None, admin: bool = False) -> User:
        with self.lock:
            user = self.users.get(login) or User(self.next_id(), login, login.title(), admin)
            self.users[login] = user
            if token:
                self.gitea_tokens[token] = login
            return user

    def add_org(self, org: str, members: list[str] | tuple[str, ...] = ()) -> None:
        with self.lock:
            self.orgs.setdefault(org, set()).update(members)
            for m in members:
                self.add_user(m)

    def add_member(self, org: str, login: str) -> None:
        self.add_org(org, [login])

    def add_repo(
        self, full_name: str, *, writers: tuple[str, ...] = (), fork_of: str | None = None
    ) -> Repo:
        with self.lock:
            repo = self.repos.get(full_name) or Repo(self.next_id(), full_name, fork_of=fork_of)
            repo.branches.setdefault(repo.default_branch, fake_sha(full_name, "main", 0))
            repo.writers.update(writers)
            self.repos[full_name] = repo
            return repo

    def _next_index(self, repo: str) -> int:
        return 1 + max((n for (r, n) in self.issues if r == repo), default=0)

    def add_issue(self, repo: str, login: str, title: str = "An issue") -> Issue:
        with self.lock:
            self._repo(repo)
            issue = Issue(repo, self._next_index(repo), title, login, self.now())
            self.issues[(repo, issue.number)] = issue
            return issue

    def add_pull(
        self,
        repo: str,
        login: str,
        *,
        head_repo: str | None = None,
        head_ref: str = "feature",
        title: str = "A change",
        sha: str | None = None,
    ) -> Issue:
        with self.lock:
            self._repo(repo)
            head_repo = head_repo or repo
            if head_repo not in self.repos:
                self.add_repo(head_repo, writers=(login,), fork_of=repo)
            number = self._next_index(repo)
            pr = Issue(
                repo,
                number,
                title,
                login,
                self.now(),
                is_pull=True,
                head_repo=head_repo,
                head_ref=head_ref,
                head_sha=sha or fake_sha(repo, number, head_ref, self.now()),
            )
            self.issues[(repo, number)] = pr
            return pr

    def push(self, repo: str, number: int, sha: str | None = None) -> str:
        """A new head commit on a PR."""
        with self.lock:
            pr = self._issue(repo, number)
            pr.earlier_heads.append(pr.head_sha)
            pr.head_sha = sha or fake_sha(pr.head_sha, "next")
            return pr.head_sha

    def push_branch(self, repo: str, branch: str | None = None, sha: str | None = None) -> str:
        """A new head commit on a branch (the default branch when none is named)."""
        with self.lock:
            r = self._repo(repo)
            branch = branch or r.default_branch
            old = r.branches.get(branch, "")
            r.branches[branch] = sha or fake_sha(repo, branch, old, self.now())
            return r.branches[branch]

    def add_tag(self, repo: str, name: str, sha: str | None = None) -> Tag:
        """A new tag, by default on the default branch's head."""
        with self.lock:
            r = self._repo(repo)
            if any(t.name == name for t in r.tags):
                raise SimError(f"{repo} has a tag {name} already")
            tag = Tag(name, sha or r.branches[r.default_branch], self.now())
            r.tags.append(tag)
            return tag

    def add_comment(
        self, repo: str, number: int, login: str, body: str, *, at: float | None = None
    ) -> Comment:
        with self.lock:
            self._issue(repo, number)
            self.add_user(login)
            t = self.now() if at is None else at
            c = Comment(self.next_id(), repo, number, login, body, t, t)
            self.comments[c.id] = c
            for notify in self.observers:
                notify("created", c)
            return c

    def edit_comment(self, comment_id: int, body: str, *, at: float | None = None) -> Comment:
        with self.lock:
            c = self._comment(comment_id)
            c.body = body
            c.updated = self.now() if at is None else at
            for notify in self.observers:
                notify("edited", c)
            return c

    def add_hook(
        self,
        repo: str,
        url: str,
        secret: str,
        events: tuple[str, ...] = ("issue_comment", "pull_request_comment"),
    ) -> None:
        with self.lock:
            self.hooks.append(Hook(repo, url, secret, tuple(events)))

    def add_drone_repo(
        self,
        full_name: str,
        *,
        branches: tuple[str, ...] = ("main",),
        writers: tuple[str, ...] = (),
    ) -> DroneRepo:
        with self.lock:
            r = DroneRepo(full_name, set(branches), set(writers))
            r.branch_heads = {b: fake_sha(full_name, b) for b in branches}
            self.drone_repos[full_name] = r
            return r

    def drone_repo_id(self, full_name: str) -> int:
        """Drone's id of a repository (1, 2, … in the order they were added)."""
        names = list(self.drone_repos)
        return names.index(full_name) + 1 if full_name in names else 0

    def add_drone_token(self, token: str, login: str, *, admin: bool = False) -> None:
        with self.lock:
            self.drone_tokens[token] = login
            if admin:
                self.drone_admins.add(login)

    # --- lookups --------------------------------------------------------------------------

    def _repo(self, full_name: str) -> Repo:
        repo = self.repos.get(full_name)
        if repo is None:
            raise SimError(f"no repository {full_name}")
        return repo

    def _issue(self, repo: str, number: int) -> Issue:
        issue = self.issues.get((repo, number))
        if issue is None:
            raise SimError(f"no issue or PR {repo}#{number}")
        return issue

    def _comment(self, comment_id: int) -> Comment:
        c = self.comments.get(comment_id)
        if c is None:
            raise SimError(f"no comment {comment_id}")
        return c

    def build(self, repo: str, number: int) -> Build:
        for b in self.builds:
            if b.repo == repo and b.number == number:
                return b
        raise SimError(f"no build {repo}#{number}")

    def builds_of(self, repo: str | None = None) -> list[Build]:
        with self.lock:
            return [b for b in self.builds if repo is None or b.repo == repo]

    def comments_on(self, repo: str, number: int) -> list[Comment]:
        with self.lock:
            return sorted(
                (c for c in self.comments.values() if c.repo == repo and c.number == number),
                key=lambda c: (c.created, c.id),
            )

    def statuses_of(self, repo: str, sha: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.statuses.get((repo, sha), []))

    def reactions_of(self, comment_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.reactions.get(comment_id, []))

    def known_sha(self, repo: str, sha: str) -> str | None:
        """The full sha a (short) sha names in `repo`: a PR head there, now or before, or a
        branch's head."""
        r = self.repos.get(repo)
        for head in r.branches.values() if r else ():
            if head.startswith(sha):
                return head
        for issue in self.issues.values():
            if issue.repo == repo and issue.is_pull:
                for head in (issue.head_sha, *issue.earlier_heads):
                    if head.startswith(sha):
                        return head
        return None

    # --- Drone builds ---------------------------------------------------------------------

    def reset_drone(self, repo: str | None = None) -> None:
        """Drone on a new database: its builds (of `repo`, or all) are forgotten and the
        numbering starts again at 1. Run records the dashboard serves stay, as the
        results directory does."""
        with self.lock:
            self.builds = [b for b in self.builds if repo is not None and b.repo != repo]

    def finish_build(
        self, repo: str, number: int, status: str = "success", record: Any = None
    ) -> Build:
        """End a build (success, failure, error, killed …); `record` ("demo": one made from
        the build's parameters) becomes the run record under the build's run id
        (drone-<number>-c<command>): written to `results_dir` (when set) and served by the
        dashboard stand-in."""
        with self.lock:
            b = self.build(repo, number)
            now = int(self.now())
            b.status = status
            b.started = b.started or now
            b.finished = now
            b.updated = now
            b.stage_statuses = [status, status]
            b.logs[(1, 2)] = [{"pos": 0, "out": f"cc-ci-run ended: {status}\n", "time": 1}]
            if record == "demo":
                record = demo_record(b, status)
            if record is not None:
                run_id = build_run_id(b)
                self.records[run_id] = record
                if self.results_dir is not None:
                    _write_record(self.results_dir / run_id, record)
            return b

    def start_build(self, repo: str, number: int) -> Build:
        with self.lock:
            b = self.build(repo, number)
            b.status = "running"
            b.started = b.updated = int(self.now())
            b.stage_statuses = ["running", "running"]
            return b
