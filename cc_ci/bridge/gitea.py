"""The Gitea API subset the bridge uses (docs/forge-api.md §1–2).

Answers are parsed at this edge into frozen types; a field of the wrong shape is
`Unavailable` (a broken or half-up server), never a crash further in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from cc_ci.bridge.client import JsonClient, Refused, Unavailable, expect
from cc_ci.contract.redact import Redactor

_PULL_URL = re.compile(r"/pulls/([0-9]+)$")
PAGE_LIMIT = 50
"""Gitea's default MAX_RESPONSE_ITEMS; a server set lower is handled (X-Total-Count)."""


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    repo: str
    login: str
    body: str
    created_at: datetime
    updated_at: datetime
    pr: int | None
    """The PR number, or None when the comment is on an issue."""
    html_url: str


@dataclass(frozen=True, slots=True)
class PullHead:
    number: int
    sha: str
    repo: str
    """The head repository, owner/name (a fork for a PR from a fork)."""


_SHA = re.compile(r"[0-9a-f]{7,64}")


@dataclass(frozen=True, slots=True)
class BranchHead:
    branch: str
    sha: str


def parse_time(value: object) -> datetime:
    expect(isinstance(value, str), "Gitea", f"a time is not a string: {value!r}")
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise Unavailable(f"Gitea: unexpected answer: bad time {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with `Z` (a raw `+` in a query string would become a space)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_comment(repo: str, raw: Any) -> Comment:
    expect(isinstance(raw, dict), "Gitea", "a comment is not an object")
    user = raw.get("user")
    ok = (
        isinstance(raw.get("id"), int)
        and isinstance(raw.get("body"), str)
        and isinstance(user, dict)
        and isinstance(user.get("login"), str)
    )
    expect(ok, "Gitea", "a comment lacks id, body or user.login")
    pull_url = raw.get("pull_request_url") or ""
    m = _PULL_URL.search(pull_url) if isinstance(pull_url, str) else None
    return Comment(
        id=raw["id"],
        repo=repo,
        login=user["login"],
        body=raw["body"],
        created_at=parse_time(raw.get("created_at")),
        updated_at=parse_time(raw.get("updated_at")),
        pr=int(m.group(1)) if m else None,
        html_url=raw.get("html_url") if isinstance(raw.get("html_url"), str) else "",
    )


def _repo_path(repo: str) -> str:
    owner, name = repo.split("/", 1)
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


class Gitea:
    def __init__(self, url: str, token: str, redact: Redactor, timeout: float = 15.0) -> None:
        self.http = JsonClient("Gitea", url + "/api/v1", f"token {token}", redact, timeout)

    def whoami(self) -> str:
        user = self.http.json("GET", "/user")
        expect(isinstance(user, dict) and isinstance(user.get("login"), str), "Gitea", "/user")
        return user["login"]

    def repo_comments(
        self, repo: str, since: datetime, page: int, limit: int = PAGE_LIMIT
    ) -> tuple[list[Comment], int | None]:
        """One page of the repo-wide comment list (updated at or after `since`), and the
        server's X-Total-Count."""
        path = _repo_path(repo) + "/issues/comments"
        query = {"since": format_time(since), "page": page, "limit": limit}
        reply = self.http.request("GET", path, query=query)
        items = self.http.decode(reply, f"GET {path}")
        expect(isinstance(items, list), "Gitea", f"GET {path} is not a list")
        total = reply.header("X-Total-Count")
        return [parse_comment(repo, c) for c in items], int(
            total
        ) if total and total.isdigit() else None

    def comment(self, repo: str, comment_id: int) -> Comment:
        """One comment, as Gitea has it now (204: not a plain comment, refused like 404)."""
        path = f"{_repo_path(repo)}/issues/comments/{comment_id}"
        reply = self.http.request("GET", path)
        return parse_comment(repo, self.http.decode(reply, f"GET {path}"))

    def issue_comments(self, repo: str, number: int, since: datetime) -> list[Comment]:
        path = f"{_repo_path(repo)}/issues/{number}/comments"
        items = self.http.json("GET", path, query={"since": format_time(since)})
        expect(isinstance(items, list), "Gitea", f"GET {path} is not a list")
        return [parse_comment(repo, c) for c in items]

    def is_member(self, org: str, login: str) -> bool:
        """204 is membership; 404 is not; a 303 (the bot is no member itself, and Gitea
        would only tell about public members) is not either. Anything else raises."""
        path = f"/orgs/{quote(org, safe='')}/members/{quote(login, safe='')}"
        reply = self.http.request("GET", path, ok=(204, 404, 303))
        return reply.status == 204

    def pull_head(self, repo: str, number: int) -> PullHead:
        path = f"{_repo_path(repo)}/pulls/{number}"
        pr = self.http.json("GET", path)
        head = pr.get("head") if isinstance(pr, dict) else None
        expect(isinstance(head, dict), "Gitea", f"GET {path} has no head")
        head_repo = head.get("repo")
        if head_repo is None:
            raise Refused(f"Gitea: the head repository of {repo}#{number} was deleted")
        sha = head.get("sha")
        expect(
            isinstance(sha, str)
            and re.fullmatch(r"[0-9a-f]{7,64}", sha) is not None
            and isinstance(head_repo, dict)
            and isinstance(head_repo.get("full_name"), str),
            "Gitea",
            f"GET {path}: head.sha or head.repo.full_name",
        )
        return PullHead(number, sha, head_repo["full_name"])

    def default_branch_head(self, repo: str) -> BranchHead:
        """The repository's default branch and its head commit (§2.8): two requests."""
        path = _repo_path(repo)
        info = self.http.json("GET", path)
        branch = info.get("default_branch") if isinstance(info, dict) else None
        expect(isinstance(branch, str) and bool(branch), "Gitea", f"GET {path}: default_branch")
        assert isinstance(branch, str)
        bpath = f"{path}/branches/{quote(branch, safe='')}"
        raw = self.http.json("GET", bpath)
        commit = raw.get("commit") if isinstance(raw, dict) else None
        sha = commit.get("id") if isinstance(commit, dict) else None
        ok = isinstance(sha, str) and _SHA.fullmatch(sha) is not None
        expect(ok, "Gitea", f"GET {bpath}: commit.id")
        assert isinstance(sha, str)
        return BranchHead(branch, sha)

    def tags(self, repo: str, limit: int = PAGE_LIMIT) -> list[str]:
        """The names of the repository's newest tags, newest first (one page, §2.8)."""
        path = f"{_repo_path(repo)}/tags"
        items = self.http.json("GET", path, query={"page": 1, "limit": limit})
        expect(isinstance(items, list), "Gitea", f"GET {path} is not a list")
        names = [t.get("name") if isinstance(t, dict) else None for t in items]
        expect(all(isinstance(n, str) and n for n in names), "Gitea", f"GET {path}: a tag's name")
        return [str(n) for n in names]

    def create_comment(self, repo: str, number: int, body: str) -> int:
        path = f"{_repo_path(repo)}/issues/{number}/comments"
        created = self.http.json("POST", path, body={"body": body}, ok=(201,))
        expect(isinstance(created, dict) and isinstance(created.get("id"), int), "Gitea", path)
        return created["id"]

    def edit_comment(self, repo: str, comment_id: int, body: str) -> None:
        path = f"{_repo_path(repo)}/issues/comments/{comment_id}"
        self.http.request("PATCH", path, body={"body": body}, ok=(200, 204))

    def react(self, repo: str, comment_id: int, content: str) -> None:
        path = f"{_repo_path(repo)}/issues/comments/{comment_id}/reactions"
        self.http.request("POST", path, body={"content": content}, ok=(200, 201))

    def set_status(
        self, repo: str, sha: str, state: str, context: str, description: str, target_url: str
    ) -> None:
        path = f"{_repo_path(repo)}/statuses/{sha}"
        body = {
            "state": state,
            "context": context,
            "description": description[:140],
            "target_url": target_url,
        }
        self.http.request("POST", path, body=body, ok=(201,))
