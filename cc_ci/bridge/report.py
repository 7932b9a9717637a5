"""What the bridge writes on the PR and the commit. Pure: a command and what is known about
its build in, markdown and a commit state out.

Everything that comes from a run record (messages, policy findings) was shaped by the PR
under test, so it is flattened to one line, cut short and escaped before it reaches
markdown: no HTML, no table breaks, no @-mentions, no links it did not come with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cc_ci.bridge.flow import progress
from cc_ci.bridge.identity import RecordMismatch
from cc_ci.bridge.state import CommandRow
from cc_ci.contract.names import COMMAND_PARAM, drone_run_id
from cc_ci.contract.record import RunRecord, RunStatus, StageStatus, TeardownStatus
from cc_ci.contract.record_read import decode_record
from cc_ci.contract.stages import STAGES

ICONS = {
    "passed": "✅",
    "success": "✅",
    "failed": "❌",
    "failure": "❌",
    "error": "⚠️",
    "skipped": "⏭️",
    "running": "⏳",
    "pending": "⏳",
}
_UNSAFE = re.compile(r"([\\`*_{}\[\]<>()#+!|~@])")


def marker(comment_id: int) -> str:
    """An invisible tag in the bot's comment, so a retried post can find it again."""
    return f"<!-- cc-ci:command:{comment_id} -->"


def text(value: object, limit: int = 200) -> str:
    """Untrusted text as one line of inert markdown."""
    s = " ".join(str(value).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    # A backslash makes markdown, HTML and link syntax literal text; a word joiner after
    # "@" keeps Gitea from turning a name into a mention.
    return _UNSAFE.sub(r"\\\1", s).replace("\\@", "@\u2060")


def build_message(c: CommandRow) -> str:
    """Drone's build message (its `message=` option): what the build is, and the mark a
    retry looks for so that one command never gets two builds."""
    return f"cc-ci {c.recipe}: {c.repo}#{c.pr} by {c.login} (comment {c.comment_id})"


def drone_params(c: CommandRow) -> dict[str, str]:
    """The build parameters (docs/forge-api.md §4), including who asked (the run record's
    `trigger.by`), the command's id (part of the run id, the record's `trigger.command`) and
    the build message."""
    assert c.head_sha and c.head_repo
    return {
        "RECIPE": c.recipe,
        "SRC": c.head_repo,
        "REF": c.head_sha,
        "PR": str(c.pr),
        "STAGES": c.stages,
        "CCCI_TRIGGERED_BY": c.login,
        COMMAND_PARAM: str(c.comment_id),
        "message": build_message(c),
    }


def run_url(dashboard_url: str | None, build: int | None, command: int) -> str | None:
    if dashboard_url is None or build is None:
        return None
    return f"{dashboard_url}/runs/{drone_run_id(build, command)}"


@dataclass(frozen=True, slots=True)
class StageLine:
    name: str
    status: StageStatus
    duration_s: float | None
    message: str


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What the PR comment shows of a run record (docs/run-record.md)."""

    status: RunStatus
    stages: tuple[StageLine, ...]
    findings: tuple[str, ...]
    teardown: TeardownStatus | None


def read_summary(body: bytes, run_id: str) -> RunSummary:
    """The summary of the run record the dashboard served for run `run_id`. Raises
    `RecordError` (cc_ci.contract.record_read) when the body is not that run's record."""
    return summarize_record(decode_record(body, run_id))


def summarize_record(record: RunRecord) -> RunSummary:
    """The parts of a run record the report shows: each stage, the teardown, and every
    distinct policy finding that counted (not those the operator's allow-list let by)."""
    findings: list[str] = []
    for check in record.policy:
        for f in check.findings:
            where = " ".join(part for part in (f.file, f.service, f.key) if part)
            line = f"{f.severity} {f.kind}: {where}: {f.detail}"
            if line not in findings:
                findings.append(line)
    return RunSummary(
        status=record.status,
        stages=tuple(StageLine(s.name, s.status, s.duration_s, s.message) for s in record.stages),
        findings=tuple(findings),
        teardown=record.teardown.status if record.teardown else None,
    )


def commit_state(build_status: str | None, run: RunSummary | RecordMismatch | None) -> str:
    """The final commit status: the run record's verdict when there is one (it tells a
    failed test from a run that could not be carried out), else Drone's; `error` when the
    record at the run id is another command's."""
    if isinstance(run, RecordMismatch):
        return "error"
    if run is not None and run.status in ("passed", "failed", "error"):
        return {"passed": "success", "failed": "failure", "error": "error"}[run.status]
    return {"success": "success", "failure": "failure"}.get(build_status or "", "error")


def _stages(c: CommandRow) -> str:
    return ", ".join(c.stages.split(",")) if c.stages else "all stages"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def _links(build_url: str | None, run_link: str | None) -> str:
    parts = []
    if build_url:
        parts.append(f"[Drone build]({build_url})")
    if run_link:
        parts.append(f"[run record]({run_link})")
    return " · ".join(parts)


def _head(c: CommandRow) -> str:
    sha = (c.head_sha or "")[:10]
    at = f" at `{sha}`" if sha else ""
    return f"`{c.recipe}`{at} ({_stages(c)}), asked for by @{c.login}"


PROGRESS = {
    "drone-down": "Drone is not answering; cc-ci will start the build when it is back.",
    "starting": "Starting the build.",
    "queued": "Waiting in Drone's queue.",
    "running": "Running.",
}


def progress_line(c: CommandRow) -> str:
    """How far the build is (`flow.progress`), in words."""
    shown = progress(c)
    if shown.startswith("queued-"):
        ahead = int(shown.removeprefix("queued-"))
        if ahead == 0:
            return "Waiting in Drone's queue: place 1, next to run."
        builds = "build" if ahead == 1 else "builds"
        return f"Waiting in Drone's queue: place {ahead + 1}, {ahead} {builds} ahead."
    return PROGRESS.get(shown, "")


def ack_body(c: CommandRow, build_url: str | None, run_link: str | None) -> str:
    lines = [marker(c.comment_id), f"⏳ **cc-ci** is testing {_head(c)}.", ""]
    if build_url or run_link:
        lines += [_links(build_url, run_link), ""]
    if line := progress_line(c):
        lines += [line, ""]
    return "\n".join([*lines, "This comment will be updated with the result."])


def superseded_body(c: CommandRow, word: str, build_url: str | None) -> str:
    new = (c.superseded_by or "")[:10]
    lines = [
        marker(c.comment_id),
        f"⏭️ **cc-ci** stopped testing {_head(c)}: superseded by `{new}`, pushed meanwhile.",
        "",
    ]
    if build_url:
        lines += [_links(build_url, None), ""]
    return "\n".join([*lines, f"Comment `{word}` again to test the new head."])


def rejected_body(c: CommandRow, word: str) -> str:
    unknown = ", ".join(text(s, 40) for s in c.unknown_stages.split(","))
    valid = ", ".join(f"`{s}`" for s in STAGES)
    return "\n".join(
        [
            marker(c.comment_id),
            f"**cc-ci** does not know the stage {unknown}: nothing was started.",
            "",
            f"Valid stages: {valid}. `{word}` alone runs all of them, e.g. `{word} install upgrade`.",
        ]
    )


def no_build_body(c: CommandRow) -> str:
    return "\n".join(
        [
            marker(c.comment_id),
            f"⚠️ **cc-ci** could not start a build for {_head(c)}.",
            "",
            text(c.reason, 400),
        ]
    )


def final_body(
    c: CommandRow,
    state: str,
    build_url: str,
    run_link: str | None,
    run: RunSummary | RecordMismatch | None,
) -> str:
    words = {"success": "passed", "failure": "failed", "error": "ended in an error"}
    lines = [
        marker(c.comment_id),
        f"{ICONS.get(state, '⚠️')} **cc-ci** {words.get(state, state)}: {_head(c)}.",
        "",
        _links(build_url, run_link),
    ]
    if isinstance(run, RecordMismatch):
        lines += [
            "",
            f"The run record {text(run.run_id, 80)} is not this command's: its "
            f"`{run.field}` is {text(run.recorded, 80)}, this command's is "
            f"{text(run.expected, 80)}. Drone says `{text(c.build_status or 'unknown', 40)}`.",
        ]
        return "\n".join(lines)
    if run is None:
        lines += [
            "",
            f"Drone says `{text(c.build_status or 'unknown', 40)}`; no run record was read.",
        ]
        return "\n".join(lines)
    if run.stages:
        lines += ["", "| stage | status | duration | note |", "|---|---|---|---|"]
        for s in run.stages:
            icon = ICONS.get(s.status, "")
            lines.append(
                f"| {text(s.name, 40)} | {icon} {text(s.status, 20)} | {_duration(s.duration_s)} "
                f"| {text(s.message, 160)} |"
            )
    if run.teardown:
        lines += ["", f"Teardown: {text(run.teardown, 20)}."]
    if run.findings:
        lines += ["", "Policy findings:", ""]
        lines += [f"- {text(f, 300)}" for f in run.findings[:20]]
        if len(run.findings) > 20:
            lines.append(f"- … and {len(run.findings) - 20} more (see the run record)")
    return "\n".join(lines)


def superseded_description(c: CommandRow) -> str:
    return f"cc-ci: superseded by {(c.superseded_by or '')[:10]}"


def status_description(state: str, recipe: str) -> str:
    return {
        "pending": f"cc-ci is testing {recipe}",
        "success": f"cc-ci: {recipe} passed",
        "failure": f"cc-ci: {recipe} failed",
        "error": f"cc-ci: {recipe} could not be tested",
    }.get(state, f"cc-ci: {state}")
