from __future__ import annotations

import json
import threading
from pathlib import Path

from cc_ci.contract.record import (
    Counts,
    RunRecord,
    Source,
    StageResult,
    Status,
    junit_counts,
    write_atomic,
)

JUNIT = """<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="5" failures="1"
errors="1" skipped="1"></testsuite></testsuites>"""


def record(*stages: StageResult) -> RunRecord:
    return RunRecord("local-1", "demo", Source("o/r", "abc", 3), "2026-01-01T00:00:00Z", stages)


def test_junit_counts_split_passed_failed_errors_skipped(tmp_path: Path):
    (tmp_path / "j.xml").write_text(JUNIT)
    assert junit_counts(tmp_path / "j.xml") == Counts(2, 1, 1, 1)
    assert junit_counts(tmp_path / "missing.xml") == Counts()


def test_the_record_has_schema_1_and_every_documented_field():
    data = record(
        StageResult("install", Status.PASSED, 1.5, Counts(2), "", "install.log")
    ).to_json()
    assert data["schema"] == 1
    for key in (
        "run_id",
        "recipe",
        "source",
        "started_at",
        "finished_at",
        "duration_s",
        "status",
        "exit_code",
        "deployments",
        "stages",
        "teardown",
        "trigger",
        "ci",
    ):
        assert key in data
    assert set(data["stages"][0]) == {
        "name",
        "status",
        "duration_s",
        "tests",
        "message",
        "log",
        "junit",
        "artifacts",
    }
    assert json.loads(json.dumps(data)) == data


def test_a_reader_never_sees_half_a_record(tmp_path: Path):
    path = tmp_path / "run.json"
    big = {"schema": 1, "pad": "x" * 200_000}
    write_atomic(path, big)
    seen_bad = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                json.loads(path.read_text())
            except json.JSONDecodeError:
                seen_bad.append(1)

    t = threading.Thread(target=read)
    t.start()
    for i in range(50):
        write_atomic(path, {**big, "i": i})
    stop.set()
    t.join()
    assert seen_bad == []
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]
