"""Run one phase of a stage's tests with pytest, in a subprocess, into the run folder."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from cc_ci.contract.record import Counts, junit_counts
from cc_ci.harness import children
from cc_ci.harness.outcome import PhaseResult, phase_result, pytest_could_not_run
from cc_ci.suite import plugins
from cc_ci.suite.context import ENV_VAR, SuiteContext

BUILTIN = plugins.BUILTIN_TESTS
PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\n"


class SuiteError(RuntimeError):
    """pytest itself could not run (an infrastructure problem, not a failing test)."""


def run_phase(
    ctx: SuiteContext,
    paths: list[Path],
    marker: str | None,
    junit: Path,
    log: object,
    timeout: float,
    extra_env: dict[str, str] | None = None,
) -> PhaseResult:
    """Run pytest over `paths` filtered by `marker`; append its output to the stage log.

    Everything pytest writes (the JUnit XML at `junit`, its ini, the context, Playwright's
    output) goes beside `junit`, the run's private work dir: the harness publishes the
    masked copies into the served run folder (cc_ci/harness/publish.py)."""
    paths = [p for p in paths if p.exists()]
    if not paths:
        return PhaseResult(5, Counts(), None)
    run_dir = junit.parent
    ini = run_dir / ".pytest.ini"
    ini.write_text(PYTEST_INI)
    ctx_file = run_dir / f".context-{ctx.stage}-{ctx.phase}.json"
    ctx.save(ctx_file)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(ini),
        "--rootdir",
        str(paths[0].parent),
        "--import-mode=importlib",
        *plugins.pytest_args(
            plugins.HOST_PLUGIN,
            base_url=ctx.base_url,
            output=str(run_dir / "playwright" / f"{ctx.stage}-{ctx.phase}"),
        ),
        "-rA",
        "--tb=short",
        "-v",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit2",
        *(["-m", marker] if marker else []),
        *map(str, paths),
    ]
    env = {
        **os.environ,
        ENV_VAR: str(ctx_file),
        "PYTHONUNBUFFERED": "1",
        **plugins.ENV,
        **(extra_env or {}),
    }
    env.pop("PYTEST_ADDOPTS", None)
    log.write(
        f"$ pytest {'-m ' + repr(marker) + ' ' if marker else ''}{' '.join(map(str, paths))}\n"
    )
    try:
        r = children.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=paths[0].parent if paths[0].is_dir() else paths[0].parent,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        log.write(
            (exc.stdout or b"").decode(errors="replace")
            if isinstance(exc.stdout, bytes)
            else (exc.stdout or "")
        )
        note = f"pytest timed out after {timeout:.0f}s"
        log.write(note + "\n")
        return phase_result(1, junit_counts(junit), junit if junit.exists() else None, note)
    log.write(r.stdout + r.stderr)
    if pytest_could_not_run(r.returncode, junit.exists()):
        raise SuiteError(
            f"pytest could not run the {ctx.stage} suite (exit {r.returncode}): "
            f"{_last_line(r.stderr or r.stdout)} (see {ctx.stage}.log)"
        )
    return PhaseResult(r.returncode, junit_counts(junit), junit if junit.exists() else None)


def merge_junit(parts: list[Path], dest: Path) -> Path | None:
    """Combine the phases' JUnit files into one <testsuites> file for the stage."""
    suites = ET.Element("testsuites")
    for part in parts:
        try:
            root = ET.parse(part).getroot()
        except (OSError, ET.ParseError):
            continue
        for s in [root] if root.tag == "testsuite" else root.findall("testsuite"):
            s.set("name", f"{s.get('name', 'pytest')}:{part.name.split('.')[1]}")
            suites.append(s)
    if not len(suites):
        return None
    ET.ElementTree(suites).write(dest, encoding="utf-8", xml_declaration=True)
    for part in parts:
        if part != dest:
            part.unlink(missing_ok=True)
    return dest


def _last_line(text: str, limit: int = 200) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    return last if len(last) <= limit else last[: limit - 1] + "…"
