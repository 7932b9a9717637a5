"""The backup stage's snapshot check, its pure parts: which paths the labels promise, and
what a snapshot's listing lacks of them."""

from __future__ import annotations

from datetime import UTC, datetime

from cc_ci.harness.backup import expected_paths, newest_snapshot, problems

STACK = "matr-1a2b3c_ci_test"
ROOT = "/var/lib/docker/volumes"


def service(name: str, labels: dict[str, str], volumes: tuple[str, ...]) -> dict:
    mounts = [{"Type": "volume", "Source": f"{STACK}_{v}"} for v in volumes]
    return {
        "Spec": {
            "Name": f"{STACK}_{name}",
            "Labels": labels,
            "TaskTemplate": {"ContainerSpec": {"Mounts": mounts}},
        }
    }


SERVICES = [
    service("app", {"backupbot.backup.volumes.data.path": "media_store,signing.key"}, ("data",)),
    service(
        "db",
        {
            "backupbot.backup": "true",
            "backupbot.backup.pre-hook": "/pg_backup.sh backup",
            "backupbot.backup.volumes.postgres.path": "backup.sql",
        },
        ("postgres",),
    ),
    service("web", {"backupbot.backup.volumes.cache": "false"}, ("cache",)),
]


def node(path: str, type_: str = "file", size: int = 10) -> dict:
    return {"struct_type": "node", "path": path, "type": type_, "size": size}


def test_the_labels_promise_each_path_of_each_volume_not_excluded():
    expected, hooks = expected_paths(STACK, SERVICES)
    assert [e.absolute(STACK) for e in expected] == [
        f"{ROOT}/{STACK}_data/_data/media_store",
        f"{ROOT}/{STACK}_data/_data/signing.key",
        f"{ROOT}/{STACK}_postgres/_data/backup.sql",
    ]
    assert hooks == [f"({STACK}_db) `/pg_backup.sh backup`"]


def test_a_snapshot_holding_every_labelled_path_has_no_problem():
    expected, hooks = expected_paths(STACK, SERVICES)
    data = f"{ROOT}/{STACK}_data/_data"
    nodes = [
        node(f"{data}/media_store", "dir", 0),
        node(f"{data}/media_store/a.png"),
        node(f"{data}/signing.key"),
        node(f"{ROOT}/{STACK}_postgres/_data/backup.sql"),
    ]
    assert problems(STACK, expected, nodes, hooks) == []


def test_an_empty_dump_names_the_pre_hook_and_a_missing_path_names_its_label():
    expected, hooks = expected_paths(STACK, SERVICES)
    data = f"{ROOT}/{STACK}_data/_data"
    nodes = [
        node(f"{data}/media_store", "dir", 0),
        node(f"{ROOT}/{STACK}_postgres/_data/backup.sql", size=0),
    ]
    # media_store is an empty directory: no uploads yet is no problem
    assert problems(STACK, expected, nodes, hooks) == [
        "the snapshot lacks data:signing.key (backupbot.backup.volumes.data.path)",
        "postgres:backup.sql (backupbot.backup.volumes.postgres.path) is empty in the snapshot;"
        f" did the pre-hook ({STACK}_db) `/pg_backup.sh backup` dump anything?",
    ]


def test_only_a_snapshot_of_this_stack_taken_since_the_backup_counts():
    since = datetime(2026, 12, 1, 23, 40, 0, tzinfo=UTC)
    mine = f"{ROOT}/{STACK}_data/_data"
    snaps = [
        {"id": "old", "time": "2026-12-01T23:39:59.5+00:00", "paths": [mine]},
        {"id": "other", "time": "2026-12-01T23:41:00.123456789Z", "paths": [f"{ROOT}/x_y/_data"]},
        {"id": "new", "time": "2026-12-01T23:40:01.123456789+00:00", "paths": [mine]},
    ]
    assert newest_snapshot(STACK, snaps, since)["id"] == "new"
    assert newest_snapshot(STACK, snaps[:2], since) is None
