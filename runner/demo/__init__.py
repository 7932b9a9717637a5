"""Build the demo recipe's images and its git history in a local forge folder.

    python -m runner.demo [--forge DIR] [--broken-test]

The forge holds `cc-ci/demo.git` with three commits: release `1.0.0+1.0`, release
`1.1.0+1.1`, and an untagged PR head that bumps the entrypoint config. `cc-ci-run demo
--src cc-ci/demo --ref <head>` with `CCCI_FORGE_URL=file://DIR` tests that head.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runner.docker import docker
from runner.images import ImageSpec, ensure_image

TEMPLATE = Path(__file__).resolve().parent / "recipe"
SRC = "cc-ci/demo"
GIT_ID = [
    "-c",
    "user.name=cc-ci demo",
    "-c",
    "user.email=demo@cc-ci.invalid",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
]


@dataclass(frozen=True, slots=True)
class Release:
    tag: str | None  # None: the untagged PR head
    app_version: str
    entrypoint_version: str
    message: str


HISTORY = (
    Release("1.0.0+1.0", "1.0", "v1", "demo 1.0.0+1.0"),
    Release("1.1.0+1.1", "1.1", "v1", "demo 1.1.0+1.1"),
    Release(None, "1.2", "v2", "app 1.2; entrypoint config v2 (the PR head)"),
)


def build_images() -> list[str]:
    """The demo app's two versions as local images, tagged cc-ci/demo-app:<version>."""
    tags = []
    for version in sorted({r.app_version for r in HISTORY}):
        built = ensure_image(
            ImageSpec(name="demo-app", texts=(("etc/demo-version", version + "\n"),))
        )
        docker("tag", built, f"cc-ci/demo-app:{version}", timeout=30)
        tags.append(f"cc-ci/demo-app:{version}")
    return tags


def _git(repo: Path, *args: str) -> str:
    r = subprocess.run(
        ["git", *GIT_ID, *args], cwd=repo, capture_output=True, text=True, timeout=60
    )
    if r.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {r.stderr.strip()}")
    return r.stdout.strip()


def _render(dest: Path, release: Release, broken_test: bool, hostile: bool) -> None:
    for item in dest.iterdir():
        if item.name != ".git":
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    for src in TEMPLATE.rglob("*"):
        if src.is_dir() or "__pycache__" in src.parts:
            continue
        rel = src.relative_to(TEMPLATE)
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        text = src.read_text()
        text = (
            text.replace("{{APP_VERSION}}", release.app_version)
            .replace("{{ENTRYPOINT_VERSION}}", release.entrypoint_version)
            .replace("{{RELEASE}}", release.tag or "1.2.0+1.2")
        )
        if hostile and rel.name == "compose.yml":
            text = text.replace(
                "      - content:/data\n",
                "      - content:/data\n      - /var/run/docker.sock:/var/run/docker.sock\n",
            )
        if broken_test and rel.name == "test_recipe_local.py":
            text += "\n\ndef test_deliberately_broken():\n    assert 1 + 1 == 3, 'a failing recipe test'\n"
        out.write_text(text)
        out.chmod(src.stat().st_mode & 0o777)


def build_forge(forge: Path, broken_test: bool = False, hostile: bool = False) -> str:
    """(Re)create `<forge>/cc-ci/demo.git`; return the PR head's commit sha.

    `broken_test` adds a failing recipe-local test to the head; `hostile` makes the head
    mount the Docker socket (which the policy gate must refuse).
    """
    bare = forge / f"{SRC}.git"
    with tempfile.TemporaryDirectory(prefix="cc-ci-demo-") as tmp:
        work = Path(tmp)
        _git(work, "init", "-q", "-b", "main")
        for release in HISTORY:
            head = release.tag is None
            _render(work, release, broken_test and head, hostile and head)
            _git(work, "add", "-A")
            _git(work, "commit", "-q", "-m", release.message)
            if release.tag:
                _git(work, "tag", "-a", release.tag, "-m", f"release {release.tag}")
        head = _git(work, "rev-parse", "HEAD")
        if bare.exists():
            shutil.rmtree(bare)
        bare.parent.mkdir(parents=True, exist_ok=True)
        _git(work, "clone", "-q", "--bare", str(work), str(bare))
    return head


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m runner.demo", description=__doc__.splitlines()[0])
    p.add_argument("--forge", type=Path, required=True)
    p.add_argument("--broken-test", action="store_true", help="add a failing recipe-local test")
    args = p.parse_args(argv)
    build_images()
    print(build_forge(args.forge.resolve(), args.broken_test))
    return 0
