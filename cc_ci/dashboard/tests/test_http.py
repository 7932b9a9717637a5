"""The dashboard over real HTTP: routes, headers, caching, artifacts, freshness, the CLI."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest

from cc_ci.dashboard.tests.conftest import ROOT, fetch
from cc_ci.dashboard.tests.worlds import World, record, stage, write_raw, write_run

PAGES = [
    "/",
    "/recipes/custom-html",
    "/runs/drone-103",
    "/runs/drone-901",
    "/badge/custom-html.svg",
    "/badge/no-such-recipe.svg",
    "/api/recipes",
    "/api/recipes/custom-html",
    "/api/runs/drone-103",
    "/healthz",
    "/static/style.css",
    "/static/favicon.svg",
    "/runs/drone-103/install.log",
    "/runs/drone-103/screenshots/install-front.png",
]


@pytest.mark.parametrize("target", [*PAGES, "/nowhere", "/runs/drone-103/../../x", "/recipes/nope"])
def test_every_response_carries_a_strict_content_security_policy(base: str, target: str):
    r = fetch(base, target)
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "'unsafe-inline'" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("target", PAGES)
def test_every_documented_page_answers_200(base: str, target: str):
    assert fetch(base, target).status == 200


def test_the_error_pages_http_server_makes_itself_carry_the_headers_too(base: str):
    r = fetch(base, "/", method="BREW")
    assert r.status == 501
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]


def test_the_dashboard_is_read_only(base: str):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = fetch(base, "/api/recipes", method=method)
        assert r.status == 405 and r.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "target",
    [
        "/runs/drone-103/../../secret.txt",
        "/runs/drone-103/%2e%2e/%2e%2e/secret.txt",
        "/runs/drone-103/..%2f..%2fsecret.txt",
        "/runs/drone-103/%252e%252e/%252e%252e/secret.txt",
        "/runs/drone-103/%2Fetc%2Fpasswd",
        "/runs/..%2fsecret.txt",
        "/runs/drone-103/escape.txt",
        "/runs/linked-run/secret.txt",
        "/runs/drone-103/screenshots",
    ],
)
def test_no_request_reads_a_file_outside_the_results_directory(world: World, serve, target: str):
    (world.results.parent / "secret.txt").write_text("canary-secret\n")
    os.symlink(world.results.parent / "secret.txt", world.results / "drone-103" / "escape.txt")
    os.symlink(world.results.parent, world.results / "linked-run")
    url = serve(world.results)
    r = fetch(url, target)
    assert r.status == 404
    assert b"canary-secret" not in r.body


def test_a_badge_can_be_cached_and_revalidated_with_its_etag(base: str):
    first = fetch(base, "/badge/custom-html.svg")
    assert first.headers["Content-Type"] == "image/svg+xml"
    assert "max-age=60" in first.headers["Cache-Control"]
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    again = fetch(base, "/badge/custom-html.svg", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b"" and again.headers["ETag"] == etag
    other = fetch(base, "/badge/wordpress.svg", headers={"If-None-Match": etag})
    assert other.status == 200


def test_a_badge_shows_the_latest_result_and_one_stage_on_request(base: str):
    def words(target: str) -> list[str]:
        root = ET.fromstring(fetch(base, target).body)
        texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        return texts[1::2]  # each text comes after its shadow

    assert words("/badge/custom-html.svg") == ["cc-ci", "passing"]
    assert words("/badge/wordpress.svg") == ["cc-ci", "failing"]
    assert words("/badge/wordpress.svg?stage=install") == ["cc-ci install", "passing"]
    assert words("/badge/wordpress.svg?stage=upgrade") == ["cc-ci upgrade", "failing"]
    assert words("/badge/wordpress/upgrade.svg") == ["cc-ci upgrade", "failing"]
    assert words("/badge/nextcloud.svg") == ["cc-ci", "running"]
    assert words("/badge/discourse.svg") == ["cc-ci", "error"]


def test_a_red_pr_run_leaves_the_readme_badges_and_has_its_own(base: str):
    def words(target: str) -> list[str]:
        r = fetch(base, target)
        assert r.status == 200 and r.headers["Content-Type"] == "image/svg+xml", target
        root = ET.fromstring(r.body)
        return [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")][1::2]

    # custom-html's newest run is PR #12's, and it failed
    assert words("/badge/custom-html.svg") == ["cc-ci", "passing"]
    assert words("/badge/custom-html/install.svg") == ["cc-ci install", "passing"]
    assert words("/badge/custom-html/level.svg") == ["cc-ci level", "4/4"]
    assert words("/badge/custom-html/pr/12.svg") == ["cc-ci PR #12", "failing"]
    assert words("/badge/custom-html/pr/13.svg") == ["cc-ci PR #13", "no run"]
    assert words("/badge/wordpress/level.svg") == ["cc-ci level", "1/4"]
    # ghost has only a PR's run: its badges say so, not the PR's result
    for target in ("/badge/ghost.svg", "/badge/ghost/level.svg", "/badge/ghost/install.svg"):
        assert words(target)[1] == "no default-branch run", target
    assert words("/badge/ghost/pr/3.svg") == ["cc-ci PR #3", "failing"]
    for bad in ("/badge/ghost/pr/0.svg", "/badge/ghost/pr/x.svg", "/badge/ghost/pr/3"):
        assert fetch(base, bad).status == 404, bad


def test_an_unknown_recipe_gets_a_grey_unknown_badge_not_an_error(base: str):
    for target in ("/badge/no-such-recipe.svg", "/badge/%3Cscript%3E.svg", "/badge/keycloak.svg"):
        r = fetch(base, target)
        assert r.status == 200, target
        assert b">unknown</text>" in r.body and b"#9f9f9f" in r.body
        assert b"<script" not in r.body


def test_the_api_serves_a_run_record_exactly_as_written(world: World, base: str):
    r = fetch(base, "/api/runs/drone-103")
    assert r.headers["Content-Type"] == "application/json"
    assert r.body == (world.results / "drone-103" / "run.json").read_bytes()
    doc = json.loads(r.body)
    assert doc["status"] == "passed" and len(doc["stages"]) == 4
    assert doc["teardown"]["status"] == "clean"


def test_the_api_says_which_runs_are_unknown_or_unreadable(base: str):
    missing = fetch(base, "/api/runs/drone-999")
    assert missing.status == 404 and "drone-999" in json.loads(missing.body)["error"]
    broken = fetch(base, "/api/runs/drone-902")
    assert broken.status == 422 and "schema 2" in json.loads(broken.body)["error"]
    assert fetch(base, "/api/recipes/no-such").status == 404


def test_the_api_lists_recipes_in_the_overviews_order(world: World, base: str):
    doc = json.loads(fetch(base, "/api/recipes").body)
    assert [r["recipe"] for r in doc["recipes"]] == list(world.recipes)
    assert [u["run_id"] for u in doc["unreadable"]] == list(world.unreadable)
    assert doc["counts"]["pass_everything"] == 1
    custom = next(r for r in doc["recipes"] if r["recipe"] == "custom-html")
    assert custom["level"] == 4 and custom["badge"] == "passing"
    assert custom["stages"]["upgrade"]["run_id"] == "drone-103"


def test_a_recipes_api_lists_its_runs_newest_first(base: str):
    doc = json.loads(fetch(base, "/api/recipes/custom-html").body)
    assert [r["run_id"] for r in doc["runs"]] == [
        "drone-104-c1",
        "drone-103",
        "drone-102",
        "drone-101",
    ]
    assert doc["runs"][2]["stages"]["upgrade"] == "failed"
    assert [r["default_branch"] for r in doc["runs"]] == [False, True, True, True]
    assert doc["current_run"]["run_id"] == "drone-103" and doc["status"] == "passed"


@pytest.mark.parametrize(
    ("target", "content_type"),
    [
        ("/runs/drone-103/install.log", "text/plain; charset=utf-8"),
        ("/runs/drone-103/install.junit.xml", "text/plain; charset=utf-8"),
        ("/runs/drone-103/screenshots/install-front.png", "image/png"),
        ("/runs/drone-103/run.json", "application/json"),
    ],
)
def test_artifacts_are_served_with_a_type_that_is_never_interpreted_as_a_page(
    base: str, target: str, content_type: str
):
    r = fetch(base, target)
    assert r.status == 200 and r.headers["Content-Type"] == content_type
    assert "sandbox" in r.headers["Content-Security-Policy"]


def test_an_artifact_of_an_unknown_kind_is_offered_as_a_download(world: World, base: str):
    (world.results / "drone-103" / "trace.html").write_text("<script>alert(1)</script>")
    r = fetch(base, "/runs/drone-103/trace.html")
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Disposition"] == "attachment"


def test_an_artifact_is_revalidated_by_its_etag(base: str):
    etag = fetch(base, "/runs/drone-103/install.log").headers["ETag"]
    assert fetch(base, "/runs/drone-103/install.log", headers={"If-None-Match": etag}).status == 304


def test_head_answers_with_the_headers_and_no_body(base: str):
    get = fetch(base, "/runs/drone-103/install.log")
    head = fetch(base, "/runs/drone-103/install.log", method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Length"] == str(len(get.body))


def test_a_new_run_shows_up_on_the_next_request(world: World, base: str):
    assert b"gitea" not in fetch(base, "/").body
    write_run(world.results, record("drone-700", "gitea", started=world.now))
    assert b'href="/recipes/gitea"' in fetch(base, "/").body
    assert fetch(base, "/runs/drone-700").status == 200


def test_a_damaged_record_is_one_error_row_and_never_breaks_the_pages(world: World, base: str):
    write_raw(world.results, "drone-103", b'{"schema": 1, "run_id": "drone-103", "rec')
    overview = fetch(base, "/")
    assert overview.status == 200
    assert overview.text.count('class="a-error broken"') == len(world.unreadable) + 1
    assert fetch(base, "/runs/drone-103").status == 200
    assert fetch(base, "/recipes/custom-html").status == 200
    assert json.loads(fetch(base, "/healthz").body)["unreadable"] == 4


def big_log(size: int, mark: str) -> bytes:
    """About `size` bytes of log lines (with characters that grow when escaped), then END."""
    line = f"{mark} line: <step> & output\n".encode()
    return line * (size // len(line) + 1) + f"{mark} END\n".encode()


def test_a_log_named_by_200_stages_is_rendered_once(world: World, base: str):
    stages = [stage(f"s{i}", "failed", log="shared.log") for i in range(200)]
    rec = record("drone-700", "custom-html", status="failed", stages=stages)
    log = big_log(520_000, "shared")  # just under WHOLE_LIMIT: offered whole
    write_run(world.results, rec, logs=False, files={"shared.log": log, "teardown.log": b"x\n"})
    page = fetch(base, "/runs/drone-700")
    assert page.status == 200
    assert len(page.body) < 4 * 1024 * 1024, len(page.body)
    assert page.text.count('id="log-1"') == 1
    assert page.text.count("shared END") == 2  # its tail, and folded below it the whole log
    assert page.text.count('<a href="#log-1">shared.log</a> is shown above.') == 199


def test_a_page_of_many_big_logs_stays_within_its_log_budget(world: World, base: str):
    # Logs of one long line each: even their tails are big.
    stages = [stage(f"s{i}", "failed", log=f"s{i}.log") for i in range(200)]
    rec = record("drone-701", "custom-html", status="failed", stages=stages)
    files = {f"s{i}.log": f"s{i} ".encode() + b"<x>" * 100_000 + b" END\n" for i in range(200)}
    write_run(world.results, rec, logs=False, files=files)
    page = fetch(base, "/runs/drone-701")
    assert page.status == 200
    assert len(page.body) < 4 * 1024 * 1024, len(page.body)
    assert '<div class="log" id="log-1">' in page.text  # the first logs are shown …
    assert "s199.log is not shown here: this page already shows 2 MiB of logs." in page.text
    assert page.text.count("/runs/drone-701/s199.log") == 1  # … the rest only linked


def test_unknown_pages_are_404_pages_that_still_link_home(base: str):
    for target in ("/nowhere", "/recipes/no-such", "/runs/no-such", "/runs/drone-103/no.log"):
        r = fetch(base, target)
        assert r.status == 404, target
        assert 'href="/"' in r.text


def test_badge_snippets_name_the_public_url_whatever_host_the_request_names(world: World, serve):
    url = serve(world.results, public_url="https://ci.coopcloud.tech/")
    for host in ("evil.example", "ci.coopcloud.tech.evil.example:443", '"><script>'):
        text = fetch(url, "/recipes/wordpress", headers={"Host": host}).text
        assert "https://ci.coopcloud.tech/badge/wordpress/upgrade.svg" in text
        assert "evil" not in text and "<script>" not in text
        assert "--public-url" not in text


def test_without_a_public_url_snippets_name_the_listening_address_and_say_so(base: str):
    text = fetch(base, "/recipes/custom-html", headers={"Host": "evil.example"}).text
    assert f"[![cc-ci]({base}/badge/custom-html.svg)]({base}/recipes/custom-html)" in text
    assert "evil.example" not in text
    assert "has not set its public URL (<code>--public-url</code>)" in text


# --- the command -----------------------------------------------------------------------------


def _lines(stream, sink: queue.Queue) -> None:
    for line in stream:
        sink.put(line)


def test_the_command_serves_on_a_free_port_and_stops_cleanly_on_sigterm(world: World):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cc_ci.dashboard",
            "--results-dir",
            str(world.results),
            "--listen",
            "127.0.0.1:0",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stderr, lines), daemon=True).start()
    try:
        deadline = time.monotonic() + 20
        url = None
        while url is None:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the dashboard never said event=listening"
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line.startswith("event=listening"):
                url = line.split("url=")[1].split()[0].rstrip("/")
        assert "runs=12" in line and "unreadable=3" in line
        health = fetch(url, "/healthz")
        assert health.status == 200 and json.loads(health.body)["status"] == "ok"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        logged = []
        while not lines.empty():
            logged.append(lines.get())
        assert any(
            ln.startswith("event=request method=GET path=/healthz status=200") for ln in logged
        ), logged
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    "args",
    [
        ["--results-dir", "/nonexistent/results"],
        ["--results-dir", ".", "--listen", "nonsense"],
        ["--results-dir", ".", "--public-url", "javascript:alert(1)"],
    ],
)
def test_the_command_refuses_bad_options_with_exit_code_2(args: list[str], tmp_path: Path):
    r = subprocess.run(
        [sys.executable, "-m", "cc_ci.dashboard", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2 and r.stderr.strip()


def test_the_overviews_relative_times_move_on_without_any_new_run(world: World, serve):
    clock = {"now": world.now}
    url = serve(world.results, now=lambda: clock["now"])
    assert ">5 min ago</time>" in fetch(url, "/").text  # nextcloud's run
    clock["now"] = world.now + timedelta(minutes=2)
    assert ">7 min ago</time>" in fetch(url, "/").text
