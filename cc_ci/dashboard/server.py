"""The HTTP shell: routes a request to the index and the views, sends it with safe headers.

`App.respond` turns a request target into a `Response` (tests and the benchmark can call it
directly); `Handler` is the thin http.server part that reads the request, asks the app,
handles conditional requests and logs one `key=value` line per request.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO

from cc_ci.contract.record import RECORD_FILE, RunRecord
from cc_ci.contract.record_read import BrokenRecord, RecordError, decode_record
from cc_ci.contract.serving import BoundedHandler, BoundedServer
from cc_ci.dashboard import api, badge, style
from cc_ci.dashboard.eventlog import log
from cc_ci.dashboard.index import Index, Snapshot
from cc_ci.dashboard.logs import PAGE_LOGS, WHOLE_LIMIT, LogExcerpt, read_excerpt
from cc_ci.dashboard.paths import resolve_inside
from cc_ci.dashboard.routes import Page, Route, route
from cc_ci.dashboard.runpage import broken_page, run_page
from cc_ci.dashboard.thumbs import Thumbnails
from cc_ci.dashboard.views import not_found_page, overview_page, recipe_page

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
ARTIFACT_CSP = "default-src 'none'; img-src 'self'; sandbox; frame-ancestors 'none'"
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HTML = "text/html; charset=utf-8"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
SVG = "image/svg+xml"
BADGE_CACHE = "max-age=60, must-revalidate"
ARTIFACT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".log": TEXT,
    ".txt": TEXT,
    ".xml": TEXT,  # JUnit XML: shown as text, never interpreted
    ".json": JSON,
}


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes = b""
    file: Path | None = None
    """Sent from disk instead of `body` (artifacts)."""
    cache: str = "no-cache"
    etag: str | None = None
    csp: str = CSP
    headers: tuple[tuple[str, str], ...] = ()

    def with_etag(self) -> Response:
        if self.etag is not None or self.file is not None or self.status != 200:
            return self
        return replace(self, etag='"' + hashlib.sha256(self.body).hexdigest()[:32] + '"')


def etag_matches(if_none_match: str | None, etag: str | None) -> bool:
    """True when an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks)."""
    if not if_none_match or not etag:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return etag.removeprefix("W/") in wanted


class App:
    def __init__(
        self,
        index: Index,
        *,
        public_url: str | None = None,
        forge_url: str | None = None,
        fallback_base: str = "http://localhost",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.index = index
        self.public_url = public_url.rstrip("/") if public_url else None
        """The operator's --public-url: what badge snippets name. Never the request's Host
        header, which any client sets (and a cache or a proxy may keep)."""
        self.forge_url = forge_url
        self.fallback_base = fallback_base
        """The address the server listens on: the snippets' URL when no public URL is set."""
        self.now = now
        self._overview_cache: tuple[tuple[int, int], Response] | None = None
        self.thumbs = Thumbnails()

    def respond(self, target: str) -> Response:
        """The response to a GET of `target`."""
        r = route(target)
        if r.page is Page.STYLE:
            css = "text/css; charset=utf-8"
            return Response(200, css, style.CSS_BYTES, cache="max-age=86400").with_etag()
        if r.page is Page.FAVICON:
            return Response(200, SVG, style.FAVICON, cache="max-age=86400").with_etag()
        pages = {
            Page.OVERVIEW: self._overview,
            Page.RECIPE: self._recipe,
            Page.RUN: self._run,
            Page.ARTIFACT: self._artifact,
            Page.THUMBNAIL: self._thumbnail,
            Page.BADGE: self._badge,
            Page.API_RECIPES: self._api_recipes,
            Page.API_RECIPE: self._api_recipe,
            Page.API_RUN: self._api_run,
            Page.HEALTH: self._health,
            Page.NOT_FOUND: self._not_found,
        }
        return pages[r.page](r, self.index.snapshot()).with_etag()

    # --- pages ---------------------------------------------------------------------------

    def _overview(self, r: Route, snap: Snapshot) -> Response:
        # Rendered again when the index changed or a minute passed (it shows "5 min ago").
        now = self.now()
        key = (snap.generation, int(now.timestamp() // 60))
        cached = self._overview_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        html = overview_page(
            snap.rows, snap.counts, now, forge=self.forge_url, stylesheet=style.HREF
        )
        resp = _html(html).with_etag()
        self._overview_cache = (key, resp)
        return resp

    def _recipe(self, r: Route, snap: Snapshot) -> Response:
        summary = snap.summaries.get(r.name or "")
        if summary is None:
            return self._missing(f"No runs of a recipe called {r.name!r}.")
        html = recipe_page(
            summary,
            self.now(),
            base=self.public_url or self.fallback_base,
            base_is_public=self.public_url is not None,
            forge=self.forge_url,
            stylesheet=style.HREF,
        )
        return _html(html)

    def _run(self, r: Route, snap: Snapshot) -> Response:
        item = snap.runs.get(r.name or "")
        if item is None:
            return self._missing(f"No run called {r.name!r}.")
        if isinstance(item, BrokenRecord):
            return _html(broken_page(item, self.now(), stylesheet=style.HREF))
        html = run_page(
            item, self._logs(item), self.now(), forge=self.forge_url, stylesheet=style.HREF
        )
        return _html(html)

    def _logs(self, run: RunRecord) -> dict[str, LogExcerpt]:
        """Each log the run names, read once however many stages name it, and no more of
        them all than a page shows (`PAGE_LOGS`)."""
        paths = [s.log for s in run.stages if s.log]
        if run.teardown and run.teardown.log:
            paths.append(run.teardown.log)
        root = self.index.root
        logs, left = {}, PAGE_LOGS
        for p in dict.fromkeys(paths):
            excerpt = read_excerpt(resolve_inside(root, run.run_id, p), p, min(WHOLE_LIMIT, left))
            left = max(0, left - len(excerpt.whole or excerpt.tail))
            logs[p] = excerpt
        return logs

    def _artifact(self, r: Route, snap: Snapshot) -> Response:
        assert r.name is not None and r.path is not None
        target = resolve_inside(self.index.root, r.name, r.path)
        if target is None:
            return self._missing("No such file.")
        suffix = os.path.splitext(target.name)[1].lower()
        kind = ARTIFACT_TYPES.get(suffix)
        headers: tuple[tuple[str, str], ...] = ()
        if kind is None:
            kind = "application/octet-stream"
            headers = (("Content-Disposition", "attachment"),)
        try:
            st = target.stat()
        except OSError:
            return self._missing("No such file.")
        etag = f'W/"{st.st_mtime_ns:x}-{st.st_size:x}"'
        return Response(200, kind, file=target, etag=etag, csp=ARTIFACT_CSP, headers=headers)

    def _thumbnail(self, r: Route, snap: Snapshot) -> Response:
        """A screenshot scaled down (cc_ci/dashboard/thumbnail.py); the screenshot itself
        when it is already small or of a kind that is not decoded."""
        assert r.name is not None and r.path is not None
        target = resolve_inside(self.index.root, r.name, r.path)
        if target is None:
            return self._missing("No such file.")
        try:
            thumb = self.thumbs.get(target)
        except OSError:
            return self._missing("No such file.")
        if thumb.body is None:
            return self._artifact(r, snap)
        return Response(200, "image/png", thumb.body, etag=thumb.etag, csp=ARTIFACT_CSP)

    def _badge(self, r: Route, snap: Snapshot) -> Response:
        summary = snap.summaries.get(r.name or "")
        if r.level:
            chosen = badge.choose_level(summary)
        elif r.pr is not None:
            chosen = badge.choose_pr(summary, r.pr)
        else:
            chosen = badge.choose(summary, r.stage)
        svg = badge.render(chosen).encode()
        return Response(200, SVG, svg, cache=BADGE_CACHE)

    def _api_recipes(self, r: Route, snap: Snapshot) -> Response:
        return _json(200, api.recipes_document(snap.rows, snap.counts))

    def _api_recipe(self, r: Route, snap: Snapshot) -> Response:
        summary = snap.summaries.get(r.name or "")
        if summary is None:
            return _json(404, {"error": f"no runs of a recipe called {r.name!r}"})
        return _json(200, api.recipe_document(summary))

    def _api_run(self, r: Route, snap: Snapshot) -> Response:
        assert r.name is not None
        item = snap.runs.get(r.name)
        if item is None:
            return _json(404, {"error": f"no run called {r.name!r}"})
        if isinstance(item, BrokenRecord):
            return _json(422, {"error": item.reason, "run_id": item.run_id})
        # The record as written. Read it again: the snapshot may be a moment older.
        target = resolve_inside(self.index.root, r.name, RECORD_FILE)
        try:
            raw = target.read_bytes() if target else b""
            decode_record(raw, r.name)
        except (OSError, RecordError) as e:
            return _json(422, {"error": str(e), "run_id": r.name})
        return Response(200, JSON, raw)

    def _health(self, r: Route, snap: Snapshot) -> Response:
        doc = {
            "status": "ok" if snap.present else "results directory missing",
            "runs": len(snap.runs),
            "recipes": snap.counts.recipes,
            "unreadable": snap.counts.unreadable,
        }
        return _json(200 if snap.present else 503, doc)

    def _not_found(self, r: Route, snap: Snapshot) -> Response:
        return self._missing("There is no page at this address.")

    def _missing(self, what: str) -> Response:
        return Response(404, HTML, not_found_page(what, stylesheet=style.HREF).encode())


def _html(text: str) -> Response:
    return Response(200, HTML, text.encode())


def _json(status: int, doc: Any) -> Response:
    return Response(status, JSON, json.dumps(doc, indent=1).encode() + b"\n")


class Handler(BoundedHandler):
    server_version = "cc-ci-dashboard"
    app: App  # set by `serve`

    _csp = CSP

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _refuse(self) -> None:
        self._csp = CSP
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()
        self._log(405, 0, 0.0)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def _serve(self, *, head: bool) -> None:
        started = time.perf_counter()
        try:
            resp = self.app.respond(self.path)
        except Exception as e:  # the process edge: log it, answer 500, keep serving
            log("error", path=self.path, error=type(e).__name__, detail=e)
            resp = Response(500, TEXT, b"internal error: see the dashboard's log\n")
        opened = None
        if resp.file is not None:
            try:
                opened = open(resp.file, "rb")  # noqa: SIM115 - closed in _send_file
            except OSError:
                resp = self.app.respond("/404")
        status = resp.status
        if resp.etag and etag_matches(self.headers.get("If-None-Match"), resp.etag):
            status = 304
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._csp = resp.csp
        self.send_response(status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Cache-Control", resp.cache)
        if resp.etag:
            self.send_header("ETag", resp.etag)
        for k, v in resp.headers:
            self.send_header(k, v)
        self.send_header("Server-Timing", f"app;dur={elapsed_ms:.3f}")
        if opened is not None and status == 304:
            opened.close()
        if status == 304:
            self.end_headers()
            self._log(status, 0, elapsed_ms)
        elif opened is not None:
            self._send_file(opened, head, status, elapsed_ms)
        else:
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            self._log(status, 0 if head else len(resp.body), elapsed_ms)
            if not head:
                self.wfile.write(resp.body)

    def _send_file(self, opened: BinaryIO, head: bool, status: int, elapsed_ms: float) -> None:
        with opened as f:
            size = os.fstat(f.fileno()).st_size
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self._log(status, 0 if head else size, elapsed_ms)
            if not head:
                shutil.copyfileobj(f, self.wfile, 256 * 1024)

    def end_headers(self) -> None:
        # Every response, the error pages http.server makes itself included.
        self.send_header("Content-Security-Policy", self._csp)
        for k, v in SECURITY_HEADERS:
            self.send_header(k, v)
        super().end_headers()

    def _log(self, status: int, sent: int, ms: float) -> None:
        """One line per request, written before the body goes out."""
        log(
            "request",
            method=self.command,
            path=self.path,
            status=status,
            bytes=sent,
            ms=f"{ms:.2f}",
            client=self.client_address[0],
        )

    def log_message(self, format: str, *args: Any) -> None:
        # http.server's own messages (bad request lines, timeouts): keep them, as key=value.
        log("http", client=self.client_address[0], detail=format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # `_log` writes one line per request, with the timing


def parse_listen(listen: str) -> tuple[str, int]:
    """'127.0.0.1:8080' or '[::1]:8080' → (host, port). Raises ValueError."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"--listen {listen!r}: expected HOST:PORT")
    if int(port) > 65535:
        raise ValueError(f"--listen {listen!r}: port out of range")
    return host.removeprefix("[").removesuffix("]"), int(port)


class DashboardServer(BoundedServer):
    """At most 64 connections; a request (or an idle keep-alive) has 10 s to arrive, and the
    connection waiting longest makes room for a new one (`cc_ci.contract.serving`)."""

    allow_reuse_address = True

    def note_pressure(self, evicted: int, refused: int) -> None:
        log("connections_full", closed_waiting=evicted, refused_busy=refused)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer, say: one log line, not a traceback.
        error = sys.exc_info()[1]
        log("connection_error", client=client_address[0], error=type(error).__name__, detail=error)


class DashboardServer6(DashboardServer):
    address_family = socket.AF_INET6


def make_server(app: App, host: str, port: int) -> DashboardServer:
    """Bind (port 0 picks a free one); `server.server_address` says where."""
    handler = type("BoundHandler", (Handler,), {"app": app})
    cls = DashboardServer6 if ":" in host else DashboardServer
    return cls((host, port), handler)
