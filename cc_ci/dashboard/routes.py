"""Which page a request target asks for. Pure: a string in, a `Route` out.

The path is percent-decoded once, then split; every part is checked before it names a
recipe, a run or a file, so an encoded `..` is refused the same as a plain one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, unquote, urlsplit

from cc_ci.contract.names import RECIPE_RE, RUN_ID_RE, is_safe_relpath


class Page(StrEnum):
    OVERVIEW = "overview"
    RECIPE = "recipe"
    RUN = "run"
    ARTIFACT = "artifact"
    THUMBNAIL = "thumbnail"
    BADGE = "badge"
    API_RECIPES = "api-recipes"
    API_RECIPE = "api-recipe"
    API_RUN = "api-run"
    HEALTH = "health"
    STYLE = "style"
    FAVICON = "favicon"
    NOT_FOUND = "not-found"


@dataclass(frozen=True, slots=True)
class Route:
    page: Page
    name: str | None = None
    """The recipe or run id the route names."""
    path: str | None = None
    """For an artifact or a thumbnail: the file's path relative to the run folder."""
    stage: str | None = None
    """For a badge: the stage asked for (`/badge/<recipe>/<stage>.svg` or `?stage=`)."""
    pr: int | None = None
    """For a badge: the pull request asked for (`/badge/<recipe>/pr/<n>.svg`)."""
    level: bool = False
    """For a badge: the level badge (`/badge/<recipe>/level.svg`)."""


NOT_FOUND = Route(Page.NOT_FOUND)
PR_SVG = re.compile(r"[1-9][0-9]{0,17}\.svg")


def route(target: str) -> Route:
    try:
        parts = urlsplit(target)
        path = unquote(parts.path, errors="strict")
    except (ValueError, UnicodeDecodeError):
        return NOT_FOUND
    if not path.startswith("/") or "\x00" in path:
        return NOT_FOUND
    segments = path[1:].split("/")
    match segments:
        case [""]:
            return Route(Page.OVERVIEW)
        case ["healthz"]:
            return Route(Page.HEALTH)
        case ["static", "style.css"]:
            return Route(Page.STYLE)
        case ["static", "favicon.svg"]:
            return Route(Page.FAVICON)
        case ["recipes", name] if RECIPE_RE.fullmatch(name):
            return Route(Page.RECIPE, name)
        case ["runs", run_id] if RUN_ID_RE.fullmatch(run_id):
            return Route(Page.RUN, run_id)
        case ["runs", run_id, "thumb", *rest] if RUN_ID_RE.fullmatch(run_id) and rest:
            # `thumb/` is the thumbnail route, never a folder of the run (the harness writes
            # none): /runs/<id>/thumb/<path>.png is a small copy of /runs/<id>/<path>.png
            relpath = "/".join(rest)
            png = relpath.lower().endswith(".png") and is_safe_relpath(relpath)
            return Route(Page.THUMBNAIL, run_id, relpath) if png else NOT_FOUND
        case ["runs", run_id, *rest] if RUN_ID_RE.fullmatch(run_id) and rest:
            relpath = "/".join(rest)
            return Route(Page.ARTIFACT, run_id, relpath) if is_safe_relpath(relpath) else NOT_FOUND
        case ["badge", file] if file.endswith(".svg"):
            stage = parse_qs(parts.query).get("stage", [None])[0]
            return Route(Page.BADGE, file.removesuffix(".svg"), stage=stage)
        case ["badge", name, "level.svg"] if RECIPE_RE.fullmatch(name):
            return Route(Page.BADGE, name, level=True)
        case ["badge", name, file] if RECIPE_RE.fullmatch(name) and file.endswith(".svg"):
            return Route(Page.BADGE, name, stage=file.removesuffix(".svg"))
        case ["badge", name, "pr", file] if RECIPE_RE.fullmatch(name) and PR_SVG.fullmatch(file):
            return Route(Page.BADGE, name, pr=int(file.removesuffix(".svg")))
        case ["api", "recipes"]:
            return Route(Page.API_RECIPES)
        case ["api", "recipes", name] if RECIPE_RE.fullmatch(name):
            return Route(Page.API_RECIPE, name)
        case ["api", "runs", run_id] if RUN_ID_RE.fullmatch(run_id):
            return Route(Page.API_RUN, run_id)
    return NOT_FOUND
