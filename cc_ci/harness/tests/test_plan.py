from __future__ import annotations

from cc_ci.harness.plan import DeployKind, plan_run, previous_release, version_key


def test_a_full_run_costs_two_deployments():
    plan = plan_run(("install", "upgrade", "backup", "recipe-local"), "1.0.0+1.0")
    assert [d.kind for d in plan.deployments] == [DeployKind.FRESH, DeployKind.UPGRADE]
    assert plan.deployments[0].stages == ("install", "recipe-local", "backup")
    assert plan.skipped == ()


def test_upgrade_alone_costs_one_deployment():
    plan = plan_run(("upgrade",), "1.0.0+1.0")
    assert [d.kind for d in plan.deployments] == [DeployKind.UPGRADE]


def test_upgrade_without_a_previous_release_is_skipped_with_a_reason():
    plan = plan_run(("install", "upgrade"), None)
    assert len(plan.deployments) == 1
    assert plan.skipped == (("upgrade", "no previous release tag to upgrade from"),)


def test_previous_release_is_the_newest_tag_below_the_head():
    tags = ["1.0.0+1.0", "1.10.0+2.0", "1.9.0+1.9", "not-a-release", "2.0.0-beta+3.0"]
    assert previous_release(tags, head_tags=[]) == "1.10.0+2.0"
    # a release PR tags its head: the release before it is the one to upgrade from
    assert previous_release(tags, head_tags=["1.10.0+2.0"]) == "1.9.0+1.9"
    assert previous_release(["1.0.0+1.0"], head_tags=["1.0.0+1.0"]) is None
    assert previous_release([], head_tags=[]) is None


def test_versions_sort_numerically_and_prereleases_first():
    tags = ["1.2.0+1", "1.10.0+1", "1.2.0-rc1+1", "0.9.0+9"]
    assert sorted(tags, key=version_key) == ["0.9.0+9", "1.2.0-rc1+1", "1.2.0+1", "1.10.0+1"]
