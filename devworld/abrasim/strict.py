"""The strict readings of real abra that abra-sim enforces (docs/abra-sim.md, "Strict").

Each is a refusal real abra is known (or, where marked, believed) to make, or a network use
it would make where abra-sim cannot: a harness that works against abra-sim must not depend
on abra-sim being more lenient than abra. Kept apart from the commands themselves, so the
commands can change without losing them.
"""

from __future__ import annotations

import os
from pathlib import Path

from devworld.abrasim.argv import Invocation
from devworld.abrasim.layout import Fatal

# Commands that read or move the recipe checkout: without -o real abra fetches the recipe's
# remote (the earlier real-server build saw `backup create`/`restore` without -C -o fetch tags
# from a private remote and fail; `app ls` and `secret generate` touch the recipe too).
TOUCH_RECIPE = {
    ("app", "new"),
    ("app", "deploy"),
    ("app", "upgrade"),
    ("app", "secret", "generate"),
    ("app", "ls"),
    ("app", "backup", "create"),
    ("app", "restore"),
}
DOMAIN_CHECKS = {("app", "deploy"), ("app", "upgrade")}
NEEDS_TERMINAL = {("app", "backup", "create"), ("app", "restore")}


def require_terminal(streams: tuple[int, ...] = (0, 1, 2)) -> None:
    """backup and restore refuse to run without a terminal (the earlier build saw `input
    device is not a TTY` and gave them a full one with `script -qec`): stdin, stdout and
    stderr must each be a TTY."""
    missing = [("stdin", "stdout", "stderr")[fd] for fd in streams if not os.isatty(fd)]
    if missing:
        raise Fatal(f"the input device is not a TTY ({', '.join(missing)} not a terminal)")


def require_catalogue(root: Path) -> None:
    """abra keeps a clone of the recipe catalogue at $ABRA_DIR/catalogue and clones it from
    the network when it is missing; abra-sim refuses instead."""
    if not (root / "catalogue").is_dir():
        raise Fatal(
            f"no catalogue at {root / 'catalogue'}: real abra would clone it from the network "
            "(give ABRA_DIR one: the operator's, or an empty git repository)"
        )


def check(root: Path, inv: Invocation) -> None:
    """Refuse `inv` where real abra would refuse it or go online."""
    if inv.path[0] == "app":
        require_catalogue(root)
    if inv.path in TOUCH_RECIPE and "offline" not in inv.globals:
        raise Fatal(
            f"abra {' '.join(inv.path)} without -o/--offline: real abra would fetch the "
            "recipe from its remote (pass -o)"
        )
    if inv.path in DOMAIN_CHECKS and not inv.flag("no-domain-checks"):
        raise Fatal(
            f"abra {' '.join(inv.path)} without -D/--no-domain-checks: real abra would look "
            f"up {inv.args[0]} in public DNS and refuse a domain that does not resolve to "
            "this server (pass -D)"
        )
    if inv.path in NEEDS_TERMINAL:
        require_terminal()
