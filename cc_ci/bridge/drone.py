"""The Drone 2.x API subset the bridge uses: create, read and find builds (docs/forge-api.md §3)."""

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

    @property
    def done(self) -> bool:
        return self.status not in NOT_DONE


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
