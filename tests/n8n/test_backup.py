"""backup → mutate → restore: the workflow is back as it was at the backup."""

from __future__ import annotations

import json
import secrets

import pytest


@pytest.mark.seed
def test_seed_a_workflow(n8n, run_data):
    name = f"ci-{secrets.token_hex(4)}"
    run_data.update(id=n8n.signed_in().create_workflow(name)["id"], name=name)


@pytest.mark.mutate
def test_mutate_delete_the_workflow(n8n, run_data):
    n8n.signed_in()
    n8n.call("POST", f"/rest/workflows/{run_data['id']}/archive")
    r = n8n.call("DELETE", f"/rest/workflows/{run_data['id']}")
    assert r.status == 200, r.text[:200]


def test_the_workflow_is_back(n8n, run_data):
    n8n.signed_in()
    r = n8n.workflow(run_data["id"])
    assert r.status == 200, f"the workflow is not back after the restore: {r.status}"
    assert json.loads(r.text)["data"]["name"] == run_data["name"]
