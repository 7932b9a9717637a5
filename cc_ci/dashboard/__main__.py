"""cc-ci-dashboard --results-dir DIR [--listen 127.0.0.1:8080]: serve the dashboard."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from cc_ci.dashboard.eventlog import log
from cc_ci.dashboard.index import Index
from cc_ci.dashboard.markup import safe_url
from cc_ci.dashboard.server import App, make_server, parse_listen


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cc-ci-dashboard",
        description="Serve cc-ci's run records: overview, recipe history, run pages, badges.",
    )
    p.add_argument("--results-dir", required=True, type=Path, help="the runner's results directory")
    p.add_argument(
        "--listen", default="127.0.0.1:8080", help="HOST:PORT to listen on (port 0: any free one)"
    )
    p.add_argument(
        "--public-url",
        help="the dashboard's own URL as visitors see it, which badge snippets name "
        "(default: the address it listens on; never the request's Host header)",
    )
    p.add_argument(
        "--forge-url",
        help="the forge's URL (e.g. https://git.coopcloud.tech), to link PRs and commits "
        "when a record has no link of its own",
    )
    p.add_argument(
        "--rescan-interval",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how often every run.json is checked for changes; new runs and running ones "
        "are picked up at once regardless (default: 30)",
    )
    return p


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    for option in ("public_url", "forge_url"):
        value = getattr(args, option)
        if value is not None and safe_url(value) is None:
            print(
                f"--{option.replace('_', '-')} {value!r}: expected an http(s) URL", file=sys.stderr
            )
            return 2
    if not args.results_dir.is_dir():
        print(f"--results-dir {str(args.results_dir)!r} is not a directory", file=sys.stderr)
        return 2
    try:
        host, port = parse_listen(args.listen)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    index = Index(args.results_dir, full_rescan_s=args.rescan_interval)
    first = index.snapshot()
    try:
        server = make_server(
            App(index, public_url=args.public_url, forge_url=args.forge_url), host, port
        )
    except OSError as e:
        print(f"cannot listen on {args.listen}: {e.strerror}", file=sys.stderr)
        return 2
    bound_host, bound_port = server.server_address[:2]
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    server.RequestHandlerClass.app.fallback_base = f"http://{shown}:{bound_port}"  # type: ignore[attr-defined]
    log(
        "listening",
        url=f"http://{shown}:{bound_port}/",
        results_dir=index.root,
        runs=len(first.runs),
        recipes=first.counts.recipes,
        unreadable=first.counts.unreadable,
    )
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
