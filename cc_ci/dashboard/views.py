"""The overview and recipe pages, rendered from the index's summaries. Pure: data in, HTML out."""

from __future__ import annotations

from datetime import datetime

from cc_ci.contract.record import RunRecord
from cc_ci.contract.record_read import BrokenRecord
from cc_ci.contract.stages import STAGES
from cc_ci.dashboard.badge import NO_BRANCH_RUN
from cc_ci.dashboard.markup import (
    MARK,
    a,
    commit_url,
    duration,
    esc,
    link,
    local,
    mark,
    page,
    pill,
    pr_label,
    pr_url,
    short_ref,
    when,
)
from cc_ci.dashboard.summary import (
    LEVEL_MEANING,
    MAX_LEVEL,
    Counts,
    RecipeSummary,
    Row,
    history,
    shown_run,
)


def stage_marks(run: RunRecord) -> str:
    cells = []
    for name in STAGES:
        status = run.stage_status(name)  # over its rows: the upgrade stage has one per base
        cells.append(
            f'<td class="st" data-label="{esc(name)}">'
            f"{mark(status.value if status else None, name)}</td>"
        )
    return "".join(cells)


def stage_heads() -> str:
    return "".join(f'<th class="st" scope="col">{esc(name)}</th>' for name in STAGES)


BADGE_KINDS = (None, "level", *STAGES)
"""The recipe's badges: the overall one, the level, one per stage."""


def badge_path(recipe: str, what: str | None = None) -> str:
    """`/badge/<recipe>.svg`, or `/badge/<recipe>/<what>.svg` (`level`, a stage, `pr/<n>`)."""
    return (
        local("badge", f"{recipe}.svg") if what is None else local("badge", recipe, f"{what}.svg")
    )


def badge_img(recipe: str, what: str | None = None) -> str:
    src = badge_path(recipe, what)
    alt = f"cc-ci {what + ' ' if what else ''}badge for {recipe}"
    return f'<img class="badge" src="{esc(src)}" alt="{esc(alt)}" height="20" loading="lazy">'


def trigger_cell(run: RunRecord) -> str:
    """Why the run happened: the default branch (on the schedule, or for a new tag), a PR's
    `!testme`, or neither (a run started by hand)."""
    if run.default_branch:
        kind = run.trigger.kind.value if run.trigger and run.trigger.kind else ""
        return f'<span class="kind branch" title="the default branch ({esc(kind)})">default branch</span>'
    if run.source.pr is not None:
        return f'<span class="kind pr">PR #{run.source.pr}</span>'
    return '<span class="kind other">by hand</span>'


def pr_cell(run: RunRecord, forge: str | None) -> str:
    """The PR a run tested, short: "PR #12" (the repository on hover), else the commit."""
    src = run.source
    if src.pr is None:
        return f'<span class="sha">{link(commit_url(src, forge), short_ref(src.ref))}</span>'
    url = pr_url(src, forge)
    text = f"PR #{src.pr}"
    title = esc(pr_label(src))
    if url is None:
        return f'<span title="{title}">{esc(text)}</span>'
    return (
        f'<a href="{esc(url)}" title="{title}" rel="noopener noreferrer nofollow">{esc(text)}</a>'
    )


# --- overview ------------------------------------------------------------------------------


def summary_line(c: Counts) -> str:
    parts = [f"<strong>{c.everything}</strong> of {c.recipes} recipes pass everything"]
    latest = [
        (c.passed, "passed", "passing"),
        (c.failed, "failed", "failing"),
        (c.error, "error", "with errors"),
        (c.running, "running", "running"),
    ]
    shown = [f'<span class="n s-{k}">{n} {text}</span>' for n, k, text in latest if n]
    if c.no_branch_run:
        shown.append(f'<span class="n s-none">{c.no_branch_run} with {NO_BRANCH_RUN}</span>')
    if shown:
        parts.append("default branch: " + ", ".join(shown))
    if c.unreadable:
        parts.append(
            f'<span class="n s-error">{c.unreadable} unreadable run record'
            f"{'s' if c.unreadable != 1 else ''}</span>"
        )
    return '<p class="summary">' + " · ".join(parts) + "</p>"


def overview_page(
    rows: tuple[Row, ...], counts: Counts, now: datetime, *, forge: str | None, stylesheet: str
) -> str:
    if not rows:
        body = (
            "<h1>Recipes</h1>"
            '<p class="empty">No run records yet. Comment <code>!testme</code> on a recipe '
            "pull request, or run <code>cc-ci-run RECIPE</code>.</p>"
        )
        return page("Recipes", body, stylesheet=stylesheet)
    trs = [_overview_row(row, now, forge) for row in rows]
    body = (
        "<h1>Recipes</h1>" + summary_line(counts) + '<table class="runs overview"><thead><tr>'
        '<th scope="col">recipe</th><th scope="col">status</th>'
        + stage_heads()
        + '<th scope="col">ran</th><th scope="col">took</th><th scope="col">tested</th>'
        '<th scope="col">badge</th></tr></thead><tbody>'
        + "".join(trs)
        + "</tbody></table>"
        + f'<p class="legend">{_legend()} · each row is the recipe\'s newest finished '
        "default-branch run; levels 0–4: see a recipe's page</p>"
    )
    return page("Recipes", body, stylesheet=stylesheet)


def _overview_row(row: Row, now: datetime, forge: str | None) -> str:
    if row.broken is not None:
        return _broken_row(row.broken, now, overview=True)
    summary = row.summary
    assert summary is not None
    name = a(local("recipes", summary.recipe), summary.recipe, cls="recipe")
    run = shown_run(summary)
    if run is None:
        latest = summary.latest
        assert latest is not None  # overview_rows lists only recipes with a readable run
        return (
            f'<tr class="a-none"><th scope="row" data-label="recipe">{name}</th>'
            f'<td data-label="status">{pill("none", NO_BRANCH_RUN)}</td>'
            f'<td colspan="{len(STAGES)}" class="reason" data-label="stages">only pull '
            "requests' runs so far: the default branch runs on the bridge's schedule</td>"
            f'<td data-label="ran">{when(latest.started_at, now)}</td>'
            '<td data-label="took">—</td>'
            f'<td data-label="tested" class="pr">{pr_cell(latest, forge)}</td>'
            f'<td data-label="badge">{badge_img(summary.recipe)}</td></tr>'
        )
    return (
        f'<tr class="a-{esc(row.attention)}"><th scope="row" data-label="recipe">{name}</th>'
        f'<td data-label="status">{a(local("runs", run.run_id), run.status.value, cls="pill s-" + run.status.value)}</td>'
        + stage_marks(run)
        + f'<td data-label="ran">{when(run.started_at, now)}</td>'
        f'<td data-label="took">{duration(run.duration_s)}</td>'
        f'<td data-label="tested" class="pr">{pr_cell(run, forge)}</td>'
        f'<td data-label="badge">{badge_img(summary.recipe)}</td></tr>'
    )


def _broken_row(broken: BrokenRecord, now: datetime, *, overview: bool) -> str:
    """An unreadable record: on the overview under its recipe (if it names one), else its run."""
    run_link = a(local("runs", broken.run_id), broken.run_id)
    if overview:
        recipe = a(local("recipes", broken.recipe), broken.recipe) if broken.recipe else "—"
        lead = f'<th scope="row" data-label="recipe">{recipe}</th>'
    else:
        lead = f'<th scope="row" data-label="run">{run_link}</th>'

    reason = f"{run_link}: {esc(broken.reason)}" if overview else esc(broken.reason)
    tail = '<td data-label="tested"></td>' + ('<td data-label="badge"></td>' if overview else "")
    if not overview:
        tail = '<td data-label="for"></td>' + tail
    return (
        f'<tr class="a-error broken">{lead}'
        f'<td data-label="status">{pill("error", "unreadable")}</td>'
        f'<td colspan="{len(STAGES)}" class="reason" data-label="problem">{reason}</td>'
        f'<td data-label="{"ran" if overview else "started"}">{when(broken.seen_at, now)}</td>'
        f'<td data-label="took">—</td>{tail}</tr>'
    )


def _legend() -> str:
    items = [
        ("passed", "passed"),
        ("failed", "failed"),
        ("error", "error"),
        ("running", "running"),
        ("skipped", "skipped"),
        (None, "not run"),
    ]
    return " ".join(
        f'<span class="mark s-{k or "none"}" aria-hidden="true">{MARK[k or "none"]}</span> {esc(t)}'
        for k, t in items
    )


# --- recipe --------------------------------------------------------------------------------


def recipe_page(
    summary: RecipeSummary,
    now: datetime,
    *,
    base: str,
    forge: str | None,
    stylesheet: str,
    base_is_public: bool = True,
) -> str:
    """`base`: the dashboard's URL for the badge snippets (`base_is_public`: the operator's
    public URL, not only the address it listens on)."""
    recipe = summary.recipe
    shown = f"level {summary.level}/{MAX_LEVEL}" if summary.current else "no level yet"
    cls = f"l{summary.level}" if summary.current else "lnone"
    body = (
        f'<h1>{esc(recipe)} <span class="level {cls}">{shown}</span></h1>'
        + _level_section(summary, now, forge)
        + _history_section(summary, now, forge)
        + _badge_section(recipe, base, base_is_public)
    )
    return page(recipe, body, stylesheet=stylesheet, crumbs=((local("recipes", recipe), recipe),))


def _level_section(summary: RecipeSummary, now: datetime, forge: str | None) -> str:
    rules = (
        "Each level needs the ones before it: 1 installs, 2 upgrades keeping its data, 3 backs "
        "up and restores, 4 passes its own tests. Every stage counts from one run: the newest "
        "finished run of the default branch. Pull requests' runs never change it."
    )
    run = summary.current
    if run is None:
        waiting = (
            f" One is under way: {a(local('runs', summary.branch_running.run_id), summary.branch_running.run_id)}."
            if summary.branch_running is not None
            else ""
        )
        return (
            '<section class="level-box"><h2>Level</h2>'
            f"<p><strong>No level yet</strong>: {esc(NO_BRANCH_RUN)} has finished. The bridge "
            f"runs the default branch on its schedule and for each new release tag.{waiting}</p>"
            f"<p>{rules}</p></section>"
        )
    items = []
    for name, result in zip(STAGES, summary.stage_results, strict=True):
        if result is None:
            items.append(f"<li>{mark(None, name)} {esc(name)}: not run</li>")
            continue
        items.append(
            f"<li>{mark(result.status.value, name)} {esc(name)}: {esc(result.status.value)}</li>"
        )
    commit = link(commit_url(run.source, forge), short_ref(run.source.ref))
    return (
        '<section class="level-box"><h2>Level</h2>'
        f"<p><strong>Level {summary.level} of {MAX_LEVEL}</strong>: "
        f"{esc(LEVEL_MEANING[summary.level])}, from {a(local('runs', run.run_id), run.run_id)} "
        f'(commit <span class="sha">{commit}</span>, {when(run.started_at, now)}). {rules}</p>'
        f'<ul class="stages">{"".join(items)}</ul></section>'
    )


def _history_section(summary: RecipeSummary, now: datetime, forge: str | None) -> str:
    rows = []
    for item in history(summary):
        if isinstance(item, BrokenRecord):
            rows.append(_broken_row(item, now, overview=False))
            continue
        rows.append(
            f'<tr class="a-{esc(item.status.value)}">'
            f'<th scope="row" data-label="run">{a(local("runs", item.run_id), item.run_id)}</th>'
            f'<td data-label="status">{pill(item.status.value)}</td>'
            + stage_marks(item)
            + f'<td data-label="started">{when(item.started_at, now)}</td>'
            f'<td data-label="took">{duration(item.duration_s)}</td>'
            f'<td data-label="for">{trigger_cell(item)}</td>'
            f'<td data-label="tested" class="pr">'
            + (f"{pr_cell(item, forge)} " if item.source.pr is not None else "")
            + f'<span class="sha">{link(commit_url(item.source, forge), short_ref(item.source.ref))}'
            "</span></td></tr>"
        )
    return (
        f'<section><h2>Runs <span class="count">{len(rows)}</span></h2>'
        '<table class="runs history"><thead><tr><th scope="col">run</th>'
        '<th scope="col">status</th>'
        + stage_heads()
        + '<th scope="col">started</th><th scope="col">took</th><th scope="col">for</th>'
        '<th scope="col">tested</th>'
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></section>"
    )


def badge_snippets(recipe: str, base: str) -> list[tuple[str | None, str, str]]:
    """(what, Markdown, HTML) for the overall badge, the level and one per stage, with
    absolute URLs (`what` None for the overall one)."""
    page_url = base + local("recipes", recipe)
    out = []
    for what in BADGE_KINDS:
        img = base + badge_path(recipe, what)
        alt = f"cc-ci {what}" if what else "cc-ci"
        out.append(
            (
                what,
                f"[![{alt}]({img})]({page_url})",
                f'<a href="{esc(page_url)}"><img src="{esc(img)}" alt="{esc(alt)}"></a>',
            )
        )
    return out


def _badge_section(recipe: str, base: str, base_is_public: bool) -> str:
    items = []
    for what, markdown, html in badge_snippets(recipe, base):
        title = what or "default branch"
        items.append(
            f"<li><h3>{esc(title)} {badge_img(recipe, what)}</h3>"
            f'<p class="lang">Markdown</p><pre class="snippet"><code>{esc(markdown)}</code></pre>'
            f'<p class="lang">HTML</p><pre class="snippet"><code>{esc(html)}</code></pre></li>'
        )
    return (
        '<section class="badges"><h2>Badges</h2>'
        "<p>Paste one into the recipe's README. The first shows the newest finished run of "
        "the default branch, the second its level, the others one lifecycle stage each of "
        f"that same run; before the default branch has run they say {esc(NO_BRANCH_RUN)}. A "
        "pull request's runs have a badge of their own, "
        f"<code>{esc(base + local('badge', recipe, 'pr') + '/<n>.svg')}</code>, and never "
        "change these.</p>"
        + (
            ""
            if base_is_public
            else f'<p class="note">They name {esc(base)}, the address the dashboard listens '
            "on: its operator has not set its public URL (<code>--public-url</code>).</p>"
        )
        + f'<ul class="snippets">{"".join(items)}</ul></section>'
    )


def not_found_page(what: str, *, stylesheet: str) -> str:
    body = f'<h1>Not found</h1><p>{esc(what)}</p><p><a href="/">All recipes</a></p>'
    return page("Not found", body, stylesheet=stylesheet)
