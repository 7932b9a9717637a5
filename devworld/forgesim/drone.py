"""The Drone 2.x API subset (docs/forge-api.md §3), with its quirks:

- create is 200 (not 201) with a pending build without stages, or the literal `null` when
  no pipeline matched; every query key but access_token, commit and branch is a param;
- a missing permission is 404 (not 403); a guest on a write route is 401;
- only an exact `Bearer ` prefix authenticates; times are unix seconds;
- cancel kills what is unfinished (exit code 130) and answers a finished build unchanged;
- restart copies the build, and the old params overwrite the new ones;
- log lines are `{pos, out, time}`;
- the queue (`GET /api/queue`) is every pending or running stage of every repository, by
  stage id, without steps; admins only (a guest 401, anyone else 403); 501 from a Drone
  built without it (the `oss` build).
"""

from __future__ import annotations

from typing import Any

from devworld.forgesim.routing import NULL, Request, Response, Router, error
from devworld.forgesim.world import Build, DroneRepo, World

DONE = {"skipped", "declined", "success", "failure", "killed", "error"}
PIPELINE = "recipe-ci"


class DroneApi:
    def __init__(self, world: World, base_url: str) -> None:
        self.world = world
        self.base_url = base_url
        r = Router()
        r.add("GET", "/api/user", self.me)
        r.add("GET", "/api/queue", self.queue)
        r.add("GET", "/api/repos/{o}/{n}/builds", self.list_builds)
        r.add("POST", "/api/repos/{o}/{n}/builds", self.create)
        r.add("GET", "/api/repos/{o}/{n}/builds/latest", self.latest)
        r.add("GET", "/api/repos/{o}/{n}/builds/{b}", self.get)
        r.add("POST", "/api/repos/{o}/{n}/builds/{b}", self.restart)
        r.add("DELETE", "/api/repos/{o}/{n}/builds/{b}", self.cancel)
        r.add("GET", "/api/repos/{o}/{n}/builds/{b}/logs/{stage}/{step}", self.logs)
        self.router = r

    def caller(self, req: Request) -> str | None:
        header = req.header("authorization") or ""
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        token = token or req.arg("access_token")
        return self.world.drone_tokens.get(token) if token else None

    def _repo(self, req: Request, write: bool) -> DroneRepo | Response:
        login = self.caller(req)
        repo = self.world.drone_repos.get(f"{req.params['o']}/{req.params['n']}")
        if login is None and write:
            return error(401, "Unauthorized")
        if repo is None:
            return error(404 if login else 401, "Not Found")
        allowed = repo.writers if write else repo.writers | repo.readers
        if login not in allowed:
            return error(404, "Not Found")
        return repo

    def build_json(self, b: Build, stages: bool) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": b.id,
            "repo_id": self.world.drone_repo_id(b.repo),
            "trigger": b.trigger,
            "number": b.number,
            "status": b.status,
            "event": b.event,
            "action": b.action,
            "link": f"{self.base_url}/{b.repo}/{b.number}",
            "timestamp": 0,
            "title": "",
            "message": b.message,
            "before": b.sha,
            "after": b.sha,
            "ref": f"refs/heads/{b.branch}",
            "source_repo": "",
            "source": b.branch,
            "target": b.branch,
            "author_login": b.trigger,
            "author_name": b.trigger,
            "author_email": "",
            "author_avatar": "",
            "sender": b.trigger,
            "cron": "",
            "deploy_to": "",
            "deploy_id": 0,
            "debug": False,
            "started": b.started,
            "finished": b.finished,
            "created": b.created,
            "updated": b.updated,
            "version": 1,
        }
        if b.parent:
            doc["parent"] = b.parent
        if b.params:
            doc["params"] = dict(b.params)
        if b.status == "error" and not b.finished:
            doc["error"] = "yaml: line 3: could not find expected ':'"
        if stages:
            doc["stages"] = [self._stage(b)]
        return doc

    def queue(self, req: Request) -> Response:
        login = self.caller(req)
        if login is None:
            return error(401, "Unauthorized")
        if login not in self.world.drone_admins:
            return error(403, "Forbidden")
        with self.world.lock:
            if not self.world.drone_queue_api:
                return error(501, "Not Implemented")
            items = []
            for b in sorted(self.world.builds, key=lambda b: b.id):
                stage = self._stage(b)
                if stage["status"] in ("pending", "running"):
                    del stage["steps"]  # ListIncomplete reads the stages alone
                    items.append(stage)
            return Response(200, items)

    def _stage(self, b: Build) -> dict[str, Any]:
        status = b.stage_statuses[-1]
        steps = [
            {
                "id": b.id * 10 + i,
                "step_id": b.id,
                "number": i,
                "name": name,
                "status": b.stage_statuses[i - 1],
                "exit_code": 130 if b.stage_statuses[i - 1] == "killed" else 0,
                "version": 1,
            }
            for i, name in ((1, "checkout"), (2, "test"))
        ]
        for s, st in zip(steps, b.stage_statuses, strict=True):
            if st in DONE:
                s["started"], s["stopped"] = b.started, b.finished
        return {
            "id": b.id,
            "repo_id": self.world.drone_repo_id(b.repo),
            "build_id": b.id,
            "number": 1,
            "name": PIPELINE,
            "kind": "pipeline",
            "type": "exec",
            "status": status,
            "errignore": False,
            "exit_code": 0,
            "machine": "cc-ci",
            "os": "linux",
            "arch": "amd64",
            "limit": 1,
            "started": b.started,
            "stopped": b.finished,
            "created": b.created,
            "updated": b.updated,
            "version": 1,
            "on_success": True,
            "on_failure": False,
            "steps": steps,
        }

    def me(self, req: Request) -> Response:
        login = self.caller(req)
        if login is None:
            return error(401, "Unauthorized")
        return Response(200, {"id": 1, "login": login, "active": True, "admin": True})

    def create(self, req: Request) -> Response:
        with self.world.lock:
            repo = self._repo(req, write=True)
            if isinstance(repo, Response):
                return repo
            branch = req.arg("branch") or "main"
            if branch not in repo.branch_heads:
                return error(404, "Not Found")
            sha = req.arg("commit") or repo.branch_heads[branch]
            if branch not in repo.branches:
                return Response(200, NULL)
            params = {
                k: v[0]
                for k, v in req.query.items()
                if k not in ("access_token", "commit", "branch")
            }
            login = self.caller(req) or ""
            b = self._new_build(repo.full_name, login, branch, sha, params)
            b.message = params.get("message", f"commit {sha[:8]}")
            b.action = params.get("action", "")
            return Response(200, self.build_json(b, stages=False))

    def _new_build(
        self, repo: str, login: str, branch: str, sha: str, params: dict[str, str]
    ) -> Build:
        number = 1 + max((b.number for b in self.world.builds if b.repo == repo), default=0)
        now = int(self.world.now())
        b = Build(
            id=self.world.next_id(),
            repo=repo,
            number=number,
            status="pending",
            trigger=login,
            branch=branch,
            sha=sha,
            message="",
            params=params,
            created=now,
            updated=now,
        )
        self.world.builds.append(b)
        return b

    def _build(self, req: Request, write: bool) -> Build | Response:
        repo = self._repo(req, write)
        if isinstance(repo, Response):
            return repo
        try:
            number = int(req.params["b"])
        except ValueError:
            return error(400, "invalid build number")
        for b in self.world.builds:
            if b.repo == repo.full_name and b.number == number:
                return b
        return error(404, "Not Found")

    def get(self, req: Request) -> Response:
        with self.world.lock:
            b = self._build(req, write=False)
            return b if isinstance(b, Response) else Response(200, self.build_json(b, stages=True))

    def list_builds(self, req: Request) -> Response:
        with self.world.lock:
            repo = self._repo(req, write=False)
            if isinstance(repo, Response):
                return repo
            per_page = _int(req.arg("per_page"))
            per_page = per_page if 1 <= per_page <= 100 else 25
            page = max(1, _int(req.arg("page")))
            found = [b for b in self.world.builds if b.repo == repo.full_name]
            if req.arg("branch"):
                found = [b for b in found if b.branch == req.arg("branch")]
            found.sort(key=lambda b: b.id, reverse=True)
            found = found[(page - 1) * per_page : page * per_page]
            return Response(200, [self.build_json(b, stages=False) for b in found])

    def latest(self, req: Request) -> Response:
        with self.world.lock:
            repo = self._repo(req, write=False)
            if isinstance(repo, Response):
                return repo
            branch = req.arg("branch") or "main"
            found = [
                b for b in self.world.builds if b.repo == repo.full_name and b.branch == branch
            ]
            if not found:
                return error(404, "Not Found")
            return Response(200, self.build_json(max(found, key=lambda b: b.id), stages=True))

    def cancel(self, req: Request) -> Response:
        with self.world.lock:
            b = self._build(req, write=True)
            if isinstance(b, Response):
                return b
            if b.status in ("pending", "running"):
                now = int(self.world.now())
                b.stage_statuses = [
                    s if s in DONE else ("killed" if s == "running" else "skipped")
                    for s in b.stage_statuses
                ]
                b.status, b.finished, b.updated = "killed", now, now
            return Response(200, self.build_json(b, stages=True))

    def restart(self, req: Request) -> Response:
        with self.world.lock:
            old = self._build(req, write=True)
            if isinstance(old, Response):
                return old
            if old.status in ("blocked", "declined"):
                return error(400, f"cannot start a {old.status} build")
            params = {k: v[0] for k, v in req.query.items() if k not in ("access_token", "debug")}
            params.update(old.params)  # the previous build's params win
            b = self._new_build(old.repo, self.caller(req) or "", old.branch, old.sha, params)
            b.parent, b.message, b.event = old.number, old.message, old.event
            return Response(200, self.build_json(b, stages=False))

    def logs(self, req: Request) -> Response:
        with self.world.lock:
            b = self._build(req, write=False)
            if isinstance(b, Response):
                return b
            lines = b.logs.get((_int(req.params["stage"]), _int(req.params["step"])))
            if lines is None:
                return error(404, "Not Found")
            return Response(200, lines)


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
