"""A run whose parent is killed unwinds through its teardown: Drone's exec runner cancels a
build by SIGKILLing the step's shell alone, and cc-ci-run, its child, gets SIGTERM from the
kernel (interrupt.term_when_parent_dies), which install_signal_handlers makes Interrupted."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from cc_ci.harness.waiting import wait_for

ROOT = Path(__file__).resolve().parents[3]
CHILD = """
import sys, time
from pathlib import Path
from cc_ci.harness.interrupt import Interrupted, install_signal_handlers, term_when_parent_dies
out = Path(sys.argv[1])
install_signal_handlers()
assert term_when_parent_dies()
try:
    out.write_text("running")
    time.sleep(60)
    out.write_text("slept to the end")
except Interrupted as exc:
    out.write_text(f"torn down after {exc}")
"""


def test_a_run_whose_parent_shell_is_sigkilled_gets_sigterm_and_unwinds(tmp_path: Path):
    out = tmp_path / "out"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    # the step's shell as the exec runner starts it: `sh -e <script>`, the run its child
    step = tmp_path / "step.sh"
    step.write_text(f"{sys.executable} {script} {out}\necho the shell outlived its child\n")
    shell = subprocess.Popen(
        ["/bin/sh", "-e", str(step)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    try:
        wait_for("the run to start", lambda: out.exists(), timeout=30, interval=0.05)
        os.kill(shell.pid, signal.SIGKILL)  # what drone-runner-exec does on cancel
        shell.wait(timeout=10)
        wait_for(
            "the run to unwind", lambda: out.read_text() != "running", timeout=20, interval=0.05
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(shell.pid, signal.SIGKILL)
    assert out.read_text() == f"torn down after signal {int(signal.SIGTERM)}"


def test_without_the_parents_death_signal_the_orphan_would_run_on(tmp_path: Path):
    """The test above can fail: the same child without term_when_parent_dies sleeps on."""
    out = tmp_path / "out"
    script = tmp_path / "child.py"
    script.write_text(
        CHILD.replace("assert term_when_parent_dies()", "").replace(
            "time.sleep(60)", "time.sleep(3)"
        )
    )
    step = tmp_path / "step.sh"
    step.write_text(f"{sys.executable} {script} {out}\n")
    shell = subprocess.Popen(
        ["/bin/sh", "-e", str(step)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    wait_for("the run to start", lambda: out.exists(), timeout=30, interval=0.05)
    os.kill(shell.pid, signal.SIGKILL)
    shell.wait(timeout=10)
    wait_for("the orphan to end", lambda: out.read_text() != "running", timeout=20, interval=0.1)
    assert out.read_text() == "slept to the end"
