"""The control API under /_sim/: what the command line (and a test in another process) uses
to act as a user of the forge, break it, and finish builds."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from devworld.forgesim.routing import Request, Response, Router
from devworld.forgesim.world import SimError

if TYPE_CHECKING:
    from devworld.forgesim.server import Sim


class ControlApi:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        r = Router()
        r.add("GET", "/state", self.state)
        r.add("POST", "/comments", self.comment)
        r.add("PATCH", "/comments/{id}", self.edit)
        r.add("POST", "/pulls", self.pull)
        r.add("POST", "/push", self.push)
        r.add("POST", "/tags", self.tag)
        r.add("POST", "/members", self.member)
        r.add("POST", "/hooks", self.hook)
        r.add("POST", "/builds/{n}/start", self.start)
        r.add("POST", "/builds/{n}/finish", self.finish)
        r.add("POST", "/drone/reset", self.reset_drone)
        r.add("POST", "/faults", self.fault)
        r.add("DELETE", "/faults", self.clear)
        r.add("POST", "/clock", self.clock)
        self.router = r

    @staticmethod
    def _body(req: Request) -> dict[str, Any]:
        data = req.json()
        if not isinstance(data, dict):
            raise SimError("the body must be a JSON object")
        return data

    def state(self, req: Request) -> Response:
        w = self.sim.world
        with w.lock:
            doc = {
                "comments": [
                    {
                        **asdict(c),
                        "created": w.iso(c.created),
                        "updated": w.iso(c.updated),
                        "reactions": [r["content"] for r in w.reactions_of(c.id)],
                    }
                    for c in sorted(w.comments.values(), key=lambda c: c.id)
                ],
                "statuses": [
                    {
                        "repo": repo,
                        "sha": sha,
                        **{k: s[k] for k in ("status", "context", "description", "target_url")},
                    }
                    for (repo, sha), items in w.statuses.items()
                    for s in items
                ],
                "builds": [
                    {
                        k: getattr(b, k)
                        for k in ("repo", "number", "status", "params", "message", "created")
                    }
                    for b in w.builds
                ],
                "pulls": [
                    {
                        "repo": i.repo,
                        "number": i.number,
                        "head_repo": i.head_repo,
                        "head_sha": i.head_sha,
                    }
                    for i in w.issues.values()
                    if i.is_pull
                ],
                "requests": {s: len(self.sim.requests(s)) for s in ("gitea", "drone", "dashboard")},
                "deliveries": [asdict(d) for d in self.sim.deliveries],
            }
        return Response(200, doc)

    def comment(self, req: Request) -> Response:
        d = self._body(req)
        c = self.sim.world.add_comment(
            str(d["repo"]), int(d["pr"]), str(d["login"]), str(d["body"]), at=d.get("at")
        )
        return Response(201, {"id": c.id, "created": self.sim.world.iso(c.created)})

    def edit(self, req: Request) -> Response:
        d = self._body(req)
        c = self.sim.world.edit_comment(int(req.params["id"]), str(d["body"]), at=d.get("at"))
        return Response(200, {"id": c.id, "updated": self.sim.world.iso(c.updated)})

    def pull(self, req: Request) -> Response:
        d = self._body(req)
        pr = self.sim.world.add_pull(str(d["repo"]), str(d["login"]), head_repo=d.get("head_repo"))
        return Response(201, {"number": pr.number, "head_sha": pr.head_sha})

    def push(self, req: Request) -> Response:
        d = self._body(req)
        sha = self.sim.world.push(str(d["repo"]), int(d["pr"]), d.get("sha"))
        return Response(200, {"head_sha": sha})

    def tag(self, req: Request) -> Response:
        """A new commit on the repository's default branch (unless `push` is false), then a
        tag on it: a release."""
        d = self._body(req)
        repo = str(d["repo"])
        if d.get("push", True):
            self.sim.world.push_branch(repo)
        tag = self.sim.world.add_tag(repo, str(d["name"]))
        return Response(201, {"name": tag.name, "sha": tag.sha})

    def member(self, req: Request) -> Response:
        d = self._body(req)
        self.sim.world.add_member(str(d["org"]), str(d["login"]))
        return Response(204)

    def hook(self, req: Request) -> Response:
        d = self._body(req)
        events = d.get("events") or ("issue_comment", "pull_request_comment")
        self.sim.world.add_hook(str(d["repo"]), str(d["url"]), str(d["secret"]), tuple(events))
        return Response(204)

    def _drone_repo(self, d: dict[str, Any]) -> str:
        if d.get("repo"):
            return str(d["repo"])
        repos = list(self.sim.world.drone_repos)
        if len(repos) != 1:
            raise SimError('name the Drone repository: {"repo": "owner/name"}')
        return repos[0]

    def start(self, req: Request) -> Response:
        d = req.json() or {}
        b = self.sim.world.start_build(self._drone_repo(d), int(req.params["n"]))
        return Response(200, {"number": b.number, "status": b.status})

    def finish(self, req: Request) -> Response:
        d = req.json() or {}
        status = str(d.get("status", "success"))
        b = self.sim.world.finish_build(
            self._drone_repo(d), int(req.params["n"]), status, d.get("record")
        )
        return Response(200, {"number": b.number, "status": b.status})

    def reset_drone(self, req: Request) -> Response:
        d = req.json() or {}
        self.sim.world.reset_drone(d.get("repo"))
        return Response(204)

    def fault(self, req: Request) -> Response:
        d = self._body(req)
        times = d.get("times")
        self.sim.fault(
            str(d["service"]),
            str(d["kind"]),
            int(times) if times is not None else None,
            str(d.get("path", "")),
        )
        return Response(204)

    def clear(self, req: Request) -> Response:
        self.sim.clear_faults()
        return Response(204)

    def clock(self, req: Request) -> Response:
        d = self._body(req)
        if "advance" in d:
            self.sim.world.advance(float(d["advance"]))
        else:
            self.sim.world.set_time(d.get("at"))
        return Response(200, {"now": self.sim.world.iso(self.sim.world.now())})
