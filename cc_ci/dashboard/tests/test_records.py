"""Reading run records: the documented format reads, everything else is refused by name."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cc_ci.dashboard.records import (
    RecordError,
    RunStatus,
    StageStatus,
    TeardownStatus,
    decode_record,
    parse_record,
    recipe_hint,
)
from cc_ci.dashboard.tests.worlds import record, stage

DOC = Path(__file__).resolve().parents[3] / "docs" / "run-record.md"


def documented_example() -> dict:
    block = re.search(r"## Example\s+```json\n(.*?)```", DOC.read_text(), re.S)
    assert block, "docs/run-record.md has no JSON example"
    return json.loads(block.group(1))


def test_the_example_in_the_run_record_doc_reads_into_a_record():
    rec = parse_record(documented_example(), "drone-42")
    assert rec.recipe == "custom-html"
    assert rec.status is RunStatus.PASSED
    assert rec.source.pr == 7 and rec.source.repo == "recipe-maintainers/custom-html"
    assert rec.ci is not None and rec.ci.build == 42
    (install,) = rec.stages
    assert install.status is StageStatus.PASSED
    assert install.tests.passed == 3 and install.tests.total == 3
    assert install.artifacts == ("screenshots/install-front.png",)
    assert rec.teardown is not None and rec.teardown.status is TeardownStatus.CLEAN
    assert rec.started_at == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_a_record_with_a_newer_schema_is_refused_naming_both_numbers():
    data = record("r1", "custom-html")
    data["schema"] = 2
    with pytest.raises(RecordError, match=r"schema 2 is newer than this dashboard reads \(1\)"):
        parse_record(data, "r1")


def test_a_record_whose_run_id_differs_from_its_folder_is_refused():
    with pytest.raises(RecordError, match="does not match its folder"):
        parse_record(record("drone-1", "custom-html"), "drone-2")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("recipe"), "'recipe' is missing"),
        (lambda d: d.update(recipe="Not A Recipe"), "'recipe'"),
        (lambda d: d.update(recipe="<script>"), "'recipe'"),
        (lambda d: d.update(status="green"), "'status'"),
        (lambda d: d.update(started_at="yesterday"), "'started_at'"),
        (lambda d: d.update(started_at="2026-11-23T12:00:00"), "'started_at'"),
        (lambda d: d.update(duration_s=-1), "'duration_s'"),
        (lambda d: d.update(exit_code=True), "'exit_code'"),
        (lambda d: d.update(stages={}), "'stages'"),
        (lambda d: d["stages"][1].update(status="done"), "'stages[1].status'"),
        (lambda d: d["stages"][0].update(name="Install Stage"), "'stages[0].name'"),
        (lambda d: d["stages"][0]["tests"].update(failed="1"), "'stages[0].tests.failed'"),
        (lambda d: d["stages"][2].update(log="../../etc/passwd"), "'stages[2].log'"),
        (lambda d: d["stages"][0].update(artifacts=["/etc/passwd"]), "'stages[0].artifacts'"),
        (lambda d: d["stages"][0].update(junit="a//b.xml"), "'stages[0].junit'"),
        (lambda d: d["teardown"].update(status="gone"), "'teardown.status'"),
        (lambda d: d["teardown"].update(leftovers="vol"), "'teardown.leftovers'"),
        (lambda d: d.update(source=[]), "'source'"),
        (lambda d: d["source"].update(pr="7"), "'source.pr'"),
        (lambda d: d.update(stages=[stage("install"), stage("install")]), "listed twice"),
    ],
)
def test_a_bad_field_is_refused_with_an_error_that_names_it(change, field):
    data = copy.deepcopy(record("r1", "custom-html"))
    change(data)
    with pytest.raises(RecordError) as e:
        parse_record(data, "r1")
    assert field in str(e.value)


def test_fields_the_runner_may_leave_out_default_sensibly():
    minimal = {
        "schema": 1,
        "run_id": "local-1",
        "recipe": "custom-html",
        "started_at": "2026-11-23T12:00:00Z",
        "status": "running",
        "stages": [{"name": "install", "status": "running"}],
    }
    rec = parse_record(minimal, "local-1")
    assert rec.source.repo is None and rec.trigger is None and rec.teardown is None
    assert rec.stages[0].tests.total == 0 and rec.stages[0].message == ""
    assert rec.deployments == 0 and rec.finished_at is None


def test_times_with_an_offset_are_kept_as_the_same_instant_in_utc():
    rec = parse_record(record("r1", "x", started_at="2026-11-23T14:00:00+02:00"), "r1")
    assert rec.started_at == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "empty"),
        (b'{"schema": 1, "run_id": "r1", "rec', "half-written"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[]", "holds a list"),
        (b'{"schema": "1"}', "'schema'"),
    ],
)
def test_bytes_that_are_not_a_record_say_what_is_wrong(raw, says):
    with pytest.raises(RecordError, match=re.escape(says)):
        decode_record(raw, "r1")


def test_a_damaged_record_still_tells_its_recipe_when_it_names_a_valid_one():
    future = json.dumps(record("r1", "keycloak") | {"schema": 9}).encode()
    assert recipe_hint(future) == "keycloak"
    assert recipe_hint(b'{"recipe": "<script>"}') is None
    assert recipe_hint(b'{"recipe": "keyc') is None
