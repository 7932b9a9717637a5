"""n8n REST helpers: the owner account and a cookie session (`n8n-auth` plus the same
`browser-id` header on every call, as n8n wants since 1.37)."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field

import pytest


def owner_of(domain: str) -> dict[str, str]:
    """The owner account the suite sets up on an app: fixed per app domain, so every stage of
    one deployment signs in as the same owner. Test apps only live for one run."""
    digest = hashlib.sha256(f"cc-ci n8n owner {domain}".encode()).hexdigest()
    return {
        "email": f"owner@{domain}",
        "firstName": "cc",
        "lastName": "ci",
        "password": f"Ci{digest[:20]}9",
    }


@dataclass
class N8n:
    app: object
    browser_id: str = field(default_factory=lambda: secrets.token_hex(16))
    cookie: str = ""

    @property
    def owner(self) -> dict[str, str]:
        return owner_of(self.app.domain)

    def _headers(self) -> dict[str, str]:
        h = {"browser-id": self.browser_id}
        if self.cookie:
            h["Cookie"] = self.cookie
        return h

    def _remember(self, r) -> None:
        for part in r.headers.get("set-cookie", "").split(";"):
            if part.strip().startswith("n8n-auth="):
                self.cookie = part.strip()

    def call(self, method: str, path: str, body: object = None):
        return self.app.request(method, path, json_body=body, headers=self._headers())

    def setup_owner(self):
        r = self.call("POST", "/rest/owner/setup", self.owner)
        self._remember(r)
        return r

    def login(self, password: str | None = None):
        o = self.owner
        pw = password or o["password"]
        body = {"emailOrLdapLoginId": o["email"], "email": o["email"], "password": pw}
        r = self.call("POST", "/rest/login", body)
        self._remember(r)
        return r

    def signed_in(self) -> N8n:
        """Set the owner up if nobody has yet, then sign in."""
        self.setup_owner()
        r = self.login()
        assert r.status == 200, f"owner login: {r.status} {r.text[:200]}"
        return self

    def create_workflow(self, name: str) -> dict:
        node = {
            "id": secrets.token_hex(8),
            "name": "Start",
            "type": "n8n-nodes-base.manualTrigger",
            "typeVersion": 1,
            "position": [0, 0],
            "parameters": {},
        }
        body = {"name": name, "nodes": [node], "connections": {}, "settings": {}, "active": False}
        r = self.call("POST", "/rest/workflows", body)
        assert r.status == 200, f"create workflow: {r.status} {r.text[:300]}"
        return json.loads(r.text)["data"]

    def workflow(self, wf_id: str):
        return self.call("GET", f"/rest/workflows/{wf_id}")

    def version(self) -> str:
        """The n8n version the app runs (`versionCli` of its settings)."""
        r = self.call("GET", "/rest/settings")
        assert r.status == 200, f"/rest/settings: {r.status} {r.text[:200]}"
        return str(json.loads(r.text)["data"]["versionCli"])

    def sql(self, query: str) -> str:
        return self.app.exec("psql", "-U", "n8n", "-d", "n8n", "-tAc", query, service="db").stdout


@pytest.fixture(scope="session")
def rest_ready(app) -> None:
    """n8n answers /healthz/readiness once its database is migrated, a little before its REST
    API is mounted: wait until the public settings endpoint answers."""
    deadline = time.monotonic() + 180
    last = None
    while time.monotonic() < deadline:
        last = app.get("/rest/settings").status
        if last == 200:
            return
        time.sleep(1)
    raise AssertionError(f"/rest/settings never answered 200 (last: {last})")


@pytest.fixture
def n8n(app, rest_ready) -> N8n:
    return N8n(app)
