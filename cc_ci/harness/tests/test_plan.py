from __future__ import annotations

import shlex

import pytest

from cc_ci.harness.plan import (
    BaseRefused,
    DeployKind,
    choose_bases,
    plan_run,
    previous_release,
    repro_command,
    upgrade_rows,
    version_key,
)

ALL = ("install", "upgrade", "backup", "recipe-local")
TAGS = ["1.0.0+1.0", "1.1.0+1.1", "1.2.0-rc1+1.2", "not-a-release"]


def test_a_full_run_costs_two_deployments():
    plan = plan_run(ALL, ("1.0.0+1.0",))
    assert [d.kind for d in plan.deployments] == [DeployKind.FRESH, DeployKind.UPGRADE]
    assert plan.deployments[0].stages == ("install", "recipe-local", "backup")
    assert plan.deployments[1].stages == ("upgrade from 1.0.0+1.0",)
    assert plan.deployments[1].base == "1.0.0+1.0"
    assert plan.skipped == ()


def test_upgrade_alone_costs_one_deployment():
    plan = plan_run(("upgrade",), ("1.0.0+1.0",))
    assert [d.kind for d in plan.deployments] == [DeployKind.UPGRADE]


def test_each_base_is_one_upgrade_deployment_with_its_own_row():
    plan = plan_run(ALL, ("1.1.0+1.1", "1.0.0+1.0"))
    assert [(d.kind, d.stages, d.base) for d in plan.deployments[1:]] == [
        (DeployKind.UPGRADE, ("upgrade from 1.1.0+1.1",), "1.1.0+1.1"),
        (DeployKind.UPGRADE, ("upgrade from 1.0.0+1.0",), "1.0.0+1.0"),
    ]
    assert plan.stage_order == (
        "install",
        "recipe-local",
        "backup",
        "upgrade from 1.1.0+1.1",
        "upgrade from 1.0.0+1.0",
    )


def test_upgrade_without_a_previous_release_is_skipped_with_a_reason():
    plan = plan_run(("install", "upgrade"), ())
    assert len(plan.deployments) == 1
    assert plan.skipped == (("upgrade", "no previous release tag to upgrade from"),)


def test_the_default_base_is_the_previous_release_then_the_suites_extra_ones():
    assert choose_bases((), (), TAGS, "1.1.0+1.1", "o/r") == ("1.1.0+1.1",)
    assert choose_bases((), ("1.0.0+1.0", "1.1.0+1.1"), TAGS, "1.1.0+1.1", "o/r") == (
        "1.1.0+1.1",
        "1.0.0+1.0",
    )
    assert choose_bases((), (), TAGS, None, "o/r") == ()


def test_bases_asked_for_replace_the_default_and_the_suites():
    assert choose_bases(("1.0.0+1.0",), ("1.1.0+1.1",), TAGS, "1.1.0+1.1", "o/r") == ("1.0.0+1.0",)


@pytest.mark.parametrize("bad", ["99.0.0+x", "1.2.0-rc1+1.2", "not-a-release", "main"])
def test_a_base_that_is_not_a_release_tag_of_the_base_repository_is_refused(bad):
    with pytest.raises(BaseRefused) as caught:
        choose_bases(("1.0.0+1.0", bad), (), TAGS, "1.1.0+1.1", "recipe-maintainers/demo")
    message = str(caught.value)
    assert message.startswith(f"--upgrade-from {bad}: not a release tag of the base repository")
    assert "recipe-maintainers/demo" in message and "1.1.0+1.1" in message
    assert "nothing was deployed" in message


def test_an_extra_base_of_the_suite_that_is_no_release_is_refused_naming_recipe_meta():
    with pytest.raises(BaseRefused, match=r"^recipe_meta.py UPGRADE_FROM 0.1.0\+0.1: "):
        choose_bases((), ("0.1.0+0.1",), TAGS, "1.1.0+1.1", "o/r")


def test_the_upgrade_row_becomes_one_row_per_base_in_its_place():
    rows = ("install", "upgrade", "backup")
    assert upgrade_rows(rows, ("1.1.0+1.1", "1.0.0+1.0")) == (
        "install",
        "upgrade from 1.1.0+1.1",
        "upgrade from 1.0.0+1.0",
        "backup",
    )
    assert upgrade_rows(rows, ()) == rows


def test_the_repro_line_names_everything_that_makes_the_run_and_nothing_more():
    line = repro_command(
        "custom-html",
        src="alice/custom-html",
        repo="recipe-maintainers/custom-html",
        ref="9f2c1e0" * 5 + "abcde",
        pr=7,
        stages=("install", "upgrade"),
        bases=("1.1.0+1.1", "1.0.0+1.0"),
        forge_url="https://git.coopcloud.tech",
    )
    assert line == (
        "CCCI_FORGE_URL=https://git.coopcloud.tech "
        "cc-ci-run custom-html --repo recipe-maintainers/custom-html --src alice/custom-html "
        f"--ref {'9f2c1e0' * 5 + 'abcde'} --pr 7 --stages install,upgrade "
        "--upgrade-from 1.1.0+1.1,1.0.0+1.0"
    )
    # all stages, no PR, the base being the head repository: the short form
    forge = "file:///srv/forge"
    assert repro_command(
        "demo", src="cc-ci/demo", repo="cc-ci/demo", ref="abc", stages=ALL, forge_url=forge
    ) == ("CCCI_FORGE_URL=file:///srv/forge cc-ci-run demo --src cc-ci/demo --ref abc")
    # bases only when the upgrade stage runs
    assert "--upgrade-from" not in repro_command(
        "demo",
        src="cc-ci/demo",
        ref="abc",
        stages=("install",),
        bases=("1.0.0+1.0",),
        forge_url=forge,
    )


def test_the_repro_line_quotes_every_word_for_the_shell():
    path = "/home/me/my recipe $(rm -rf ~) `x`;'q'"
    forge = "file:///srv/forge $HOME"
    line = repro_command("demo", src=path, ref="abc", stages=("install",), forge_url=forge)
    words = shlex.split(line)
    assert words == [
        f"CCCI_FORGE_URL={forge}",
        "cc-ci-run",
        "demo",
        "--src",
        path,
        "--ref",
        "abc",
        "--stages",
        "install",
    ]


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
