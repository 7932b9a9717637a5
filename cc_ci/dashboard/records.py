"""Run records (docs/run-record.md, schema 1): parsed once at the edge into frozen dataclasses.

Pure: `parse_record` takes the decoded JSON and the name of the folder it came from, and
either returns a `RunRecord` or raises `RecordError` naming the bad field. Nothing here
touches the file system; `cc_ci.dashboard.index` reads the files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cc_ci.dashboard.paths import is_safe_relpath

SCHEMA = 1
"""The run record schema this dashboard reads. Records with a higher number are refused."""

LIFECYCLE = ("install", "upgrade", "backup", "recipe-local")
"""The lifecycle stages, in the order the runner plans them and the levels count them."""

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
RECIPE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
STAGE_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")

MAX_RECORD_BYTES = 4 * 1024 * 1024
"""A run.json larger than this is refused unread: records are a few kilobytes."""


class RecordError(ValueError):
    """A run record cannot be read: not JSON, a field missing or of the wrong type."""


class RunStatus(StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


class StageStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


class TeardownStatus(StrEnum):
    CLEAN = "clean"
    LEFTOVER = "leftover"
    NOT_NEEDED = "not-needed"


FINISHED_STAGE = frozenset({StageStatus.PASSED, StageStatus.FAILED, StageStatus.ERROR})
"""Stage results that say something about the recipe (the stage was carried out)."""


@dataclass(frozen=True, slots=True)
class Source:
    repo: str | None
    ref: str | None
    pr: int | None
    url: str | None


@dataclass(frozen=True, slots=True)
class Trigger:
    by: str | None
    comment_url: str | None


@dataclass(frozen=True, slots=True)
class CI:
    system: str | None
    build: int | None
    url: str | None


@dataclass(frozen=True, slots=True)
class TestCounts:
    __test__ = False  # not a pytest test class

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    status: StageStatus
    duration_s: float | None
    tests: TestCounts
    message: str
    log: str | None
    junit: str | None
    artifacts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Teardown:
    status: TeardownStatus
    duration_s: float | None
    leftovers: tuple[str, ...]
    log: str | None


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    recipe: str
    source: Source
    trigger: Trigger | None
    ci: CI | None
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    status: RunStatus
    exit_code: int | None
    deployments: int
    stages: tuple[Stage, ...]
    teardown: Teardown | None

    def stage(self, name: str) -> Stage | None:
        """The planned stage called `name`, or None when this run did not plan it."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        return None


@dataclass(frozen=True, slots=True)
class BrokenRecord:
    """A run folder whose run.json cannot be read: shown as one error row, never a crash."""

    run_id: str
    recipe: str | None
    reason: str
    seen_at: datetime
    """The file's modification time: the only time a broken record has."""


# --- reading -------------------------------------------------------------------------------


def decode_record(raw: bytes, folder: str) -> RunRecord:
    """Parse the bytes of `<folder>/run.json`. Raises RecordError saying what is wrong."""
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(f"run.json is {len(raw)} bytes, more than {MAX_RECORD_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordError(f"run.json is not UTF-8: {e.reason} at byte {e.start}") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        what = (
            "empty"
            if not raw.strip()
            else f"not valid JSON ({e.msg}: line {e.lineno} column {e.colno})"
        )
        raise RecordError(f"run.json is {what}: half-written or damaged") from e
    return parse_record(data, folder)


def recipe_hint(raw: bytes) -> str | None:
    """The recipe a damaged record names, when it names a valid one; else None."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    recipe = data.get("recipe") if isinstance(data, dict) else None
    return recipe if isinstance(recipe, str) and RECIPE.fullmatch(recipe) else None


def parse_record(data: Any, folder: str) -> RunRecord:
    """Validate decoded JSON into a RunRecord. `folder` is the run folder's name."""
    if not isinstance(data, dict):
        raise RecordError(f"run.json holds {_kind(data)}, not an object")
    schema = data.get("schema")
    if type(schema) is not int:
        raise RecordError(f"field 'schema': expected an integer, got {_show(schema)}")
    if schema > SCHEMA:
        raise RecordError(f"schema {schema} is newer than this dashboard reads ({SCHEMA})")
    if schema < 1:
        raise RecordError(f"field 'schema': {schema} is not a known schema")
    f = _Fields(data, "")
    run_id = f.text("run_id")
    if run_id != folder:
        raise RecordError(f"field 'run_id': {run_id!r} does not match its folder {folder!r}")
    recipe = f.text("recipe")
    if not RECIPE.fullmatch(recipe):
        raise RecordError(f"field 'recipe': {recipe!r} is not a recipe name")
    stages = tuple(_stage(item, f"stages[{i}]") for i, item in enumerate(f.list("stages")))
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise RecordError(f"field 'stages': a stage is listed twice ({', '.join(names)})")
    teardown_data = data.get("teardown")
    return RunRecord(
        run_id=run_id,
        recipe=recipe,
        source=_source(data.get("source")),
        trigger=_trigger(data.get("trigger")),
        ci=_ci(data.get("ci")),
        started_at=f.time("started_at"),
        finished_at=f.time("finished_at", optional=True),
        duration_s=f.seconds("duration_s"),
        status=f.choice("status", RunStatus),
        exit_code=f.integer("exit_code", optional=True),
        deployments=f.integer("deployments", optional=True) or 0,
        stages=stages,
        teardown=None if teardown_data is None else _teardown(teardown_data),
    )


def _source(data: Any) -> Source:
    if data is None:
        return Source(None, None, None, None)
    f = _Fields(data, "source.")
    return Source(
        repo=f.text("repo", optional=True),
        ref=f.text("ref", optional=True),
        pr=f.integer("pr", optional=True),
        url=f.text("url", optional=True),
    )


def _trigger(data: Any) -> Trigger | None:
    if data is None:
        return None
    f = _Fields(data, "trigger.")
    return Trigger(by=f.text("by", optional=True), comment_url=f.text("comment_url", optional=True))


def _ci(data: Any) -> CI | None:
    if data is None:
        return None
    f = _Fields(data, "ci.")
    return CI(
        system=f.text("system", optional=True),
        build=f.integer("build", optional=True),
        url=f.text("url", optional=True),
    )


def _stage(data: Any, where: str) -> Stage:
    f = _Fields(data, f"{where}.")
    name = f.text("name")
    if not STAGE_NAME.fullmatch(name):
        raise RecordError(f"field '{where}.name': {name!r} is not a stage name")
    tests = data.get("tests")
    if tests is None:
        counts = TestCounts()
    else:
        t = _Fields(tests, f"{where}.tests.")
        counts = TestCounts(
            *(t.integer(k, optional=True) or 0 for k in ("passed", "failed", "errors", "skipped"))
        )
    return Stage(
        name=name,
        status=f.choice("status", StageStatus),
        duration_s=f.seconds("duration_s"),
        tests=counts,
        message=f.text("message", optional=True) or "",
        log=f.relpath("log"),
        junit=f.relpath("junit"),
        artifacts=f.relpaths("artifacts"),
    )


def _teardown(data: Any) -> Teardown:
    f = _Fields(data, "teardown.")
    leftovers = data.get("leftovers") or []
    if not isinstance(leftovers, list) or not all(isinstance(x, str) for x in leftovers):
        raise RecordError("field 'teardown.leftovers': expected a list of strings")
    return Teardown(
        status=f.choice("status", TeardownStatus),
        duration_s=f.seconds("duration_s"),
        leftovers=tuple(leftovers),
        log=f.relpath("log"),
    )


class _Fields:
    """Typed access to one JSON object's fields, with errors that name the field."""

    __slots__ = ("data", "prefix")

    def __init__(self, data: Any, prefix: str) -> None:
        if not isinstance(data, dict):
            raise RecordError(
                f"field '{prefix.rstrip('.')}': expected an object, got {_kind(data)}"
            )
        self.data = data
        self.prefix = prefix

    def _bad(self, key: str, expected: str) -> RecordError:
        if key not in self.data:
            return RecordError(f"field '{self.prefix}{key}' is missing: expected {expected}")
        return RecordError(
            f"field '{self.prefix}{key}': expected {expected}, got {_show(self.data[key])}"
        )

    def text(self, key: str, *, optional: bool = False) -> Any:
        value = self.data.get(key)
        if isinstance(value, str) and (value or optional):
            return value
        if value is None and optional:
            return None
        raise self._bad(key, "a string" + (" or null" if optional else ""))

    def integer(self, key: str, *, optional: bool = False) -> Any:
        value = self.data.get(key)
        if type(value) is int and value >= 0:
            return value
        if value is None and optional:
            return None
        raise self._bad(key, "a whole number ≥ 0" + (" or null" if optional else ""))

    def seconds(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if type(value) in (int, float) and 0 <= value < float("inf"):
            return float(value)
        raise self._bad(key, "seconds ≥ 0 or null")

    def time(self, key: str, *, optional: bool = False) -> Any:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
        raise self._bad(key, "an RFC 3339 time with a zone" + (" or null" if optional else ""))

    def choice(self, key: str, enum: type[StrEnum]) -> Any:
        value = self.data.get(key)
        try:
            return enum(value)
        except ValueError:
            raise self._bad(key, "one of " + ", ".join(m.value for m in enum)) from None

    def relpath(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str) and is_safe_relpath(value):
            return value
        raise self._bad(key, "a path inside the run folder or null")

    def list(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if isinstance(value, list):
            return value
        raise self._bad(key, "a list")

    def relpaths(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, list) and all(
            isinstance(v, str) and is_safe_relpath(v) for v in value
        ):
            return tuple(value)
        raise self._bad(key, "a list of paths inside the run folder")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _show(value: Any) -> str:
    """A short, plain rendering of a bad value for an error message (escaped by the views)."""
    if value is None:
        return "null"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"
