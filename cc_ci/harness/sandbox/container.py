"""Run a recipe's own tests in a throw-away container that cannot reach the host.

The tests a recipe ships come from the pull request, possibly from a fork, so they never
run on the host. They run in a container of the recipe-tests image (cc_ci/harness/sandbox/image.py):

- attached only to the run's own internal overlay network (no route out), where the run's
  relay forwards port 443 to Traefik (cc_ci/harness/sandbox/network.py); the app's domain
  resolves to the relay's address there;
- no Docker socket, no host path but a read-only copy of the tests (with the context and
  the test CA) and a results folder (a small tmpfs, so the host's disk cannot fill);
  read-only root filesystem, a tmpfs /tmp;
- every capability dropped, no-new-privileges, a non-root user, caps on memory, CPU and
  processes, no log kept by the daemon;
- none of the runner's environment: only CCCI_BASE_URL, CCCI_APP_DOMAIN and pytest's
  PYTEST_DISABLE_PLUGIN_AUTOLOAD (cc_ci/suite/plugins.py) are set;
- killed and removed when the stage's timeout passes, or the run is interrupted.

What the tests leave in the results folder is read back with care (regular files only, no
links, size caps): the JUnit XML and PNG screenshots. Everything after the container has
started is the tests' doing: a failure, a crash, a kill for memory or time is a failed
stage. Only a container that could not be created or started is an error of cc-ci's.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cc_ci.contract.record import Counts, junit_counts
from cc_ci.harness import children
from cc_ci.harness.deploy import docker as dk
from cc_ci.harness.deploy.janitor import SANDBOX_LABEL as LABEL
from cc_ci.harness.locks import LockTimeout
from cc_ci.harness.outcome import PhaseResult, phase_result, sandbox_exit
from cc_ci.harness.publish import Redact, artifact_name, publish_text
from cc_ci.harness.runlog import FileLog
from cc_ci.harness.sandbox.debimage import DebImageError
from cc_ci.harness.sandbox.image import ensure_sandbox_image
from cc_ci.harness.sandbox.network import PROXY_PORT, NetworkError, RunNetwork, confined
from cc_ci.harness.settings import Settings
from cc_ci.suite import plugins
from cc_ci.suite.context import SuiteContext
from cc_ci.suite.web import https_origin

INPUT, RESULTS = "/ccci/input", "/ccci/results"
UID = 65534
MAX_JUNIT = 5 << 20
MAX_SHOT = 10 << 20
MAX_SHOTS = 50
MAX_LOG = 2 << 20
RESULTS_SIZE = "64m"  # the tmpfs the tests' results go to
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class SandboxError(RuntimeError):
    """The sandbox could not be set up or started: cc-ci's problem, a stage error."""


@dataclass(frozen=True, slots=True)
class Limits:
    memory: str = "2g"
    cpus: float = 2.0
    pids: int = 1024
    tmpfs: str = "512m"


def sandbox_limits(settings: Settings) -> Limits:
    """The tests' container's caps as the operator set them (CCCI_TESTS_MEMORY, _CPUS)."""
    return Limits(memory=settings.tests_memory, cpus=settings.tests_cpus)


# -- the container --------------------------------------------------------------------------


def docker_run_argv(
    *,
    name: str,
    run_id: str,
    image: str,
    domain: str,
    base_url: str,
    proxy_ip: str,
    input_dir: Path,
    results_dir: Path,
    limits: Limits,
    network: str,
    ca: bool = False,
) -> list[str]:
    """`docker create` for the tests' container: every confinement in one place."""
    env = {"CCCI_BASE_URL": base_url, "CCCI_APP_DOMAIN": domain, **plugins.ENV}
    if ca:  # Python's ssl (urllib, http.client, requests) trusts the test CA
        env["SSL_CERT_FILE"] = f"{INPUT}/ca.crt"
    return [
        "docker",
        "create",
        "--name",
        name,
        "--label",
        f"{LABEL}={run_id}",
        "--network",
        network,
        "--add-host",
        f"{domain}:{proxy_ip}",
        "--hostname",
        "recipe-tests",
        "--workdir",
        f"{INPUT}/tests",
        *confined(user=UID, pids=limits.pids, memory=limits.memory),
        "--tmpfs",
        f"/tmp:rw,nosuid,nodev,size={limits.tmpfs}",
        "--ipc",
        "private",
        "--cpus",
        f"{limits.cpus:g}",
        "--log-driver",
        "none",
        "--mount",
        f"type=bind,source={input_dir},target={INPUT},readonly",
        "--mount",
        f"type=bind,source={results_dir},target={RESULTS}",
        *[x for k, v in env.items() for x in ("--env", f"{k}={v}")],
        image,
        "python3",
        "-m",
        "pytest",
        "-c",
        "/opt/cc-ci/pytest.ini",
        *plugins.pytest_args(plugins.SANDBOX_PLUGIN, base_url=base_url, output="/tmp/playwright"),
        "--rootdir",
        f"{INPUT}/tests",
        "--import-mode=importlib",
        "-rA",
        "--tb=short",
        "-v",
        f"--junitxml={RESULTS}/junit.xml",
        "-o",
        "junit_family=xunit2",
        f"{INPUT}/tests",
    ]


def stage_input(tests: Path, dest: Path, context: dict, ca_file: Path | None) -> None:
    """The read-only input: a copy of the tests, the context, the test CA; world-readable."""
    shutil.copytree(tests, dest / "tests", symlinks=True)
    (dest / "context.json").write_text(json.dumps(context))
    if ca_file is not None:
        shutil.copyfile(ca_file, dest / "ca.crt")
    for root, _, files in os.walk(dest):  # os.walk does not follow links to folders
        os.chmod(root, 0o755)
        for f in files:
            p = Path(root) / f
            if not p.is_symlink():
                os.chmod(p, 0o755 if os.access(p, os.X_OK) else 0o644)


@contextmanager
def results_tmpfs(path: Path, size: str = RESULTS_SIZE) -> Iterator[Path]:
    """The results folder as a small tmpfs owned by the tests' user, so what they write
    can never fill the host's disk; unmounted (and gone) on leaving."""
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size},mode=0700,uid={UID},gid={UID},nosuid,nodev,noexec"
    r = children.run(
        ["mount", "-t", "tmpfs", "-o", opts, "cc-ci-tests-results", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if r.returncode != 0:
        raise SandboxError(f"cannot mount the results tmpfs (root needed): {r.stderr.strip()}")
    try:
        yield path
    finally:
        children.run(["umount", "--lazy", str(path)], capture_output=True, timeout=30)


class BoundedOutput:
    """Drains a pipe in a thread, keeping only its first and last `limit/2` bytes."""

    def __init__(self, pipe: IO[bytes], limit: int = MAX_LOG) -> None:
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.total = 0
        self.half = limit // 2
        self._thread = threading.Thread(target=self._drain, args=(pipe,), daemon=True)
        self._thread.start()

    def _drain(self, pipe: IO[bytes]) -> None:
        for chunk in iter(lambda: pipe.read1(65536), b""):
            self.total += len(chunk)
            room = self.half - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail.append(chunk)
                self.tail_size += len(chunk)
                while self.tail_size - len(self.tail[0]) >= self.half:
                    self.tail_size -= len(self.tail.popleft())

    def text(self, join_timeout: float = 30) -> str:
        self._thread.join(join_timeout)
        tail = b"".join(self.tail)[-self.half :] if self.half else b""
        left_out = self.total - len(self.head) - len(tail)
        cut = f"\n[… {left_out} bytes of output left out …]\n".encode() if left_out > 0 else b""
        return (bytes(self.head) + cut + tail).decode(errors="replace")


def run_sandboxed(
    *,
    run_id: str,
    image: str,
    input_dir: Path,
    results_dir: Path,
    argv_kw: dict,
    limits: Limits,
    timeout: float,
    log: FileLog,
) -> tuple[int, str]:
    """Create, start and wait for the container; returns (exit code, note). Always removed."""
    name = f"cc-ci-tests-{run_id[:40]}-{secrets.token_hex(3)}"
    argv = docker_run_argv(
        name=name,
        run_id=run_id,
        image=image,
        input_dir=input_dir,
        results_dir=results_dir,
        limits=limits,
        **argv_kw,
    )
    created = children.run(argv, capture_output=True, text=True, timeout=120)
    if created.returncode != 0:
        raise SandboxError(f"cannot create the tests' container: {created.stderr.strip()[-300:]}")
    try:
        p = subprocess.Popen(
            ["docker", "start", "--attach", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        out = BoundedOutput(p.stdout)
        # a cancel kills the attached client: Interrupted, and the container goes (finally)
        with children.track(p):
            try:
                p.wait(timeout=timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
                dk.docker("kill", name, check=False, timeout=60)
                p.wait(timeout=60)
        output = out.text()
        log.write(output)
        state = json.loads(dk.docker("inspect", "--format", "{{json .State}}", name, timeout=30))
        if state.get("StartedAt", "").startswith("0001-"):
            why = state.get("Error") or output.strip()[-300:]
            raise SandboxError(f"the tests' container did not start: {why}")
        code, note = sandbox_exit(
            int(state.get("ExitCode", -1)),
            timed_out=timed_out,
            timeout=timeout,
            oom_killed=bool(state.get("OOMKilled")),
            memory=limits.memory,
        )
        if timed_out:
            log.write(f"{note}: container killed\n")
        return code, note
    finally:
        dk.docker("rm", "--force", "--volumes", name, check=False, timeout=60)


# -- reading back what the tests left -------------------------------------------------------


def _read_regular(path: Path, limit: int) -> bytes | None:
    """A file's bytes if it is a regular file (not a link, not a device) within `limit`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
        return data if len(data) <= limit else None
    finally:
        os.close(fd)


def collect(
    results_dir: Path, run_dir: Path, stage: str, phase: str, redact: Redact = str
) -> tuple[Path | None, tuple[Path, ...]]:
    """Copy the JUnit XML and the PNG screenshots the tests wrote into the run folder, the
    XML's text and the screenshots' names masked by `redact` (cc_ci/harness/publish.py)."""
    junit = None
    data = _read_regular(results_dir / "junit.xml", MAX_JUNIT)
    if data is not None:
        junit = publish_text(data, run_dir / f"{stage}.{phase}.junit.xml", redact)
    shots: list[Path] = []
    shot_dir = results_dir / "screenshots"
    names = []
    if shot_dir.is_dir() and not shot_dir.is_symlink():
        names = sorted(os.listdir(shot_dir))[:MAX_SHOTS]
    for name in names:
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.removesuffix(".png"))
        if not name.endswith(".png") or not stem:
            continue
        png = _read_regular(shot_dir / name, MAX_SHOT)
        if png is None or not png.startswith(PNG_MAGIC):
            continue
        stem = stem if stem.startswith(f"{stage}-") else f"{stage}-{stem}"
        dest = run_dir / "screenshots" / artifact_name(f"{stem[:80]}.png", redact)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(png)
        shots.append(dest)
    return junit, tuple(shots)


def run_recipe_tests(
    *,
    run_id: str,
    tests: Path,
    workdir: Path,
    run_dir: Path,
    ctx: SuiteContext,
    ca_file: Path | None,
    proxy_service: str,
    network: RunNetwork,
    limits: Limits,
    timeout: float,
    log: FileLog,
    tools: Path | None = None,
    redact: Redact = str,
) -> PhaseResult:
    """The recipe-local phase: the recipe's `tests/` in the sandbox against the live app."""
    t0 = time.monotonic()
    try:
        image = ensure_sandbox_image(tools, network.state_dir)
    except (DebImageError, LockTimeout) as exc:
        raise SandboxError(f"the recipe-tests image cannot be built: {exc}") from exc
    t_image = time.monotonic() - t0
    try:
        proxy_ip = network.gateway(proxy_service, image, log)
    except (NetworkError, LockTimeout, dk.DockerError) as exc:
        raise SandboxError(f"the tests network cannot be set up: {exc}") from exc
    log.write(
        f"sandbox: image {image} ready in {t_image:.1f}s; the relay at {proxy_ip} on "
        f"{network.name} ({time.monotonic() - t0:.1f}s)\n"
    )
    box = workdir / f"sandbox-{ctx.stage}"
    shutil.rmtree(box, ignore_errors=True)
    base_url = https_origin(ctx.domain, PROXY_PORT)
    context = {
        "recipe": ctx.recipe,
        "domain": ctx.domain,
        "base_url": base_url,
        "stage": ctx.stage,
        "phase": ctx.phase,
        "resolve_to": proxy_ip,
        "ca_file": f"{INPUT}/ca.crt" if ca_file else None,
        "cert_spki": ctx.cert_spki,
        "health_path": ctx.health_path,
        "health_ok": list(ctx.health_ok),
        "front_page": ctx.front_page,
    }
    stage_input(tests, box / "input", context, ca_file)
    log.write(f"$ pytest {tests.name}/ (in a sandbox container, timeout {timeout:.0f}s)\n")
    with results_tmpfs(box / "results") as results:
        code, note = run_sandboxed(
            run_id=run_id,
            image=image,
            input_dir=box / "input",
            results_dir=results,
            argv_kw={
                "domain": ctx.domain,
                "base_url": base_url,
                "proxy_ip": proxy_ip,
                "network": network.name,
                "ca": ca_file is not None,
            },
            limits=limits,
            timeout=timeout,
            log=log,
        )
        junit, _ = collect(results, run_dir, ctx.stage, ctx.phase, redact)
    shutil.rmtree(box, ignore_errors=True)
    counts = junit_counts(junit) if junit else Counts()
    log.write(f"sandbox: {time.monotonic() - t0:.1f}s in all\n")
    return phase_result(code, counts, junit, note)
