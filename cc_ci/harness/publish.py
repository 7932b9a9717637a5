"""What a run puts in its served folder, masked before it is written.

The run folder is served (the dashboard, the bridge's links), so nothing reaches it unmasked:
pytest writes its JUnit XML and the suites their screenshots into the run's private work dir,
and these functions copy them into the run folder through the run's Redactor: the XML's
text, and the screenshots' file names (a test's name or a screenshot's may hold a value a
test read). Pure but for the copying.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from cc_ci.contract.redact import MASK

Redact = Callable[[str], str]
NAME_MASK = "redacted"  # what stands for a secret in a file name


def artifact_name(name: str, redact: Redact) -> str:
    """`name` with every secret in it replaced by `redacted` (no brackets in a file name)."""
    masked = redact(name)
    return name if masked == name else masked.replace(MASK, NAME_MASK)


def publish_text(data: bytes, dest: Path, redact: Redact) -> Path:
    """Write `data` (text, UTF-8; what is not is replaced) to `dest`, masked."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(redact(data.decode("utf-8", "replace")), encoding="utf-8")
    return dest


def publish_junit(src: Path | None, dest: Path, redact: Redact) -> Path | None:
    """Copy a JUnit XML file into the run folder, masked; None when there is none."""
    if src is None or not src.is_file():
        return None
    path = publish_text(src.read_bytes(), dest, redact)
    if src != dest:
        src.unlink(missing_ok=True)
    return path


def publish_files(src_dir: Path, dest_dir: Path, redact: Redact) -> list[Path]:
    """Move the regular files of `src_dir` (screenshots) into `dest_dir` under masked names."""
    moved: list[Path] = []
    if not src_dir.is_dir():
        return moved
    for src in sorted(src_dir.iterdir()):
        if src.is_symlink() or not src.is_file():
            continue
        dest = dest_dir / artifact_name(src.name, redact)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(src, dest)
        moved.append(dest)
    return moved
