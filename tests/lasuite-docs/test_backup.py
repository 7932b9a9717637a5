"""backup → mutate → restore: the document is back as it was at the backup."""

from __future__ import annotations

import json
import secrets

import pytest


@pytest.mark.seed
def test_seed_a_document(docs, run_data):
    title = f"ci-{secrets.token_hex(4)}"
    run_data.update(id=docs.create_document(title), title=title)


@pytest.mark.mutate
def test_mutate_rename_the_document(docs, run_data):
    r = docs.call("PATCH", f"/api/v1.0/documents/{run_data['id']}/", {"title": "mutated"})
    assert r.status == 200, r.text[:200]


def test_the_original_title_is_back(docs, run_data):
    r = docs.document(run_data["id"])
    assert r.status == 200, f"the document is gone after the restore: {r.status}"
    assert json.loads(r.text)["title"] == run_data["title"]
