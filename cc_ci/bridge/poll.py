"""The poll path's decisions and the listing of one repository's new comments.

Gitea filters the repo-wide comment list by `updated_at >= since`, whole seconds, inclusive
(docs/forge-api.md §2.1). The cursor is the newest `updated_at` of the last complete
listing, kept per repository in the state file, and each request asks from `OVERLAP`
seconds before it: comments at the cursor's own second, and one whose row was committed a
moment after a newer one was listed, are listed again rather than lost. Ids already seen
are skipped, and a comment is new only if it was created at or after the floor
`max(baseline, since - OVERLAP)`: an old comment that shows up again because it was edited
is not a command. A new one that was edited before it was listed is not one either
(`cc_ci.bridge.flow.classify` looks at `updated_at` too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cc_ci.bridge.gitea import PAGE_LIMIT, Comment, Gitea

OVERLAP = 5
"""Seconds each listing reaches back before the cursor."""
MAX_PAGES = 20
"""Pages read in one cycle at the most; the rest are read by the next cycle."""


@dataclass(frozen=True, slots=True)
class Listing:
    comments: tuple[Comment, ...]
    complete: bool
    """Every page was read and the list did not change under the reading (X-Total-Count
    stayed the same): the cursor may move past it."""
    requests: int
    truncated: bool = False
    """MAX_PAGES were read and there is more: the rest was created after what was read."""


def floor(baseline: int, since: int) -> int:
    """Comments created before this are never new."""
    return max(baseline, since - OVERLAP)


def query_since(since: int) -> datetime:
    return datetime.fromtimestamp(since - OVERLAP, UTC)


def is_new(comment: Comment, baseline: int, since: int) -> bool:
    """Created at or after the floor (the caller checks the seen ids)."""
    return comment.created_at.timestamp() >= floor(baseline, since)


def next_since(since: int, listing: Listing) -> int:
    """The cursor after a listing: the newest updated_at in it, when it was complete. When
    it stopped at MAX_PAGES, the newest created_at read: the list is in creation order, so
    everything unread was created (and updated) at or after that."""
    if not listing.comments:
        return since
    if listing.complete:
        return max(since, max(int(c.updated_at.timestamp()) for c in listing.comments))
    if listing.truncated:
        return max(since, max(int(c.created_at.timestamp()) for c in listing.comments))
    return since


def list_comments(gitea: Gitea, repo: str, since: int, limit: int = PAGE_LIMIT) -> Listing:
    """The comments updated since the cursor (minus the overlap): one request when they fit
    on a page, more pages when there are more."""
    found: dict[int, Comment] = {}
    first_total: int | None = None
    stable = True
    for page in range(1, MAX_PAGES + 1):
        items, total = gitea.repo_comments(repo, query_since(since), page, limit)
        for c in items:
            found[c.id] = c
        if page == 1:
            first_total = total
        elif total != first_total:
            stable = False
        if not items:
            break
        more = total > len(found) if total is not None else len(items) >= limit
        if not more:
            break
    else:
        return Listing(tuple(found.values()), False, MAX_PAGES, truncated=stable)
    return Listing(tuple(found.values()), stable, page)
