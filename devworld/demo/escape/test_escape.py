"""Hostile recipe-local tests: each one tries to get out of the sandbox, and must fail.

The end-to-end test cc_ci/harness/tests/test_sandbox_e2e.py fills in the {{…}} placeholders and
adds this file to the demo recipe's PR head (devworld.demo.build_forge, with the leaky app).
A test here passes only if its escape worked, so a contained run has every one of them
failing, and only the last one, which reaches the app the way it should, passing.
"""

import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time

CANARY_SHA256 = "{{CANARY_SHA256}}"  # of the canary planted in the runner's env and files
HOST_FILES = "{{HOST_FILES}}".split(",")  # a marker file, the git token file: host paths
HOST_ADDRESSES = "{{HOST_ADDRESSES}}".split(",")  # host:port outside the test network
TOKEN = re.compile(rb"[A-Za-z0-9_.-]{8,}")


def _has_canary(data: bytes) -> bool:
    return any(hashlib.sha256(t).hexdigest() == CANARY_SHA256 for t in TOKEN.findall(data))


def test_escape_talks_to_the_docker_socket():
    for path in ("/var/run/docker.sock", "/run/docker.sock"):
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.sendall(b"GET /version HTTP/1.0\r\n\r\n")
            assert b"ApiVersion" in s.recv(4096)
            return
    raise AssertionError("no Docker socket in reach")


def test_escape_reads_host_files():
    for path in HOST_FILES:
        with open(path, "rb") as f:
            assert f.read(), path


def test_escape_reads_the_shadow_file():
    with open("/etc/shadow", "rb") as f:
        assert f.read()


def test_escape_finds_the_canary_in_its_environment_or_files():
    places = [k.encode() + b"=" + v.encode() for k, v in os.environ.items()]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for name in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as f:
                    places.append(f.read())
            except OSError:
                pass
    skip = ("/proc", "/sys", "/dev", "/usr")
    for root, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip]
        for name in files:
            path = os.path.join(root, name)
            if not os.path.isfile(path) or os.path.islink(path):
                continue
            try:
                with open(path, "rb") as f:
                    places.append(f.read(1 << 20))
            except OSError:
                pass
    assert any(_has_canary(p) for p in places), f"no canary in {len(places)} places"


def test_escape_finds_the_canary_in_what_the_app_sees(app):
    r = app.get("/dump.txt")
    assert r.status == 200, "the app wrote no dump"
    assert _has_canary(r.body), "no canary in the app's environment or files"


def test_escape_connects_outside_the_test_network():
    reached = []
    for target in HOST_ADDRESSES:
        host, port = target.rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
            reached.append(target)
        except OSError as exc:
            print(f"{target}: {exc}")
    assert reached, "every address outside the test network is out of reach"


def test_escape_resolves_a_name_on_the_internet():
    assert socket.gethostbyname("deb.debian.org")


def test_escape_starts_two_thousand_threads():
    stop = threading.Event()
    started = []
    try:
        for _ in range(2000):
            t = threading.Thread(target=stop.wait, daemon=True)
            t.start()
            started.append(t)
    finally:
        stop.set()
    assert len(started) == 2000


def test_escape_allocates_three_gigabytes():
    r = subprocess.run([sys.executable, "-c", "b = b'x' * (3 << 30); print(len(b))"], timeout=120)
    assert r.returncode == 0, f"the allocation was stopped (exit {r.returncode})"


def test_escape_floods_the_log_and_fills_the_disk():
    sys.stdout.write("flood " * (2 << 20))  # 12 MB for the stage log
    try:
        with open("/ccci/results/fill", "wb") as f:
            for _ in range(256):
                f.write(b"\0" * (1 << 20))
    finally:  # leave room for pytest's JUnit XML, so the run can report this failure
        os.remove("/ccci/results/fill")


def test_the_app_is_reachable_through_traefik(app):
    deadline = time.monotonic() + 30
    while app.get("/").status != 200 and time.monotonic() < deadline:
        time.sleep(1)
    assert "cc-ci demo" in app.get("/").text
