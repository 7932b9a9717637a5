"""The Gitea 1.27 API subset (docs/forge-api.md §1–2), with its quirks:

- the repo-wide comment list filters on `updated_at >= since` (whole seconds, inclusive),
  orders by created then id, pages only when `page > 0`, and sets X-Total-Count, no Link;
- `issue_url` is "" on a PR and `pull_request_url` is "" on an issue (both HTML URLs);
- comment create is 201; a reaction is 201 the first time, then 200;
- org membership asked by a non-member is a 303 to the public-members route;
- commit statuses take `state` and answer `status`; an unknown sha is a 500.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from devworld.forgesim.gitea_shapes import GiteaShapes
from devworld.forgesim.routing import Request, Response, Router, error
from devworld.forgesim.world import Comment, Issue, Repo, World

DEFAULT_PAGING_NUM = 30
MAX_RESPONSE_ITEMS = 50
REACTIONS = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")
STATES = ("pending", "success", "error", "failure", "warning", "skipped")
SWAGGER = "/api/swagger"


class GiteaApi(GiteaShapes):
    def __init__(self, world: World, base_url: str) -> None:
        super().__init__(world, base_url)
        r = Router()
        r.add("GET", "/api/v1/user", self.me)
        r.add("GET", "/api/v1/repos/{o}/{r}/issues/comments", self.repo_comments)
        r.add("GET", "/api/v1/repos/{o}/{r}/issues/comments/{id}", self.get_comment)
        r.add("PATCH", "/api/v1/repos/{o}/{r}/issues/comments/{id}", self.edit_comment)
        r.add("GET", "/api/v1/repos/{o}/{r}/issues/comments/{id}/reactions", self.list_reactions)
        r.add("POST", "/api/v1/repos/{o}/{r}/issues/comments/{id}/reactions", self.react)
        r.add("GET", "/api/v1/repos/{o}/{r}/issues/{n}/comments", self.issue_comments)
        r.add("POST", "/api/v1/repos/{o}/{r}/issues/{n}/comments", self.create_comment)
        r.add("GET", "/api/v1/repos/{o}/{r}/issues/{n}", self.get_issue)
        r.add("GET", "/api/v1/repos/{o}/{r}/pulls/{n}", self.get_pull)
        r.add("GET", "/api/v1/repos/{o}/{r}", self.get_repo)
        r.add("GET", "/api/v1/repos/{o}/{r}/branches/{branch}", self.get_branch)
        r.add("GET", "/api/v1/repos/{o}/{r}/tags", self.list_tags)
        r.add("GET", "/api/v1/orgs/{org}/members/{user}", self.org_member)
        r.add("GET", "/api/v1/orgs/{org}/public_members/{user}", self.public_member)
        r.add("POST", "/api/v1/repos/{o}/{r}/statuses/{sha}", self.create_status)
        r.add("GET", "/api/v1/repos/{o}/{r}/statuses/{sha}", self.list_statuses)
        r.add("GET", "/api/v1/repos/{o}/{r}/commits/{ref}/status", self.combined_status)
        self.router = r

    # --- helpers --------------------------------------------------------------------------

    def caller(self, req: Request) -> str | None:
        """The login a request authenticates as: `token X`, `Bearer X` or basic auth."""
        header = req.header("authorization") or ""
        fields = header.split()
        if len(fields) == 2 and fields[0].lower() in ("token", "bearer"):
            return self.world.gitea_tokens.get(fields[1])
        token = req.arg("token") or req.arg("access_token")
        return self.world.gitea_tokens.get(token) if token else None

    def _repo(self, req: Request) -> Repo | None:
        return self.world.repos.get(f"{req.params['o']}/{req.params['r']}")

    def _issue(self, req: Request) -> Issue | None:
        """The issue or PR `{o}/{r}` number `{n}` names (they share one index)."""
        return self.world.issues.get(
            (f"{req.params['o']}/{req.params['r']}", _int(req.params["n"]))
        )

    @staticmethod
    def _time(value: str | None) -> datetime | None | Response:
        if value is None:
            return None
        try:
            moment = datetime.strptime(value.strip(), "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            try:
                moment = datetime.fromisoformat(value.strip())
                if moment.tzinfo is None or "T" not in value:
                    raise ValueError
            except ValueError:
                return error(422, f"parsing time {value!r} as RFC3339 failed", SWAGGER)
        return moment

    def _need_token(self, req: Request) -> str | Response:
        login = self.caller(req)
        if login is None:
            return error(401, "token is required", SWAGGER)
        return login

    # --- routes ---------------------------------------------------------------------------

    def me(self, req: Request) -> Response:
        login = self._need_token(req)
        if isinstance(login, Response):
            return login
        return Response(200, self.user(login))

    def _since_before(self, req: Request) -> tuple[float | None, float | None] | Response:
        since = self._time(req.arg("since"))
        before = self._time(req.arg("before"))
        for v in (since, before):
            if isinstance(v, Response):
                return v
        s = since.timestamp() if isinstance(since, datetime) else None
        b = before.timestamp() if isinstance(before, datetime) else None
        return s, b

    def _filtered(self, comments: list[Comment], s: float | None, b: float | None) -> list[Comment]:
        # updated_unix >= since and <= before, whole seconds, inclusive.
        out = [
            c
            for c in comments
            if (s is None or int(c.updated) >= int(s)) and (b is None or int(c.updated) <= int(b))
        ]
        return sorted(out, key=lambda c: (int(c.created), c.id))

    def repo_comments(self, req: Request) -> Response:
        with self.world.lock:
            repo = self._repo(req)
            if repo is None:
                return error(404, "not found", SWAGGER)
            times = self._since_before(req)
            if isinstance(times, Response):
                return times
            everything = [c for c in self.world.comments.values() if c.repo == repo.full_name]
            found = self._filtered(everything, *times)
            total = len(found)
            page = _int(req.arg("page"))
            if page > 0:
                limit = _int(req.arg("limit"))
                limit = DEFAULT_PAGING_NUM if limit <= 0 else min(limit, MAX_RESPONSE_ITEMS)
                found = found[(page - 1) * limit : page * limit]
            body = [self.comment_json(c) for c in found]
        return Response(200, body, (("X-Total-Count", str(total)),))

    def issue_comments(self, req: Request) -> Response:
        with self.world.lock:
            issue = self._issue(req)
            if issue is None:
                return error(404, "not found", SWAGGER)
            times = self._since_before(req)
            if isinstance(times, Response):
                return times
            found = self._filtered(self.world.comments_on(issue.repo, issue.number), *times)
            body = [self.comment_json(c) for c in found]
        return Response(200, body, (("X-Total-Count", str(len(body))),))

    def _comment_body(self, req: Request) -> tuple[str, str] | Response:
        """(the caller's login, the comment body) of a create or edit, or the error answer."""
        login = self._need_token(req)
        if isinstance(login, Response):
            return login
        data = req.json()
        if not isinstance(data, dict) or not isinstance(data.get("body"), str):
            return error(422, "[Body]: Required", SWAGGER)
        return login, data["body"]

    def create_comment(self, req: Request) -> Response:
        asked = self._comment_body(req)
        if isinstance(asked, Response):
            return asked
        login, body = asked
        with self.world.lock:
            issue = self._issue(req)
            if issue is None:
                return error(404, "not found", SWAGGER)
            c = self.world.add_comment(issue.repo, issue.number, login, body)
            return Response(201, self.comment_json(c))

    def _comment_in_repo(self, req: Request) -> Comment | None:
        repo = self._repo(req)
        c = self.world.comments.get(_int(req.params["id"]))
        if repo is None or c is None or c.repo != repo.full_name:
            return None
        return c

    def get_comment(self, req: Request) -> Response:
        with self.world.lock:
            c = self._comment_in_repo(req)
            if c is None:
                return error(404, "not found", SWAGGER)
            return Response(200, self.comment_json(c))

    def edit_comment(self, req: Request) -> Response:
        asked = self._comment_body(req)
        if isinstance(asked, Response):
            return asked
        login, body = asked
        with self.world.lock:
            c = self._comment_in_repo(req)
            if c is None:
                return error(404, "not found", SWAGGER)
            if c.login != login and login not in self.world.repos[c.repo].writers:
                return error(403, "user should have permission to edit comment", SWAGGER)
            self.world.edit_comment(c.id, body)
            return Response(200, self.comment_json(c))

    def list_reactions(self, req: Request) -> Response:
        with self.world.lock:
            c = self._comment_in_repo(req)
            if c is None:
                return error(404, "not found", SWAGGER)
            return Response(200, [self.reaction_json(r) for r in self.world.reactions_of(c.id)])

    def react(self, req: Request) -> Response:
        login = self._need_token(req)
        if isinstance(login, Response):
            return login
        data = req.json()
        content = data.get("content") if isinstance(data, dict) else None
        with self.world.lock:
            c = self._comment_in_repo(req)
            if c is None:
                return error(404, "not found", SWAGGER)
            if content not in REACTIONS:
                return error(403, f"'{content}' is not an allowed reaction", SWAGGER)
            existing = self.world.reactions.setdefault(c.id, [])
            for r in existing:
                if r["login"] == login and r["content"] == content:
                    return Response(200, self.reaction_json(r))
            r = {"login": login, "content": content, "at": self.world.now()}
            existing.append(r)
            return Response(201, self.reaction_json(r))

    def get_issue(self, req: Request) -> Response:
        with self.world.lock:
            issue = self._issue(req)
            if issue is None:
                return error(404, "not found", SWAGGER)
            return Response(200, self.issue_json(issue))

    def get_pull(self, req: Request) -> Response:
        with self.world.lock:
            issue = self._issue(req)
            if issue is None or not issue.is_pull:
                return error(404, "not found", SWAGGER)
            return Response(200, self.pull_json(issue))

    def get_repo(self, req: Request) -> Response:
        with self.world.lock:
            repo = self._repo(req)
            if repo is None:
                return error(404, "not found", SWAGGER)
            return Response(200, self.repo_json(repo))

    def get_branch(self, req: Request) -> Response:
        with self.world.lock:
            repo = self._repo(req)
            branch = req.params["branch"]
            if repo is None or branch not in repo.branches:
                return error(404, "branch does not exist", SWAGGER)
            return Response(200, self.branch_json(repo, branch))

    def list_tags(self, req: Request) -> Response:
        """Newest first; pages only when `page > 0` (else every tag), X-Total-Count."""
        with self.world.lock:
            repo = self._repo(req)
            if repo is None:
                return error(404, "not found", SWAGGER)
            tags = sorted(repo.tags, key=lambda t: t.created, reverse=True)
            page = _int(req.arg("page"))
            limit = _int(req.arg("limit"))
            limit = MAX_RESPONSE_ITEMS if limit <= 0 else min(limit, MAX_RESPONSE_ITEMS)
            shown = tags[(page - 1) * limit : page * limit] if page > 0 else tags
            body = [self.tag_json(repo, t) for t in shown]
            return Response(200, body, (("X-Total-Count", str(len(tags))),))

    def org_member(self, req: Request) -> Response:
        caller = self._need_token(req)
        if isinstance(caller, Response):
            return caller
        org, user = req.params["org"], req.params["user"]
        with self.world.lock:
            members = self.world.orgs.get(org)
            if members is None or user not in self.world.users:
                return error(404, "not found", SWAGGER)
            caller_user = self.world.users.get(caller)
            if caller in members or (caller_user is not None and caller_user.is_admin):
                return Response(204) if user in members else error(404, "not found", SWAGGER)
            if caller == user:
                return error(404, "not found", SWAGGER)
            location = f"{self.base_url}/api/v1/orgs/{org}/public_members/{user}"
            return Response(303, None, (("Location", location),))

    def public_member(self, req: Request) -> Response:
        # Every member is private in the simulator: the 303 never confirms membership.
        return error(404, "not found", SWAGGER)

    def create_status(self, req: Request) -> Response:
        login = self._need_token(req)
        if isinstance(login, Response):
            return login
        data = req.json()
        with self.world.lock:
            repo = self._repo(req)
            if repo is None:
                return error(404, "not found", SWAGGER)
            if login not in repo.writers:
                return error(403, "user should have write permission on code", SWAGGER)
            if not isinstance(data, dict) or data.get("state") not in STATES:
                return error(422, "invalid state", SWAGGER)
            sha = self.world.known_sha(repo.full_name, req.params["sha"])
            if sha is None:
                return error(500, "object does not exist", SWAGGER)
            existing = self.world.statuses.setdefault((repo.full_name, sha), [])
            now = self.world.iso(self.world.now())
            status = {
                "id": len(existing) + 1,
                "status": data["state"],
                "target_url": str(data.get("target_url") or "").strip(),
                "description": str(data.get("description") or "").strip(),
                "context": str(data.get("context") or "default").strip(),
                "creator": self.user(login),
                "created_at": now,
                "updated_at": now,
                "url": f"{self.base_url}/api/v1/repos/{repo.full_name}/statuses/{sha}",
            }
            existing.append(status)
            return Response(201, status)

    def list_statuses(self, req: Request) -> Response:
        with self.world.lock:
            repo = self._repo(req)
            if repo is None:
                return error(404, "not found", SWAGGER)
            sha = self.world.known_sha(repo.full_name, req.params["sha"]) or req.params["sha"]
            found = list(reversed(self.world.statuses_of(repo.full_name, sha)))
        return Response(200, found, (("X-Total-Count", str(len(found))),))

    def combined_status(self, req: Request) -> Response:
        rank = ("success", "pending", "warning", "failure", "error")
        with self.world.lock:
            repo = self._repo(req)
            if repo is None:
                return error(404, "not found", SWAGGER)
            sha = self.world.known_sha(repo.full_name, req.params["ref"]) or req.params["ref"]
            latest: dict[str, dict[str, Any]] = {}
            for s in self.world.statuses_of(repo.full_name, sha):
                latest[s["context"]] = s
            if not latest:
                return Response(200, {})
            statuses = list(latest.values())
            worst = max(
                (s["status"] for s in statuses), key=lambda s: rank.index(s) if s in rank else 0
            )
            return Response(
                200,
                {"state": worst, "sha": sha, "total_count": len(statuses), "statuses": statuses},
            )


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
