"""backupbot-standin: a STAND-IN for backup-bot-two on machines where its image cannot be had.

Not backup-bot-two. It is written from the documented backup label contract
(docs/backupbot-standin.md lists what is known, from where, and what is not) and deployed the
way the backup-bot-two recipe is: one swarm service carrying the label
`coop-cloud.backupbot.enabled=true` (what abra looks for), with the Docker socket and
/var/lib/docker/volumes mounted, a restic repository in a volume of its own and the restic
password as a swarm secret. Its image is built here (Debian's restic and python3, the host's
Debian docker CLI, and `bot.py` as /usr/bin/backup), never pulled.

    python -m devworld.backupbot up | down | status

Tests and demos that need it bring it up and take it down again: the shared swarm must not
keep a backupbot, since other tests check how a backup without one is reported.
"""

from __future__ import annotations

import secrets as pysecrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from cc_ci.harness.deploy.docker import DockerError, docker
from cc_ci.harness.sandbox.debimage import Layer, debian_base, derive
from cc_ci.harness.waiting import wait_for

HERE = Path(__file__).resolve().parent
STACK = "backupbot-standin"
SERVICE = f"{STACK}_app"
SECRET = f"{STACK}_restic_password_v1"
VOLUME = f"{STACK}_backups"
BOT_LABEL = "coop-cloud.backupbot.enabled=true"
STANDIN_LABEL = "cc-ci.standin=backup-bot-two"
DOCKER_CLI = Path("/usr/bin/docker")  # Debian's docker.io client (scripts/bootstrap installs it)


class BackupbotError(RuntimeError):
    """The stand-in could not be built, deployed or removed; the message says which step."""


def image() -> str:
    """The stand-in's image, built once per content (cc_ci/harness/sandbox/debimage.py)."""
    if not DOCKER_CLI.exists():
        raise BackupbotError(f"{DOCKER_CLI} is missing: run scripts/bootstrap (docker.io)")
    layer = Layer(
        name="backupbot-standin",
        packages=("restic", "python3"),
        files=(("/usr/bin/backup", (HERE / "bot.py").read_text()),),
        host_files=(("/usr/bin/docker", DOCKER_CLI),),
        run=(("chmod", "0755", "/usr/bin/backup", "/usr/bin/docker"),),
        env=(
            ("RESTIC_REPOSITORY", "/backups/restic"),
            ("RESTIC_PASSWORD_FILE", "/run/secrets/restic_password"),
        ),
        cmd=("/usr/bin/backup", "serve"),
    )
    return derive(debian_base(), layer)


COMPOSE = """\
version: "3.8"
# backupbot-standin: a STAND-IN for the backup-bot-two recipe (cc-ci devworld/backupbot)
services:
  app:
    image: {image}
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - /var/lib/docker/volumes:/var/lib/docker/volumes
      - backups:/backups
    secrets:
      - restic_password
    deploy:
      labels:
        - "{bot_label}"
        - "{standin_label}"
volumes:
  backups:
secrets:
  restic_password:
    external: true
    name: {secret}
"""


def running_container() -> str | None:
    out = docker(
        "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={SERVICE}",
        "--filter", "status=running", timeout=60,
    ).split()  # fmt: skip
    return out[0] if out else None


def _ready() -> bool:
    c = running_container()
    return bool(c) and "ready" in docker("logs", c, check=False, timeout=60)


def up(timeout: float = 180) -> str:
    """Deploy the stand-in (idempotent) and wait until its repository is ready; returns the
    service name."""
    others = [
        n
        for n in docker(
            "service", "ls", "--filter", f"label={BOT_LABEL}", "--format", "{{.Name}}"
        ).split()
        if n != SERVICE
    ]
    if others:
        raise BackupbotError(f"a backupbot already runs on this swarm: {', '.join(others)}")
    tag = image()
    if not docker("secret", "ls", "-q", "--filter", f"name={SECRET}", timeout=60).split():
        docker("secret", "create", SECRET, "-", input=pysecrets.token_hex(24), timeout=60)
    with tempfile.TemporaryDirectory(prefix="cc-ci-backupbot-") as tmp:
        compose = Path(tmp) / "compose.yml"
        compose.write_text(
            COMPOSE.format(
                image=tag, bot_label=BOT_LABEL, standin_label=STANDIN_LABEL, secret=SECRET
            )
        )
        docker(
            "stack", "deploy", "--detach=true", "--resolve-image", "never",
            "-c", str(compose), STACK, timeout=180,
        )  # fmt: skip
    wait_for("the backupbot stand-in to be ready", _ready, timeout, interval=0.5)
    return SERVICE


def down(timeout: float = 180) -> None:
    """Remove the stand-in: its stack, then its restic repository volume and its secret."""
    docker("stack", "rm", STACK, check=False, timeout=120)

    def gone() -> bool:
        return not docker(
            "ps", "-aq", "--filter", f"label=com.docker.stack.namespace={STACK}", timeout=60
        ).split() and not docker(
            "service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={STACK}",
            timeout=60,
        ).split()  # fmt: skip

    wait_for("the backupbot stand-in's containers to be gone", gone, timeout, interval=0.5)
    for kind, name in (("volume", VOLUME), ("secret", SECRET)):
        try:
            wait_for(f"{kind} {name} to be removed", partial(_rm, kind, name), 60, interval=0.5)
        except TimeoutError as exc:
            raise BackupbotError(f"could not remove {kind} {name}: {exc}") from exc
    for net in docker("network", "ls", "-q", "--filter", f"name={STACK}_", timeout=60).split():
        docker("network", "rm", net, check=False, timeout=60)


def _rm(kind: str, name: str) -> bool:
    if not docker(kind, "ls", "-q", "--filter", f"name={name}", timeout=60).split():
        return True
    try:
        docker(kind, "rm", name, timeout=60)
    except DockerError:
        return False
    return True


def status() -> str:
    c = running_container()
    if c is None:
        return "backupbot-standin: not running"
    return f"backupbot-standin: running as {SERVICE} (container {c[:12]}; a stand-in)"


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    p = argparse.ArgumentParser(
        prog="python -m devworld.backupbot",
        description="backupbot-standin: a stand-in for backup-bot-two (not backup-bot-two)",
    )
    p.add_argument("command", choices=("up", "down", "status"))
    a = p.parse_args(argv)
    try:
        if a.command == "up":
            print(f"backupbot-standin: up as {up()} (a stand-in for backup-bot-two)")
        elif a.command == "down":
            down()
            print("backupbot-standin: removed (stack, restic repository volume, secret)")
        else:
            print(status())
    except (BackupbotError, DockerError, TimeoutError) as exc:
        print(f"backupbot-standin: {exc}", file=sys.stderr)
        return 1
    return 0


@contextmanager
def deployed() -> Iterator[str]:
    """The stand-in for a `with` block (its service name), removed afterwards even when the
    block fails, so no backupbot stays on the shared swarm."""
    try:
        yield up()
    finally:
        down()
