"""Keeping every file the dashboard reads inside the results directory.

`resolve_inside` asks the file system where a path really leads (following symlinks) and
refuses anything that ends up outside the run folder, or a run folder that is itself a link
to somewhere else. The pure check of a path's parts, `is_safe_relpath`, is the run record's
rule and lives with it (cc_ci/contract/names.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from cc_ci.contract.names import is_safe_relpath


def resolve_inside(root: Path, run_id: str, relpath: str | None = None) -> Path | None:
    """The real path of `<root>/<run_id>/<relpath>`, or None when it would leave the folder.

    `root` must already be a real path (see `os.path.realpath`). The run folder must be a
    real folder directly under it, and the target a regular file inside that folder.
    """
    if "/" in run_id or run_id in ("", ".", "..") or "\x00" in run_id:
        return None
    if relpath is not None and not is_safe_relpath(relpath):
        return None
    run_dir = os.path.join(root, run_id)
    if os.path.realpath(run_dir) != run_dir:
        return None  # the run folder is a symlink (or missing): not ours to follow
    if relpath is None:
        return Path(run_dir) if os.path.isdir(run_dir) else None
    target = os.path.realpath(os.path.join(run_dir, relpath))
    if os.path.commonpath([run_dir, target]) != run_dir or not os.path.isfile(target):
        return None
    return Path(target)
