"""The one reader of run records (docs/run-record.md): bytes or decoded JSON in, the types of
`cc_ci.contract.record` out.

Pure: `decode_record` takes the bytes of `<folder>/run.json` and the folder's name,
`parse_record` the decoded JSON. Each returns a `RunRecord` or raises `RecordError` naming
what is wrong, and nothing else, whatever the input: the wrong types, missing fields,
numbers too large to use, nesting too deep to decode, text that is not Unicode. A record is
written by a run of a pull request's code, so nothing in it is trusted. The one piece that
touches the file system is `read_record_file`, the bounded, symlink-refusing read that the
bridge and the dashboard both open a run.json with.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from cc_ci.contract.names import RECIPE_RE, is_row_name, is_safe_relpath
from cc_ci.contract.record import (
    CI,
    SCHEMA,
    Counts,
    ErrorClass,
    PolicyCheck,
    PolicyFinding,
    RunRecord,
    RunStatus,
    Source,
    StageResult,
    StageStatus,
    Teardown,
    TeardownStatus,
    Trigger,
    TriggerKind,
)

MAX_RECORD_BYTES = 4 * 1024 * 1024
"""A run.json larger than this is refused unread: records are a few kilobytes."""

MAX_NUMBER = 2**53
"""The largest whole number a record may hold (JSON's exact integers); counts, exit codes,
build and PR numbers are far below it, and anything above is refused, not computed with."""


class RecordError(ValueError):
    """A run record cannot be read: not JSON, a field missing or of the wrong type."""


@dataclass(frozen=True, slots=True)
class BrokenRecord:
    """A run folder whose run.json cannot be read: shown as one error row, never a crash."""

    run_id: str
    recipe: str | None
    reason: str
    seen_at: datetime
    """The file's modification time: the only time a broken record has."""


def read_record_file(path: Path) -> bytes:
    """The bytes of a run.json, no symlink followed and at most one byte past
    MAX_RECORD_BYTES read (so `decode_record` refuses it without the rest being read).
    Raises OSError (FileNotFoundError when there is none)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        return f.read(MAX_RECORD_BYTES + 1)


def decode_record(raw: bytes, folder: str) -> RunRecord:
    """Parse the bytes of `<folder>/run.json`. Raises RecordError saying what is wrong."""
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(f"run.json is {len(raw)} bytes, more than {MAX_RECORD_BYTES}")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordError(f"run.json is not UTF-8: {e.reason} at byte {e.start}") from e
    return parse_record(_loads(text, raw), folder)


def _loads(text: str, raw: bytes) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        what = (
            "empty"
            if not raw.strip()
            else f"not valid JSON ({e.msg}: line {e.lineno} column {e.colno})"
        )
        raise RecordError(f"run.json is {what}: half-written or damaged") from e
    except RecursionError:
        raise RecordError("run.json is nested too deeply to be a run record") from None
    except ValueError as e:  # a number with more digits than Python converts
        raise RecordError(f"run.json holds a number too long to read ({e})") from None


def recipe_hint(raw: bytes) -> str | None:
    """The recipe a damaged record names, when it names a valid one; else None."""
    if len(raw) > MAX_RECORD_BYTES:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    recipe = data.get("recipe") if isinstance(data, dict) else None
    return recipe if isinstance(recipe, str) and RECIPE_RE.fullmatch(recipe) else None


def parse_record(data: Any, folder: str) -> RunRecord:
    """Validate decoded JSON into a RunRecord. `folder` is the run folder's name."""
    if not isinstance(data, dict):
        raise RecordError(f"run.json holds {_kind(data)}, not an object")
    schema = data.get("schema")
    if type(schema) is not int or not _is_count(abs(schema)):
        raise RecordError(f"field 'schema': expected an integer, got {_show(schema)}")
    if schema > SCHEMA:
        raise RecordError(f"schema {schema} is newer than this cc-ci reads ({SCHEMA})")
    if schema < 1:
        raise RecordError(f"field 'schema': {schema} is not a known schema")
    f = _Fields(data, "")
    run_id = f.text("run_id")
    if run_id != folder:
        raise RecordError(f"field 'run_id': {_show(run_id)} does not match its folder {folder!r}")
    recipe = f.text("recipe")
    if not RECIPE_RE.fullmatch(recipe):
        raise RecordError(f"field 'recipe': {_show(recipe)} is not a recipe name")
    stages = tuple(_stage(item, f"stages[{i}]") for i, item in enumerate(f.list("stages")))
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise RecordError(f"field 'stages': a stage is listed twice ({', '.join(names)})")
    teardown = data.get("teardown")
    status = f.choice("status", RunStatus)
    error_class = None
    if data.get("error_class") is not None:
        error_class = f.choice("error_class", ErrorClass)
        if status is not RunStatus.ERROR:
            raise RecordError(
                f"field 'error_class': {error_class.value!r} on a run with status "
                f"{status.value!r} (only a run with status 'error' has one)"
            )
    return RunRecord(
        run_id=run_id,
        recipe=recipe,
        source=_source(data.get("source")),
        trigger=_trigger(data.get("trigger")),
        ci=_ci(data.get("ci")),
        started_at=f.time("started_at"),
        finished_at=f.time("finished_at", optional=True),
        duration_s=f.seconds("duration_s"),
        status=status,
        exit_code=f.integer("exit_code", optional=True),
        deployments=f.integer("deployments", optional=True) or 0,
        stages=stages,
        teardown=None if teardown is None else _teardown(teardown),
        tools=_tools(data.get("tools")),
        policy=tuple(
            _check(item, f"policy[{i}]") for i, item in enumerate(f.list("policy", optional=True))
        ),
        error_class=error_class,
        retryable=f.boolean("retryable", optional=True),
        repro=f.text("repro", optional=True),
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
        base_repo=f.text("base_repo", optional=True),
    )


def _trigger(data: Any) -> Trigger | None:
    if data is None:
        return None
    f = _Fields(data, "trigger.")
    return Trigger(
        by=f.text("by", optional=True),
        comment_url=f.text("comment_url", optional=True),
        command=f.integer("command", optional=True),
        kind=None if data.get("kind") is None else f.choice("kind", TriggerKind),
    )


def _ci(data: Any) -> CI | None:
    if data is None:
        return None
    f = _Fields(data, "ci.")
    return CI(
        system=f.text("system", optional=True),
        build=f.integer("build", optional=True),
        url=f.text("url", optional=True),
    )


def _stage(data: Any, where: str) -> StageResult:
    f = _Fields(data, f"{where}.")
    name = f.text("name")
    if not is_row_name(name):
        raise RecordError(f"field '{where}.name': {_show(name)} is not a stage name")
    tests = data.get("tests")
    if tests is None:
        counts = Counts()
    else:
        t = _Fields(tests, f"{where}.tests.")
        counts = Counts(
            *(t.integer(k, optional=True) or 0 for k in ("passed", "failed", "errors", "skipped"))
        )
    return StageResult(
        name=name,
        status=f.choice("status", StageStatus),
        duration_s=f.seconds("duration_s"),
        tests=counts,
        message=f.text("message", optional=True) or "",
        log=f.relpath("log"),
        junit=f.relpath("junit"),
        artifacts=f.relpaths("artifacts"),
        details=f.object("details"),
        failing=f.texts("failing"),
    )


def _teardown(data: Any) -> Teardown:
    f = _Fields(data, "teardown.")
    return Teardown(
        status=f.choice("status", TeardownStatus),
        duration_s=f.seconds("duration_s"),
        leftovers=f.texts("leftovers"),
        log=f.relpath("log"),
    )


def _tools(data: Any) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(_is_text(k) and _is_text(v) for k, v in data.items()):
        raise RecordError(f"field 'tools': expected an object of strings, got {_show(data)}")
    return dict(data)


def _check(data: Any, where: str) -> PolicyCheck:
    f = _Fields(data, f"{where}.")
    return PolicyCheck(
        before=f.text("before"),
        refused=f.boolean("refused"),
        findings=tuple(
            _finding(item, f"{where}.findings[{i}]")
            for i, item in enumerate(f.list("findings", optional=True))
        ),
        allowed=tuple(
            _finding(item, f"{where}.allowed[{i}]")
            for i, item in enumerate(f.list("allowed", optional=True))
        ),
    )


def _finding(data: Any, where: str) -> PolicyFinding:
    f = _Fields(data, f"{where}.")
    return PolicyFinding(
        kind=f.text("kind"),
        severity=f.text("severity"),
        file=f.text("file", optional=True) or "",
        service=f.text("service", optional=True),
        key=f.text("key", optional=True) or "",
        detail=f.text("detail", optional=True) or "",
        line=f.text("line", optional=True) or "",
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
        if _is_text(value) and (value or optional):
            return value
        if value is None and optional:
            return None
        raise self._bad(key, "a string" + (" or null" if optional else ""))

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, list) and all(_is_text(v) for v in value):
            return tuple(value)
        raise self._bad(key, "a list of strings")

    def integer(self, key: str, *, optional: bool = False) -> Any:
        value = self.data.get(key)
        if _is_count(value):
            return value
        if value is None and optional:
            return None
        raise self._bad(key, "a whole number ≥ 0" + (" or null" if optional else ""))

    def boolean(self, key: str, *, optional: bool = False) -> bool:
        value = self.data.get(key)
        if type(value) is bool:
            return value
        if value is None and optional:
            return False
        raise self._bad(key, "true or false" + (" or null" if optional else ""))

    def object(self, key: str) -> dict[str, Any] | None:
        value = self.data.get(key)
        if value is None:
            return None
        try:
            plain = isinstance(value, dict) and _is_plain(value)
        except RecursionError:
            plain = False
        if plain:
            return value
        raise self._bad(key, "an object of JSON values or null")

    def seconds(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if _is_count(value) or (type(value) is float and 0 <= value < float("inf")):
            return float(value)
        raise self._bad(key, "seconds ≥ 0 or null")

    def time(self, key: str, *, optional: bool = False) -> Any:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if isinstance(value, str) and len(value) <= 64:
            try:
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is not None:
                    return parsed.astimezone(UTC)
            except (ValueError, OverflowError):  # not a time; or beyond year 1–9999 in UTC
                pass
        raise self._bad(key, "an RFC 3339 time with a zone" + (" or null" if optional else ""))

    def choice(self, key: str, enum: type[StrEnum]) -> Any:
        value = self.data.get(key)
        if isinstance(value, str) and value in {m.value for m in enum}:
            return enum(value)
        raise self._bad(key, "one of " + ", ".join(m.value for m in enum))

    def relpath(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if _is_text(value) and is_safe_relpath(value):
            return value
        raise self._bad(key, "a path inside the run folder or null")

    def list(self, key: str, *, optional: bool = False) -> list[Any]:
        value = self.data.get(key)
        if isinstance(value, list):
            return value
        if value is None and optional:
            return []
        raise self._bad(key, "a list" + (" or null" if optional else ""))

    def relpaths(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, list) and all(_is_text(v) and is_safe_relpath(v) for v in value):
            return tuple(value)
        raise self._bad(key, "a list of paths inside the run folder")


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_NUMBER


def _is_plain(value: Any) -> bool:
    """JSON that can be written out again: text without lone surrogates, usable numbers."""
    if isinstance(value, dict):
        return all(_is_text(k) and _is_plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    if isinstance(value, str):
        return _is_text(value)
    if type(value) is int:
        return abs(value) <= MAX_NUMBER
    if type(value) is float:
        return value == value and abs(value) != float("inf")
    return value is None or type(value) is bool


def _is_text(value: Any) -> bool:
    """A string that can be written out again: no lone surrogates (JSON's `\\ud800`)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _show(value: Any) -> str:
    """A short, plain rendering of a bad value for an error message (escaped by the views)."""
    if value is None:
        return "null"
    if isinstance(value, int) and not _is_count(abs(value)):
        return "a number too large to use"
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # nested too deep, a lone surrogate, …
        return _kind(value)
    return text if len(text) <= 60 else text[:57] + "…"
