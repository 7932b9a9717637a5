"""abra answers and lists the local swarm as a server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from devworld.needs import needs


def abra(*args: str, abra_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ABRA_DIR": str(abra_dir)}
    return subprocess.run(["abra", *args], capture_output=True, text=True, timeout=60, env=env)


def test_abra_reports_its_version_and_lists_the_local_swarm_as_a_server(tmp_path: Path):
    needs("abra")  # a skip even under CI: bootstrap cannot build abra here (it says why)
    version = abra("--version", abra_dir=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip(), "abra --version printed nothing"
    added = abra("server", "add", "--local", "-n", abra_dir=tmp_path)
    assert added.returncode == 0, added.stderr
    listed = abra("server", "ls", "-m", "-n", abra_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "default" in listed.stdout
