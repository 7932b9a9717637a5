"""The run record (docs/run-record.md): its types, JUnit counting, and atomic writing."""

from __future__ import annotations

import enum
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = 1


class Status(enum.StrEnum):
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


@dataclass(frozen=True, slots=True)
class Counts:
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


@dataclass(frozen=True, slots=True)
class StageResult:
    name: str
    status: Status = Status.PENDING
    duration_s: float | None = None
    tests: Counts = Counts()
    message: str = ""
    log: str | None = None
    junit: str | None = None
    artifacts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Teardown:
    status: TeardownStatus = TeardownStatus.NOT_NEEDED
    duration_s: float | None = None
    leftovers: tuple[str, ...] = ()
    log: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    repo: str | None
    ref: str | None
    pr: int | None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    recipe: str
    source: Source
    started_at: str
    stages: tuple[StageResult, ...]
    status: Status = Status.RUNNING
    finished_at: str | None = None
    duration_s: float | None = None
    exit_code: int | None = None
    deployments: int = 0
    teardown: Teardown = Teardown()
    trigger: dict | None = None
    ci: dict | None = None
    tools: dict = field(default_factory=dict)

    def with_stage(self, stage: StageResult) -> RunRecord:
        return replace(
            self, stages=tuple(stage if s.name == stage.name else s for s in self.stages)
        )

    def stage(self, name: str) -> StageResult:
        return next(s for s in self.stages if s.name == name)

    def to_json(self) -> dict:
        # Through JSON once: tuples become lists and StrEnums plain strings.
        return json.loads(json.dumps({"schema": SCHEMA, **asdict(self)}))


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def write_atomic(path: Path, data: dict) -> None:
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
