"""backup → mutate → restore: the realms are back as they were at the backup."""

from __future__ import annotations

import secrets

import pytest


@pytest.mark.seed
def test_seed_a_realm(kc, realm_name, run_data):
    kc.create_realm(realm_name)
    run_data["realm"] = realm_name


@pytest.mark.mutate
def test_mutate_delete_the_realm_and_make_another(kc, run_data):
    assert kc.admin("DELETE", f"/realms/{run_data['realm']}").status == 204
    run_data["late"] = f"ci-{secrets.token_hex(4)}"
    kc.create_realm(run_data["late"])


def test_the_deleted_realm_is_back(app, run_data):
    assert app.get(f"/realms/{run_data['realm']}").status == 200


def test_the_realm_made_after_the_backup_is_gone(app, run_data):
    assert app.get(f"/realms/{run_data['late']}").status == 404
