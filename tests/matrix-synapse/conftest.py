"""Matrix helpers for the matrix-synapse suite: a user made with the shared-secret admin API,
then the plain client-server API through the app's public URL."""

from __future__ import annotations

import json
import secrets
import urllib.parse
from dataclasses import dataclass

import pytest

# The recipe's names. The secret is the `registration_shared_secret`, at /run/secrets/<name>
# in the app container; the database is PostgreSQL in the `db` service.
REGISTRATION_SECRET = "registration"
DB_SERVICE = "db"
DB_USER = "synapse"
DB_NAME = "synapse"

# Runs inside the app container (Synapse's image has Python): the nonce → HMAC-SHA1 → register
# dance of /_synapse/admin/v1/register against Synapse itself on localhost:8008, so it works
# whether or not the recipe's web server exposes /_synapse/admin.
REGISTER = r"""
import hashlib, hmac, json, sys, urllib.request
user, password, admin, secret_file = sys.argv[1:5]
secret = open(secret_file).read().strip()
base = "http://localhost:8008/_synapse/admin/v1/register"
nonce = json.load(urllib.request.urlopen(base))["nonce"]
kind = "admin" if admin == "1" else "notadmin"
mac = hmac.new(secret.encode(), "\x00".join([nonce, user, password, kind]).encode(), hashlib.sha1)
body = {"nonce": nonce, "username": user, "password": password, "admin": admin == "1",
        "mac": mac.hexdigest()}
req = urllib.request.Request(base, json.dumps(body).encode(), {"Content-Type": "application/json"})
print(urllib.request.urlopen(req).read().decode())
"""


@dataclass
class Matrix:
    app: object

    def register(self, user: str, password: str, admin: bool = False) -> dict:
        out = self.app.exec(
            "python3",
            "-c",
            REGISTER,
            user,
            password,
            "1" if admin else "0",
            f"/run/secrets/{REGISTRATION_SECRET}",
        ).stdout
        return json.loads(out)

    def login(self, user: str, password: str):
        return self.app.post(
            "/_matrix/client/v3/login",
            json_body={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user},
                "password": password,
            },
        )

    def token(self, user: str, password: str) -> str:
        r = self.login(user, password)
        assert r.status == 200, f"login of {user} answered {r.status}: {r.text[:200]}"
        return json.loads(r.text)["access_token"]

    def call(self, method: str, path: str, token: str, body: dict | None = None):
        return self.app.request(
            method, path, json_body=body, headers={"Authorization": f"Bearer {token}"}
        )

    def create_room(self, token: str, name: str) -> str:
        r = self.call("POST", "/_matrix/client/v3/createRoom", token, {"name": name})
        assert r.status == 200, r.text[:200]
        return json.loads(r.text)["room_id"]

    def send(self, token: str, room_id: str, body: str) -> str:
        txn = secrets.token_hex(8)
        path = f"/_matrix/client/v3/rooms/{q(room_id)}/send/m.room.message/{txn}"
        r = self.call("PUT", path, token, {"msgtype": "m.text", "body": body})
        assert r.status == 200, r.text[:200]
        return json.loads(r.text)["event_id"]

    def event(self, token: str, room_id: str, event_id: str):
        return self.call("GET", f"/_matrix/client/v3/rooms/{q(room_id)}/event/{q(event_id)}", token)

    def sql(self, query: str) -> str:
        return self.app.exec(
            "psql", "-U", DB_USER, "-d", DB_NAME, "-tAc", query, service=DB_SERVICE
        ).stdout.strip()


def q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


@pytest.fixture
def matrix(app) -> Matrix:
    return Matrix(app)


@pytest.fixture
def new_user() -> tuple[str, str]:
    """A fresh user name and a password."""
    return f"ci{secrets.token_hex(4)}", "Pw-" + secrets.token_urlsafe(16)
