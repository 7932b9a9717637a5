"""What the bridge writes on the PR and the commit. Pure: a command and what is known about
its build in, markdown and a commit state out.

Everything the comment quotes from a run record (stage messages, policy findings, the
teardown, the repro line, file names) or from a command (unknown stage names, a reason an
option was refused) was shaped by someone else, so it goes through one of three helpers
before it reaches markdown, each masking secrets first (before anything is cut, so the
builders that quote take the `redact` function):
- `text` makes it one inert line: flattened, masked, cut short, direction overrides shown
  as `<U+202E>` and control characters as `\ufffd`, and set in a code span. Inside a code
  span markdown makes no links, HTML or emphasis, and Gitea, which links @-mentions, `#1`,
  `owner/repo#1`, commit hashes and bare URLs in the rendered page, leaves code alone.
- `code` makes the same inert line a fenced code block no content can close (the repro
  line, to copy).
- `path_url` percent-encodes each segment of a run folder's path in a URL the bridge builds
  (the screenshot); a path the masking would change is not linked at all.
Values that can only be one of a few words (known stage names, statuses, error classes) are
written plainly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import quote

from cc_ci.bridge.config import LOGIN
from cc_ci.bridge.flow import progress
from cc_ci.bridge.identity import RecordMismatch
from cc_ci.bridge.state import CommandRow
from cc_ci.contract.names import COMMAND_PARAM, TRIGGER_PARAM, drone_run_id, is_row_name
from cc_ci.contract.record import (
    RunRecord,
    RunStatus,
    StageStatus,
    TeardownStatus,
    TriggerKind,
    failing_name,
)
from cc_ci.contract.record_read import decode_record
from cc_ci.contract.stages import STAGES, row_base

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
_LINKABLE = re.compile(r"^https?://[^\s()<>\[\]`\\\"']+$")

ERROR_CLASSES = {
    "docker": "the Docker daemon did not answer",
    "image": "an image could not be pulled or was not found",
    "converge": "the swarm could not place the app's tasks on any node",
    "health": "the CI's proxy did not answer the health check",
    "teardown": "the teardown left something behind",
    "harness": "cc-ci itself failed",
}
"""What each `error_class` of a run record (docs/run-record.md) means, as the comment says it."""


def marker(comment_id: int) -> str:
    """An invisible tag in the bot's comment, so a retried post can find it again."""
    return f"<!-- cc-ci:command:{comment_id} -->"


def _line(value: object, limit: int, redact: Redact) -> str:
    """Untrusted text as one line: flattened, masked of secrets (before it is cut, so no
    part of a secret survives the cut), direction overrides and control characters shown,
    not obeyed, then cut short."""
    s = redact(" ".join(str(value).split()))
    s = _DIRECTION.sub(lambda m: f"<U+{ord(m.group()):04X}>", s)
    s = _CONTROL.sub("\ufffd", s)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def text(value: object, limit: int = 200, *, redact: Redact, cell: bool = False) -> str:
    """Untrusted text as one inert line of markdown: a code span ("" for nothing). `cell`:
    it goes into a table cell, where a `|` must be escaped even inside code."""
    s = _line(value, limit, redact)
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


def row(name: str, *, redact: Redact, cell: bool = True) -> str:
    """A stage row's name: a known stage plainly, an upgrade row as `upgrade from` and its
    tag in a code span (a tag by the contract's ref rules holds no backtick or `|`), anything
    else quoted."""
    base = row_base(name)
    if base is not None and is_row_name(name) and redact(base) == base:
        return f"upgrade from `{base}`"
    return word(name, STAGES, 40, redact=redact, cell=cell)


def code(value: object, limit: int = 600, *, redact: Redact) -> str:
    """Untrusted text as one line (masked, then cut: `_line`) in a fenced code block:
    markdown, HTML, links and mentions are not read inside it, and the fence is longer than
    any run of backticks in the text, so the text cannot close it."""
    s = _line(value, limit, redact)
    longest = max((len(run) for run in _TICKS.findall(s)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{s}\n{fence}"


def path_url(base: str, relpath: str) -> str:
    """`base` followed by a run folder's relative path, each segment percent-encoded (no
    markdown or HTML character of a file name survives into the URL)."""
    return base + "/" + "/".join(quote(part, safe="") for part in relpath.split("/"))


def linkable(url: str | None) -> bool:
    """True for an absolute http(s) URL with nothing in it that could end a markdown link."""
    return bool(url) and _LINKABLE.fullmatch(url or "") is not None


def build_message(c: CommandRow) -> str:
    """Drone's build message (its `message=` option): what the build is, and the mark a
    retry looks for so that one command never gets two builds. The automatic retry of a
    build (docs/bridge.md, "Retrying once") says so, so that it is never taken for the first."""
    retry = f", retry of build {c.retried_build}" if c.retried_build is not None else ""
    return f"cc-ci {c.recipe}: {c.repo}#{c.pr} by {c.login} (comment {c.comment_id}{retry})"


def drone_params(c: CommandRow) -> dict[str, str]:
    """The build parameters (docs/forge-api.md §4): the recipe's own repository (`REPO`,
    where the release tags come from), the PR head's (`SRC`, a fork maybe), who asked and where (the run
    record's `trigger.by` and `trigger.comment_url`), the command's id (part of the run id,
    the record's `trigger.command`), the upgrade bases asked for, and the build message."""
    assert c.head_sha and c.head_repo
    params = {
        "RECIPE": c.recipe,
        "REPO": c.repo,
        "SRC": c.head_repo,
        "REF": c.head_sha,
        "PR": str(c.pr),
        "STAGES": c.stages,
        "UPGRADE_FROM": c.upgrade_from,
        "CCCI_TRIGGERED_BY": c.login,
        TRIGGER_PARAM: TriggerKind.PR.value,
        COMMAND_PARAM: str(c.comment_id),
        "message": build_message(c),
    }
    if c.comment_url:
        params["CCCI_COMMENT_URL"] = c.comment_url
    return params


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
    failing: tuple[str, ...] = ()
    """The failing tests' ids the record names (`StageResult.failing`)."""
    failed: int = 0
    """How many tests failed or errored in all (the record names at most MAX_FAILING)."""


SHOWN_FAILING = 3
"""Failing tests named in a stage's row at most; the rest are "and N more"."""


def failing_note(s: StageLine, *, redact: Redact) -> str:
    """The failing tests of a stage, for its row: the first few by name, each quoted, then
    how many more there were (the run page lists the ids)."""
    if not s.failing:
        return ""
    shown = [text(failing_name(t), 80, redact=redact, cell=True) for t in s.failing[:SHOWN_FAILING]]
    more = max(s.failed, len(s.failing)) - len(shown)
    return "failing: " + ", ".join(shown) + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What the PR comment shows of a run record (docs/run-record.md)."""

    status: RunStatus
    stages: tuple[StageLine, ...]
    findings: tuple[str, ...]
    teardown: TeardownStatus | None
    error_class: str | None = None
    retryable: bool = False
    repro: str | None = None
    screenshot: str | None = None
    """The app's screenshot: the first PNG a stage kept, relative to the run folder."""
    base_repo: str | None = None
    """The repository the upgrade bases are release tags of (an upgrade row's
    `details.from_repo`), when the record names one."""

    @property
    def error_stage(self) -> StageLine | None:
        """The first stage that ended in an error (the one the run's error is about)."""
        return next((s for s in self.stages if s.status == StageStatus.ERROR), None)


def read_summary(body: bytes, run_id: str) -> RunSummary:
    """The summary of the run record `body` (read from run `run_id`'s folder). Raises
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
    screenshots = [a for s in record.stages for a in s.artifacts if a.lower().endswith(".png")]
    from_repos = [(s.details or {}).get("from_repo") for s in record.stages]
    return RunSummary(
        status=record.status,
        stages=tuple(
            StageLine(
                s.name,
                s.status,
                s.duration_s,
                s.message,
                s.failing,
                s.tests.failed + s.tests.errors,
            )
            for s in record.stages
        ),
        findings=tuple(findings),
        teardown=record.teardown.status if record.teardown else None,
        error_class=record.error_class.value if record.error_class else None,
        retryable=record.retryable,
        repro=record.repro,
        screenshot=screenshots[0] if screenshots else None,
        base_repo=next((r for r in from_repos if isinstance(r, str) and r), None),
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
    stages = ", ".join(c.stages.split(",")) if c.stages else "all stages"
    if c.upgrade_from:  # tags by the contract's ref rules: no backtick can end the span
        stages += ", upgrading from " + ", ".join(f"`{t}`" for t in c.upgrade_from.split(","))
    return stages


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def _links(
    c: CommandRow,
    build_url: str | None,
    run_link: str | None,
    *,
    build: int | None = None,
    asked: bool = True,
) -> str:
    """The run page, the Drone build (number `build`, by default the command's) and, when
    `asked`, the comment that asked."""
    parts = []
    if run_link:
        parts.append(f"[run page]({run_link})")
    if build_url:
        number = build if build is not None else c.build
        parts.append(f"[Drone build{f' #{number}' if number is not None else ''}]({build_url})")
    if asked and linkable(c.comment_url):
        parts.append(f"[the comment that asked]({c.comment_url})")
    return " · ".join(parts)


def _head(c: CommandRow) -> str:
    sha = (c.head_sha or "")[:10]
    at = f" at `{sha}`" if sha else ""
    # The one mention the bot makes on purpose: the commenter, whose login Gitea restricts
    # to LOGIN's characters (anything else would be quoted, not mentioned).
    who = f"@{c.login}" if LOGIN.fullmatch(c.login) else f"`{c.login.replace('`', '')}`"
    return f"`{c.recipe}`{at} ({_stages(c)}), asked for by {who}"


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
    """The bot's comment while the build is asked for, queued or running: what is tested,
    the links there are so far, and how far it is."""
    lines = [marker(c.comment_id), f"⏳ **cc-ci** is testing {_head(c)}.", ""]
    if links := _links(c, build_url, run_link):
        lines += [links, ""]
    if line := progress_line(c):
        lines += [line, ""]
    return "\n".join([*lines, "This comment will be updated with the result."])


def superseded_body(c: CommandRow, word: str, build_url: str | None, redact: Redact) -> str:
    """The report of a command whose PR head moved before its build ended (the new head
    is quoted: it is Gitea's answer, not the bridge's)."""
    # Masked whole, then cut to a short sha, then quoted: no cut can leave part of a secret.
    new = text(redact(c.superseded_by or "")[:10], 12, redact=redact)
    lines = [
        marker(c.comment_id),
        f"⏭️ **cc-ci** stopped testing {_head(c)}: superseded by {new}, pushed meanwhile.",
        "",
    ]
    if links := _links(c, build_url, None):
        lines += [links, ""]
    return "\n".join([*lines, f"Comment `{word}` again to test the new head."])


def no_build_body(c: CommandRow, redact: Redact) -> str:
    return "\n".join(
        [
            marker(c.comment_id),
            f"⚠️ **cc-ci** could not start a build for {_head(c)}.",
            "",
            text(c.reason, 400, redact=redact),
        ]
    )


def _why(error_class: str | None, redact: Redact) -> str:
    """What an error class means in words: the contract's classes plainly, anything else
    (a class a newer harness knows, say) quoted."""
    if not error_class:
        return "an error"
    return ERROR_CLASSES.get(error_class) or text(error_class, 40, redact=redact)


def retrying_body(
    c: CommandRow,
    build_url: str,
    run_link: str | None,
    run: RunSummary | None,
    error_class: str,
    redact: Redact,
    *,
    retry_url: str | None = None,
    retry_run_link: str | None = None,
) -> str:
    """The comment while the automatic retry of an errored build runs: why, and the first
    try (`build_url`, `run_link`; `run` its record, when it can be read). Once `c` is the
    retry's row (its `retried_build` is the first try), it also links the retry
    (`retry_url`, `retry_run_link`) and says how far it is."""
    why = _why(error_class, redact)
    stage = run.error_stage if run is not None else None
    where = ""
    if stage:
        name = row(stage.name, redact=redact, cell=False)
        message = text(stage.message, 200, redact=redact)
        where = f" ({name}: {message})" if message else f" ({name})"
    first = c.retried_build if c.retried_build is not None else c.build
    lines = [
        marker(c.comment_id),
        f"🔁 **cc-ci** is retrying once: {why}{where}. Testing {_head(c)}.",
        "",
        "The first try: " + _links(c, build_url, run_link, build=first),
    ]
    if c.retried_build is not None:
        if retry_url or retry_run_link:
            retry = _links(c, retry_url, retry_run_link, asked=False)
            lines += ["", f"The retry: {retry}"]
        if line := progress_line(c):
            lines += ["", line]
    return "\n".join([*lines, "", "This comment will be updated with the result of the retry."])


def final_body(
    c: CommandRow,
    state: str,
    build_url: str,
    run_link: str | None,
    run: RunSummary | RecordMismatch | None,
    redact: Redact,
    *,
    retried_url: str | None = None,
) -> str:
    """The report: verdict, links, the stage table, the error's class, the screenshot, the
    repro line, the teardown and the policy findings; and whether this was the retry."""
    words = {"success": "passed", "failure": "failed", "error": "ended in an error"}
    lines = [
        marker(c.comment_id),
        f"{ICONS.get(state, '⚠️')} **cc-ci** {words.get(state, state)}: {_head(c)}.",
        "",
        _links(c, build_url, run_link),
    ]
    if c.retried_build is not None:
        why = _why(c.retried_class, redact)
        first = f"[build #{c.retried_build}]({retried_url})" if retried_url else "the first build"
        lines += ["", f"This is the automatic retry: {first} ended in an error ({why})."]
    if isinstance(run, RecordMismatch):
        lines += [
            "",
            f"The run record {text(run.run_id, 80, redact=redact)} is not this command's: its "
            f"`{run.field}` is {text(run.recorded, 80, redact=redact)}, this command's is "
            f"{text(run.expected, 80, redact=redact)}. Drone says "
            f"{text(c.build_status or 'unknown', 40, redact=redact)}.",
        ]
        return "\n".join(lines)
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
            note = " ".join(
                part
                for part in (text(s.message, 160, redact=redact, cell=True),
                             failing_note(s, redact=redact))
                if part
            )  # fmt: skip
            lines.append(
                f"| {row(s.name, redact=redact)} "
                f"| {icon} {word(s.status, ICONS, 20, redact=redact)} "
                f"| {_duration(s.duration_s)} | {note} |"
            )
    if run.base_repo:
        repo = text(run.base_repo, 120, redact=redact)
        lines += ["", f"Upgraded from release tags of {repo}, the recipe's own repository."]
    if run.status == RunStatus.ERROR and run.error_class:
        if run.error_class in ERROR_CLASSES:
            lines += ["", f"Error class: `{run.error_class}`: {ERROR_CLASSES[run.error_class]}."]
        else:
            lines += ["", f"Error class: {text(run.error_class, 20, redact=redact)}."]
    if run.teardown:
        teardown = word(run.teardown, TEARDOWN, 20, redact=redact, cell=False)
        lines += ["", f"Teardown: {teardown}."]
    # A file name the masking would change holds a secret: it is not put in a URL, where
    # percent-encoding would hide it from the masking of the whole comment.
    if run.screenshot and run_link and redact(run.screenshot) == run.screenshot:
        thumb = path_url(f"{run_link}/thumb", run.screenshot)
        full = path_url(run_link, run.screenshot)
        lines += ["", f"[![screenshot of the app]({thumb})]({full})"]
    if run.repro:
        lines += ["", "To run it again by hand:", "", code(run.repro, redact=redact)]
    if run.findings:
        lines += ["", "Policy findings:", ""]
        lines += [f"- {text(f, 300, redact=redact)}" for f in run.findings[:20]]
        if len(run.findings) > 20:
            lines.append(f"- … and {len(run.findings) - 20} more (see the run record)")
    return "\n".join(lines)


def superseded_description(c: CommandRow, redact: Redact) -> str:
    """The commit status's words for a superseded head (plain text, no markdown)."""
    return f"cc-ci: superseded by {_line(redact(c.superseded_by or '')[:10], 12, redact)}"


def status_description(state: str, recipe: str) -> str:
    return {
        "pending": f"cc-ci is testing {recipe}",
        "success": f"cc-ci: {recipe} passed",
        "failure": f"cc-ci: {recipe} failed",
        "error": f"cc-ci: {recipe} could not be tested",
    }.get(state, f"cc-ci: {state}")
