"""`scripts/demo` on the whole system: the local world (devworld/world.py) comes up, the
maintainer comments `!testme` on the demo recipe's PR through Gitea's API, and the demo
follows the command to its verdict on the PR, then shows the stage table and the URLs.

    python -m devworld.demo.play [--keep | --down] [--stages LIST] [--results-dir DIR]

Without `--keep` the world and every app its runs deployed are removed at the end; the run
folder is copied to DIR first (default results/ in the clone). `--keep` leaves the world up
to click through and comment on again; `--down` removes a kept world and what it left. It
deploys on the swarm: scripts/demo takes /tmp/cc-ci-swarm.lock around it.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cc_ci.contract.names import drone_run_id
from cc_ci.contract.stages import STAGES
from devworld import world as w
from devworld.real_gitea import RealGitea

ROOT = Path(__file__).resolve().parents[2]
PR_TITLE = "demo 1.2"
BEAT = 10.0
"""At most this many seconds between two progress lines."""
VERDICT_TIMEOUT = 1800.0
# Rough estimates of what the steps take on a 2-core machine, for the progress lines (not
# measurements: bench/world_bench.py measures the command's path).
ABOUT = {
    "world": "about 15 s when the tools and images are built; minutes the first time",
    "eyes": "about 2 s: the bridge polls every 2 s",
    "build": "about 2 s after the 👀",
    "verdict": "about 2-3 min for every stage, 1 min for `install` alone",
    "down": "about 10-20 s",
}


def say(msg: str) -> None:
    print(f"demo: {msg}", flush=True)


# --- the command line --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Options:
    mode: str
    """`once` (up, one command, down), `keep` (up, one command, stays up) or `down`."""
    stages: tuple[str, ...]
    """The stages the comment names; empty: `!testme` alone, every stage."""
    results_dir: Path

    @property
    def command(self) -> str:
        return " ".join(("!testme", *self.stages))


def parse_stages(text: str) -> tuple[str, ...]:
    """`install,upgrade` or `install upgrade` → the stages, each checked; empty: all."""
    names = tuple(s for s in re.split(r"[,\s]+", text.strip()) if s)
    unknown = [s for s in names if s not in STAGES]
    if unknown:
        raise ValueError(
            f"unknown stage {', '.join(map(repr, unknown))}: the stages are {', '.join(STAGES)}"
        )
    return names


def parse_args(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(
        prog="scripts/demo",
        description="cc-ci on this machine: a maintainer's !testme on a real Gitea PR, to its "
        "verdict (scripts/demo --runner-only: cc-ci-run alone, without the world)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--keep", action="store_true", help="leave the world up to click through and comment"
    )
    mode.add_argument(
        "--down", action="store_true", help="remove a kept world and everything it left"
    )
    p.add_argument(
        "--stages", default="", help="the stages to ask for (comma-separated; default: all)"
    )
    p.add_argument(
        "--results-dir",
        type=Path,
        default=ROOT / "results",
        help="where the run folder is copied before the world goes (default: results/)",
    )
    a = p.parse_args(argv)
    try:
        stages = parse_stages(a.stages)
    except ValueError as exc:
        p.error(f"--stages: {exc}")
    if a.down and stages:
        p.error("--down removes the world: it takes no --stages")
    return Options("down" if a.down else "keep" if a.keep else "once", stages, a.results_dir)


# --- what the demo prints ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Urls:
    pr: str
    build: str
    run_page: str


def urls(info: w.Info, pr: int, build: int, comment: int) -> Urls:
    """The Gitea PR, the Drone build and the dashboard's page of the command's run."""
    return Urls(
        pr=f"{info.gitea_url}/{w.DEMO_REPO}/pulls/{pr}",
        build=f"{info.drone_url}/{w.CCCI_REPO}/{build}",
        run_page=f"{info.dashboard_url}/runs/{drone_run_id(build, comment)}",
    )


def logins() -> str:
    return ", ".join(f"{u} / {w.password(u)}" for u in (w.MAINTAINER, w.OUTSIDER, w.BOT))


def where_to_look(u: Urls) -> str:
    return "\n".join(
        [
            "where to look (logins: " + logins() + "):",
            f"  Gitea PR          {u.pr}",
            f"  Drone build       {u.build}  (Drone's login goes through Gitea: as "
            f"{w.MAINTAINER} or {w.BOT})",
            f"  dashboard run     {u.run_page}",
        ]
    )


_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_IMAGE = re.compile(r"^\[!\[[^\]]*\]\([^)]*\)\]\(([^)\s]+)\)$")


def cells(text: str) -> int:
    """How many terminal columns `text` takes: wide characters (✅, ❌) two, a variation
    selector making the character before it an emoji (⚠️, ⏭️) one more, combining marks none."""
    n = 0
    for ch in text:
        if ch == "\ufe0f":
            n += 1
        elif unicodedata.combining(ch) or unicodedata.category(ch) == "Mn":
            continue
        else:
            n += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return n


def _plain(text: str) -> str:
    """Markdown's links as `words <url>`, without bold or code marks."""
    text = _LINK.sub(lambda m: f"{m.group(1)} <{m.group(2)}>", text)
    return text.replace("**", "").replace("`", "")


def render_comment(body: str) -> str:
    """The bot's PR comment (cc_ci/bridge/report.py's markdown) for a terminal: the marker
    dropped, the stage table in aligned columns, links as `words <url>`, code blocks
    indented."""
    out: list[str] = []
    table: list[list[str]] = []
    in_code = False

    def flush() -> None:
        if not table:
            return
        widths = [max(cells(r[i]) for r in table if i < len(r)) for i in range(len(table[0]))]
        for r in table:
            padded = (c + " " * (widths[i] - cells(c)) for i, c in enumerate(r))
            out.append("  " + "  ".join(padded).rstrip())
        table.clear()

    for line in body.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            out.append("    " + line)
            continue
        if line.startswith("<!--") and line.endswith("-->"):
            continue
        if line.startswith("|") and line.endswith("|"):
            parts = [c.strip() for c in line[1:-1].split("|")]
            if not all(set(c) <= set("-: ") for c in parts):
                table.append([_plain(c) for c in parts])
            continue
        flush()
        if m := _IMAGE.match(line):
            out.append(f"screenshot of the app: {m.group(1)}")
        elif line or (out and out[-1]):
            out.append(_plain(line))
    flush()
    return "\n".join(out).strip("\n")


def stage_progress(record: dict) -> str:
    """How far a run is, from its run.json as cc-ci-run keeps it while it runs."""
    stages = record.get("stages") or []
    running = [s["name"] for s in stages if s.get("status") == "running"]
    done = [f"{s['name']} {s['status']}" for s in stages if s.get("status") not in ("pending", "running")]  # fmt: skip
    if running:
        text = f"stage {', '.join(running)} running"
    elif not done:
        text = "fetching the recipe and checking it, before the first stage"
    elif len(done) == len(stages):
        text = "every stage done: tearing down"
    else:
        text = "between stages"
    return text + (f" (done: {', '.join(done)})" if done else "")


def minutes(seconds: float) -> str:
    return (
        f"{seconds:.0f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"
    )


# --- progress ----------------------------------------------------------------------------


@contextmanager
def heartbeat(what: Callable[[], str], every: float = BEAT) -> Iterator[None]:
    """Print `what()` (the step under way), with the time so far, every `every` seconds
    until the block ends."""
    started, stop = time.monotonic(), threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            say(f"  … {what()} ({minutes(time.monotonic() - started)} so far)")

    t = threading.Thread(target=beat, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()


def world_up(d: Path) -> w.Info:
    """world.up, with a progress line at least every BEAT seconds."""
    step = ["starting"]

    def tell(msg: str) -> None:
        step[0] = msg.removeprefix("world: ")
        say(msg)

    say(f"starting the world in {d} ({ABOUT['world']})")
    with heartbeat(lambda: f"still: {step[0]}"):
        return w.up(d, say=tell)


# --- the command on the PR ---------------------------------------------------------------


def gitea(info: w.Info) -> RealGitea:
    return RealGitea.attach(info.gitea_url, info.admin_token)


def as_maintainer() -> str:
    """The maintainer's own credentials (what a person types), not the admin's sudo."""
    pair = f"{w.MAINTAINER}:{w.password(w.MAINTAINER)}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def demo_pr(g: RealGitea, info: w.Info) -> dict:
    """The open PR of the demo's head branch, opened by the maintainer when there is none."""
    for pr in g.api("GET", f"/repos/{w.DEMO_REPO}/pulls?state=open") or []:
        if pr["head"]["ref"] == info.pr_branch:
            return pr
    return g.api(
        "POST",
        f"/repos/{w.DEMO_REPO}/pulls",
        {"head": info.pr_branch, "base": "main", "title": PR_TITLE},
        auth=as_maintainer(),
    )


def builds(info: w.Info) -> list[dict]:
    return w._drone(info.drone_url, "GET", f"/api/repos/{w.CCCI_REPO}/builds", info.drone_token)


def build_of(info: w.Info, comment: int) -> dict | None:
    """The Drone build the bridge made for command `comment` (its CCCI_COMMAND)."""
    for b in builds(info) or []:
        if (b.get("params") or {}).get("CCCI_COMMAND") == str(comment):
            return b
    return None


def report_of(g: RealGitea, pr: int, comment: int) -> str | None:
    """The bot's comment answering command `comment`, as it reads now."""
    from cc_ci.bridge.report import marker

    for c in g.api("GET", f"/repos/{w.DEMO_REPO}/issues/{pr}/comments") or []:
        if c["user"]["login"] == w.BOT and marker(comment) in c["body"]:
            return c["body"]
    return None


def is_final(body: str | None) -> bool:
    """The report is the verdict: no longer the ack or a retry's, which both promise an
    update (cc_ci/bridge/report.py)."""
    return bool(body) and "This comment will be updated" not in body


def has_eyes(g: RealGitea, comment: int) -> bool:
    reactions = g.api("GET", f"/repos/{w.DEMO_REPO}/issues/comments/{comment}/reactions") or []
    return any(r["content"] == "eyes" and r["user"]["login"] == w.BOT for r in reactions)


def read_run(info: w.Info, run_id: str) -> dict | None:
    try:
        return json.loads((Path(info.results_dir) / run_id / "run.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None  # not written yet, or caught mid-write


@dataclass(frozen=True, slots=True)
class Played:
    """One command followed to its verdict; the times are seconds after the comment."""

    pr: int
    comment: int
    build: int
    run_id: str
    report: str
    eyes_s: float | None
    build_s: float
    verdict_s: float
    record: dict | None


def play(
    info: w.Info, g: RealGitea, pr: int, body: str, tell=say, timeout: float = VERDICT_TIMEOUT
) -> Played:
    """The maintainer comments `body` on PR `pr`; follow it to the bot's verdict, telling
    what it waits for at least every BEAT seconds."""
    cmd = g.api(
        "POST",
        f"/repos/{w.DEMO_REPO}/issues/{pr}/comments",
        {"body": body},
        auth=as_maintainer(),
    )
    t0 = time.monotonic()
    tell(f"{w.MAINTAINER} commented `{body}` on PR #{pr} (comment {cmd['id']})")
    eyes_s = build_s = None
    build: dict | None = None
    run_id = ""
    last_said, last_text = 0.0, ""
    while True:
        now = time.monotonic() - t0
        if now > timeout:
            raise w.WorldError(f"no verdict on PR #{pr} after {minutes(timeout)}: {last_text}")
        if eyes_s is None and has_eyes(g, cmd["id"]):
            eyes_s = now
            tell(f"👀 from {w.BOT} after {now:.1f} s: the bridge took the command")
        if build is None and (build := build_of(info, cmd["id"])):
            build_s = now
            run_id = drone_run_id(build["number"], cmd["id"])
            tell(f"Drone build #{build['number']} created after {now:.1f} s (run {run_id})")
        report = report_of(g, pr, cmd["id"])
        if build is not None and is_final(report):
            verdict_s = time.monotonic() - t0
            tell(f"the verdict is on the PR after {minutes(verdict_s)}")
            return Played(
                pr, cmd["id"], build["number"], run_id, report or "", eyes_s, build_s or 0.0,
                verdict_s, read_run(info, run_id),
            )  # fmt: skip
        if eyes_s is None:
            text = f"waiting for the bridge to see the comment ({ABOUT['eyes']})"
        elif build is None:
            text = f"waiting for the bridge to start a Drone build ({ABOUT['build']})"
        else:
            text = waiting_on_build(info, build["number"], run_id)
        if text != last_text or now - last_said >= BEAT:
            tell(f"  … {text} [{minutes(now)}]")
            last_said, last_text = now, text
        time.sleep(0.1 if build is None else 1.0)


def waiting_on_build(info: w.Info, number: int, run_id: str) -> str:
    b = w._drone(info.drone_url, "GET", f"/api/repos/{w.CCCI_REPO}/builds/{number}", info.drone_token)  # fmt: skip
    status = b.get("status")
    if status == "pending":
        return f"Drone build #{number} queued for the exec runner"
    if status == "running":
        if record := read_run(info, run_id):
            return f"cc-ci-run: {stage_progress(record)} ({ABOUT['verdict']})"
        steps = [s for st in b.get("stages") or [] for s in st.get("steps") or []]
        step = next((s["name"] for s in steps if s.get("status") == "running"), "starting")
        return f"Drone build #{number} running, step {step}"
    return f"Drone build #{number} ended ({status}): waiting for the bridge's report on the PR"


def tear_down(d: Path) -> None:
    """The world and the apps its runs left (the world's `down` also removes the backupbot
    stand-in its `up` deployed)."""
    say(f"tearing the world down ({ABOUT['down']})")
    with heartbeat(lambda: "still tearing down"):
        for line in w.down(d) or ["nothing of the world was up"]:
            say(f"  {line}")


# --- the demo ----------------------------------------------------------------------------


def show(info: w.Info, played: Played) -> None:
    u = urls(info, played.pr, played.build, played.comment)
    print()
    print(render_comment(played.report))
    print()
    print(
        f"comment → 👀 {played.eyes_s or 0:.1f} s, → Drone build {played.build_s:.1f} s, "
        f"→ verdict {minutes(played.verdict_s)}"
    )
    print(where_to_look(u))
    print()


def keep_run(info: w.Info, run_id: str, results: Path) -> Path | None:
    """Copy the run folder out of the world dir (which `down` removes)."""
    src = Path(info.results_dir) / run_id
    if not src.is_dir():
        return None
    results.mkdir(parents=True, exist_ok=True)
    dest = results / run_id
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest)
    return dest


def verdict_code(played: Played) -> int:
    """scripts/demo's exit code: 0 passed, 1 a test failed, 2 the run ended in an error."""
    status = (played.record or {}).get("status")
    return {"passed": 0, "failed": 1}.get(status or "", 2)


def run(opts: Options, d: Path | None = None) -> int:
    d = d or w.world_dir()
    if opts.mode == "down":
        tear_down(d)
        return 0
    started = time.monotonic()
    kept = False
    try:
        info = world_up(d)  # with backupbot-standin, unless a backupbot runs already
        g = gitea(info)
        pr = demo_pr(g, info)
        say(f"the demo PR: #{pr['number']} {pr['title']!r}, head {pr['head']['sha'][:12]} "
            f"(branch {info.pr_branch}: app 1.2 over the releases 1.0.0+1.0 and 1.1.0+1.1)")  # fmt: skip
        played = play(info, g, pr["number"], opts.command)
        show(info, played)
        if opts.mode == "keep":
            kept = True
            print(
                f"the world stays up ({d}). Comment `!testme` (or `!testme install`) on the PR as "
                f"{w.MAINTAINER} to run it again; it deploys on the shared swarm.\n"
                f"  what runs: .venv/bin/python -m devworld.world status\n"
                f"  to stop it and remove everything: scripts/demo --down"
            )
        else:
            dest = keep_run(info, played.run_id, opts.results_dir)
            if dest:
                say(f"the run folder is kept in {dest} (run.json, logs, screenshots)")
        code = verdict_code(played)
        say(f"{['every stage passed', 'a test failed', 'the run ended in an error'][code]} "
            f"(the demo took {minutes(time.monotonic() - started)} in all)")  # fmt: skip
        return code
    finally:
        if not kept:
            tear_down(d)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    from cc_ci.harness.deploy.docker import DockerError
    from devworld.backupbot import BackupbotError

    try:
        return run(opts)
    except (w.WorldError, BackupbotError, DockerError, TimeoutError, OSError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
