"""devworld/prebuild.py: what each set builds, the lanes, and how a failure is reported."""

from __future__ import annotations

import threading

import pytest

from devworld import prebuild
from devworld.prebuild import Build


def names(builds: list[Build]) -> list[str]:
    return [b.name for b in builds]


def test_the_demo_set_is_part_of_the_test_set_and_builds_no_replica():
    demo = names(prebuild.parents("demo") + prebuild.builds("demo"))
    test = names(prebuild.parents("test") + prebuild.builds("test"))
    assert set(demo) < set(test)
    assert not [n for n in demo if n.startswith("replica")]
    assert "recipe-tests sandbox (Debian + PyPI)" in demo
    assert "backupbot stand-in (restic)" in demo


def test_every_replica_version_has_its_image_in_the_test_set():
    test = names(prebuild.builds("test"))
    for recipe, label in (("n8n", "n8n"), ("keycloak", "Keycloak"), ("matrix-synapse", "Synapse")):
        for v in prebuild._versions(recipe):
            assert any(n.startswith(f"replica {label} {v} ") for n in test), (recipe, v)


def fake(monkeypatch, first: list[Build], rest: list[Build]) -> None:
    monkeypatch.setattr(prebuild, "parents", lambda kind: first)
    monkeypatch.setattr(prebuild, "builds", lambda kind: rest)


def test_two_lanes_build_side_by_side_and_the_run_ends_ready(monkeypatch, capsys):
    both = threading.Barrier(2, timeout=10)  # each waits for the other: only two lanes pass
    fake(
        monkeypatch,
        [Build("base", "seconds", lambda: None)],
        [Build("a", "seconds", both.wait), Build("b", "seconds", both.wait)],
    )
    assert prebuild.main(["--for", "demo", "--jobs", "2"]) == 0
    err = capsys.readouterr().err
    assert "prebuild: 3 images for demo" in err and "a ~seconds" in err
    assert "all ready in" in err


def test_a_failed_build_is_named_and_the_others_still_build(monkeypatch, capsys):
    built = []

    def boom():
        raise RuntimeError("apt-get said no")

    fake(
        monkeypatch,
        [],
        [Build("bad", "seconds", boom), Build("good", "seconds", lambda: built.append("good"))],
    )
    assert prebuild.main(["--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "prebuild: FAILED bad: apt-get said no" in err
    assert "1 failed: bad" in err
    assert built == ["good"]


def test_a_failed_parent_stops_what_derives_from_it(monkeypatch, capsys):
    built = []

    def boom():
        raise RuntimeError("debootstrap failed")

    fake(
        monkeypatch, [Build("base", "1 min", boom)], [Build("child", "s", lambda: built.append(1))]
    )
    assert prebuild.main([]) == 1
    assert "the images above are their parents" in capsys.readouterr().err
    assert built == []


def test_jobs_must_be_positive():
    with pytest.raises(SystemExit):
        prebuild.main(["--jobs", "0"])
