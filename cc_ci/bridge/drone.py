"""The Drone 2.x API subset the bridge uses: create, read, find and cancel builds, and read the
queue (docs/forge-api.md §3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cc_ci.bridge.client import ApiError, JsonClient, expect
from cc_ci.contract.redact import Redactor

NOT_DONE = frozenset({"waiting_on_dependencies", "pending", "running", "blocked"})


class NoPipeline(ApiError):
    """Drone answered `null`: no pipeline matched (trigger, branch), or a plugin said skip."""


@dataclass(frozen=True, slots=True)
class Build:
    number: int
    status: str
    created: int
    """Unix seconds."""
    message: str = ""
    params: dict[str, str] = field(default_factory=dict)
    error: str = ""
    id: int = 0
    """Drone's own id of the build (what its queue names), not its number."""

    @property
    def done(self) -> bool:
        return self.status not in NOT_DONE


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One stage in Drone's queue (`GET /api/queue`): pending or running, in any repository."""

    id: int
    repo_id: int
    build_id: int
    name: str
    status: str


def parse_queue(raw: Any) -> tuple[QueueItem, ...]:
    expect(isinstance(raw, list), "Drone", "GET /api/queue is not a list")
    items = []
    for item in raw:
        ok = isinstance(item, dict) and all(
            type(item.get(k)) is int for k in ("id", "repo_id", "build_id")
        )
        expect(ok and isinstance(item.get("status"), str), "Drone", "a queue item's ids")
        name = item.get("name")
        items.append(
            QueueItem(
                item["id"],
                item["repo_id"],
                item["build_id"],
                name if isinstance(name, str) else "",
                item["status"],
            )
        )
    return tuple(items)


def builds_ahead(queue: tuple[QueueItem, ...], build_id: int) -> int | None:
    """How many stages are ahead of build `build_id`'s: those of the same repository and
    pipeline that are running or were queued earlier. Drone hands pending stages to free
    runner slots in id order (`.drone.yml` sets no `concurrency:` limit), so with a runner
    capacity above 1 this is an upper bound: the running ones hold slots, not a place in
    line. None when the build is not queued."""
    mine = [q for q in queue if q.build_id == build_id and q.status == "pending"]
    if not mine:
        return None
    first = min(mine, key=lambda q: q.id)
    return sum(
        1
        for q in queue
        if q.build_id != build_id
        and q.repo_id == first.repo_id
        and q.name == first.name
        and (q.status == "running" or q.id < first.id)
    )


def parse_build(raw: Any) -> Build:
    expect(isinstance(raw, dict), "Drone", "a build is not an object")
    ok = isinstance(raw.get("number"), int) and isinstance(raw.get("status"), str)
    expect(ok, "Drone", "a build lacks number or status")
    params = raw.get("params") or {}
    created = raw.get("created")
    return Build(
        number=raw["number"],
        status=raw["status"],
        created=created if isinstance(created, int) else 0,
        message=raw.get("message") if isinstance(raw.get("message"), str) else "",
        params={str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {},
        error=raw.get("error") if isinstance(raw.get("error"), str) else "",
        id=raw["id"] if type(raw.get("id")) is int else 0,
    )


class Drone:
    def __init__(
        self, url: str, token: str, repo: str, redact: Redactor, timeout: float = 15.0
    ) -> None:
        # The exact `Bearer ` prefix: Drone trims that string and nothing else.
        self.http = JsonClient("Drone", url + "/api", f"Bearer {token}", redact, timeout)
        self.url = url
        owner, name = repo.split("/", 1)
        self._path = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}/builds"
        self.repo = repo

    def build_url(self, number: int) -> str:
        """The build's page in Drone's web UI."""
        return f"{self.url}/{self.repo}/{number}"

    def create_build(self, branch: str, params: dict[str, str]) -> Build:
        """A custom build of the tip of `branch`; every param reaches the pipeline's env."""
        query = {"branch": branch, **params}
        reply = self.http.request("POST", self._path, query=query)
        raw = self.http.decode(reply, f"POST {self._path}")
        if raw is None:
            raise NoPipeline(
                f"Drone started no build of {self.repo} on {branch}: no pipeline matched "
                "(is the recipe-ci pipeline on that branch, with trigger event custom?)"
            )
        return parse_build(raw)

    def build(self, number: int) -> Build:
        return parse_build(self.http.json("GET", f"{self._path}/{number}"))

    def cancel(self, number: int) -> Build:
        """Cancel a pending or running build (it becomes `killed`; the exec runner SIGKILLs
        the step's shell, and cc-ci-run, its child, gets SIGTERM as its parent dies: it tears
        down). A build already done comes back unchanged."""
        return parse_build(self.http.json("DELETE", f"{self._path}/{number}"))

    def queue(self) -> tuple[QueueItem, ...]:
        """Every pending and running stage, oldest first. Drone admins only (403 otherwise);
        a Drone built without it (the `oss` build) answers 501."""
        return parse_queue(self.http.json("GET", "/queue"))

    def find_build(
        self, match: Callable[[Build], bool], not_before: int, pages: int = 5
    ) -> Build | None:
        """The newest build `match` accepts, looking back until builds older than
        `not_before` (unix seconds) or `pages` pages of 100."""
        for page in range(1, pages + 1):
            items = self.http.json("GET", self._path, query={"page": page, "per_page": 100})
            expect(isinstance(items, list), "Drone", f"GET {self._path} is not a list")
            builds = [parse_build(b) for b in items]
            for b in builds:
                if match(b):
                    return b
            if len(builds) < 100 or any(b.created and b.created < not_before for b in builds):
                return None
        return None
