"""The stand-in's reading of the backup label contract (pure: no swarm)."""

from __future__ import annotations

import pytest

from devworld.backupbot import bot
from devworld.backupbot.bot import BackupError, plan

STACK = "demo-1a2b3c_ci_test"


def service(name: str, labels: dict[str, str], volumes: tuple[str, ...] = ()) -> dict:
    mounts = [{"Type": "volume", "Source": f"{STACK}_{v}", "Target": f"/{v}"} for v in volumes]
    return {
        "Spec": {
            "Name": f"{STACK}_{name}",
            "Labels": {"com.docker.stack.namespace": STACK, **labels},
            "TaskTemplate": {"ContainerSpec": {"Mounts": mounts}},
        }
    }


def test_every_volume_of_the_stack_whole_unless_a_path_label_limits_it():
    p = plan(
        STACK,
        [
            service("app", {"backupbot.backup.volumes.data.path": "media, signing.key"}, ("data",)),
            service(
                "db",
                {"backupbot.backup": "true", "backupbot.backup.pre-hook": "/pg_backup.sh backup"},
                ("postgres",),
            ),
        ],
    )
    assert p.service == f"{STACK}_db"
    root = "/var/lib/docker/volumes"
    assert p.paths() == (
        f"{root}/{STACK}_data/_data/media",
        f"{root}/{STACK}_data/_data/signing.key",
        f"{root}/{STACK}_postgres/_data",
    )
    (hook,) = p.hooks[("backup", "pre")]
    assert (hook.service, hook.command) == (f"{STACK}_db", "/pg_backup.sh backup")
    assert p.hooks[("restore", "post")] == ()


def test_a_volume_labelled_false_is_left_out_and_slash_means_the_whole_volume():
    p = plan(
        STACK,
        [
            service(
                "app",
                {
                    "backupbot.backup": "true",
                    "backupbot.backup.volumes.cache": "false",
                    "backupbot.backup.volumes.content.path": "/",
                },
                ("content", "cache"),
            )
        ],
    )
    assert [(v.name, v.paths) for v in p.volumes] == [("content", ("",))]


def test_backupbot_backup_on_two_services_is_refused_naming_both():
    with pytest.raises(BackupError, match=r"on 2 services .*_app, .*_side.*exactly one"):
        plan(
            STACK,
            [
                service("app", {"backupbot.backup": "true"}, ("content",)),
                service("side", {"backupbot.backup": "true"}),
            ],
        )


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({}, "has the label backupbot.backup=true"),
        ({"backupbot.backup": "false"}, "has the label backupbot.backup=true"),
        ({"backupbot.backup": "yes"}, "knows true or false"),
        ({"backupbot.backup": "true", "backupbot.backup.path": "/x"}, "not in the backup spec"),
        ({"backupbot.backup": "true", "backupbot.backup.volumes.nope.path": "x"}, "'nope'"),
        ({"backupbot.backup": "true", "backupbot.backup.volumes.content.path": "../x"}, "leaves"),
        ({"backupbot.backup": "true", "backupbot.backup.volumes.content": "false"}, "excluded"),
    ],
)
def test_labels_outside_the_contract_are_refused_not_guessed(labels, message):
    with pytest.raises(BackupError, match=message):
        plan(STACK, [service("app", labels, ("content",))])


def test_a_path_label_two_services_disagree_on_is_refused():
    with pytest.raises(BackupError, match="does not guess which"):
        plan(
            STACK,
            [
                service(
                    "app",
                    {"backupbot.backup": "true", "backupbot.backup.volumes.content.path": "a"},
                    ("content",),
                ),
                service("side", {"backupbot.backup.volumes.content.path": "b"}),
            ],
        )


def test_service_is_the_domain_abra_passes(monkeypatch):
    assert bot.stack_of("demo-1a2b3c.ci.test") == STACK
    monkeypatch.delenv("SERVICE", raising=False)
    with pytest.raises(BackupError, match="every stack at once is not implemented"):
        bot.target_stack()


def test_options_the_stand_in_does_not_implement_are_refused(monkeypatch, capsys):
    monkeypatch.setenv("SNAPSHOT", "abc123")
    assert bot.main(["restore"]) == 1
    assert "SNAPSHOT='abc123' is not implemented by the stand-in" in capsys.readouterr().out
    assert bot.main(["download"]) == 2
    assert "not implemented by the stand-in" in capsys.readouterr().err
