"""A document made on the previous release survives the upgrade."""

from __future__ import annotations

import json
import secrets

import pytest


@pytest.mark.seed
def test_seed_a_document(docs, run_data):
    title = f"ci-{secrets.token_hex(4)}"
    run_data.update(id=docs.create_document(title), title=title)


def test_the_document_survived_the_upgrade(docs, run_data):
    r = docs.document(run_data["id"])
    assert r.status == 200, f"the document made before the upgrade is gone: {r.status}"
    assert json.loads(r.text)["title"] == run_data["title"]
