"""The abra adapter: every abra call the harness makes, as an argument list.

Each call passes `-n` (never prompt), has an explicit timeout, and appends its command line
and output to the stage log. Recipe-touching calls pass `-C` (use the checkout as it is: abra
otherwise silently checks out a release tag) and `-o` (no remote fetch).
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class AbraError(RuntimeError):
    """An abra command failed; the message carries its last output lines."""


class LogSink(Protocol):
    def write(self, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Abra:
    binary: str
    abra_dir: Path
    server: str = "default"

    def _env(self) -> dict[str, str]:
        """A minimal environment: nothing of the runner's (tokens, settings) reaches abra,
        and so nothing of it can be interpolated into a PR's compose files."""
        keep = (
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "TZ",
            "DOCKER_HOST",
            "DOCKER_CONFIG",
            "ABRA_SIM_CONVERGE_TIMEOUT",
        )
        env = {k: os.environ[k] for k in keep if k in os.environ}
        return {**env, "ABRA_DIR": str(self.abra_dir), "NO_COLOR": "1"}

    def run(
        self, args: list[str], log: LogSink, timeout: float, check: bool = True, tty: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run `abra ARGS -n`; log it; raise AbraError when it fails and `check` is set."""
        if not self.binary:
            raise AbraError("no abra binary: install abra or set CCCI_ABRA")
        argv = [self.binary, *args, "-n"]
        log.write(f"$ abra {' '.join(args)} -n\n")
        started = time.monotonic()
        try:
            if tty:
                r = _run_with_tty(argv, self._env(), timeout)
            else:
                r = subprocess.run(
                    argv,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    env=self._env(),
                    stdin=subprocess.DEVNULL,
                )
        except subprocess.TimeoutExpired as exc:
            log.write(f"  timed out after {timeout:.0f}s\n")
            raise AbraError(f"abra {' '.join(args[:2])} timed out after {timeout:.0f}s") from exc
        out = (r.stdout or "") + (r.stderr or "")
        log.write(out if out.endswith("\n") or not out else out + "\n")
        log.write(f"  exit {r.returncode} in {time.monotonic() - started:.1f}s\n")
        if check and r.returncode != 0:
            tail = " | ".join(line.strip() for line in out.strip().splitlines()[-3:])
            raise AbraError(f"abra {' '.join(args[:2])} failed (exit {r.returncode}): {tail}")
        return r

    # -- the calls the harness makes -------------------------------------------------------

    def version(self, log: LogSink) -> str:
        return self.run(["--version"], log, timeout=30).stdout.strip().splitlines()[0]

    def ensure_server(self, log: LogSink) -> None:
        if not (self.abra_dir / "servers" / self.server).is_dir():
            self.run(["server", "add", "--local"], log, timeout=60)

    def env_file(self, domain: str) -> Path:
        return self.abra_dir / "servers" / self.server / f"{domain}.env"

    def app_new(self, recipe: str, domain: str, log: LogSink) -> None:
        args = ["app", "new", recipe, "-s", self.server, "-D", domain, "-S", "-C", "-o"]
        self.run(args, log, timeout=180)

    def deploy(self, domain: str, log: LogSink, timeout: float, force: bool = False) -> None:
        # -c: no converge checks; the harness waits for health itself, with its own timeout.
        args = ["app", "deploy", domain, "-C", "-o", "-c"] + (["-f"] if force else [])
        self.run(args, log, timeout=timeout)

    def undeploy(self, domain: str, log: LogSink) -> None:
        self.run(["app", "undeploy", domain], log, timeout=180)

    def remove_volumes(self, domain: str, log: LogSink) -> None:
        self.run(["app", "volume", "remove", domain, "-f"], log, timeout=120)

    def remove_secrets(self, domain: str, log: LogSink) -> None:
        self.run(["app", "secret", "remove", domain, "--all"], log, timeout=120)

    def backup_create(self, domain: str, log: LogSink, timeout: float) -> None:
        self.run(["app", "backup", "create", domain, "-C", "-o"], log, timeout=timeout, tty=True)

    def restore(self, domain: str, log: LogSink, timeout: float) -> None:
        self.run(["app", "restore", domain, "-C", "-o"], log, timeout=timeout, tty=True)

    def app_ls(self, log: LogSink) -> dict:
        out = self.run(["app", "ls", "-m"], log, timeout=120).stdout
        try:
            return json.loads(out)
        except json.JSONDecodeError as exc:
            raise AbraError(f"abra app ls -m did not print JSON: {out[:200]!r}") from exc


def _run_with_tty(
    argv: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """abra's backup and restore insist on a terminal: give them a pseudo-terminal as stdin."""
    primary, secondary = pty.openpty()
    try:
        return subprocess.run(
            argv, stdin=secondary, capture_output=True, text=True, timeout=timeout, env=env
        )
    finally:
        os.close(primary)
        os.close(secondary)
