"""Worlds for the bridge: a running simulator with a seeded forge, and bridges over it that
share the simulator's clock (tests move time explicitly; nothing sleeps)."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cc_ci.bridge.app import Bridge
from cc_ci.bridge.config import load_secrets, parse_config
from cc_ci.contract.eventline import EventLog
from devworld.forgesim import Sim
from devworld.forgesim.demo import BOT, CI_REPO, MEMBER, Demo, seed

ROOT = Path(__file__).resolve().parents[3]
T0 = 1_800_000_000.0
"""The simulated clock's start: a whole second, so tests can speak of "the same second"."""


@dataclass
class World:
    sim: Sim
    demo: Demo
    tmp: Path
    logs: list[io.StringIO] = field(default_factory=list)
    bridges: list[Bridge] = field(default_factory=list)

    @property
    def repo(self) -> str:
        return self.demo.repos[0]

    @property
    def state_path(self) -> Path:
        return self.tmp / "state" / "bridge.sqlite3"

    def config_text(self, **kw) -> str:
        return self.demo.config(self.state_path, **kw)

    def bridge(self, *, edit: Callable[[dict], None] | None = None, **kw) -> Bridge:
        """A bridge over this world (a restart when one ran before: same state file)."""
        raw = tomllib.loads(self.config_text(**kw))
        if edit:
            edit(raw)
        config = parse_config(raw)
        stream = io.StringIO()
        self.logs.append(stream)
        for b in self.bridges:
            b.state.close()
        self.bridges.clear()
        b = Bridge(
            config,
            load_secrets(config),
            clock=self.sim.world.now,
            log=EventLog(stream=stream),
            timeout=5,
        )
        self.bridges.append(b)
        return b

    def bridge_process(
        self,
        poll_interval: float,
        *,
        stdout: int = subprocess.PIPE,
        wrap: Callable[[list[str]], list[str]] = lambda argv: argv,
    ) -> tuple[subprocess.Popen[str], int]:
        """`python -m cc_ci.bridge` over this world, in real time, with its webhook on a free
        loopback port: the process and the port."""
        self.sim.world.set_time(None)
        port = free_port()
        cfg = self.tmp / "bridge.toml"
        cfg.write_text(
            self.config_text(poll_interval=poll_interval, webhook_listen=f"127.0.0.1:{port}")
        )
        argv = wrap([sys.executable, "-m", "cc_ci.bridge", "--config", str(cfg)])
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE, text=True)
        return proc, port

    def log_text(self) -> str:
        return "".join(s.getvalue() for s in self.logs)

    def tick(self, seconds: float = 1) -> None:
        self.sim.world.advance(seconds)

    def comment(
        self,
        body: str,
        *,
        login: str = MEMBER,
        pr: int = 1,
        repo: str | None = None,
        at: float | None = None,
    ):
        return self.sim.world.add_comment(repo or self.repo, pr, login, body, at=at)

    def builds(self):
        return self.sim.world.builds_of(CI_REPO)

    def bot_comments(self, pr: int = 1, repo: str | None = None):
        return [c for c in self.sim.world.comments_on(repo or self.repo, pr) if c.login == BOT]

    def head(self, pr: int = 1, repo: str | None = None) -> str:
        return self.sim.world.issues[(repo or self.repo, pr)].head_sha

    def statuses(self, pr: int = 1, repo: str | None = None):
        return self.sim.world.statuses_of(repo or self.repo, self.head(pr, repo))


@pytest.fixture
def sim() -> Iterator[Sim]:
    with Sim() as s:
        s.world.set_time(T0)
        yield s


@pytest.fixture
def world(sim: Sim, tmp_path: Path) -> Iterator[World]:
    w = World(sim, seed(sim, tmp_path / "secrets", repos=1, pulls=2), tmp_path)
    sim.world.add_issue(w.repo, MEMBER, "an issue, not a PR")  # number 3
    yield w
    for b in w.bridges:
        b.state.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
