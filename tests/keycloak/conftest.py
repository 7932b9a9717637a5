"""Keycloak admin REST helpers: a fresh admin token for every call (master-realm access tokens
last one minute), with the administrator the recipe bootstraps from its generated secret."""

from __future__ import annotations

import json
import secrets
import urllib.parse
from dataclasses import dataclass

import pytest

ADMIN_SECRET = "admin_password"  # /run/secrets/<name> in the app container
ADMIN_USER_ENV = "ADMIN_USERNAME"  # the recipe's .env; "admin" when unset


@dataclass
class Keycloak:
    app: object

    @property
    def admin_user(self) -> str:
        return self.app.env.get(ADMIN_USER_ENV) or "admin"

    @property
    def admin_password(self) -> str:
        return self.app.secret(ADMIN_SECRET)

    def password_grant(self, user: str, password: str, realm: str = "master"):
        form = urllib.parse.urlencode(
            {
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": user,
                "password": password,
            }
        ).encode()
        return self.app.request(
            "POST",
            f"/realms/{realm}/protocol/openid-connect/token",
            data=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def token(self) -> str:
        r = self.password_grant(self.admin_user, self.admin_password)
        assert r.status == 200, f"admin token: {r.status} {r.text[:200]}"
        return json.loads(r.text)["access_token"]

    def admin(self, method: str, path: str, body: object = None):
        return self.app.request(
            method,
            "/admin" + path,
            json_body=body,
            headers={"Authorization": f"Bearer {self.token()}"},
        )

    def create_realm(self, name: str) -> None:
        r = self.admin("POST", "/realms", {"realm": name, "enabled": True})
        assert r.status == 201, f"create realm {name}: {r.status} {r.text[:200]}"

    def create_user(self, realm: str, username: str) -> None:
        r = self.admin("POST", f"/realms/{realm}/users", {"username": username, "enabled": True})
        assert r.status == 201, f"create user {username}: {r.status} {r.text[:200]}"

    def users(self, realm: str, username: str) -> list[dict]:
        r = self.admin("GET", f"/realms/{realm}/users?username={username}&exact=true")
        assert r.status == 200, r.text[:200]
        return json.loads(r.text)

    def version(self) -> str:
        r = self.admin("GET", "/serverinfo")
        assert r.status == 200, r.text[:200]
        return json.loads(r.text)["systemInfo"]["version"]


@pytest.fixture
def kc(app) -> Keycloak:
    return Keycloak(app)


@pytest.fixture
def realm_name() -> str:
    return f"ci-{secrets.token_hex(4)}"
