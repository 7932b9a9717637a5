"""The building blocks of every page: escaping, safe links, marks, times, the layout. Pure.

Every value that reaches HTML goes through `esc` (text and attribute contexts alike, quotes
included). Links to the outside world are made only from http(s) URLs (`safe_url`); links
inside the dashboard are built from percent-encoded path segments (`local`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote, urlsplit

from cc_ci.contract.record import Source

MARK = {
    "passed": "✓",
    "failed": "✗",
    "error": "!",
    "running": "◐",
    "pending": "○",
    "skipped": "–",
    "none": "·",
}

_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL without spaces or control characters."""
    if not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def local(*segments: str) -> str:
    """A path inside the dashboard: `/a/b`, each segment percent-encoded ('/' kept in the last)."""
    *head, last = segments
    return "/" + "/".join([*(quote(s, safe="") for s in head), quote(last, safe="/")])


def link(url: str | None, text: str, *, cls: str = "") -> str:
    """An outbound link when `url` is safe, else the plain (escaped) text."""
    target = safe_url(url)
    if target is None:
        return esc(text)
    attr = f' class="{esc(cls)}"' if cls else ""
    return f'<a href="{esc(target)}" rel="noopener noreferrer nofollow"{attr}>{esc(text)}</a>'


def a(href: str, text: str, *, cls: str = "") -> str:
    """A link inside the dashboard; `href` must come from `local`."""
    attr = f' class="{esc(cls)}"' if cls else ""
    return f'<a href="{esc(href)}"{attr}>{esc(text)}</a>'


# --- forge links ---------------------------------------------------------------------------


def pr_url(source: Source, forge: str | None) -> str | None:
    """The PR's page: the record's own URL when safe, else built from the forge URL (a PR
    lives in the base repository, which a PR from a fork is against)."""
    if safe_url(source.url):
        return source.url
    repo = source.base_repo or source.repo
    if forge and repo and _REPO.fullmatch(repo):
        path = f"/{repo}/pulls/{source.pr}" if source.pr is not None else f"/{repo}"
        return safe_url(forge.rstrip("/") + path)
    return None


def repo_url(source: Source, forge: str | None, *, base: bool = False) -> str | None:
    """The page of the PR head's repository, or with `base` of the recipe's own."""
    repo = source.base_repo if base else source.repo
    if forge and repo and _REPO.fullmatch(repo):
        return safe_url(f"{forge.rstrip('/')}/{repo}")
    return None


def commit_url(source: Source, forge: str | None) -> str | None:
    repo = repo_url(source, forge)
    if repo and source.ref and _SHA.fullmatch(source.ref):
        return f"{repo}/commit/{source.ref}"
    return None


def pr_label(source: Source) -> str:
    repo = source.base_repo or source.repo  # the PR's number is the base repository's
    if repo and source.pr is not None:
        return f"{repo}#{source.pr}"
    if source.pr is not None:
        return f"#{source.pr}"
    return source.repo or "local"


def short_ref(ref: str | None) -> str:
    if not ref:
        return "—"
    return ref[:10] if _SHA.fullmatch(ref) else ref


# --- marks, times --------------------------------------------------------------------------


def mark(status: str | None, what: str) -> str:
    """A one-character mark for a stage, with its meaning for screen readers and hovering."""
    key = status or "none"
    shown = key if status else "did not run"
    return (
        f'<span class="mark s-{esc(key)}" title="{esc(what)}: {esc(shown)}">'
        f'{MARK.get(key, "?")}<span class="vh"> {esc(what)}: {esc(shown)}</span></span>'
    )


def pill(status: str, text: str | None = None) -> str:
    return f'<span class="pill s-{esc(status)}">{esc(text or status)}</span>'


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    s = round(seconds)
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def ago(when: datetime, now: datetime) -> str:
    seconds = (now - when).total_seconds()
    if seconds < -60:
        return "in the future"
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            n = int(seconds // size)
            if unit == "day":
                if n > 30:
                    return when.strftime("%Y-%m-%d")
                return f"{n} day{'s' if n != 1 else ''} ago"
            return f"{n} {unit} ago"
    return "just now"  # pragma: no cover - the loop always returns


def when(moment: datetime | None, now: datetime) -> str:
    """A <time> element: relative text, the exact UTC time on hover."""
    if moment is None:
        return "—"
    exact = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    iso = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'<time datetime="{iso}" title="{exact}">{esc(ago(moment, now))}</time>'


# --- the layout ----------------------------------------------------------------------------


def page(
    title: str, body: str, *, stylesheet: str, crumbs: tuple[tuple[str, str], ...] = ()
) -> str:
    """A whole HTML document. `crumbs` are (href from `local`, text) pairs after "cc-ci"."""
    trail = "".join(f' <span aria-hidden="true">/</span> {a(h, t)}' for h, t in crumbs)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{esc(title)} · cc-ci</title>"
        f'<link rel="stylesheet" href="{esc(stylesheet)}">'
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        "</head><body>"
        f'<header><nav aria-label="breadcrumb"><a href="/" class="home">cc-ci</a>{trail}</nav></header>'
        f"<main>{body}</main>"
        "<footer>cc-ci — continuous integration for Co-op Cloud recipes · "
        '<a href="/api/recipes">JSON</a></footer>'
        "</body></html>\n"
    )
