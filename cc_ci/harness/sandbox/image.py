"""The recipe-tests image: Debian bookworm with Python, pytest, Playwright and Chromium.

Recipe-shipped tests run in a throw-away container of this image (cc_ci/harness/sandbox/container.py). It is
built locally, without a registry, in three cached steps, each tagged by a hash of its
inputs (cc_ci/harness/sandbox/debimage.py), so a second run finds it at once:

  1. the Debian base (debootstrap);
  2. Debian's python3, chromium and fonts, plus the wheels pinned by hash in
     cc_ci/harness/sandbox/requirements.txt (downloaded on the host, installed offline);
  3. cc-ci's small in-container plugin (cc_ci/suite/sandbox_plugin.py and the modules it
     imports: IN_IMAGE).

Step 2 takes minutes once; a change to the plugin rebuilds only step 3 (seconds).

    python -m cc_ci.harness.sandbox.image      # build (or find) it and print its tag
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
from pathlib import Path

from cc_ci.harness import children, locks
from cc_ci.harness.sandbox.debimage import DebImageError, Layer, debian_base, derive
from cc_ci.harness.settings import Settings

HERE = Path(__file__).resolve().parent
LOCK = HERE / "requirements.txt"
# Chromium brings its own libraries; fonts so that pages render text; libatomic1 for the
# node binary Playwright drives the browser with.
PACKAGES = ("python3", "chromium", "fonts-liberation", "fonts-dejavu-core", "libatomic1")
# The image's Python: Debian bookworm's CPython 3.11 on x86_64.
WHEEL_PLATFORM = [
    "--only-binary=:all:",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--abi",
    "cp311",
    *[
        x
        for p in ("manylinux_2_36_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64")
        for x in ("--platform", p)
    ],
]
SITE = "/usr/local/lib/python3.11/dist-packages"
PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\n"
USER = "65534:65534"  # nobody:nogroup
# cc-ci's code in the image: the suite folder (the plugin and its fixtures) and the contract
# it reads, whole. Both import only the standard library, pytest, Playwright and each other.
PACKAGE = HERE.parents[1]  # cc_ci/
IN_IMAGE = ("suite", "contract")


def image_files() -> tuple[tuple[str, str], ...]:
    """(path in the image, text) of each cc-ci source file the image carries."""
    files = [("/opt/cc-ci/cc_ci/__init__.py", (PACKAGE / "__init__.py").read_text())]
    for folder in IN_IMAGE:
        for src in sorted((PACKAGE / folder).rglob("*.py")):
            rel = src.relative_to(PACKAGE)
            if "tests" in rel.parts or "builtin" in rel.parts:
                continue
            files.append((f"/opt/cc-ci/cc_ci/{rel.as_posix()}", src.read_text()))
    return tuple(files)


def wheels_dir(tools: Path | None = None) -> Path:
    """The pinned wheels' cache under the tools folder (CCCI_TOOLS), one per lock file."""
    tools = tools if tools is not None else Settings.from_env().tools_dir
    return tools / "wheels" / hashlib.sha256(LOCK.read_bytes()).hexdigest()[:12]


def pinned() -> list[tuple[str, str, str]]:
    """(name, version, sha256) of each line of the lock file."""
    out = []
    for line in LOCK.read_text().splitlines():
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+) --hash=sha256:([0-9a-f]{64})", line.strip())
        if m:
            out.append((m.group(1), m.group(2), m.group(3)))
    return out


def download_wheels(tools: Path | None = None) -> list[Path]:
    """The pinned wheels, downloaded once into the tools cache and checked by hash."""
    dest = wheels_dir(tools)
    want = pinned()
    have = sorted(dest.glob("*.whl")) if dest.is_dir() else []
    if len(have) != len(want):
        dest.mkdir(parents=True, exist_ok=True)
        r = children.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--disable-pip-version-check",
                "--no-deps",
                "--require-hashes",
                *WHEEL_PLATFORM,
                "-d",
                str(dest),
                "-r",
                str(LOCK),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if r.returncode != 0:
            raise DebImageError(
                f"pip download of the test image's wheels failed: {r.stderr[-400:]}"
            )
        have = sorted(dest.glob("*.whl"))
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in have}
    missing = [name for name, _, sha in want if sha not in digests]
    if missing:
        raise DebImageError(f"wheels in {dest} do not match {LOCK.name}: {missing}")
    return have


def layers(wheels: list[Path]) -> tuple[Layer, Layer]:
    deps = Layer(
        name="recipe-tests-deps",
        packages=PACKAGES,
        host_files=tuple((f"/tmp/wheels/{w.name}", w) for w in wheels),
        run=(
            # pip is not in the image: the pinned wheels are unpacked as they are (pure
            # Python apart from greenlet and charset-normalizer, built for this CPython; no
            # install scripts run). Their entry points are never used: suite runs load the
            # plugins by name (cc_ci/suite/plugins.py).
            (
                "python3",
                "-c",
                "import sys, zipfile\n"
                "for w in sys.argv[2:]:\n"
                "    zipfile.ZipFile(w).extractall(sys.argv[1])\n",
                SITE,
                *(f"/tmp/wheels/{w.name}" for w in wheels),
            ),
            ("sh", "-c", f"chmod -R a+rX {SITE} && chmod a+x {SITE}/playwright/driver/node"),
            ("rm", "-rf", "/tmp/wheels"),
            (
                "python3",
                "-c",
                "import pytest, playwright.sync_api, pytest_base_url.plugin, "
                "pytest_playwright.pytest_playwright",
            ),
        ),
    )
    plugin = Layer(
        name="recipe-tests",
        files=(
            *image_files(),
            ("/opt/cc-ci/pytest.ini", PYTEST_INI),
        ),
        run=(("chmod", "-R", "a+rX", "/opt/cc-ci"),),
        env=(
            ("PYTHONPATH", "/opt/cc-ci"),
            ("PYTHONDONTWRITEBYTECODE", "1"),
            ("PYTHONUNBUFFERED", "1"),
            ("HOME", "/tmp"),
            ("TMPDIR", "/tmp"),
        ),
        workdir="/tmp",
        user=USER,
    )
    return deps, plugin


def ensure_sandbox_image(tools: Path | None = None, state_dir: Path | None = None) -> str:
    """The recipe-tests image's tag, built (minutes, once) unless it exists already. Under
    the `image` lock: runs at once wait for one build instead of each making its own."""
    with locks.held(locks.IMAGE, state_dir):
        base = debian_base()
        deps, plugin = layers(download_wheels(tools))
        return derive(derive(base, deps), plugin)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m cc_ci.harness.sandbox.image", description=__doc__.splitlines()[0]
    )
    p.parse_args(argv)
    t0 = time.monotonic()
    try:
        tag = ensure_sandbox_image()
    except DebImageError as exc:
        print(f"sandbox image: {exc}", file=sys.stderr)
        return 2
    print(f"{tag} ({time.monotonic() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
