"""Reading run records: the documented format reads, everything else is refused by name, and
no input whatever makes the reader raise anything but RecordError."""

from __future__ import annotations

import copy
import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cc_ci.contract.record import (
    ErrorClass,
    PolicyCheck,
    PolicyFinding,
    RunRecord,
    RunStatus,
    StageStatus,
    TeardownStatus,
)
from cc_ci.contract.record_read import (
    MAX_NUMBER,
    MAX_RECORD_BYTES,
    RecordError,
    decode_record,
    parse_record,
    recipe_hint,
)
from cc_ci.contract.tests.samples import finished_run

DOC = Path(__file__).resolve().parents[3] / "docs" / "run-record.md"
FINDING = PolicyFinding(
    "bind-mount", "error", "compose.yml", "app", "volumes[0]", "bind mount of /srv", "…"
)


def documented_example() -> dict:
    block = re.search(r"## Example\s+```json\n(.*?)```", DOC.read_text(), re.S)
    assert block, "docs/run-record.md has no JSON example"
    return json.loads(block.group(1))


def written(**changes: Any) -> dict[str, Any]:
    """A record as the writer writes it, with one policy check, as decoded JSON."""
    check = PolicyCheck("fresh deployment", False, (), (FINDING,))
    return finished_run("r1", policy=(check,), **changes).to_json()


def test_the_example_in_the_run_record_doc_reads_into_a_record():
    rec = parse_record(documented_example(), "drone-42-c1007")
    assert rec.recipe == "custom-html"
    assert rec.status is RunStatus.PASSED
    assert rec.source.pr == 7 and rec.source.repo == "alice/custom-html"
    assert rec.source.base_repo == "recipe-maintainers/custom-html"
    assert rec.trigger is not None and (rec.trigger.by, rec.trigger.command) == ("alice", 1007)
    assert rec.ci is not None and rec.ci.build == 42
    install, upgrade = rec.stages
    assert upgrade.name == "upgrade from 1.1.0+1.1" and rec.stage_status("upgrade") == "passed"
    assert upgrade.details is not None and upgrade.details["from"] == "1.1.0+1.1"
    assert rec.repro is not None and "--upgrade-from 1.1.0+1.1" in rec.repro
    assert install.status is StageStatus.PASSED
    assert install.tests.passed == 3 and install.tests.total == 3
    assert install.artifacts == ("screenshots/install-front.png",)
    assert rec.teardown is not None and rec.teardown.status is TeardownStatus.CLEAN
    assert rec.started_at == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_what_the_writer_writes_reads_back_as_the_same_record():
    run = finished_run("r1", policy=(PolicyCheck("fresh deployment", True, (FINDING,)),))
    assert parse_record(run.to_json(), "r1") == run


def test_a_record_with_a_newer_schema_is_refused_naming_both_numbers():
    data = written()
    data["schema"] = 2
    with pytest.raises(RecordError, match=r"schema 2 is newer than this cc-ci reads \(1\)"):
        parse_record(data, "r1")


def test_a_record_whose_run_id_differs_from_its_folder_is_refused():
    with pytest.raises(RecordError, match="does not match its folder"):
        parse_record(written(), "drone-2")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("recipe"), "'recipe' is missing"),
        (lambda d: d.update(recipe="Not A Recipe"), "'recipe'"),
        (lambda d: d.update(recipe="<script>"), "'recipe'"),
        (lambda d: d.update(status="green"), "'status'"),
        (lambda d: d.update(status="skipped"), "'status'"),  # a stage's status, not a run's
        (lambda d: d.update(started_at="yesterday"), "'started_at'"),
        (lambda d: d.update(started_at="2026-11-23T12:00:00"), "'started_at'"),
        (lambda d: d.update(started_at="0001-01-01T00:00:00+01:00"), "'started_at'"),
        (lambda d: d.update(finished_at="9999-12-31T23:59:59-23:59"), "'finished_at'"),
        (lambda d: d.update(duration_s=-1), "'duration_s'"),
        (lambda d: d.update(duration_s=10**400), "'duration_s'"),
        (lambda d: d.update(duration_s=float("nan")), "'duration_s'"),
        (lambda d: d.update(exit_code=True), "'exit_code'"),
        (lambda d: d.update(exit_code=MAX_NUMBER + 1), "'exit_code'"),
        (lambda d: d.update(deployments=-2), "'deployments'"),
        (lambda d: d.update(stages={}), "'stages'"),
        (lambda d: d["stages"][1].update(status="done"), "'stages[1].status'"),
        (lambda d: d["stages"][1].update(status=["passed"]), "'stages[1].status'"),
        (lambda d: d["stages"][0].update(name="Install Stage"), "'stages[0].name'"),
        (lambda d: d["stages"][0].update(name="upgrade from ../x"), "'stages[0].name'"),
        (lambda d: d["stages"][0].update(name="upgrade from "), "'stages[0].name'"),
        (lambda d: d["stages"][0].update(name="upgrade from a b"), "'stages[0].name'"),
        (lambda d: d["stages"][0].update(name="install from 1.0.0"), "'stages[0].name'"),
        (lambda d: d["stages"][0]["tests"].update(failed="1"), "'stages[0].tests.failed'"),
        (lambda d: d["stages"][0]["tests"].update(passed=10**5000), "'stages[0].tests.passed'"),
        (lambda d: d["stages"][0].update(message="\ud800"), "'stages[0].message'"),
        (lambda d: d["stages"][2].update(log="../../etc/passwd"), "'stages[2].log'"),
        (lambda d: d["stages"][0].update(artifacts=["/etc/passwd"]), "'stages[0].artifacts'"),
        (lambda d: d["stages"][0].update(junit="a//b.xml"), "'stages[0].junit'"),
        (lambda d: d["stages"].append("junk"), "'stages[4]'"),
        (lambda d: d["teardown"].update(status="gone"), "'teardown.status'"),
        (lambda d: d["teardown"].update(leftovers="vol"), "'teardown.leftovers'"),
        (lambda d: d["teardown"].update(leftovers=0), "'teardown.leftovers'"),
        (lambda d: d.update(teardown=[]), "'teardown'"),
        (lambda d: d.update(source=[]), "'source'"),
        (lambda d: d["source"].update(pr="7"), "'source.pr'"),
        (lambda d: d.update(ci={"build": -1}), "'ci.build'"),
        (lambda d: d.update(trigger={"by": 7}), "'trigger.by'"),
        (lambda d: d["trigger"].update(command="1007"), "'trigger.command'"),
        (lambda d: d["trigger"].update(command=-1), "'trigger.command'"),
        (lambda d: d["trigger"].update(kind="nightly"), "'trigger.kind'"),
        (lambda d: d["trigger"].update(kind=["pr"]), "'trigger.kind'"),
        (lambda d: d["source"].update(base_repo=["o/r"]), "'source.base_repo'"),
        (lambda d: d.update(tools={"abra": 13}), "'tools'"),
        (lambda d: d.update(tools=["abra"]), "'tools'"),
        (lambda d: d.update(policy={}), "'policy'"),
        (lambda d: d["policy"][0].update(refused="no"), "'policy[0].refused'"),
        (lambda d: d["policy"][0].pop("before"), "'policy[0].before' is missing"),
        (lambda d: d["policy"][0]["allowed"][0].pop("kind"), "'policy[0].allowed[0].kind'"),
        (lambda d: d["policy"][0]["allowed"][0].update(service=[]), "allowed[0].service'"),
        (lambda d: d.update(stages=[d["stages"][0], d["stages"][0]]), "listed twice"),
        (lambda d: d.update(status="error", error_class="network"), "'error_class'"),
        (lambda d: d.update(error_class="docker"), "on a run with status 'passed'"),
        (lambda d: d.update(retryable="yes"), "'retryable'"),
        (lambda d: d.update(repro=["cc-ci-run"]), "'repro'"),
        (lambda d: d["source"].update(base_repo=7), "'source.base_repo'"),
        (lambda d: d["stages"][1].update(details=["from"]), "'stages[1].details'"),
        (lambda d: d["stages"][1].update(details={"from": "\ud800"}), "'stages[1].details'"),
    ],
)
def test_a_bad_field_is_refused_with_an_error_that_names_it(change, field):
    data = copy.deepcopy(written())
    change(data)
    with pytest.raises(RecordError) as e:
        parse_record(data, "r1")
    assert field in str(e.value)
    assert len(str(e.value)) < 300


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
    assert rec.source.base_repo is None
    older = parse_record(
        {**minimal, "trigger": {"by": "alice"}, "source": {"repo": "a/b"}}, "local-1"
    )
    assert older.trigger is not None and older.trigger.command is None
    assert older.source.base_repo is None
    assert rec.stages[0].tests.total == 0 and rec.stages[0].message == ""
    assert rec.deployments == 0 and rec.finished_at is None
    assert rec.tools == {} and rec.policy == ()
    assert rec.error_class is None and rec.retryable is False and rec.repro is None
    assert rec.source.base_repo is None and rec.stages[0].details is None


def test_an_error_carries_its_class_its_retry_hint_its_repro_line_and_stage_details():
    details = {"from": "1.1.0+1.1", "from_repo": "recipe-maintainers/custom-html", "n": [1]}
    data = written(status="error", error_class=ErrorClass.DOCKER, retryable=True)
    data["repro"] = "cc-ci-run custom-html --ref 9f2c1e0"
    data["source"]["base_repo"] = "recipe-maintainers/custom-html"
    data["stages"][1]["details"] = details
    rec = parse_record(data, "r1")
    assert rec.error_class is ErrorClass.DOCKER and rec.retryable is True
    assert rec.repro == "cc-ci-run custom-html --ref 9f2c1e0"
    assert rec.source.base_repo == "recipe-maintainers/custom-html"
    assert rec.stages[1].details == details
    assert rec.to_json() == data


def test_times_with_an_offset_are_kept_as_the_same_instant_in_utc():
    data = written(started_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    data["started_at"] = "2026-11-23T14:00:00+02:00"
    rec = parse_record(data, "r1")
    assert rec.started_at == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "empty"),
        (b'{"schema": 1, "run_id": "r1", "rec', "half-written"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[]", "holds a list"),
        (b'{"schema": "1"}', "'schema'"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"schema": 1' + b"0" * 5000 + b"}", "a number too long"),
        (b'{"schema": 1' + b"0" * 400 + b"}", "'schema': expected an integer, got a number too"),
        (b" " * (MAX_RECORD_BYTES + 1), "more than"),
    ],
)
def test_bytes_that_are_not_a_record_say_what_is_wrong(raw, says):
    with pytest.raises(RecordError, match=re.escape(says)):
        decode_record(raw, "r1")


def test_a_damaged_record_still_tells_its_recipe_when_it_names_a_valid_one():
    future = json.dumps(written(recipe="keycloak") | {"schema": 9}).encode()
    assert recipe_hint(future) == "keycloak"
    assert recipe_hint(b'{"recipe": "<script>"}') is None
    assert recipe_hint(b'{"recipe": "keyc') is None
    assert recipe_hint(b"[" * 100_000) is None
    assert recipe_hint(b'{"recipe": "x", "n": 1' + b"0" * 5000 + b"}") is None


ODD_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1.5,
    float("inf"),
    float("nan"),
    10**400,
    10**5000,
    "",
    "x",
    "\ud800",
    "../x",
    "x" * 10_000,
    [],
    ["x"],
    [None],
    {},
    {"x": 1},
    [[[[[[[[[[]]]]]]]]]],
    {"a": {"b": {"c": {"d": {}}}}},
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a decoded JSON value: dict keys and list indexes, nested."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*prefix, i))
    return out


def put(data: Any, where: tuple, value: Any) -> Any:
    if not where:
        return value
    data = copy.deepcopy(data)
    target = data
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    return data


def test_any_odd_value_anywhere_reads_or_is_refused_never_crashes():
    base = written()
    outcomes = {"read": 0, "refused": 0}
    for where in paths(base):
        for value in ODD_VALUES:
            try:
                got = parse_record(put(base, where, value), "r1")
            except RecordError as e:
                assert str(e), where
                outcomes["refused"] += 1
            else:
                assert isinstance(got, RunRecord)
                outcomes["read"] += 1
    assert outcomes["read"] and outcomes["refused"]


def test_any_cut_or_damaged_file_reads_or_is_refused_never_crashes():
    raw = json.dumps(written(), indent=1).encode()
    rng = random.Random(12)
    samples = [raw[:n] for n in range(0, len(raw), 7)]
    for _ in range(300):
        damaged = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        samples.append(bytes(damaged))
    read = 0
    for sample in samples:
        try:
            decode_record(sample, "r1")
        except RecordError as e:
            assert str(e)
        else:
            read += 1
    assert 0 < read < len(samples)  # some damage lands in a value the reader accepts


def test_the_upgrade_stage_has_a_row_per_base_and_one_status_over_them():
    data = written()
    data["stages"][1:2] = [
        {**data["stages"][1], "name": "upgrade from 1.1.0+1.1", "status": "passed"},
        {**data["stages"][1], "name": "upgrade from 1.0.0+1.0", "status": "failed"},
    ]
    rec = parse_record(data, "r1")
    rows = rec.rows("upgrade")
    assert [r.name for r in rows] == ["upgrade from 1.1.0+1.1", "upgrade from 1.0.0+1.0"]
    assert rec.stage("upgrade") is None  # a row is looked up by its own name
    assert rec.stage_status("upgrade") is StageStatus.FAILED
    assert rec.stage_status("install") is rec.stage("install").status
    data["stages"][2]["status"] = "passed"
    assert parse_record(data, "r1").stage_status("upgrade") is StageStatus.PASSED
    data["stages"][1:3] = []
    assert parse_record(data, "r1").stage_status("upgrade") is None
