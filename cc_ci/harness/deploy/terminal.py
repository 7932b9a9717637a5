"""Run a command on a pseudo-terminal: stdin, stdout and stderr all a TTY.

abra's `app backup create` and `app restore` refuse to run without a terminal ("input device
is not a TTY"); the earlier real-server build gave them a full one (`script -qec`). This is
the same with the standard library's `pty`: the child gets the terminal as its controlling
terminal and as all three standard streams, and what it writes is read back as text
(`\\r\\n` turned into `\\n`), for the caller to log (redacted) like any other output.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time

from cc_ci.harness import children

READ_CHUNK = 65536
MAX_OUTPUT = 4 * 1024 * 1024  # keep the last 4 MiB: a backup's progress bar can be long


def run_in_terminal(
    argv: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run `argv` with a pseudo-terminal as its stdin, stdout and stderr.

    Returns its exit status and everything it wrote (as `stdout`; `stderr` is empty: a
    terminal has one stream). Raises subprocess.TimeoutExpired after `timeout` seconds, once
    the command's process group is killed.
    """
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            env=env,
            start_new_session=True,  # its own session, so the terminal becomes its own
            close_fds=True,
        )
    except BaseException:
        os.close(primary)
        os.close(secondary)
        raise
    os.close(secondary)  # the child holds it now: EOF on primary once every holder exits
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + timeout
    try:
        with children.track(proc, group=True):
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    _kill(proc)
                    raise subprocess.TimeoutExpired(argv, timeout, output=_text(chunks))
                ready, _, _ = select.select([primary], [], [], min(left, 1.0))
                if not ready:
                    if proc.poll() is not None and not _pending(primary):
                        break
                    continue
                try:
                    data = os.read(primary, READ_CHUNK)
                except OSError:  # EIO: the terminal's other side is closed
                    break
                if not data:
                    break
                chunks.append(data)
                size += len(data)
                while size > MAX_OUTPUT and len(chunks) > 1:
                    size -= len(chunks.pop(0))
            code = proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(primary)
        if proc.poll() is None:
            _kill(proc)
    return subprocess.CompletedProcess(argv, code, _text(chunks), "")


def _pending(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _text(chunks: list[bytes]) -> str:
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
