from __future__ import annotations

import pytest

from cc_ci.contract.names import (
    InvalidInput,
    app_domain,
    is_run_app,
    parse_stages,
    stack_name,
    validate_recipe,
    validate_ref,
    validate_src,
)


def test_app_domains_are_short_unique_and_recognised_as_run_apps():
    a = app_domain("matrix-synapse", "ci.example.org")
    b = app_domain("matrix-synapse", "ci.example.org")
    assert a != b
    assert a.startswith("matr-") and a.endswith(".ci.example.org")
    assert is_run_app(a, "ci.example.org")
    # the longest secret name such a recipe needs still fits Docker's 64 characters
    assert len(stack_name(a) + "_admin_password_v12") <= 64


def test_a_zone_too_long_for_docker_names_is_refused():
    with pytest.raises(InvalidInput, match="too long"):
        app_domain("keycloak", "a-very-long-subdomain-name.of-a-long.example.org")


def test_operator_apps_are_never_taken_for_run_apps():
    assert not is_run_app("traefik.ci.example.org", "ci.example.org")
    assert not is_run_app("cust-1a2b3c.other.org", "ci.example.org")
    assert not is_run_app("drone.ci.example.org", "ci.example.org")


def test_stack_names_keep_hyphens_and_replace_dots():
    assert stack_name("cust-1a2b3c.ci.test") == "cust-1a2b3c_ci_test"


@pytest.mark.parametrize("bad", ["", "Custom", "a b", "../x", "x;rm -rf /", "-x"])
def test_bad_recipe_names_are_refused_with_the_name(bad):
    with pytest.raises(InvalidInput, match="recipe"):
        validate_recipe(bad)


@pytest.mark.parametrize("bad", ["a", "a/b/c", "../etc", "a/..", "a/b;x", "-a/b"])
def test_bad_sources_are_refused(bad):
    with pytest.raises(InvalidInput):
        validate_src(bad)


@pytest.mark.parametrize("bad", ["", "-o", "a..b", "x y", "$(id)", "main.lock", "a;b"])
def test_bad_refs_are_refused(bad):
    with pytest.raises(InvalidInput):
        validate_ref(bad)


def test_refs_may_be_shas_tags_and_branches():
    for ok in ("9f2c0a1", "1.7.1+1.27.2", "feature/x", "HEAD"):
        assert validate_ref(ok) == ok


def test_stages_come_back_in_run_order_and_empty_means_all():
    assert parse_stages("backup,install") == ("install", "backup")
    assert parse_stages("") == ("install", "upgrade", "backup", "recipe-local")
    with pytest.raises(InvalidInput, match="valid: install, upgrade, backup, recipe-local"):
        parse_stages("install,deploy")
