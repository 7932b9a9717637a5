"""`python -m devworld.forgesim`: serve a demo world, then drive it from another process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def cli(url: str, *args: str) -> dict | None:
    r = subprocess.run(
        [sys.executable, "-m", "devworld.forgesim", "--url", url, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(r.stdout) if r.stdout.strip() else None


def test_serve_prints_its_url_and_files_and_the_cli_drives_it(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "devworld.forgesim", "serve", "--dir", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(9)]
        url = lines[-1].strip().removeprefix("export FORGESIM_URL=")
        assert url.startswith("http://127.0.0.1:")
        assert (tmp_path / "bridge.toml").is_file()
        assert (tmp_path / "secrets" / "gitea-token").stat().st_mode & 0o077 == 0
        posted = cli(url, "comment", "!testme")
        state = cli(url, "state")
        assert state is not None and posted is not None
        assert [c["body"] for c in state["comments"]] == ["!testme"]
        cli(url, "fault", "gitea", "500", "--times", "1")
        cli(url, "clear-faults")
        head = state["pulls"][0]["head_sha"]
        pushed = cli(url, "push", "--pr", "1")
        assert pushed is not None and pushed["head_sha"] != head
        assert cli(url, "state")["pulls"][0]["head_sha"] == pushed["head_sha"]
        tagged = cli(url, "tag", "1.1.0+1.1")
        assert tagged is not None and tagged["name"] == "1.1.0+1.1" and len(tagged["sha"]) == 40
        assert cli(url, "reset-drone") is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
