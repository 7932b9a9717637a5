"""One run's page: source, trigger, each stage with its log and screenshots, the teardown. Pure.

The shell reads the logs (`cc_ci.dashboard.logs.read_excerpt`) and hands them in by path.
Each log is shown once, where a stage first names it (later stages link to it there), and
the page carries at most `PAGE_LOGS` characters of log in all; past them a log is only
linked, so a record cannot make a page of hundreds of megabytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from cc_ci.contract.record import RunRecord, StageResult, Teardown
from cc_ci.contract.record_read import BrokenRecord
from cc_ci.contract.stages import row_file
from cc_ci.dashboard.logs import PAGE_LOGS, TAIL_LINES, LogExcerpt
from cc_ci.dashboard.markup import (
    a,
    commit_url,
    duration,
    esc,
    link,
    local,
    page,
    pill,
    pr_label,
    pr_url,
    repo_url,
    when,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")


def run_page(
    run: RunRecord,
    logs: Mapping[str, LogExcerpt],
    now: datetime,
    *,
    forge: str | None,
    stylesheet: str,
) -> str:
    shelf = _Shelf(logs)
    stages = "".join(_stage(run.run_id, s, shelf) for s in run.stages)
    body = (
        f'<h1>{esc(run.recipe)} <span class="run-id">{esc(run.run_id)}</span> '
        f"{pill(run.status.value)}</h1>"
        + _facts(run, now, forge)
        + f'<section class="stages"><h2>Stages</h2>{stages or "<p>No stages planned.</p>"}'
        "</section>"
        + _teardown(run.run_id, run.teardown, shelf)
        + _repro(run.repro)
        + f'<p class="raw">Record: {a(local("api", "runs", run.run_id), "run.json (API)")} · '
        f"{a(local('runs', run.run_id, 'run.json'), 'run.json (file)')}</p>"
    )
    crumbs = ((local("recipes", run.recipe), run.recipe), (local("runs", run.run_id), run.run_id))
    return page(f"{run.recipe} {run.run_id}", body, stylesheet=stylesheet, crumbs=crumbs)


def broken_page(broken: BrokenRecord, now: datetime, *, stylesheet: str) -> str:
    recipe = (
        f"<dt>recipe</dt><dd>{a(local('recipes', broken.recipe), broken.recipe)}</dd>"
        if broken.recipe
        else ""
    )
    body = (
        f'<h1>{esc(broken.run_id)} {pill("error", "unreadable")}</h1>'
        "<p>This run's record cannot be read, so the dashboard cannot show the run.</p>"
        f'<dl class="facts"><dt>problem</dt><dd class="reason">{esc(broken.reason)}</dd>'
        f"{recipe}<dt>file changed</dt><dd>{when(broken.seen_at, now)}</dd>"
        f"<dt>file</dt><dd>{a(local('runs', broken.run_id, 'run.json'), 'run.json')}</dd></dl>"
    )
    return page(broken.run_id, body, stylesheet=stylesheet)


def _facts(run: RunRecord, now: datetime, forge: str | None) -> str:
    src = run.source
    rows = [
        ("recipe", a(local("recipes", run.recipe), run.recipe)),
        ("repository", link(repo_url(src, forge), src.repo or "local recipe")),
        *(
            [("base repository", link(repo_url(src, forge, base=True), src.base_repo))]
            if src.base_repo and src.base_repo != src.repo
            else []
        ),
        ("pull request", link(pr_url(src, forge), pr_label(src)) if src.pr is not None else "—"),
        (
            "commit",
            f'<span class="sha">{link(commit_url(src, forge), src.ref)}</span>' if src.ref else "—",
        ),
    ]
    kinds = {
        "schedule": "the default branch, on the schedule",
        "tag": "the default branch, for a new tag",
        "pr": "a pull request's !testme",
    }
    if run.trigger and run.trigger.kind:
        rows.append(("run of", esc(kinds.get(run.trigger.kind.value, run.trigger.kind.value))))
    if run.trigger and run.trigger.by:
        by = esc(run.trigger.by)
        comment = link(run.trigger.comment_url, "the comment") if run.trigger.comment_url else ""
        rows.append(("triggered by", f"{by}{' in ' + comment if comment else ''}"))
    if run.ci:
        build = f"{run.ci.system or 'CI'} build {run.ci.build}" if run.ci.build else run.ci.system
        rows.append(("CI", link(run.ci.url, build or "CI")))
    rows += [
        ("started", when(run.started_at, now)),
        ("finished", when(run.finished_at, now) if run.finished_at else "still running"),
        ("took", duration(run.duration_s)),
        ("exit code", esc(run.exit_code) if run.exit_code is not None else "—"),
        ("deployments", esc(run.deployments)),
    ]
    return '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


class _Shelf:
    """The page's logs: each shown once, where it is first named, within `PAGE_LOGS`."""

    def __init__(self, logs: Mapping[str, LogExcerpt]) -> None:
        self._logs = logs
        self._shown: dict[str, str] = {}
        self._left = PAGE_LOGS

    def show(self, path: str | None) -> str:
        if not path or path not in self._logs:
            return ""
        anchor = self._shown.get(path)
        if anchor is not None:
            return f'<p class="log shared"><a href="#{anchor}">{esc(path)}</a> is shown above.</p>'
        anchor = self._shown[path] = f"log-{len(self._shown) + 1}"
        html, self._left = _log(self._logs[path], anchor, self._left)
        return html


def _stage(run_id: str, stage: StageResult, shelf: _Shelf) -> str:
    t = stage.tests
    counts = (
        f"{t.passed} passed, {t.failed} failed, {t.errors} errors, {t.skipped} skipped"
        if t.total
        else "no tests reported"
    )
    message = f'<p class="message">{esc(stage.message)}</p>' if stage.message else ""
    files = [a(local("runs", run_id, stage.log), f"raw {stage.log}")] if stage.log else []
    if stage.junit:
        files.append(a(local("runs", run_id, stage.junit), "JUnit XML"))
    others = [p for p in stage.artifacts if not p.lower().endswith(IMAGE_SUFFIXES)]
    files += [a(local("runs", run_id, p), p) for p in others]
    shots = [p for p in stage.artifacts if p.lower().endswith(IMAGE_SUFFIXES)]
    return (
        f'<article class="stage s-{esc(stage.status.value)}" id="stage-{esc(row_file(stage.name))}">'
        f"<h3>{esc(stage.name)} {pill(stage.status.value)}</h3>"
        f'<p class="meta">{duration(stage.duration_s)} · {counts}</p>'
        + message
        + _failing(stage)
        + upgrade_facts(stage.details)
        + shelf.show(stage.log)
        + (f'<p class="files">{" · ".join(files)}</p>' if files else "")
        + _screenshots(run_id, shots)
        + "</article>"
    )


def _failing(stage: StageResult) -> str:
    """The failing tests by id (the record keeps at most MAX_FAILING; the counts say how many
    there were)."""
    if not stage.failing:
        return ""
    items = "".join(f"<li><code>{esc(t)}</code></li>" for t in stage.failing)
    more = stage.tests.failed + stage.tests.errors - len(stage.failing)
    tail = f'<p class="meta">and {more} more in the JUnit XML</p>' if more > 0 else ""
    return f'<div class="failing"><p>Failing tests:</p><ul>{items}</ul>{tail}</div>'


def _repro(line: str | None) -> str:
    """The command that makes the run again (the record's `repro`), to copy."""
    if not line:
        return ""
    return (
        '<section class="repro"><h2>Run it again</h2>'
        "<p>On a machine set up by <code>scripts/bootstrap</code>:</p>"
        f"<pre><code>{esc(line)}</code></pre></section>"
    )


MAX_LISTED = 40
"""Services, changes and problems listed per upgrade stage at most (a record may hold more)."""


def _side(value: object) -> str:
    return "(none)" if value is None else esc(value)


def upgrade_facts(details: object) -> str:
    """The upgrade stage's record (docs/run-record.md): the release and repository it
    upgraded from, and each service's changes `from → to`. Nothing for other details."""
    if not isinstance(details, dict) or "from" not in details:
        return ""
    repo = details.get("from_repo")
    to = details.get("to")
    head = f"Upgraded from <b>{esc(details['from'])}</b>" + (f" of {esc(repo)}" if repo else "")
    commit = details.get("from_commit")
    head += f' at <span class="sha">{esc(commit[:12])}</span>' if isinstance(commit, str) else ""
    head += f' to <span class="sha">{esc(str(to)[:12])}</span>' if to else ""
    rows: list[str] = []
    services = details.get("services")
    for svc in services[:MAX_LISTED] if isinstance(services, list) else ():
        if not isinstance(svc, dict):
            continue
        changes = [c for c in svc.get("changes") or [] if isinstance(c, dict)]
        listed = [
            f"{esc(' '.join(str(c.get(k) or '') for k in ('kind', 'name')).strip())}: "
            f"{_side(c.get('from'))} → {_side(c.get('to'))}"
            for c in changes[:MAX_LISTED]
        ]
        rows.append(
            f"<li>{esc(svc.get('service', '?'))}: " + ("; ".join(listed) or "unchanged") + "</li>"
        )
    for key in ("mismatches", "stale_tasks"):
        items = details.get(key)
        for line in items[:MAX_LISTED] if isinstance(items, list) else ():
            rows.append(f'<li class="reason">not as asked: {esc(line)}</li>')
    listing = f'<ul class="changes">{"".join(rows)}</ul>' if rows else ""
    return f'<p class="upgrade">{head}</p>{listing}'


def _log(log: LogExcerpt, anchor: str, left: int) -> tuple[str, int]:
    """The log's block, and how much room the page has left for logs after it."""
    at = f'id="{anchor}"'
    if not log.found:
        return f'<p class="log missing" {at}>{esc(log.path)} is missing.</p>', left
    if not log.tail:
        return f'<p class="log" {at}>{esc(log.path)} is empty.</p>', left
    tail = esc(log.tail)
    if len(tail) > left:
        full = f"{PAGE_LOGS // (1024 * 1024)} MiB"
        note = f"{esc(log.path)} is not shown here: this page already shows {full} of logs."
        return f'<p class="log note" {at}>{note}</p>', left
    left -= len(tail)
    if not log.folded:
        return f'<div class="log" {at}><pre>{tail}</pre></div>', left
    size = f"{log.size / 1024:.1f} KiB"
    whole = esc(log.whole) if log.whole is not None else None
    if whole is not None and len(whole) <= left:
        left -= len(whole)
        fold = (
            f"<details><summary>Whole log ({log.lines} lines, {size})</summary>"
            f"<pre>{whole}</pre></details>"
        )
    elif whole is not None:
        fold = f'<p class="note">The whole log ({size}) would make this page too large.</p>'
    else:
        fold = f'<p class="note">The whole log ({size}) is too large to show here.</p>'
    whole_read = log.whole is not None
    head = f"Last {TAIL_LINES} of {log.lines} lines" if whole_read else f"Last {TAIL_LINES} lines"
    return (
        f'<div class="log" {at}><p class="tail-head">{head}</p><pre>{tail}</pre>{fold}</div>',
        left,
    )


def _screenshots(run_id: str, paths: list[str]) -> str:
    if not paths:
        return ""
    figures = "".join(
        f'<figure><a href="{esc(local("runs", run_id, p))}">'
        f'<img src="{esc(local("runs", run_id, p))}" alt="screenshot {esc(p)}" loading="lazy"></a>'
        f"<figcaption>{esc(p)}</figcaption></figure>"
        for p in paths
    )
    return f'<div class="shots">{figures}</div>'


def _teardown(run_id: str, teardown: Teardown | None, shelf: _Shelf) -> str:
    if teardown is None:
        return '<section class="teardown"><h2>Teardown</h2><p>Not yet.</p></section>'
    status = {"clean": "passed", "leftover": "error", "not-needed": "skipped"}[teardown.status]
    leftovers = (
        '<p>Left behind:</p><ul class="leftovers">'
        + "".join(f"<li><code>{esc(x)}</code></li>" for x in teardown.leftovers)
        + "</ul>"
        if teardown.leftovers
        else ""
    )
    log = shelf.show(teardown.log)
    if teardown.log:
        log += (
            f'<p class="files">{a(local("runs", run_id, teardown.log), "raw " + teardown.log)}</p>'
        )
    return (
        '<section class="teardown"><h2>Teardown '
        f"{pill(status, teardown.status.value)}</h2>"
        f'<p class="meta">{duration(teardown.duration_s)}</p>{leftovers}{log}</section>'
    )
