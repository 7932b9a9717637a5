"""La Suite Docs helpers: a Django session for a user made in the backend, and the documents
API (/api/v1.0/documents/) called with it, as the frontend calls it."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import pytest

BACKEND_SERVICE = "backend"  # the Django app ("impress"); UNCONFIRMED recipe service name
SESSION_COOKIE = "docs_sessionid"

# Runs in the backend container: make (or find) a user and open a Django session for it,
# the way a login does; print the session key. The API accepts only sessions (users come
# from OIDC, which a test cannot drive without the provider's UI).
MAKE_SESSION = r"""
import sys
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.cache import SessionStore
from importlib import import_module
from django.conf import settings
email = sys.argv[1]
User = get_user_model()
user = User.objects.filter(email=email).first() or User.objects.create_user(
    email=email, password=None, sub=email, language="en-us")
store = import_module(settings.SESSION_ENGINE).SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store.create()
print(store.session_key)
"""


@dataclass
class Docs:
    app: object
    session: str
    csrf: str

    def call(self, method: str, path: str, body: object = None):
        return self.app.request(
            method,
            path,
            json_body=body,
            headers={
                "Cookie": f"{SESSION_COOKIE}={self.session}; csrftoken={self.csrf}",
                "X-CSRFToken": self.csrf,
                "Referer": self.app.url("/"),
                "Origin": self.app.base_url,
            },
        )

    def create_document(self, title: str) -> str:
        r = self.call("POST", "/api/v1.0/documents/", {"title": title})
        assert r.status == 201, f"create document: {r.status} {r.text[:300]}"
        return json.loads(r.text)["id"]

    def document(self, doc_id: str):
        return self.call("GET", f"/api/v1.0/documents/{doc_id}/")


def session_for(app, email: str) -> str:
    out = app.exec(
        "python", "manage.py", "shell", "-c", MAKE_SESSION, email, service=BACKEND_SERVICE
    ).stdout
    return out.strip().splitlines()[-1]


@pytest.fixture
def docs(app) -> Docs:
    email = f"ci@{app.domain}"
    return Docs(app, session_for(app, email), secrets.token_hex(16))
