"""python -m devworld.forgesim: serve a demo world, or act on a running one through its control API.

    python -m devworld.forgesim serve [--port 0] [--dir DIR]     serve and seed; prints URL and files
    python -m devworld.forgesim comment BODY [--pr 1] [--login alice] [--repo R]
    python -m devworld.forgesim edit COMMENT-ID BODY
    python -m devworld.forgesim push [--pr 1] [--repo R]            a new head commit on a PR
    python -m devworld.forgesim tag NAME [--repo R]               a release: a commit on main, tagged
    python -m devworld.forgesim finish BUILD [--status success] [--record FILE | --demo-record]
    python -m devworld.forgesim fault SERVICE KIND [--times N]   (gitea|drone|dashboard, 500|malformed|down|lost)
    python -m devworld.forgesim clear-faults
    python -m devworld.forgesim reset-drone                      Drone on a new database: builds from 1
    python -m devworld.forgesim state

Every command but `serve` needs the simulator's URL: --url, or FORGESIM_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

from devworld.forgesim import demo
from devworld.forgesim.server import Sim


def _call(url: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url.rstrip("/") + "/_sim" + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        raise SystemExit(
            f"forgesim: {method} {path}: HTTP {e.code}: {e.read().decode()[:300]}"
        ) from None
    except OSError as e:
        raise SystemExit(f"forgesim: cannot reach {url}: {e}") from None
    return json.loads(raw) if raw else None


def serve(args: argparse.Namespace) -> int:
    folder = Path(args.dir or tempfile.mkdtemp(prefix="forgesim-"))
    with Sim(port=args.port) as sim:
        world = demo.seed(sim, folder / "secrets", repos=args.repos, pulls=args.pulls)
        config = folder / "bridge.toml"
        config.write_text(world.config(folder / "bridge.sqlite3", poll_interval=args.poll_interval))
        url_file = folder / "url"
        url_file.unlink(missing_ok=True)
        print(f"forgesim: serving at {sim.url}", flush=True)
        print(f"  gitea      {sim.gitea_url}   (token file {world.gitea_token_file})")
        print(f"  drone      {sim.drone_url}   (token file {world.drone_token_file})")
        print(f"  dashboard  {sim.dashboard_url}")
        print(f"  webhook secret file {world.webhook_secret_file}")
        print(f"  bridge config       {config}")
        print(f"  enrolled: {', '.join(world.repos)}; org {demo.ORG}: {demo.BOT}, {demo.MEMBER}")
        print(f"  not a member: {demo.OUTSIDER}; PR #1 of {world.repos[0]} is from a fork")
        print(f"export FORGESIM_URL={sim.url}", flush=True)
        tmp = url_file.with_suffix(".tmp")
        tmp.write_text(sim.url + "\n")
        tmp.replace(url_file)  # last: a script can wait for this file
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        stop.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="forgesim", description=__doc__.split("\n")[0])
    p.add_argument("--url", default=os.environ.get("FORGESIM_URL"), help="the simulator's URL")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve a seeded demo world until stopped")
    s.add_argument("--port", type=int, default=0)
    s.add_argument(
        "--dir", help="where the token files, bridge.toml and url go (default: a temp dir)"
    )
    s.add_argument("--repos", type=int, default=1)
    s.add_argument("--pulls", type=int, default=1)
    s.add_argument("--poll-interval", type=int, default=2, help="for the bridge config")
    c = sub.add_parser("comment", help="post a comment on a PR as a user")
    c.add_argument("body")
    c.add_argument("--repo", default=f"{demo.ORG}/custom-html")
    c.add_argument("--pr", type=int, default=1)
    c.add_argument("--login", default=demo.MEMBER)
    e = sub.add_parser("edit", help="edit a comment")
    e.add_argument("id", type=int)
    e.add_argument("body")
    u = sub.add_parser("push", help="push a new head commit to a PR")
    u.add_argument("--repo", default=f"{demo.ORG}/custom-html")
    u.add_argument("--pr", type=int, default=1)
    g = sub.add_parser("tag", help="a release: a new commit on the default branch, tagged")
    g.add_argument("name")
    g.add_argument("--repo", default=f"{demo.ORG}/custom-html")
    f = sub.add_parser("finish", help="end a Drone build (and give it a run record)")
    f.add_argument("build", type=int)
    f.add_argument("--status", default="success")
    f.add_argument("--record", type=Path, help="a run.json to serve as its run record")
    f.add_argument("--no-record", action="store_true", help="serve no run record")
    t = sub.add_parser("fault", help="make a service fail")
    t.add_argument("service", choices=("gitea", "drone", "dashboard"))
    t.add_argument("kind", choices=("500", "malformed", "down", "lost"))
    t.add_argument("--times", type=int, help="how many requests fail (default: all until cleared)")
    t.add_argument("--path", default="", help="only requests whose path contains this")
    sub.add_parser("clear-faults", help="end every fault")
    sub.add_parser("reset-drone", help="forget Drone's builds: numbering starts again at 1")
    sub.add_parser("state", help="print comments, statuses, builds and request counts")
    args = p.parse_args(argv)

    if args.cmd == "serve":
        return serve(args)
    if not args.url:
        p.error("give --url or set FORGESIM_URL (python -m devworld.forgesim serve prints it)")
    match args.cmd:
        case "comment":
            out = _call(
                args.url,
                "POST",
                "/comments",
                {"repo": args.repo, "pr": args.pr, "login": args.login, "body": args.body},
            )
        case "edit":
            out = _call(args.url, "PATCH", f"/comments/{args.id}", {"body": args.body})
        case "push":
            out = _call(args.url, "POST", "/push", {"repo": args.repo, "pr": args.pr})
        case "tag":
            out = _call(args.url, "POST", "/tags", {"repo": args.repo, "name": args.name})
        case "reset-drone":
            out = _call(args.url, "POST", "/drone/reset", {})
        case "finish":
            record: Any = None
            if args.record:
                record = json.loads(args.record.read_text())
            elif not args.no_record:
                record = "demo"
            out = _call(
                args.url,
                "POST",
                f"/builds/{args.build}/finish",
                {"status": args.status, "record": record},
            )
        case "fault":
            out = _call(
                args.url,
                "POST",
                "/faults",
                {"service": args.service, "kind": args.kind, "times": args.times},
            )
        case "clear-faults":
            out = _call(args.url, "DELETE", "/faults")
        case _:
            out = _call(args.url, "GET", "/state")
    if out is not None:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
