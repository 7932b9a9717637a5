"""Runs at once, without Docker: the janitor's decision, the live-run claims it reads, the
shared locks, the run's own tests network and its relay."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from cc_ci.contract.redact import Redactor
from cc_ci.harness import locks
from cc_ci.harness.deploy import docker as dk
from cc_ci.harness.deploy.janitor import Claims, LiveRun, Swarm, orphans, read_claims
from cc_ci.harness.runlog import FileLog
from cc_ci.harness.sandbox import relay
from cc_ci.harness.sandbox.network import (
    RELAY,
    RunNetwork,
    relay_argv,
    run_network_name,
    teardown_network,
)

ZONE_STACK = "ci_test"


def stack(label: str) -> str:
    return f"{label}_{ZONE_STACK}"


# -- the janitor's decision ------------------------------------------------------------------


def test_the_janitor_removes_only_what_no_live_run_claims():
    found = Swarm(
        stacks=frozenset({stack("demo-aaaaaa"), stack("demo-bbbbbb"), stack("demo-cccccc")}),
        containers=(("cc-ci-tests-dead-1", "dead"), ("cc-ci-relay-live-1", "live")),
        networks=(("cc-ci-run-dead", "dead"), ("cc-ci-run-live", "live")),
    )
    claims = Claims(
        run_ids=frozenset({"live"}),
        domains=frozenset({"demo-aaaaaa.ci.test", "demo-cccccc.ci.test"}),
    )
    gone = orphans(found, claims)
    assert gone.stacks == (stack("demo-bbbbbb"),)
    assert gone.containers == (("cc-ci-tests-dead-1", "dead"),)
    assert gone.networks == (("cc-ci-run-dead", "dead"),)


def test_with_no_live_run_everything_of_runs_is_an_orphan_and_with_nothing_found_nothing():
    found = Swarm(frozenset({stack("demo-aaaaaa")}), (("c", "r1"),), (("n", "r2"),))
    gone = orphans(found, Claims())
    assert (gone.stacks, gone.containers, gone.networks) == (
        (stack("demo-aaaaaa"),),
        (("c", "r1"),),
        (("n", "r2"),),
    )
    nothing = orphans(Swarm(), Claims(frozenset({"x"}), frozenset({"demo-aaaaaa.ci.test"})))
    assert (nothing.stacks, nothing.containers, nothing.networks) == ((), (), ())


def test_a_live_runs_claims_are_read_from_its_lock_and_a_dead_runs_are_not(tmp_path):
    with LiveRun(tmp_path, "run-live", tmp_path / "w1") as live:
        live.claim("demo-aaaaaa.ci.test")
        # a dead run: its file is there, its lock free (its process is gone)
        dead = LiveRun(tmp_path, "run-dead", tmp_path / "w2")
        dead.__enter__()
        dead.claim("demo-bbbbbb.ci.test")
        os.close(dead._fd)  # what SIGKILL does to the lock; the files stay
        claims, gone = read_claims(tmp_path)
        assert claims == Claims(frozenset({"run-live"}), frozenset({"demo-aaaaaa.ci.test"}))
        assert [d["run_id"] for d in gone] == ["run-dead"]
        assert gone[0]["domains"] == ["demo-bbbbbb.ci.test"]
    assert read_claims(tmp_path)[0] == Claims()


def test_a_runs_chains_claim_at_once_and_every_claim_is_read(tmp_path):
    """A run's chains claim their apps from their threads: no claim is lost."""
    domains = [f"demo-{i:06x}.ci.test" for i in range(40)]
    with LiveRun(tmp_path, "drone-5", tmp_path / "w") as live:
        threads = [threading.Thread(target=live.claim, args=(d,)) for d in domains]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        claims, _ = read_claims(tmp_path)
    assert claims.domains == frozenset(domains)


def test_secrets_added_from_many_threads_are_all_masked():
    r = Redactor()
    values = [f"secret-value-{i:03d}" for i in range(200)]
    threads = [threading.Thread(target=r.add, args=(v,)) for v in values]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r(" ".join(values)) == " ".join(["[redacted]"] * len(values))


def test_a_live_run_in_another_process_is_live(tmp_path):
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from cc_ci.harness.deploy.janitor import LiveRun\n"
        "with LiveRun(Path(sys.argv[1]), 'other', Path(sys.argv[1]) / 'w') as live:\n"
        "    live.claim('demo-cccccc.ci.test')\n"
        "    print('claimed', flush=True)\n"
        "    time.sleep(60)\n"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert p.stdout.readline().strip() == "claimed"
        claims, dead = read_claims(tmp_path)
        assert claims.run_ids == {"other"} and claims.domains == {"demo-cccccc.ci.test"}
        assert dead == []
        p.kill()
        p.wait(timeout=10)
        claims, dead = read_claims(tmp_path)
        assert claims == Claims() and [d["run_id"] for d in dead] == ["other"]
    finally:
        p.kill()


# -- shared locks ------------------------------------------------------------------------------


def test_a_shared_lock_lets_one_holder_in_at_a_time(tmp_path):
    order: list[str] = []

    def second() -> None:
        with locks.held(locks.IMAGE, tmp_path, poll=0.01):
            order.append("second in")

    with locks.held(locks.IMAGE, tmp_path):
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.3)
        order.append("first out")
    t.join(5)
    assert order == ["first out", "second in"]


def test_a_lock_held_too_long_is_a_clear_error_and_unknown_locks_are_refused(tmp_path):
    with (
        locks.held(locks.PROXY, tmp_path),
        pytest.raises(locks.LockTimeout, match="proxy lock"),
        locks.held(locks.PROXY, tmp_path, timeout=0.2, poll=0.05),
    ):
        pass
    with pytest.raises(ValueError, match="unknown lock 'nope'"), locks.held("nope", tmp_path):
        pass


def test_a_lock_whose_holder_was_killed_is_free(tmp_path):
    code = (
        "import sys, time\nfrom pathlib import Path\nfrom cc_ci.harness import locks\n"
        "with locks.held('janitor', Path(sys.argv[1])):\n"
        "    print('held', flush=True)\n    time.sleep(60)\n"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert p.stdout.readline().strip() == "held"
    with pytest.raises(locks.LockTimeout), locks.held(locks.JANITOR, tmp_path, timeout=0.2):
        pass
    p.kill()
    p.wait(timeout=10)
    with locks.held(locks.JANITOR, tmp_path, timeout=5):
        pass


# -- the run's network and relay -----------------------------------------------------------


def flag_values(a: list[str], flag: str) -> list[str]:
    return [a[i + 1] for i, x in enumerate(a) if x == flag]


def test_each_run_has_its_own_network_named_from_its_run_id():
    assert run_network_name("drone-12-c345") == "cc-ci-run-drone-12-c345"
    assert run_network_name("a") != run_network_name("b")


def test_the_relay_is_confined_labelled_with_its_run_and_forwards_only_443_to_traefik():
    a = relay_argv(
        name="cc-ci-relay-x",
        run_id="drone-1",
        image="img",
        network="cc-ci-run-drone-1",
        proxy_ip="10.0.9.4",
    )
    assert flag_values(a, "--label") == ["cc-ci.sandbox.run=drone-1"]
    assert flag_values(a, "--network") == ["cc-ci-run-drone-1"]
    assert flag_values(a, "--cap-drop") == ["ALL"]
    assert flag_values(a, "--user") == ["65534:65534"]
    assert flag_values(a, "--security-opt") == ["no-new-privileges"]
    assert "--read-only" in a and "--privileged" not in a and "--cap-add" not in a
    assert not {"-v", "--volume", "--mount", "-p", "--publish"} & set(a)
    assert a[a.index("img") + 1 :] == ["-c", RELAY.read_text(), "443", "10.0.9.4", "443"]


def test_the_relay_copies_both_ways_including_the_end_of_a_stream():
    upstream = socket.create_server(("127.0.0.1", 0))
    up_port = upstream.getsockname()[1]

    def echo() -> None:
        conn, _ = upstream.accept()
        data = b""
        while chunk := conn.recv(65536):  # read to the client's end of stream
            data += chunk
        conn.sendall(b"got " + str(len(data)).encode())
        conn.close()

    threading.Thread(target=echo, daemon=True).start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        listen = s.getsockname()[1]
    loop = asyncio.new_event_loop()
    task = loop.create_task(relay.serve(listen, "127.0.0.1", up_port, bind="127.0.0.1"))
    threading.Thread(target=loop.run_forever, daemon=True).start()
    try:
        payload = os.urandom(300_000)
        for _ in range(50):
            try:
                c = socket.create_connection(("127.0.0.1", listen), timeout=5)
                break
            except OSError:
                time.sleep(0.05)
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := c.recv(65536):
            reply += chunk
        c.close()
        assert reply == b"got 300000"
    finally:
        loop.call_soon_threadsafe(task.cancel)
        upstream.close()


def test_the_relay_runs_from_its_own_text_with_the_standard_library_only():
    tree = RELAY.read_text()
    assert "from cc_ci" not in tree and "import cc_ci" not in tree
    r = subprocess.run(
        [sys.executable, "-I", "-c", tree], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2 and "usage: relay.py" in r.stderr


class FakeDocker:
    """Just enough of `docker` for a run's networking: labelled containers and networks,
    and a network that will not go (`stuck`)."""

    def __init__(self, containers: set[str], networks: set[str], stuck: set[str] = frozenset()):
        self.containers, self.networks, self.stuck = containers, networks, stuck
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str, **kw: object) -> str:
        self.calls.append(args)
        if args[:2] == ("network", "ls"):
            if "-q" in args:  # by name
                name = args[args.index("--filter") + 1].removeprefix("name=^").removesuffix("$")
                return f"{name}\n" if name in self.networks else ""
            return "".join(f"{n}\n" for n in sorted(self.networks))
        if args[:2] == ("ps", "-a"):
            return "".join(f"{c}\n" for c in sorted(self.containers))
        if args[:2] == ("rm", "--force"):
            self.containers -= set(args[2:])
            return ""
        if args[:2] == ("network", "rm"):
            if args[2] not in self.stuck:
                self.networks.discard(args[2])
            return ""
        raise AssertionError(f"unexpected docker {args}")


def test_a_runs_network_teardown_removes_the_relay_then_the_network_and_verifies(
    tmp_path, monkeypatch
):
    fake = FakeDocker({"cc-ci-relay-r1-abc"}, {"cc-ci-run-r1"})
    monkeypatch.setattr(dk, "docker", fake)
    net = RunNetwork("r1", tmp_path, created=True)
    log = FileLog(tmp_path / "teardown.log", Redactor())
    took, left = teardown_network(net, log)
    assert left == [] and took >= 0
    removed = [c for c in fake.calls if c[0] == "rm" or c[:2] == ("network", "rm")]
    assert removed[0] == ("rm", "--force", "cc-ci-relay-r1-abc")
    assert removed[1] == ("network", "rm", "cc-ci-run-r1")
    assert "teardown of cc-ci-run-r1: clean" in (tmp_path / "teardown.log").read_text()


def test_a_network_that_will_not_go_is_a_leftover_and_a_run_without_one_checks_nothing(
    tmp_path, monkeypatch
):
    fake = FakeDocker(set(), {"cc-ci-run-r2"}, stuck={"cc-ci-run-r2"})
    monkeypatch.setattr(dk, "docker", fake)
    monkeypatch.setattr(dk, "wait_for", lambda what, pred, timeout, **kw: pred() or None)
    log = FileLog(tmp_path / "teardown.log", Redactor())
    _, left = teardown_network(RunNetwork("r2", tmp_path, created=True), log)
    assert left == ["network cc-ci-run-r2"]
    assert "LEFT network cc-ci-run-r2" in (tmp_path / "teardown.log").read_text()
    fake.calls.clear()
    assert teardown_network(RunNetwork("r3", tmp_path), log) is None
    assert fake.calls == []
