"""A seeded world: the organisation, its maintainers, enrolled recipe repositories with open
PRs (one from a fork), the cc-ci repository in Drone, the bot's tokens in files, and a
bridge configuration pointing at all of it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from devworld.forgesim.server import Sim

ORG = "recipe-maintainers"
BOT = "cc-ci-bot"
MEMBER = "alice"
OUTSIDER = "mallory"
CI_REPO = f"{ORG}/cc-ci"


@dataclass(frozen=True)
class Demo:
    sim: Sim
    repos: tuple[str, ...]
    gitea_token: str
    drone_token: str
    webhook_secret: str
    gitea_token_file: Path
    drone_token_file: Path
    webhook_secret_file: Path
    results_dir: Path
    """Where finished builds' run records are written (the bridge's report.results_dir)."""

    def config(
        self,
        state_path: Path,
        *,
        poll_interval: int = 30,
        webhook_listen: str | None = None,
        dashboard: bool = True,
        schedule_interval: int = 0,
        tags: bool = False,
        tag_poll_interval: int = 300,
    ) -> str:
        """The bridge's TOML for this world. The default-branch runs are off unless asked
        for (`schedule_interval`, `tags`), so a test's builds are its commands' only."""
        repos = ", ".join(f'"{r}"' for r in self.repos)
        text = f"""[gitea]
url = "{self.sim.gitea_url}"
token_file = "{self.gitea_token_file}"

[drone]
url = "{self.sim.drone_url}"
token_file = "{self.drone_token_file}"
repo = "{CI_REPO}"
branch = "main"

[trigger]
command = "!testme"
org = "{ORG}"
allow = []
repos = [{repos}]
poll_interval = {poll_interval}

[state]
path = "{state_path}"

[schedule]
interval = {schedule_interval}
tags = {"true" if tags else "false"}
tag_poll_interval = {tag_poll_interval}
"""
        if webhook_listen:
            text += f"""
[webhook]
listen = "{webhook_listen}"
secret_file = "{self.webhook_secret_file}"
"""
        if dashboard:
            text += f"""
[report]
dashboard_url = "{self.sim.dashboard_url}"
results_dir = "{self.results_dir}"
"""
        return text


def seed(
    sim: Sim,
    secrets_dir: Path,
    *,
    repos: int = 1,
    pulls: int = 1,
    results_dir: Path | None = None,
) -> Demo:
    """`repos` recipe repositories (custom-html, then recipe-2 …) with `pulls` open PRs each;
    PR #1 of the first comes from a fork. Run records go to `results_dir` (by default
    `results/` beside `secrets_dir`)."""
    w = sim.world
    w.results_dir = results_dir or secrets_dir.parent / "results"
    gitea_token, drone_token, hook_secret = (secrets.token_hex(20) for _ in range(3))
    w.add_user(BOT, token=gitea_token)
    w.add_drone_token(drone_token, BOT, admin=True)  # as DRONE_USER_CREATE makes it
    w.add_org(ORG, [BOT, MEMBER])
    w.add_user(OUTSIDER)
    names = tuple(f"{ORG}/{'custom-html' if i == 0 else f'recipe-{i + 1}'}" for i in range(repos))
    for i, name in enumerate(names):
        w.add_repo(name, writers=(BOT, MEMBER))
        for n in range(pulls):
            fork = f"{MEMBER}/{name.split('/')[1]}" if i == 0 and n == 0 else None
            w.add_pull(name, MEMBER, head_repo=fork, head_ref=f"change-{n + 1}")
    w.add_repo(CI_REPO, writers=(BOT,))
    w.add_drone_repo(CI_REPO, branches=("main",), writers=(BOT,))
    secrets_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for name, value in (
        ("gitea-token", gitea_token),
        ("drone-token", drone_token),
        ("webhook-secret", hook_secret),
    ):
        f = secrets_dir / name
        f.write_text(value + "\n")
        f.chmod(0o600)
        files.append(f)
    return Demo(sim, names, gitea_token, drone_token, hook_secret, *files, w.results_dir)
