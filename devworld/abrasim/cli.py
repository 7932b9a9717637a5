"""abra-sim's process edge: parse argv, run one command, turn failures into `FATA` lines.

Exit status: 0 on success, 1 on any failure (with `FATA <reason>` on stderr), or the
command's own status for `app run`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from devworld.abrasim import VERSION, argv, lifecycle, queries, strict
from devworld.abrasim.layout import Fatal, abra_dir

Handler = Callable[[Path, argv.Invocation], int]

HANDLERS: dict[tuple[str, ...], Handler] = {
    ("server", "add"): queries.server_add,
    ("server", "ls"): queries.server_ls,
    ("app", "new"): lifecycle.new,
    ("app", "deploy"): lifecycle.deploy,
    ("app", "upgrade"): lifecycle.upgrade,
    ("app", "undeploy"): lifecycle.undeploy,
    ("app", "remove"): lifecycle.remove,
    ("app", "volume", "remove"): lifecycle.volume_remove,
    ("app", "secret", "generate"): lifecycle.secret_generate,
    ("app", "secret", "remove"): lifecycle.secret_remove,
    ("app", "ls"): queries.app_ls,
    ("app", "ps"): queries.app_ps,
    ("app", "run"): queries.app_run,
    ("app", "backup", "create"): queries.backup_create,
    ("app", "backup", "snapshots"): queries.backup_snapshots,
    ("app", "restore"): queries.restore,
}

BANNER = f"abra-sim {VERSION} (stand-in for abra; not abra)"


def _help(path: tuple[str, ...]) -> str:
    return (
        f"{BANNER}\n"
        "A test double implementing the subset of abra that cc-ci uses; see docs/abra-sim.md.\n"
        f"Commands{' under ' + ' '.join(path) if path else ''}:\n{argv.usage(path)}\n"
        "Global flags: -n/--no-input -o/--offline -d/--debug"
    )


def main(args: list[str] | None = None) -> int:
    args = sys.argv[1:] if args is None else args
    try:
        parsed = argv.parse(args)
        if isinstance(parsed, argv.Special):
            if parsed.what == "version":
                print(BANNER)
                print("implements: " + ", ".join(" ".join(p) for p in HANDLERS))
            else:
                print(_help(parsed.path))
            return 0
        root = abra_dir()
        strict.check(root, parsed)
        return HANDLERS[parsed.path](root, parsed)
    except (argv.UsageError, Fatal) as exc:
        print(f"FATA {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("FATA interrupted", file=sys.stderr)
        return 130
