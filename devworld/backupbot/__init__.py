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

Ownership: several users share the one stand-in (the whole-system world, the backup tests,
scripts/replica and scripts/demo), so its service carries the label `cc-ci.standin.owner=
<owner>`, naming who deployed it. `up(owner=…)` deploys it only when no backupbot runs, and
otherwise uses the one there (a real backup-bot-two refuses it: two bots would be one too
many for abra); `down(owner=…)` removes it only when that owner deployed it, so no user's
`down` takes away a stand-in another one brought up. `down()` without an owner removes it
whoever deployed it (a person cleaning up by hand).
"""

from __future__ import annotations

import json
import os
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
OWNER_LABEL = "cc-ci.standin.owner"
"""Who deployed the stand-in (see the module's doc, Ownership)."""
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
        - {owner_label}
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


def backupbots() -> dict[str, str | None]:
    """Every backupbot service on the swarm (the label abra looks for), with the stand-in's
    owner label (None for a service that has none: a real backup-bot-two)."""
    names = docker(
        "service", "ls", "--filter", f"label={BOT_LABEL}", "--format", "{{.Name}}", timeout=60
    ).split()  # fmt: skip
    found: dict[str, str | None] = {}
    for name in names:
        label = docker(
            "service", "inspect", name, "--format",
            f'{{{{index .Spec.Labels "{OWNER_LABEL}"}}}}', check=False, timeout=60,
        ).strip()  # fmt: skip
        found[name] = label or None
    return found


def owner() -> str | None:
    """Who deployed the running stand-in (its owner label), or None when it is not deployed."""
    return backupbots().get(SERVICE)


def decide_up(bots: dict[str, str | None], me: str) -> str:
    """What `up` does given the backupbots running (`backupbots()`): `deploy` when there is
    none, `refresh` when the stand-in is `me`'s own (deployed again: a changed bot.py is
    picked up), `use` when it is another owner's (left as it is). Another backupbot (a real
    one) makes a second one wrong: refused, naming it."""
    others = sorted(n for n in bots if n != SERVICE)
    if others:
        raise BackupbotError(f"a backupbot already runs on this swarm: {', '.join(others)}")
    if SERVICE not in bots:
        return "deploy"
    return "refresh" if bots[SERVICE] == me else "use"


def decide_down(bots: dict[str, str | None], me: str | None) -> bool:
    """Whether `down` removes the stand-in: when it runs and `me` deployed it, or `me` is
    None (removal by hand, whoever deployed it). Never another backupbot."""
    return SERVICE in bots and (me is None or bots[SERVICE] == me)


def default_owner() -> str:
    """The owner a caller that names none is: this process (`pid:<pid>`)."""
    return f"pid:{os.getpid()}"


def up(timeout: float = 180, owner: str | None = None) -> str:
    """Make sure the stand-in runs, deploying it as `owner` (default: this process) when no
    backupbot does, and wait until its repository is ready; returns the service name. A
    stand-in another owner deployed is used as it is (see the module's doc, Ownership)."""
    me = owner or default_owner()
    action = decide_up(backupbots(), me)
    if action != "use":
        _deploy(me)
    wait_for("the backupbot stand-in to be ready", _ready, timeout, interval=0.5)
    return SERVICE


def _deploy(me: str) -> None:
    tag = image()
    if not docker("secret", "ls", "-q", "--filter", f"name={SECRET}", timeout=60).split():
        docker("secret", "create", SECRET, "-", input=pysecrets.token_hex(24), timeout=60)
    with tempfile.TemporaryDirectory(prefix="cc-ci-backupbot-") as tmp:
        compose = Path(tmp) / "compose.yml"
        compose.write_text(
            COMPOSE.format(
                image=tag,
                bot_label=BOT_LABEL,
                standin_label=STANDIN_LABEL,
                owner_label=json.dumps(f"{OWNER_LABEL}={me}"),
                secret=SECRET,
            )
        )
        docker(
            "stack", "deploy", "--detach=true", "--resolve-image", "never",
            "-c", str(compose), STACK, timeout=180,
        )  # fmt: skip


def down(timeout: float = 180, owner: str | None = None) -> bool:
    """Remove the stand-in, its stack, then its restic repository volume and its secret,
    when `owner` deployed it, or whoever did when `owner` is None. Returns whether it was
    removed; a stand-in another owner deployed is left running (False)."""
    bots = backupbots()
    if SERVICE not in bots:
        _leftovers()  # no stand-in runs: what a stopped one left is nobody's
        return False
    if not decide_down(bots, owner):
        return False
    docker("stack", "rm", STACK, check=False, timeout=120)

    def gone() -> bool:
        return not docker(
            "ps", "-aq", "--filter", f"label=com.docker.stack.namespace={STACK}", timeout=60
        ).split() and not docker(
            "service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={STACK}",
            timeout=60,
        ).split()  # fmt: skip

    wait_for("the backupbot stand-in's containers to be gone", gone, timeout, interval=0.5)
    _leftovers()
    return True


def _leftovers() -> None:
    """The restic repository volume, the secret and the networks of a stand-in that is gone."""
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
    return (
        f"backupbot-standin: running as {SERVICE} (container {c[:12]}; a stand-in),"
        f" deployed by {owner() or 'an unnamed owner'}"
    )


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    p = argparse.ArgumentParser(
        prog="python -m devworld.backupbot",
        description="backupbot-standin: a stand-in for backup-bot-two (not backup-bot-two)",
    )
    p.add_argument("command", choices=("up", "down", "status"))
    p.add_argument(
        "--owner",
        help="who deploys it (up; default: cli) or whose it must be to be removed (down;"
        " default: anyone's)",
    )
    a = p.parse_args(argv)
    try:
        if a.command == "up":
            print(f"backupbot-standin: up as {up(owner=a.owner or 'cli')}, deployed by {owner()}"
                  " (a stand-in for backup-bot-two)")  # fmt: skip
        elif a.command == "down":
            if down(owner=a.owner):
                print("backupbot-standin: removed (stack, restic repository volume, secret)")
            else:
                print(f"backupbot-standin: not removed: {status().split(': ', 1)[1]}")
        else:
            print(status())
    except (BackupbotError, DockerError, TimeoutError) as exc:
        print(f"backupbot-standin: {exc}", file=sys.stderr)
        return 1
    return 0


@contextmanager
def deployed(owner: str | None = None) -> Iterator[str]:
    """The stand-in for a `with` block (its service name), removed afterwards even when the
    block fails, so no backupbot stays on the shared swarm; one that was up already (another
    owner's: the world's, say) is used and left up."""
    me = owner or f"{default_owner()}:{pysecrets.token_hex(4)}"
    try:
        yield up(owner=me)
    finally:
        down(owner=me)
