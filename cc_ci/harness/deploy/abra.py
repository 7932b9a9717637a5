"""The abra adapter: every abra call the harness makes, as an argument list.

Each call passes `-n` (never prompt) and `-o` (offline: no fetch of the recipe or the
catalogue), has an explicit timeout, and appends its command line and output to the stage
log. Recipe-touching calls pass `-C` (use the checkout as it is: abra otherwise silently
checks out a release tag); deploys pass `-D` (no domain checks: the CI zone resolves to the
gateway, not this host). Every per-run `ABRA_DIR` has a catalogue (the operator's, or an
empty offline one), so abra never clones one. `app backup create` and `app restore` run on a
full pseudo-terminal (terminal.py). Generated secrets are read back from
`app secret generate -m`, whose output is never logged, so the run's redactor knows them
before anything else is written. The golden list of these calls is docs/abra-sim.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cc_ci.harness import children
from cc_ci.harness.deploy.terminal import run_in_terminal

# abra reads a recipe catalogue at $ABRA_DIR/catalogue and clones it from the network when
# it is missing; an empty, committed one keeps every call offline.
EMPTY_CATALOGUE = "{}\n"


class AbraError(RuntimeError):
    """An abra command failed; the message carries its last output lines."""


class LogSink(Protocol):
    def write(self, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Abra:
    binary: str
    abra_dir: Path
    server: str = "default"
    catalogue: Path | None = None  # the operator's catalogue (read-only); None: an empty one

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

    def argv(self, args: list[str]) -> list[str]:
        """The full command line of `abra ARGS`: never prompting, never going online."""
        return (
            [self.binary, *args, *GLOBAL_FLAGS] if args[0] != "--version" else [self.binary, *args]
        )

    def run(
        self,
        args: list[str],
        log: LogSink,
        timeout: float,
        check: bool = True,
        tty: bool = False,
        withhold_stdout: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run `abra ARGS -n -o`; log it; raise AbraError when it fails and `check` is set.
        `withhold_stdout`: stdout holds secret values, so only stderr is logged."""
        if not self.binary:
            raise AbraError("no abra binary: install abra or set CCCI_ABRA")
        argv = self.argv(args)
        log.write(f"$ abra {' '.join(argv[1:])}\n")
        started = time.monotonic()
        try:
            if tty:
                r = run_in_terminal(argv, self._env(), timeout)
            else:
                r = children.run(
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
        out = ("" if withhold_stdout else r.stdout or "") + (r.stderr or "")
        if withhold_stdout and r.stdout:
            log.write(f"  (stdout withheld: {len(r.stdout)} characters holding secret values)\n")
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

    def ensure_catalogue(self) -> Path:
        """Give `ABRA_DIR` a catalogue, so no abra call clones one from the network: a link
        to the operator's (read-only) or an empty one, committed as abra expects a clone."""
        dest = self.abra_dir / "catalogue"
        if dest.is_symlink() or dest.exists():
            return dest
        self.abra_dir.mkdir(parents=True, exist_ok=True)
        if self.catalogue is not None:
            if not (self.catalogue / ".git").exists():
                raise AbraError(f"the catalogue {self.catalogue} is not a git clone")
            dest.symlink_to(self.catalogue, target_is_directory=True)
            return dest
        dest.mkdir()
        (dest / "recipes.json").write_text(EMPTY_CATALOGUE)
        ident = ["-c", "user.name=cc-ci", "-c", "user.email=cc-ci@localhost"]
        for git in (["init", "-q"], ["add", "recipes.json"], ["commit", "-q", "-m", "empty"]):
            r = children.run(
                ["git", *ident, *git], cwd=dest, capture_output=True, text=True, timeout=60
            )
            if r.returncode != 0:
                raise AbraError(f"cannot make an empty catalogue: git {git[0]}: {r.stderr.strip()}")
        return dest

    def env_file(self, domain: str) -> Path:
        return self.abra_dir / "servers" / self.server / f"{domain}.env"

    def app_new(self, recipe: str, domain: str, log: LogSink) -> None:
        # no -S: abra would print the generated values; secret_generate reads them back
        args = ["app", "new", recipe, "-s", self.server, "-D", domain, "-C"]
        self.run(args, log, timeout=180)

    def secret_generate(self, domain: str, log: LogSink) -> list[str]:
        """Generate the app's secrets; return their values (never logged) for the redactor."""
        args = ["app", "secret", "generate", domain, "--all", "-m"]
        r = self.run(args, log, timeout=180, withhold_stdout=True)
        return generated_values(r.stdout)

    def deploy(self, domain: str, log: LogSink, timeout: float, force: bool = False) -> None:
        # -c: no converge checks; the harness waits for health itself, with its own timeout.
        # -D: no domain checks (DNS): app domains resolve to the gateway, not to this host.
        args = ["app", "deploy", domain, "-C", "-c", "-D"] + (["-f"] if force else [])
        self.run(args, log, timeout=timeout)

    def undeploy(self, domain: str, log: LogSink) -> None:
        self.run(["app", "undeploy", domain], log, timeout=180)

    def remove_volumes(self, domain: str, log: LogSink) -> None:
        self.run(["app", "volume", "remove", domain, "-f"], log, timeout=120)

    def remove_secrets(self, domain: str, log: LogSink) -> None:
        self.run(["app", "secret", "remove", domain, "--all"], log, timeout=120)

    def backup_create(self, domain: str, log: LogSink, timeout: float) -> None:
        self.run(["app", "backup", "create", domain, "-C"], log, timeout=timeout, tty=True)

    def restore(self, domain: str, log: LogSink, timeout: float) -> None:
        self.run(["app", "restore", domain, "-C"], log, timeout=timeout, tty=True)

    def app_ls(self, log: LogSink) -> dict:
        out = self.run(["app", "ls", "-m"], log, timeout=120).stdout
        try:
            return json.loads(out)
        except json.JSONDecodeError as exc:
            raise AbraError(f"abra app ls -m did not print JSON: {out[:200]!r}") from exc


GLOBAL_FLAGS = ("-n", "-o")  # --no-input, --offline: on every call but --version

_VALUE_KEYS = ("value", "password", "secret")
_LABEL_KEYS = {"name", "version"}  # a row describing a secret, not a name → value map


def generated_values(stdout: str) -> list[str]:
    """The secret values in `abra app secret generate -m` output (JSON).

    Its exact shape is not confirmed for real abra (docs/abra-sim.md): the values are the
    strings under a key naming a value (`value`, `password`, `secret`, any case), or every
    value of a flat object of strings (name → value) that has no `name` or `version` key.
    Raises AbraError when the output is not JSON or holds strings none of which can be told
    to be a value: a run that cannot know its app's secrets cannot keep them out of what it
    serves.
    """
    if not stdout.strip():
        return []
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError:
        raise AbraError(
            "abra app secret generate -m did not print JSON: cannot read back the secrets"
        ) from None
    found: list[str] = []
    strings = 0

    def walk(node: object) -> None:
        nonlocal strings
        if isinstance(node, dict):
            flat = (
                node
                and all(isinstance(v, str) for v in node.values())
                and not {k.lower() for k in node} & _LABEL_KEYS
            )
            keyed = [v for k, v in node.items() if isinstance(v, str) and k.lower() in _VALUE_KEYS]
            if keyed:
                found.extend(keyed)
            elif flat:
                found.extend(node.values())
            for v in node.values():
                if isinstance(v, str):
                    strings += 1
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str):
            strings += 1

    walk(data)
    if strings and not found:
        raise AbraError("abra app secret generate -m printed JSON without a recognisable value")
    return found
