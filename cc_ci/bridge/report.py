"""What the bridge writes on the PR and the commit. Pure: a command and what is known about
its build in, markdown and a commit state out.

Everything the comment quotes from a run record (stage messages, policy findings, the
teardown) or from a command (unknown stage names) was shaped by someone else, so `text`
makes it one inert line: flattened, masked of secrets (before it is cut, so the builders
that quote take the `redact` function), cut short, direction overrides shown as `<U+202E>`
and control characters as `\ufffd`, and set in a code span. Inside a code span markdown
makes no links, HTML or emphasis, and Gitea, which links @-mentions, `#1`, `owner/repo#1`,
commit hashes and bare URLs in the rendered page, leaves code alone. Values that can only
be one of a few words (known stage names and statuses) are written plainly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from cc_ci.bridge.config import LOGIN
from cc_ci.bridge.state import CommandRow
from cc_ci.contract.names import drone_run_id
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
TEARDOWN = ("clean", "leftover", "not-needed")
Redact = Callable[[str], str]
_DIRECTION = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Bidirectional marks, embeddings, overrides and isolates: they can make text read in
another order than it is written ("Trojan Source")."""
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_TICKS = re.compile("`+")


def marker(comment_id: int) -> str:
    """An invisible tag in the bot's comment, so a retried post can find it again."""
    return f"<!-- cc-ci:command:{comment_id} -->"


def text(value: object, limit: int = 200, *, redact: Redact, cell: bool = False) -> str:
    """Untrusted text as one inert line of markdown: a code span ("" for nothing). `cell`:
    it goes into a table cell, where a `|` must be escaped even inside code."""
    s = redact(" ".join(str(value).split()))
    s = _DIRECTION.sub(lambda m: f"<U+{ord(m.group()):04X}>", s)
    s = _CONTROL.sub("\ufffd", s)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    if not s:
        return ""
    if cell:
        s = s.replace("|", "\\|")
    # The fence is one backtick longer than any run inside; a space keeps a backtick at
    # either end off the fence (CommonMark strips one space from each end).
    fence = "`" * (max((len(t) for t in _TICKS.findall(s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def word(
    value: str, known: Collection[str], limit: int, *, redact: Redact, cell: bool = True
) -> str:
    """A value that should be one of a few words: plain when it is, quoted when not."""
    return value if value in known else text(value, limit, redact=redact, cell=cell)


def build_message(c: CommandRow) -> str:
    """Drone's build message (its `message=` option): what the build is, and the mark a
    retry looks for so that one command never gets two builds."""
    return f"cc-ci {c.recipe}: {c.repo}#{c.pr} by {c.login} (comment {c.comment_id})"


def drone_params(c: CommandRow) -> dict[str, str]:
    """The build parameters (docs/forge-api.md §4), including who asked (the run record's
    `trigger.by`) and the build message."""
    assert c.head_sha and c.head_repo
    return {
        "RECIPE": c.recipe,
        "SRC": c.head_repo,
        "REF": c.head_sha,
        "PR": str(c.pr),
        "STAGES": c.stages,
        "CCCI_TRIGGERED_BY": c.login,
        "message": build_message(c),
    }


def run_url(dashboard_url: str | None, build: int | None) -> str | None:
    if dashboard_url is None or build is None:
        return None
    return f"{dashboard_url}/runs/{drone_run_id(build)}"


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


def read_summary(body: bytes, build: int) -> RunSummary:
    """The summary of the run record the dashboard served for Drone build `build`. Raises
    `RecordError` (cc_ci.contract.record_read) when the body is not that build's record."""
    return summarize_record(decode_record(body, drone_run_id(build)))


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


def commit_state(build_status: str | None, run: RunSummary | None) -> str:
    """The final commit status: the run record's verdict when there is one (it tells a
    failed test from a run that could not be carried out), else Drone's."""
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
    # The one mention the bot makes on purpose: the commenter, whose login Gitea restricts
    # to LOGIN's characters (anything else would be quoted, not mentioned).
    who = f"@{c.login}" if LOGIN.fullmatch(c.login) else f"`{c.login.replace('`', '')}`"
    return f"`{c.recipe}`{at} ({_stages(c)}), asked for by {who}"


def ack_body(c: CommandRow, build_url: str, run_link: str | None) -> str:
    return "\n".join(
        [
            marker(c.comment_id),
            f"⏳ **cc-ci** is testing {_head(c)}.",
            "",
            _links(build_url, run_link),
            "",
            "This comment will be updated with the result.",
        ]
    )


def rejected_body(c: CommandRow, word: str, redact: Redact) -> str:
    unknown = ", ".join(text(s, 40, redact=redact) for s in c.unknown_stages.split(","))
    valid = ", ".join(f"`{s}`" for s in STAGES)
    return "\n".join(
        [
            marker(c.comment_id),
            f"**cc-ci** does not know the stage {unknown}: nothing was started.",
            "",
            f"Valid stages: {valid}. `{word}` alone runs all of them, e.g. `{word} install upgrade`.",
        ]
    )


def no_build_body(c: CommandRow, redact: Redact) -> str:
    return "\n".join(
        [
            marker(c.comment_id),
            f"⚠️ **cc-ci** could not start a build for {_head(c)}.",
            "",
            text(c.reason, 400, redact=redact),
        ]
    )


def final_body(
    c: CommandRow,
    state: str,
    build_url: str,
    run_link: str | None,
    run: RunSummary | None,
    redact: Redact,
) -> str:
    words = {"success": "passed", "failure": "failed", "error": "ended in an error"}
    lines = [
        marker(c.comment_id),
        f"{ICONS.get(state, '⚠️')} **cc-ci** {words.get(state, state)}: {_head(c)}.",
        "",
        _links(build_url, run_link),
    ]
    if run is None:
        lines += [
            "",
            f"Drone says {text(c.build_status or 'unknown', 40, redact=redact)}; "
            "no run record was read.",
        ]
        return "\n".join(lines)
    if run.stages:
        lines += ["", "| stage | status | duration | note |", "|---|---|---|---|"]
        for s in run.stages:
            icon = ICONS.get(s.status, "")
            lines.append(
                f"| {word(s.name, STAGES, 40, redact=redact)} "
                f"| {icon} {word(s.status, ICONS, 20, redact=redact)} "
                f"| {_duration(s.duration_s)} | {text(s.message, 160, redact=redact, cell=True)} |"
            )
    if run.teardown:
        teardown = word(run.teardown, TEARDOWN, 20, redact=redact, cell=False)
        lines += ["", f"Teardown: {teardown}."]
    if run.findings:
        lines += ["", "Policy findings:", ""]
        lines += [f"- {text(f, 300, redact=redact)}" for f in run.findings[:20]]
        if len(run.findings) > 20:
            lines.append(f"- … and {len(run.findings) - 20} more (see the run record)")
    return "\n".join(lines)


def status_description(state: str, recipe: str) -> str:
    return {
        "pending": f"cc-ci is testing {recipe}",
        "success": f"cc-ci: {recipe} passed",
        "failure": f"cc-ci: {recipe} failed",
        "error": f"cc-ci: {recipe} could not be tested",
    }.get(state, f"cc-ci: {state}")
