"""The run record's writer: the verdict rule, JUnit counting, the documented layout, and
atomic replacement."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime
from pathlib import Path

import pytest

from cc_ci.contract.record import (
    Counts,
    failing_name,
    format_time,
    junit_counts,
    junit_failing,
    utc_now,
    write_atomic,
    write_record,
)
from cc_ci.contract.tests.samples import finished_run

DOC = Path(__file__).resolve().parents[3] / "docs" / "run-record.md"
JUNIT = """<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="5" failures="1"
errors="1" skipped="1"></testsuite></testsuites>"""


def documented_fields(section: str) -> set[str]:
    """The field names in the table under `section` of docs/run-record.md (top level only)."""
    text = DOC.read_text()
    start = text.index(section)
    table = text[start : text.find("\n#", start + len(section))]
    return {m.split(".")[0] for m in re.findall(r"^\| `([a-z_.]+)` \|", table, re.M)}


def test_junit_counts_split_passed_failed_errors_skipped(tmp_path: Path):
    (tmp_path / "j.xml").write_text(JUNIT)
    assert junit_counts(tmp_path / "j.xml") == Counts(2, 1, 1, 1)
    assert junit_counts(tmp_path / "j.xml").total == 5
    assert junit_counts(tmp_path / "missing.xml") == Counts()


def test_the_writer_writes_exactly_the_fields_the_doc_lists():
    data = finished_run().to_json()
    assert data["schema"] == 1
    assert set(data) | {"timings"} == documented_fields("## Fields (schema 1)")
    assert set(data["stages"][0]) == documented_fields("### A stage")
    assert set(data["teardown"]) == documented_fields("### The teardown")
    assert json.loads(json.dumps(data)) == data


def test_times_are_written_in_utc_to_the_second():
    data = finished_run().to_json()
    assert data["started_at"] == "2026-11-23T12:00:00Z"
    assert data["finished_at"] == "2026-11-23T12:02:04Z"
    assert utc_now().microsecond == 0
    with pytest.raises(ValueError, match="carry a zone"):
        format_time(datetime(2026, 11, 23, 12, 0))


def test_write_record_puts_run_json_in_the_run_folder_with_the_timings(tmp_path: Path):
    timings = {"deployments": [{"kind": "fresh", "deploy_s": 3.2}], "phases": []}
    path = write_record(tmp_path / "drone-42", finished_run(), timings=timings)
    assert path == tmp_path / "drone-42" / "run.json"
    data = json.loads(path.read_text())
    assert data["timings"] == timings
    assert data["run_id"] == "drone-42" and data["status"] == "passed"


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


def test_a_stage_over_its_rows_is_the_worst_of_them_and_skipped_only_when_all_were():
    from cc_ci.contract.record import StageResult, StageStatus, combined_status

    def of(*statuses: str):
        return combined_status(
            tuple(StageResult(f"r{i}", StageStatus(s)) for i, s in enumerate(statuses))
        )

    assert of() is None
    assert of("passed", "failed") is StageStatus.FAILED
    assert of("failed", "error") is StageStatus.ERROR
    assert of("passed", "running") is StageStatus.RUNNING
    assert of("passed", "skipped") is StageStatus.PASSED
    assert of("skipped", "skipped") is StageStatus.SKIPPED
    assert of("pending", "passed") is StageStatus.PENDING


def test_a_row_names_its_stage_its_base_and_its_files():
    from cc_ci.contract.names import is_row_name
    from cc_ci.contract.stages import row_base, row_file, row_stage, upgrade_row

    row = upgrade_row("1.1.0+1.1")
    assert row == "upgrade from 1.1.0+1.1"
    assert (row_stage(row), row_base(row), row_file(row)) == (
        "upgrade",
        "1.1.0+1.1",
        "upgrade-from-1.1.0+1.1",
    )
    assert row_stage(row_file(row)) == "upgrade"  # what a suite's context names
    assert (row_stage("install"), row_base("install"), row_file("install")) == (
        "install",
        None,
        "install",
    )
    assert is_row_name(row) and is_row_name("install") and is_row_name("a-newer-stage")
    for bad in ("upgrade from -x", "upgrade from a..b", "upgrade from x y", "Upgrade", ""):
        assert not is_row_name(bad), bad


FAILING_JUNIT = """<?xml version="1.0"?><testsuites>
<testsuite name="pytest:verify" tests="5" failures="2" errors="1" skipped="1">
  <testcase classname="tests.test_recipe_local" name="test_front_page"/>
  <testcase classname="tests.test_recipe_local" name="test_deliberately_broken">
    <failure message="assert 1 == 2">boom</failure></testcase>
  <testcase classname="tests.test_recipe_local.TestLogin" name="test_login[admin]">
    <failure message="no">no</failure></testcase>
  <testcase classname="" name="test_setup_of_the_module"><error message="x">x</error></testcase>
  <testcase classname="tests.test_recipe_local" name="test_later"><skipped/></testcase>
</testsuite>
<testsuite name="pytest:mutate" tests="1" failures="1">
  <testcase classname="tests.test_recipe_local" name="test_deliberately_broken">
    <failure message="again">again</failure></testcase>
</testsuite></testsuites>"""


def test_junit_failing_names_each_failed_or_errored_test_once_in_order(tmp_path: Path):
    (tmp_path / "j.xml").write_text(FAILING_JUNIT)
    assert junit_failing(tmp_path / "j.xml") == (
        "tests.test_recipe_local::test_deliberately_broken",
        "tests.test_recipe_local.TestLogin::test_login[admin]",
        "test_setup_of_the_module",
    )
    assert junit_failing(tmp_path / "j.xml", limit=1) == (
        "tests.test_recipe_local::test_deliberately_broken",
    )
    assert failing_name("tests.test_recipe_local.TestLogin::test_login[admin]") == (
        "test_login[admin]"
    )
    (tmp_path / "bad.xml").write_text("<testsuites><testcase")
    assert junit_failing(tmp_path / "bad.xml") == ()
    assert junit_failing(tmp_path / "missing.xml") == junit_failing(None) == ()


def test_a_stages_failing_tests_are_written_and_read_back():
    from dataclasses import replace

    from cc_ci.contract.record_read import parse_record

    run = finished_run()
    first = replace(run.stages[0], failing=("tests.test_x::test_a", "test_b"))
    run = replace(run, stages=(first, *run.stages[1:]))
    data = run.to_json()
    assert data["stages"][0]["failing"] == ["tests.test_x::test_a", "test_b"]
    assert data["stages"][1]["failing"] == []
    back = parse_record(json.loads(json.dumps(data)), run.run_id)
    assert back.stages[0].failing == ("tests.test_x::test_a", "test_b")
    del data["stages"][0]["failing"]  # a record from before the field
    assert parse_record(data, run.run_id).stages[0].failing == ()
    data["stages"][0]["failing"] = "test_a"
    with pytest.raises(ValueError, match=r"stages\[0\]\.failing"):
        parse_record(data, run.run_id)
