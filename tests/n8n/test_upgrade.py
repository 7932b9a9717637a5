"""A workflow made on the previous release survives the upgrade, the upgrade changed the
n8n that serves it, and no migration was lost."""

from __future__ import annotations

import json
import secrets

import pytest


@pytest.mark.seed
def test_seed_a_workflow(n8n, run_data):
    name = f"ci-{secrets.token_hex(4)}"
    wf = n8n.signed_in().create_workflow(name)
    run_data.update(id=wf["id"], name=name, nodes=[n["name"] for n in wf["nodes"]])
    run_data["migrations"] = int(n8n.sql("SELECT count(*) FROM migrations").strip())
    run_data["version"] = n8n.version()


def test_the_owner_still_signs_in(n8n):
    assert n8n.login().status == 200


def test_the_workflow_survived_the_upgrade(n8n, run_data):
    n8n.signed_in()
    r = n8n.workflow(run_data["id"])
    assert r.status == 200, f"the workflow made before the upgrade is gone: {r.status}"
    data = json.loads(r.text)["data"]
    assert data["name"] == run_data["name"]
    assert [n["name"] for n in data["nodes"]] == run_data["nodes"]


def test_n8n_was_upgraded(n8n, run_data, upgraded_from):
    after = n8n.signed_in().version()
    print(f"n8n {run_data['version']} ({upgraded_from}) → {after}")
    assert (
        after != run_data["version"]
    ), f"still n8n {after}, as in {upgraded_from}: n8n was not upgraded"


def test_no_migration_was_lost(n8n, run_data):
    after = int(n8n.sql("SELECT count(*) FROM migrations").strip())
    print(f"migrations: {run_data['migrations']} → {after}")
    assert after >= run_data["migrations"]
