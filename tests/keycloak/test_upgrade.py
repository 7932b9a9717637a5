"""A realm and a user made on the previous release survive the upgrade, and the upgrade
changed the Keycloak that serves them."""

from __future__ import annotations

import json

import pytest


@pytest.mark.seed
def test_seed_a_realm_and_a_user(kc, realm_name, run_data):
    kc.create_realm(realm_name)
    kc.create_user(realm_name, "ci-user")
    run_data.update(realm=realm_name, version=kc.version())


def test_the_realm_survived_the_upgrade(app, run_data):
    r = app.get(f"/realms/{run_data['realm']}")
    assert r.status == 200, f"the realm made before the upgrade is gone: {r.status}"
    assert json.loads(r.text)["public_key"]


def test_the_user_survived_the_upgrade(kc, run_data):
    assert [u["username"] for u in kc.users(run_data["realm"], "ci-user")] == ["ci-user"]


def test_the_administrator_still_signs_in(kc):
    assert kc.token()


def test_keycloak_was_upgraded(kc, run_data, upgraded_from):
    after = kc.version()
    print(f"keycloak {run_data['version']} ({upgraded_from}) → {after}")
    assert (
        after != run_data["version"]
    ), f"still Keycloak {after}, as in {upgraded_from}: Keycloak was not upgraded"
