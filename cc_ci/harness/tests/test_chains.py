"""The chain runner (chains.py) and the chains' children (children.py), without a swarm: chains
are functions that run real subprocesses (sleep, true) and note what happened."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cc_ci.harness import children
from cc_ci.harness.chains import Cancel, Chain, limit_for, run_chains
from cc_ci.harness.deploy.terminal import run_in_terminal
from cc_ci.harness.interrupt import Interrupted
from cc_ci.harness.meta import RecipeMeta
from cc_ci.harness.plan import DeployKind, Deployment
from cc_ci.harness.recipe import Checkout
from cc_ci.harness.run import Run, RunRequest
from cc_ci.harness.settings import Settings

WAIT = 30  # the longest any event is waited for: a hang fails, nothing is timed


class Journal:
    """What the chains did, in order, from every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.lines: list[str] = []
        self.now = 0
        self.most = 0

    def note(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


def chain(name: str, journal: Journal, work=None, teardown=True) -> Chain:
    """A chain like the run's: its work, then (always) its teardown, shielded."""

    def run() -> None:
        journal.enter()
        try:
            journal.note(f"{name} started")
            if work is not None:
                work()
            journal.note(f"{name} worked")
        finally:
            if teardown:
                with children.shielded():
                    r = children.run(["true"])
                    journal.note(f"{name} torn down (exit {r.returncode})")
            journal.leave()

    return Chain(name, run)


def test_two_chains_work_at_once_and_each_tears_down():
    j = Journal()
    both = threading.Barrier(2, timeout=WAIT)
    results = run_chains(
        [chain("fresh", j, both.wait), chain("upgrade", j, both.wait)], 2, Cancel()
    )
    assert j.most == 2  # the barrier let neither pass until both were working
    assert sorted(j.lines) == sorted(
        f"{n} {what}"
        for n in ("fresh", "upgrade")
        for what in ("started", "worked", "torn down (exit 0)")
    )
    assert [r.name for r in results] == ["fresh", "upgrade"]
    assert all(r.wall_s is not None and not r.interrupted and r.error is None for r in results)


def test_at_most_the_limit_work_at_once_and_in_the_plans_order():
    j = Journal()
    results = run_chains([chain(f"c{i}", j, lambda: None) for i in range(4)], 1, Cancel())
    assert j.most == 1
    assert [line for line in j.lines if line.endswith("started")] == [
        f"c{i} started" for i in range(4)
    ]
    assert all(r.started_s is not None for r in results)

    j = Journal()
    gate = threading.Event()
    run_chains([chain(f"c{i}", j, lambda: gate.wait(0.2)) for i in range(3)], 2, Cancel())
    assert j.most == 2


def test_a_chain_that_fails_does_not_stop_the_other():
    j = Journal()

    def fails() -> None:
        children.run(["false"], check=True)

    results = run_chains([chain("fresh", j, fails), chain("upgrade", j, lambda: None)], 2, Cancel())
    fresh, upgrade = results
    assert isinstance(fresh.error, subprocess.CalledProcessError)  # for the run to report
    assert upgrade.error is None and "upgrade worked" in j.lines
    assert "fresh torn down (exit 0)" in j.lines and "fresh worked" not in j.lines


def test_the_chain_that_is_done_tears_down_while_the_other_still_works():
    j = Journal()
    torn = threading.Event()
    seen: list[bool] = []

    def long() -> None:
        seen.append(torn.wait(WAIT))  # the fresh chain's teardown ends while this works
        j.note(f"upgrade saw the fresh teardown: {seen[-1]}")

    def fresh() -> None:
        try:
            j.note("fresh worked")
        finally:
            with children.shielded():
                children.run(["true"])
            torn.set()

    results = run_chains([Chain("fresh", fresh), chain("upgrade", j, long)], 2, Cancel())
    assert seen == [True]
    fresh_r, upgrade_r = results
    assert fresh_r.ended_s <= upgrade_r.ended_s
    assert j.lines[-1] == "upgrade torn down (exit 0)"  # the run ended after both


def test_a_cancel_kills_both_chains_children_and_both_teardowns_run():
    j = Journal()
    started = threading.Barrier(3, timeout=WAIT)
    cancel = Cancel()

    def sleeps() -> None:
        started.wait()
        children.run(["sleep", str(WAIT * 4)])
        j.note("slept to the end")  # never: the sleep is killed

    def cancel_once_both_sleep() -> None:
        started.wait()
        cancel.set("a test")

    threading.Thread(target=cancel_once_both_sleep).start()
    results = run_chains([chain("fresh", j, sleeps), chain("upgrade", j, sleeps)], 2, cancel)
    assert [r.interrupted for r in results] == [True, True]
    assert "slept to the end" not in j.lines
    assert {"fresh torn down (exit 0)", "upgrade torn down (exit 0)"} <= set(j.lines)


def test_sigterm_to_the_main_thread_cancels_the_chains_and_a_chain_not_started_never_starts():
    j = Journal()
    running = threading.Event()

    def sleeps() -> None:
        running.set()
        children.run(["sleep", str(WAIT * 4)])

    def signal_once_running() -> None:
        running.wait(WAIT)
        os.kill(os.getpid(), signal.SIGTERM)  # delivered to the main thread, in run_chains

    before = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=signal_once_running).start()
    cancel = Cancel()
    results = run_chains([chain("fresh", j, sleeps), chain("upgrade", j, sleeps)], 1, cancel)
    assert cancel.why == f"signal {signal.SIGTERM}"
    assert results[0].interrupted and "fresh torn down (exit 0)" in j.lines
    assert results[1].started_s is None and "upgrade started" not in j.lines
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is given back


def test_an_interrupt_is_delivered_once_so_cleanup_after_it_runs():
    scope = children.Scope("c")
    cleaned: list[int] = []
    with children.entered(scope):
        scope.interrupt()
        with pytest.raises(Interrupted):
            children.run(["true"])  # pending: raised before it starts
        cleaned.append(children.run(["true"]).returncode)  # a finally block's call runs
        children.checkpoint()  # nothing pending any more
    assert cleaned == [0]
    assert scope.interrupted


def test_a_shielded_block_is_neither_killed_nor_interrupted():
    scope = children.Scope("c")
    with children.entered(scope):
        with children.shielded():
            threading.Timer(0.2, scope.interrupt).start()
            r = children.run(["sh", "-c", "sleep 0.6; echo done"], capture_output=True, text=True)
            children.checkpoint()
        assert (r.returncode, r.stdout) == (0, "done\n")
        with pytest.raises(Interrupted):
            children.checkpoint()  # delivered once the shield is gone


def test_outside_a_chain_run_is_subprocess_run_with_its_arguments():
    r = children.run([sys.executable, "-c", "import sys; print(sys.stdin.read())"],
                     input="x", capture_output=True, text=True)  # fmt: skip
    assert (r.returncode, r.stdout) == (0, "x\n")
    with children.entered(children.Scope("c")):
        r = children.run([sys.executable, "-c", "import sys; print(sys.stdin.read())"],
                         input="y", capture_output=True, text=True)  # fmt: skip
        assert (r.returncode, r.stdout) == (0, "y\n")
        with pytest.raises(subprocess.TimeoutExpired):
            children.run(["sleep", "5"], timeout=0.2)
        with pytest.raises(subprocess.CalledProcessError):
            children.run(["false"], check=True)


def test_a_command_on_a_terminal_is_killed_by_a_cancel_with_its_process_group(tmp_path: Path):
    scope = children.Scope("c")
    pidfile = tmp_path / "grandchild"
    script = f"sleep {WAIT * 4} & echo $! > {pidfile}; wait"
    with children.entered(scope):
        threading.Timer(0.5, scope.interrupt).start()
        with pytest.raises(Interrupted):
            run_in_terminal(["sh", "-c", script], dict(os.environ), timeout=WAIT * 4)
    grandchild = int(pidfile.read_text())
    for _ in range(100):  # killed with the group: gone once reaped by init
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        threading.Event().wait(0.05)
    else:
        pytest.fail(f"the terminal's process group survived the cancel (pid {grandchild})")


def test_series_when_the_recipe_asks_else_the_operators_limit():
    assert limit_for(2, RecipeMeta().serial) == 2
    assert limit_for(2, RecipeMeta(serial=True).serial) == 1
    assert limit_for(3, False) == 3
    with pytest.raises(ValueError, match="at least 1"):
        limit_for(0, False)
    with pytest.raises(ValueError, match="at least 1"):
        run_chains([], 0, Cancel())


def test_each_chain_has_its_own_abra_directory_and_recipe_checkout(tmp_path: Path):
    settings = Settings.from_env({"CCCI_STATE_DIR": str(tmp_path / "state"), "CCCI_ABRA": "abra"})
    run = Run(RunRequest("demo", "cc-ci/demo", "main", ("install",), "r1", tmp_path), settings)
    recipe = run.abra.abra_dir / "recipes" / "demo"
    (recipe / ".git").mkdir(parents=True)
    (recipe / "compose.yml").write_text("head\n")
    (run.abra.abra_dir / "servers" / "default").mkdir(parents=True)
    run.checkout = Checkout(recipe, "a" * 40, ("1.0.0+1",), "1.0.0+1")
    fresh = run._chain_state(Deployment(DeployKind.FRESH, ("install",)), 0)
    upgrade = run._chain_state(
        Deployment(DeployKind.UPGRADE, ("upgrade from 1.0.0+1",), "1.0.0+1"), 1
    )
    assert fresh.abra.abra_dir != upgrade.abra.abra_dir != run.abra.abra_dir
    assert upgrade.checkout.path == upgrade.abra.abra_dir / "recipes" / "demo"
    assert (upgrade.checkout.head, upgrade.checkout.tags) == (run.checkout.head, ("1.0.0+1",))
    (upgrade.checkout.path / "compose.yml").write_text("the base release\n")  # its checkout
    assert (fresh.checkout.path / "compose.yml").read_text() == "head\n"
    assert (fresh.abra.abra_dir / "servers" / "default").is_dir()
    assert fresh.artifacts != upgrade.artifacts
    assert (fresh.index, upgrade.index) == (0, 1)
    assert str(upgrade.abra.env_file("x.ci.test")).startswith(str(upgrade.abra.abra_dir))


@pytest.mark.parametrize(
    ("serial", "at_once", "limit_says"),
    [(False, 2, "at most 2 at once (CCCI_MAX_DEPLOYMENTS)"),
     (True, 1, "at most 1 at once (recipe_meta.py SERIAL)")],
)  # fmt: skip
def test_a_run_has_its_deployments_side_by_side_unless_its_recipe_asks_for_series(
    tmp_path: Path, monkeypatch, serial, at_once, limit_says
):
    settings = Settings.from_env({"CCCI_STATE_DIR": str(tmp_path / "state"), "CCCI_ABRA": "abra"})
    req = RunRequest("demo", "cc-ci/demo", "main", ("install", "upgrade"), "r1", tmp_path)
    run = Run(req, settings)
    run.run_dir.mkdir(parents=True)
    run.bases = ("1.0.0+1",)
    run.meta = RecipeMeta(serial=serial)
    j = Journal()
    both = threading.Barrier(2, timeout=2)

    def deployment(dep, live, chain) -> None:
        j.enter()
        try:
            both.wait()  # passes only with both chains working at once
            j.note(f"{dep.stages[0]} met the other")
        except threading.BrokenBarrierError:
            j.note(f"{dep.stages[0]} alone")
        finally:
            j.leave()

    monkeypatch.setattr(run, "_chain_state", lambda dep, index: None)
    monkeypatch.setattr(run, "_deployment", deployment)
    run._run_plan(live=None)
    assert j.most == at_once
    assert limit_says in (run.run_dir / "setup.log").read_text()
    fresh, upgrade = run.chain_timings
    assert (fresh["stages"], upgrade["stages"]) == (["install"], ["upgrade from 1.0.0+1"])
    if serial:
        assert upgrade["started_s"] >= fresh["ended_s"]
    saved = json.loads((run.run_dir / "run.json").read_text())["timings"]["chains"]
    assert saved == run.chain_timings


def test_a_teardown_off_the_chains_holds_off_signals_on_the_main_thread_only():
    before = signal.getsignal(signal.SIGTERM)
    with children.shielded():  # the main thread, no chain: signals ignored meanwhile
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is before
    errors: list[BaseException] = []

    def elsewhere() -> None:  # signal.signal would raise ValueError in this thread
        try:
            with children.shielded():
                children.run(["true"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    t = threading.Thread(target=elsewhere)
    t.start()
    t.join(WAIT)
    assert errors == []
