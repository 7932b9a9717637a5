"""strictabra: a recording, strict fake `abra` for the golden-argv and canary tests.

A stand-in, named as one: it runs abra-sim (devworld/abrasim) for every call, so every
strict reading abra-sim enforces holds (devworld/abrasim/strict.py: a terminal on stdin,
stdout and stderr for backup and restore, no call that would go online, a catalogue in
`ABRA_DIR`), and adds what the harness promises on top of abra's own rules:

- before `app deploy` / `app upgrade`, the app's env file must say `DOMAIN=<the domain>`,
  `STACK_NAME=<its stack>` and `LETS_ENCRYPT_ENV=` (empty), as the harness sets them;

and it records every call, one JSON line each, in `$STRICTABRA_LOG`: the argument list,
which of stdin, stdout, stderr were terminals, the exit status, and for
`app secret generate -m` the values it printed (so a test can look for them where they must
not be). The harness hands abra a minimal environment, so the log's path is baked into the
wrapper script a test puts on PATH as `abra` (`wrapper`).

Usage: python -m devworld.strictabra ARGS…   (with STRICTABRA_LOG set)
"""

from __future__ import annotations

import io
import json
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path

from cc_ci.contract.envfile import values
from cc_ci.contract.names import stack_name
from devworld.abrasim import argv, cli
from devworld.abrasim.layout import abra_dir

LOG_VAR = "STRICTABRA_LOG"
GOLDEN_DOC = Path(__file__).resolve().parents[1] / "docs" / "abra-sim.md"
GOLDEN_HEADING = "## The calls cc-ci-run makes"
DEPLOYS = {("app", "deploy"), ("app", "upgrade")}


def wrapper(path: Path, log: Path, python: str = sys.executable) -> Path:
    """Write an executable `abra` at `path` that runs strictabra with `log` as its log."""
    repo = Path(__file__).resolve().parents[1]
    path.write_text(
        "#!/bin/sh\n"
        f"{LOG_VAR}='{log}' PYTHONPATH='{repo}' exec '{python}' -m devworld.strictabra \"$@\"\n"
    )
    path.chmod(0o755)
    return path


def golden_table(doc: Path = GOLDEN_DOC) -> list[tuple[str, str]]:
    """The golden table of docs/abra-sim.md: (call, when) for each row, in order."""
    section = doc.read_text().split(GOLDEN_HEADING, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1].startswith("`abra"):
            rows.append((cells[1].strip("`"), cells[2]))
    return rows


def env_problem(root: Path, domain: str) -> str | None:
    """What is wrong with the app env the harness left for `domain`, or None."""
    found = list((root / "servers").glob(f"*/{domain}.env"))
    if not found:
        return f"no env file for {domain}"
    env = values(found[0].read_text())
    want = {"DOMAIN": domain, "STACK_NAME": stack_name(domain), "LETS_ENCRYPT_ENV": ""}
    for key, value in want.items():
        if env.get(key) != value:
            return f"the env file says {key}={env.get(key)!r}, not {value!r}"
    return None


def _secrets(stdout: str) -> list[str]:
    try:
        rows = json.loads(stdout)
    except json.JSONDecodeError:
        return []
    return [r["value"] for r in rows if isinstance(r, dict) and "value" in r]


def main(args: list[str] | None = None) -> int:
    args = sys.argv[1:] if args is None else args
    entry: dict = {"argv": args, "tty": [os.isatty(fd) for fd in (0, 1, 2)]}
    try:
        inv = argv.parse(args)
    except argv.UsageError:
        inv = None
    code: int
    if isinstance(inv, argv.Invocation) and inv.path in DEPLOYS:
        problem = env_problem(abra_dir(), inv.args[0])
        if problem:
            print(f"FATA strictabra: {problem}", file=sys.stderr)
            entry["refused"] = problem
            return _log(entry, 1)
    if isinstance(inv, argv.Invocation) and inv.path == ("app", "secret", "generate"):
        out = io.StringIO()
        with redirect_stdout(out):
            code = cli.main(args)
        sys.stdout.write(out.getvalue())
        if inv.flag("machine"):
            entry["secrets"] = _secrets(out.getvalue())
    else:
        code = cli.main(args)
    return _log(entry, code)


def _log(entry: dict, code: int) -> int:
    entry["exit"] = code
    log = os.environ.get(LOG_VAR)
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
