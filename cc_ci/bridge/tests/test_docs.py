"""docs/bridge.md says what the code does: its example parses, its table names every key,
and its walkthrough against the simulator runs as written."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tomllib
from pathlib import Path

from cc_ci.bridge.config import _SECTIONS, parse_config

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "bridge.md").read_text()


def blocks(lang: str, text: str = DOC) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def test_the_documented_configuration_parses():
    (example,) = blocks("toml")
    config = parse_config(tomllib.loads(example))
    assert config.recipe_for("recipe-maintainers/custom-html") == "custom-html"


def test_the_configuration_table_names_every_key_the_parser_knows():
    for section, (required, optional) in _SECTIONS.items():
        for key in required | optional:
            assert f"| `{section}.{key}` |" in DOC, f"{section}.{key}"
    assert "| `recipes.<repo>` |" in DOC


def test_the_walkthrough_against_the_simulator_runs_as_written(tmp_path):
    walkthrough = DOC[DOC.index("## Try it against the simulator") :]
    script = "set -euo pipefail\n" + "\n".join(blocks("sh", walkthrough))
    script = script.replace("/tmp/forgesim", str(tmp_path / "forgesim"))
    proc = subprocess.Popen(
        ["bash", "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"},
    )
    try:
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, out
    for event in (
        "event=build-created comment=",
        "event=reported",
        '"status": "success"',
        "| install | ✅ passed |",
        "event=denied",
        "event=retry",
        "event=head-moved",
        "event=superseded",
        "event=stopped",
    ):
        assert event in out.replace("\\u2705", "✅").replace('\\"', '"'), (event, out)
    assert "Traceback" not in out


def test_every_command_in_the_commands_table_does_what_its_row_says():
    from cc_ci.bridge.command import Command, parse_command

    section = DOC[DOC.index("## The command\n") : DOC.index("## Authorization")]
    rows = re.findall(r"^\| (`.+?) \| (.+?) \|$", section, re.M)
    assert len(rows) >= 8
    for comments, runs in rows:
        if "a second line" in comments:
            assert parse_command("hello\n!testme", "!testme") is None
            assert parse_command("`!testme`", "!testme") is None
            comments = re.sub(r"`` `!testme` ``|a second line `!testme`", "", comments)
        for body in re.findall(r"`([^`]+)`", comments):
            parsed = parse_command(body, "!testme")
            if runs.startswith("nothing"):
                assert not isinstance(parsed, Command), (body, parsed)
            else:
                assert isinstance(parsed, Command), (body, parsed)
