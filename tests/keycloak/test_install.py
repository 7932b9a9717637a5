"""A fresh keycloak serves its master realm, and its administrator signs in."""

from __future__ import annotations

import json


def test_the_master_realm_is_served(app):
    r = app.get("/realms/master")
    assert r.status == 200
    body = json.loads(r.text)
    assert body["realm"] == "master"
    assert body["public_key"]


def test_the_administrator_gets_a_token_with_the_generated_secret(kc):
    assert kc.token()


def test_a_wrong_admin_password_is_refused(kc):
    r = kc.password_grant(kc.admin_user, kc.admin_password + "x")
    assert r.status == 401


def test_a_realm_created_through_the_admin_api_is_public(app, kc, realm_name):
    kc.create_realm(realm_name)
    r = app.get(f"/realms/{realm_name}")
    assert r.status == 200
    assert json.loads(r.text)["realm"] == realm_name


def test_the_administrator_signs_in_to_the_admin_console(app, kc, page, screenshot):
    page.goto(app.url("/admin/master/console/"))
    page.locator("#username").fill(kc.admin_user)
    page.locator("#password").fill(kc.admin_password)
    page.locator("#kc-login").click()
    page.wait_for_url("**/admin/master/console/**", timeout=60_000)
    page.get_by_text("master", exact=False).first.wait_for(timeout=60_000)
    assert "/admin/master/console" in page.url
    assert page.locator("#kc-login").count() == 0, "still on the login form"
    screenshot(page, "admin-console")
