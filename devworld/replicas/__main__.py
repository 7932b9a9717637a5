"""python -m devworld.replicas list | build RECIPE --forge DIR [--lose-data] [--no-op-upgrade]

`build` makes the replica's images (cached) and its recipe repository in the forge folder,
and prints the commit to test: the newest release.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devworld.replicas.build import ReplicaError, build, find, replicas


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devworld.replicas", description=__doc__.splitlines()[0]
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="the replicas that run here")
    b = sub.add_parser("build", help="images + recipe repository; prints the head commit")
    b.add_argument("recipe")
    b.add_argument("--forge", type=Path, required=True)
    b.add_argument(
        "--lose-data",
        action="store_true",
        help="the newest release drops the data volumes (a test of the data-survival tests)",
    )
    b.add_argument(
        "--no-op-upgrade",
        action="store_true",
        help="the head is the previous release's files again (an upgrade that upgrades nothing)",
    )
    args = p.parse_args(argv)
    if args.cmd == "list":
        for r in replicas():
            print(r.recipe)
        return 0
    try:
        print(build(find(args.recipe), args.forge.resolve(), args.lose_data, args.no_op_upgrade))
    except ReplicaError as exc:
        print(f"replicas: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
