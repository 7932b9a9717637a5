"""Is this Drone build, this run record, the command's own? Pure.

A run id is `drone-<build>-c<command>` (cc_ci/contract/names.py), so a reset of Drone's build
numbers cannot hand the bridge another command's record by its path alone; still, the
report shows a record only when what it says it tested is what the command asked for, and a
build is watched only while Drone's answer for its number is the build the bridge created.
"""

from __future__ import annotations

from dataclasses import dataclass

from cc_ci.bridge.drone import Build
from cc_ci.bridge.state import CommandRow
from cc_ci.contract.names import COMMAND_PARAM, JOB_PARAM
from cc_ci.contract.record import RunRecord


@dataclass(frozen=True, slots=True)
class RecordMismatch:
    """The run record at the command's run id says it tested something else."""

    run_id: str
    field: str
    """The record's field that disagrees, e.g. `source.ref`."""
    recorded: object
    expected: object


def is_build_of(build: Build, command_id: int, message: str) -> bool:
    """True when Drone's build carries this command's marks: its build `message`
    (`report.build_message`: it names the command and, for the automatic retry, the build it
    retries, so that the first try is never taken for the retry) and, when it has one (a
    build created before the parameter existed has not), the command id parameter. After a
    reset of Drone, the same number may be another command's build."""
    command = build.params.get(COMMAND_PARAM)
    if command and command != str(command_id):
        return False
    return message in (build.message, build.params.get("message"))


def is_job_build(build: Build, job_id: int, message: str) -> bool:
    """True when Drone's build is default-branch job `job_id`'s: its job id parameter and
    its message (`branch.job_message`). After a reset of Drone, the same number may be
    another build."""
    return build.params.get(JOB_PARAM) == str(job_id) and message in (
        build.message,
        build.params.get("message"),
    )


def record_mismatch(record: RunRecord, c: CommandRow) -> RecordMismatch | None:
    """The first field of the record that is not what the command asked for, or None.

    Compared: the recipe, the PR head repository, the base repository (when the record
    names one: a harness before `source.base_repo` leaves it null), the head commit, the PR
    number and the command id."""
    trigger = record.trigger
    checks: tuple[tuple[str, object, object], ...] = (
        ("recipe", record.recipe, c.recipe),
        ("source.repo", record.source.repo, c.head_repo),
        ("source.base_repo", record.source.base_repo or c.repo, c.repo),
        ("source.ref", record.source.ref, c.head_sha),
        ("source.pr", record.source.pr, c.pr),
        ("trigger.command", trigger.command if trigger else None, c.comment_id),
    )
    for name, recorded, expected in checks:
        if recorded != expected:
            shown = record.source.base_repo if name == "source.base_repo" else recorded
            return RecordMismatch(record.run_id, name, shown, expected)
    return None
