"""Build the demo recipe's images and its git history in a local forge folder.

    python -m devworld.demo --forge DIR [--broken-test] [--hostile]

The forge holds `cc-ci/demo.git` with three commits: release `1.0.0+1.0`, release
`1.1.0+1.1`, and an untagged PR head (app 1.2, entrypoint config v2). `cc-ci-run demo
--src cc-ci/demo --ref <head>` with `CCCI_FORGE_URL=file://DIR` tests that head.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from cc_ci.harness.deploy.docker import docker
from devworld.forge import Release
from devworld.forge import build_forge as _build
from devworld.images import ImageSpec, ensure_image

TEMPLATE = Path(__file__).resolve().parent / "recipe"
SRC = "cc-ci/demo"


def _release(tag: str | None, app: str, entrypoint: str, message: str) -> Release:
    values = {"APP_VERSION": app, "ENTRYPOINT_VERSION": entrypoint, "RELEASE": tag or "1.2.0+1.2"}
    return Release(tag, message, values)


HISTORY = (
    _release("1.0.0+1.0", "1.0", "v1", "demo 1.0.0+1.0"),
    _release("1.1.0+1.1", "1.1", "v1", "demo 1.1.0+1.1"),
    _release(None, "1.2", "v2", "app 1.2; entrypoint config v2 (the PR head)"),
)
BROKEN_TEST = (
    "\n\ndef test_deliberately_broken():\n    assert 1 + 1 == 3, 'a failing recipe test'\n"
)
SOCKET_MOUNT = "      - content:/data\n      - /var/run/docker.sock:/var/run/docker.sock\n"
# Tests that try to get out of the recipe-local sandbox (placeholders: see the file).
ESCAPE_TESTS = Path(__file__).resolve().parent / "escape" / "test_escape.py"
# The leaky variant's app tries to be handed the runner's secrets (interpolation from the
# environment of whoever deploys it) and writes all it sees where its tests can fetch it.
LEAKY_ENV = "".join(
    f"      - LEAK_{v}=${{{v}:-}}\n"
    for v in ("CCCI_CANARY", "CCCI_GIT_TOKEN_FILE", "DRONE_TOKEN", "GITEA_TOKEN")
)
DUMP = (
    "{ env; cat /run/secrets/*; for f in /proc/*/environ; do tr '\\0' '\\n' <\"$f\"; done; "
    'for f in $LEAK_CCCI_GIT_TOKEN_FILE; do cat "$f"; done; } >/data/dump.txt 2>/dev/null || true\n'
)

# The demo's backup labels, and what each backup variant of the head has instead.
BACKUP_LABELS = '        - "backupbot.backup.volumes.content.path=/"\n'
BACKUP_VARIANTS = {
    # the path label names a file the app never writes: the backup must fail, naming it
    "path-misses": '        - "backupbot.backup.volumes.content.path=missing.txt"\n',
    # the pre-hook "dumps" an empty file and only that is backed up: the harness's snapshot
    # check must fail, naming the hook
    "empty-dump": '        - "backupbot.backup.pre-hook=: > /data/dump.sql"\n'
    '        - "backupbot.backup.volumes.content.path=dump.sql"\n',
    # only a file the hook writes is backed up, so the restore brings none of the app's
    # data back: the suite's verify test must fail
    "restores-nothing": '        - "backupbot.backup.pre-hook=echo marker > /data/marker.txt"\n'
    '        - "backupbot.backup.volumes.content.path=marker.txt"\n',
    # a second service also carries backupbot.backup=true: refused, naming both
    "two-services": BACKUP_LABELS + "  side:\n    image: cc-ci/demo-app:1.2\n"
    '    command: ["sleep", "3600"]\n    deploy:\n      labels:\n'
    '        - "backupbot.backup=true"\n',
    # a pre-hook that writes 48 MiB for restic to read: time to kill the run mid-backup
    "slow": '        - "backupbot.backup.pre-hook=head -c 50331648 /dev/urandom > /data/big"\n'
    + BACKUP_LABELS,
}


# The canary variant's app reads its own generated secret inside its container and serves it;
# its recipe test fetches it and puts it in its output, its JUnit properties and the name of
# a screenshot: the secret must reach none of them in the run folder (issue 13, item 5).
CANARY_SERVE = "cp /run/secrets/admin_password /data/canary.txt\n"
CANARY_TEST = """\"\"\"A recipe test that leaks its app's own secret every way it can (the canary variant).\"\"\"


def test_the_app_hands_its_own_secret_to_its_tests(
    app, record_testsuite_property, page, base_url, screenshot
):
    secret = app.get("/canary.txt").text.strip()
    assert len(secret) >= 16, "the app serves the secret it read in its container"
    print("the app's own secret:", secret)
    record_testsuite_property("app_secret", secret)
    page.goto(base_url + "/")
    screenshot(page, secret)
"""


def build_images() -> list[str]:
    """The demo app's versions as local images, tagged cc-ci/demo-app:<version>."""
    tags = []
    for version in sorted({r.values["APP_VERSION"] for r in HISTORY}):
        built = ensure_image(
            ImageSpec(name="demo-app", texts=(("etc/demo-version", version + "\n"),))
        )
        docker("tag", built, f"cc-ci/demo-app:{version}", timeout=30)
        tags.append(f"cc-ci/demo-app:{version}")
    return tags


def build_forge(
    forge: Path,
    broken_test: bool = False,
    hostile: bool = False,
    head_tests: Mapping[str, str] | None = None,
    leaky_app: bool = False,
    secret_canary: bool = False,
    backup_variant: str = "",
) -> str:
    """(Re)create `<forge>/cc-ci/demo.git`; return the PR head's commit sha.

    `broken_test` adds a failing recipe-local test to the head; `hostile` makes the head
    mount the Docker socket (which the policy gate must refuse); `head_tests` adds files
    to the head's tests/ (name → text); `leaky_app` makes the head's app ask for the
    deployer's secrets and write all it sees to /dump.txt; `secret_canary` makes the head's
    app serve its own generated secret and its recipe test print it, record it and name a
    screenshot after it. `backup_variant` (a key of
    BACKUP_VARIANTS) gives the head's app other backup labels: the backup stage's tests of
    the test.
    """
    if backup_variant and backup_variant not in BACKUP_VARIANTS:
        raise ValueError(f"unknown backup variant {backup_variant!r}: {', '.join(BACKUP_VARIANTS)}")

    def rewrite(rel: Path, text: str, is_head: bool) -> str:
        if is_head and hostile and rel.name == "compose.yml":
            text = text.replace("      - content:/data\n", SOCKET_MOUNT)
        if is_head and broken_test and rel.name == "test_recipe_local.py":
            text += BROKEN_TEST
        if is_head and leaky_app and rel.name == "compose.yml":
            text = text.replace(
                "      - GREETING=${GREETING:-hello}\n",
                "      - GREETING=${GREETING:-hello}\n" + LEAKY_ENV,
            )
        if is_head and leaky_app and rel.name == "entrypoint.sh":
            text = text.replace(
                "test -s /run/secrets/admin_password\n",
                "test -s /run/secrets/admin_password\n" + DUMP,
            )
        if is_head and secret_canary and rel.name == "entrypoint.sh":
            text = text.replace(
                "test -s /run/secrets/admin_password\n",
                "test -s /run/secrets/admin_password\n" + CANARY_SERVE,
            )
        if is_head and backup_variant and rel.name == "compose.yml":
            assert BACKUP_LABELS in text, "the demo's backup labels moved"
            text = text.replace(BACKUP_LABELS, BACKUP_VARIANTS[backup_variant])
        return text

    extra = {f"tests/{name}": text for name, text in (head_tests or {}).items()}
    if secret_canary:
        extra["tests/test_canary.py"] = CANARY_TEST
    return _build(TEMPLATE, HISTORY, forge, SRC, rewrite, extra)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m devworld.demo", description=__doc__.splitlines()[0])
    p.add_argument("--forge", type=Path, required=True)
    p.add_argument("--broken-test", action="store_true", help="add a failing recipe-local test")
    p.add_argument("--hostile", action="store_true", help="make the head mount the Docker socket")
    args = p.parse_args(argv)
    build_images()
    print(build_forge(args.forge.resolve(), args.broken_test, args.hostile))
    return 0
