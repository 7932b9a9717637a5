"""The run record (docs/run-record.md, schema 1): its types, its one writer, JUnit counting.

The harness builds a `RunRecord` and writes it with `write_record`; every reader (the
dashboard, the bridge) gets the same types back from `cc_ci.contract.record_read`, so what
one side writes is what the other sees.
"""

from __future__ import annotations

import enum
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cc_ci.contract.stages import row_stage

SCHEMA = 1
"""The schema written, and the newest one read (a reader refuses records with a higher one)."""

RECORD_FILE = "run.json"
"""The record's name inside its run folder."""


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"  # a test or a gate failed: exit 1
    ERROR = "error"  # the run could not be carried out: exit 2


class StageStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


class TeardownStatus(enum.StrEnum):
    CLEAN = "clean"
    LEFTOVER = "leftover"
    NOT_NEEDED = "not-needed"


class ErrorClass(enum.StrEnum):
    """What kind of trouble kept a run with status `error` from being carried out."""

    DOCKER = "docker"  # the Docker daemon or the swarm did not answer or refused
    IMAGE = "image"  # an image could not be pulled or was not found
    CONVERGE = "converge"  # the swarm could place no task of a service (no suitable node)
    HEALTH = "health"  # the proxy never answered the health check (connection refused)
    TEARDOWN = "teardown"  # something the run deployed was left behind
    HARNESS = "harness"  # cc-ci itself failed (an abra call, pytest, the sandbox, a bug)


RETRYABLE = frozenset({ErrorClass.DOCKER, ErrorClass.IMAGE})
"""The error classes one automatic retry is worth: the machine's passing trouble, not the
recipe's (the bridge retries these once; the harness sets `retryable` from it)."""


FINISHED_STAGE = frozenset({StageStatus.PASSED, StageStatus.FAILED, StageStatus.ERROR})
"""Stage results that say something about the recipe (the stage was carried out)."""


@dataclass(frozen=True, slots=True)
class Counts:
    """A stage's tests, from its JUnit XML."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.passed + other.passed,
            self.failed + other.failed,
            self.errors + other.errors,
            self.skipped + other.skipped,
        )

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped


@dataclass(frozen=True, slots=True)
class StageResult:
    name: str
    status: StageStatus = StageStatus.PENDING
    duration_s: float | None = None
    tests: Counts = Counts()
    message: str = ""
    log: str | None = None
    junit: str | None = None
    artifacts: tuple[str, ...] = ()
    details: dict[str, Any] | None = None
    """Stage-specific facts, e.g. for upgrade `{"from": "1.1.0+1.1", "from_repo": …}`."""
    failing: tuple[str, ...] = ()
    """The ids of the stage's tests that failed or errored, from its JUnit XML, in the order
    pytest ran them, at most MAX_FAILING (`tests` counts them all)."""


@dataclass(frozen=True, slots=True)
class Teardown:
    status: TeardownStatus = TeardownStatus.NOT_NEEDED
    duration_s: float | None = None
    leftovers: tuple[str, ...] = ()
    log: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    repo: str | None
    """The PR head repository, owner/name (`SRC`)."""
    ref: str | None
    pr: int | None
    url: str | None = None
    base_repo: str | None = None
    """The recipe's own repository, owner/name (`REPO`): the one the PR is against, where
    release tags and the upgrade base come from."""


class TriggerKind(enum.StrEnum):
    """Why the bridge started the run (`CCCI_TRIGGER`)."""

    PR = "pr"  # a `!testme` on a pull request
    SCHEDULE = "schedule"  # the recipe's default branch, on the bridge's schedule
    TAG = "tag"  # the recipe's default branch, when a new release tag appeared


DEFAULT_BRANCH_KINDS = frozenset({TriggerKind.SCHEDULE, TriggerKind.TAG})
"""The kinds of a default-branch run: what the README badge and the level are made of."""


@dataclass(frozen=True, slots=True)
class Trigger:
    by: str | None
    comment_url: str | None = None
    command: int | None = None
    """The id of the command (the PR comment) the run is for (`CCCI_COMMAND`)."""
    kind: TriggerKind | None = None
    """Why the run was started; None in a record from before the field, or not by the bridge."""


@dataclass(frozen=True, slots=True)
class CI:
    system: str | None
    build: int | None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyFinding:
    """One finding of the compose policy gate (docs/policy.md), as the record keeps it."""

    kind: str
    severity: str
    file: str
    service: str | None
    key: str
    detail: str
    line: str = ""
    """The gate's own one-line rendering."""


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    """One run of the gate, before a deployment."""

    before: str
    """What was about to be deployed, e.g. `fresh deployment`."""
    refused: bool
    findings: tuple[PolicyFinding, ...] = ()
    allowed: tuple[PolicyFinding, ...] = ()
    """Findings the operator's allow-list let through."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    recipe: str
    source: Source
    started_at: datetime
    stages: tuple[StageResult, ...]
    status: RunStatus = RunStatus.RUNNING
    finished_at: datetime | None = None
    duration_s: float | None = None
    exit_code: int | None = None
    deployments: int = 0
    teardown: Teardown | None = Teardown()
    """None only in a record that does not say (the harness always writes one)."""
    trigger: Trigger | None = None
    ci: CI | None = None
    tools: dict[str, str] = field(default_factory=dict)
    policy: tuple[PolicyCheck, ...] = ()
    error_class: ErrorClass | None = None
    """For status `error`: what kept the run from being carried out (None otherwise)."""
    retryable: bool = False
    """Whether one automatic retry of the run is worth it (docker, image)."""
    repro: str | None = None
    """The exact `cc-ci-run …` command that reruns this run."""

    def with_stage(self, stage: StageResult) -> RunRecord:
        return replace(
            self, stages=tuple(stage if s.name == stage.name else s for s in self.stages)
        )

    @property
    def default_branch(self) -> bool:
        """True for a run of the recipe's default branch the bridge started (`trigger.kind`
        `schedule` or `tag`, no PR): what the README badge and the level are made of."""
        kind = self.trigger.kind if self.trigger else None
        return kind in DEFAULT_BRANCH_KINDS and self.source.pr is None

    def stage(self, name: str) -> StageResult | None:
        """The planned stage called `name`, or None when this run did not plan it."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        return None

    def rows(self, stage: str) -> tuple[StageResult, ...]:
        """The rows of stage `stage`: its own, or one per run of it (the upgrade stage's
        `upgrade from <tag>` rows, contract/stages.py), in the record's order."""
        return tuple(s for s in self.stages if row_stage(s.name) == stage)

    def stage_status(self, stage: str) -> StageStatus | None:
        """The status of stage `stage` over all its rows (`combined_status`), or None when
        this run did not plan it."""
        return combined_status(self.rows(stage))

    def to_json(self) -> dict[str, Any]:
        """The record as docs/run-record.md lays it out, ready for `json.dump`."""
        return {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "recipe": self.recipe,
            "source": {
                "repo": self.source.repo,
                "base_repo": self.source.base_repo,
                "ref": self.source.ref,
                "pr": self.source.pr,
                "url": self.source.url,
            },
            "trigger": None
            if self.trigger is None
            else {
                "by": self.trigger.by,
                "comment_url": self.trigger.comment_url,
                "command": self.trigger.command,
                "kind": None if self.trigger.kind is None else str(self.trigger.kind),
            },
            "ci": None
            if self.ci is None
            else {"system": self.ci.system, "build": self.ci.build, "url": self.ci.url},
            "started_at": format_time(self.started_at),
            "finished_at": None if self.finished_at is None else format_time(self.finished_at),
            "duration_s": self.duration_s,
            "status": str(self.status),
            "exit_code": self.exit_code,
            "deployments": self.deployments,
            "stages": [_stage_json(s) for s in self.stages],
            "teardown": None if self.teardown is None else _teardown_json(self.teardown),
            "tools": dict(self.tools),
            "policy": [_check_json(c) for c in self.policy],
            "error_class": None if self.error_class is None else str(self.error_class),
            "retryable": self.retryable,
            "repro": self.repro,
        }


_WORST_FIRST = (
    StageStatus.ERROR,
    StageStatus.FAILED,
    StageStatus.RUNNING,
    StageStatus.PENDING,
    StageStatus.PASSED,
)


def combined_status(rows: tuple[StageResult, ...]) -> StageStatus | None:
    """One stage's status over its rows: the worst of them (error, failed, running,
    pending, passed, in that order); skipped only when every row was skipped; None for no
    rows. A stage upgraded from two releases passes only when both upgrades passed."""
    statuses = {r.status for r in rows}
    if not statuses:
        return None
    return next((s for s in _WORST_FIRST if s in statuses), StageStatus.SKIPPED)


def _stage_json(s: StageResult) -> dict[str, Any]:
    return {
        "name": str(s.name),
        "status": str(s.status),
        "duration_s": s.duration_s,
        "tests": {
            "passed": s.tests.passed,
            "failed": s.tests.failed,
            "errors": s.tests.errors,
            "skipped": s.tests.skipped,
        },
        "message": s.message,
        "log": s.log,
        "junit": s.junit,
        "artifacts": list(s.artifacts),
        "details": None if s.details is None else dict(s.details),
        "failing": list(s.failing),
    }


def _teardown_json(t: Teardown) -> dict[str, Any]:
    return {
        "status": str(t.status),
        "duration_s": t.duration_s,
        "leftovers": list(t.leftovers),
        "log": t.log,
    }


def _finding_json(f: PolicyFinding) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "severity": f.severity,
        "file": f.file,
        "service": f.service,
        "key": f.key,
        "detail": f.detail,
        "line": f.line,
    }


def _check_json(c: PolicyCheck) -> dict[str, Any]:
    return {
        "before": c.before,
        "refused": c.refused,
        "findings": [_finding_json(f) for f in c.findings],
        "allowed": [_finding_json(f) for f in c.allowed],
    }


def utc_now() -> datetime:
    """Now, to the second: what a record's times hold."""
    return datetime.now(UTC).replace(microsecond=0)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC to the second, e.g. `2026-11-23T12:00:00Z`."""
    if moment.tzinfo is None:
        raise ValueError(f"a run record's times carry a zone: {moment!r} has none")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def junit_counts(path: Path) -> Counts:
    """Count results in a pytest JUnit XML file; a missing or unreadable file counts nothing."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return Counts()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = Counts()
    for s in suites:
        try:  # recipe-shipped tests write their own XML: a bad number counts nothing
            tests, fail, err, skip = (
                max(int(s.get(k, "0")), 0) for k in ("tests", "failures", "errors", "skipped")
            )
        except ValueError:
            return Counts()
        total = total + Counts(max(tests - fail - err - skip, 0), fail, err, skip)
    return total


MAX_FAILING = 50
"""The most failing test ids a stage keeps (the JUnit file has them all)."""


def junit_failing(path: Path | None, limit: int = MAX_FAILING) -> tuple[str, ...]:
    """The ids of the tests that failed or errored in a pytest JUnit XML file, in its order:
    `<classname>::<name>` as pytest writes them (`tests.test_recipe_local::test_x`), or the
    name alone when there is no classname; each once, at most `limit`. A missing or
    unreadable file names none."""
    if path is None:
        return ()
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return ()
    found: list[str] = []
    for case in root.iter("testcase"):
        if case.find("failure") is None and case.find("error") is None:
            continue
        name, cls = case.get("name") or "?", case.get("classname") or ""
        test_id = f"{cls}::{name}" if cls else name
        if test_id not in found:
            found.append(test_id)
        if len(found) >= limit:
            break
    return tuple(found)


def failing_name(test_id: str) -> str:
    """A failing test's name without its module (`test_x[param]`): what a short list shows."""
    return test_id.rsplit("::", 1)[-1]


def write_record(
    run_dir: Path,
    record: RunRecord,
    *,
    timings: Mapping[str, Any] | None = None,
    redact: Callable[[str], str] | None = None,
) -> Path:
    """Write `<run_dir>/run.json` atomically; returns its path. `timings` are for the
    benchmarks (docs/run-record.md): written as given, read by no part of cc-ci. `redact`
    (the run's Redactor) masks every string of the record, keys too, before it is written."""
    data = record.to_json()
    if timings is not None:
        data["timings"] = dict(timings)
    if redact is not None:
        data = _masked(data, redact)
    path = run_dir / RECORD_FILE
    write_atomic(path, data)
    return path


def _masked(node: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(node, str):
        return redact(node)
    if isinstance(node, dict):
        return {redact(str(k)): _masked(v, redact) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_masked(v, redact) for v in node]
    return node


def write_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON so that a reader sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".run.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
