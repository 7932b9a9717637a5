"""Building results directories for the dashboard's tests: records, logs, screenshots.

`record` and `stage` make schema-1 run records (docs/run-record.md) with sensible defaults:
a scheduled run of the recipe's default branch, or with `pr=` a PR's run;
`write_run` writes one run folder the way the runner does (atomically); `demo_world` builds
a directory with several recipes and runs, hostile values and unreadable records, and
returns the facts the tests check the pages against.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HOSTILE = "<script>alert('x')</script>\"'&../../etc/passwd"


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stage(name: str, status: str = "passed", **fields: Any) -> dict[str, Any]:
    passed = 3 if status == "passed" else 1
    failed = 1 if status == "failed" else 0
    entry = {
        "name": name,
        "status": status,
        "duration_s": 12.5,
        "tests": {"passed": passed, "failed": failed, "errors": 0, "skipped": 0},
        "message": "" if status == "passed" else f"{name} {status}",
        "log": f"{name}.log",
        "junit": f"{name}.junit.xml",
        "artifacts": [],
    }
    entry.update(fields)
    return entry


ALL = ("install", "upgrade", "backup", "recipe-local")


def record(
    run_id: str,
    recipe: str,
    *,
    status: str = "passed",
    started: datetime | None = None,
    stages: list[dict[str, Any]] | None = None,
    pr: int | None = None,
    kind: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A run of the default branch (`kind` schedule unless given), or with `pr` a PR's."""
    started = started or datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    running = status == "running"
    kind = kind or ("pr" if pr is not None else "schedule")
    rec: dict[str, Any] = {
        "schema": 1,
        "run_id": run_id,
        "recipe": recipe,
        "source": {
            "repo": f"recipe-maintainers/{recipe}",
            "ref": "9f2c1e0" * 5 + "abcde",
            "pr": pr,
            "url": None,
        },
        "trigger": {"by": "alice" if pr else None, "comment_url": None, "kind": kind},
        "ci": {"system": "drone", "build": 42, "url": None},
        "started_at": ts(started),
        "finished_at": None if running else ts(started + timedelta(seconds=124)),
        "duration_s": None if running else 124.0,
        "status": status,
        "exit_code": None if running else {"passed": 0, "failed": 1, "error": 2}[status],
        "deployments": 2,
        "stages": stages if stages is not None else [stage(n) for n in ALL],
        "teardown": None
        if running
        else {"status": "clean", "duration_s": 6.1, "leftovers": [], "log": "teardown.log"},
    }
    rec.update(fields)
    return rec


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_run(
    results: Path,
    rec: dict[str, Any],
    *,
    logs: bool = True,
    files: dict[str, bytes] | None = None,
) -> Path:
    """Write a run folder: run.json, a log per stage (unless logs=False), and `files`."""
    folder = results / rec["run_id"]
    folder.mkdir(parents=True, exist_ok=True)
    if logs:
        for s in rec.get("stages") or []:
            if s.get("log"):
                (folder / s["log"]).write_text(f"{s['name']}: all good\n")
        teardown = rec.get("teardown") or {}
        if teardown.get("log"):
            (folder / teardown["log"]).write_text("removed app, volumes, secrets\n")
    for rel, data in (files or {}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    write_atomically(folder / "run.json", json.dumps(rec, indent=1).encode())
    return folder


def write_raw(results: Path, run_id: str, raw: bytes) -> Path:
    folder = results / run_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_bytes(raw)
    return folder


def png(width: int = 160, height: int = 100, rgb: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    """A valid PNG of one colour, made with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class World:
    results: Path
    now: datetime
    recipes: tuple[str, ...]
    """Recipes with readable runs, in the order the overview lists them."""
    unreadable: tuple[str, ...]
    """Run ids of the unreadable records, newest first."""
    long_log_lines: int


def demo_world(results: Path, now: datetime | None = None) -> World:
    now = now or datetime.now(UTC)
    h = timedelta(hours=1)
    results.mkdir(parents=True, exist_ok=True)

    # custom-html: its default branch passes everything now; upgrade failed the run before;
    # an error before that. A newer PR's run fails: it changes none of the recipe's badges.
    long_log = "".join(
        f"line {i}: \x1b[32mok\x1b[0m deploying custom-html\n" for i in range(1, 121)
    )
    install = stage(
        "install",
        artifacts=["screenshots/install-front.png"],
        tests={"passed": 4, "failed": 0, "errors": 0, "skipped": 1},
    )
    write_run(
        results,
        record(
            "drone-103",
            "custom-html",
            started=now - 2 * h,
            stages=[install, *(stage(n) for n in ALL[1:])],
            source={
                "repo": "recipe-maintainers/custom-html",
                "ref": "0123456789abcdef0123456789abcdef01234567",
                "pr": None,
                "url": None,
            },
            trigger={"by": None, "comment_url": None, "kind": "schedule"},
        ),
        files={
            "screenshots/install-front.png": png(),
            "install.junit.xml": b"<testsuite tests='5'/>",
        },
    )
    (results / "drone-103" / "install.log").write_text(long_log)
    write_run(
        results,
        record(
            "drone-104-c1",
            "custom-html",
            status="failed",
            started=now - 1 * h,
            pr=12,
            stages=[stage("install", "failed", message="the PR broke the front page")],
            source={
                "repo": "alice/custom-html",
                "ref": "fedcba9876543210fedcba9876543210fedcba98",
                "pr": 12,
                "url": "https://git.example.org/recipe-maintainers/custom-html/pulls/12",
            },
            trigger={"by": "decentral1se", "comment_url": "https://git.example.org/c/1"},
        ),
    )
    write_run(
        results,
        record(
            "drone-102",
            "custom-html",
            status="failed",
            started=now - 26 * h,
            stages=[
                stage("install"),
                stage("upgrade", "failed", message="data lost after upgrade: page missing"),
                stage("backup", "skipped", message="upgrade failed"),
                stage("recipe-local", "skipped", message="upgrade failed"),
            ],
        ),
    )
    write_run(
        results,
        record(
            "drone-101",
            "custom-html",
            status="error",
            started=now - 50 * h,
            stages=[stage("install", "error", message="swarm unreachable")],
        ),
    )

    # wordpress: level 1, latest run failed in upgrade.
    write_run(
        results,
        record(
            "drone-201",
            "wordpress",
            status="failed",
            started=now - 3 * h,
            stages=[
                stage("install"),
                stage("upgrade", "failed", message="post 'hello' missing after upgrade"),
                stage("backup", "skipped", message="upgrade failed"),
                stage("recipe-local", "skipped", message="no recipe-local tests"),
            ],
        ),
    )

    # evil: hostile values everywhere a PR, a recipe or a log can put them.
    shot = "screenshots/x\"'<b>.png"
    write_run(
        results,
        record(
            "drone-301",
            "evil",
            status="failed",
            started=now - 4 * h,
            source={"repo": HOSTILE, "ref": HOSTILE, "pr": None, "url": "javascript:alert(1)"},
            trigger={"by": HOSTILE, "comment_url": "javascript:alert(2)", "kind": "schedule"},
            ci={"system": HOSTILE, "build": 1, "url": "data:text/html,<script>"},
            stages=[stage("install", "failed", message=HOSTILE, artifacts=[shot])],
            teardown={
                "status": "leftover",
                "duration_s": 1.0,
                "leftovers": [f"volume {HOSTILE}"],
                "log": "teardown.log",
            },
        ),
        files={shot: png(rgb=(200, 40, 40))},
    )
    (results / "drone-301" / "install.log").write_text(
        f"</pre>{HOSTILE}<script>alert(3)</script>\n"
    )

    # nextcloud: running now.
    write_run(
        results,
        record(
            "drone-401",
            "nextcloud",
            status="running",
            started=now - timedelta(minutes=5),
            stages=[
                stage("install"),
                stage("upgrade", "running", duration_s=None, message=""),
                stage("backup", "pending", duration_s=None, message="", log=None, junit=None),
                stage("recipe-local", "pending", duration_s=None, message="", log=None, junit=None),
            ],
        ),
    )

    # discourse: the run could not be carried out, and the teardown left something behind.
    write_run(
        results,
        record(
            "drone-501",
            "discourse",
            status="error",
            started=now - 6 * h,
            stages=[stage("install", "error", message="deploy timed out after 600 s")],
            teardown={
                "status": "leftover",
                "duration_s": 30.0,
                "leftovers": ["volume discourse_example_com_data"],
                "log": "teardown.log",
            },
        ),
    )

    # Unreadable records: half-written, from the future, not an object.
    write_raw(results, "drone-901", b'{"schema": 1, "run_id": "drone-901", "reci')
    future = record("drone-902", "keycloak", started=now - 7 * h)
    future["schema"] = 2
    write_raw(results, "drone-902", json.dumps(future).encode())
    write_raw(results, "drone-903", b"[]")
    for i, run_id in enumerate(("drone-901", "drone-902", "drone-903")):
        moment = (now - timedelta(minutes=10 * (i + 1))).timestamp()
        os.utime(results / run_id / "run.json", (moment, moment))

    # ghost: only a PR's run so far, and it failed: its badges say there is no default-branch run.
    write_run(
        results,
        record("drone-601-c2", "ghost", status="failed", started=now - 8 * h, pr=3),
    )

    return World(
        results=results,
        now=now,
        recipes=("discourse", "wordpress", "evil", "nextcloud", "custom-html", "ghost"),
        unreadable=("drone-901", "drone-902", "drone-903"),
        long_log_lines=120,
    )
