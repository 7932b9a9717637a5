"""`cc-ci-run RECIPE [--repo OWNER/NAME] [--src OWNER/NAME|PATH] [--ref SHA] [--pr N] [--stages LIST] [--upgrade-from TAGS] [--run-id ID] [--results-dir DIR]`

Exit 0 when every stage passed, 1 when a test failed, 2 when the run could not be carried out.
Drone passes RECIPE, REPO, SRC, REF, PR, STAGES and UPGRADE_FROM in the environment; flags
win over them. CCCI_TRIGGERED_BY, CCCI_COMMENT_URL, CCCI_COMMAND and CCCI_TRIGGER (who asked, where,
the command's comment id, and why: pr, schedule or tag) go into the record's `trigger`; the
command id (or, for a run of the default branch, CCCI_JOB) is also part of the run id.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from cc_ci.contract.names import (
    COMMAND_PARAM,
    JOB_PARAM,
    TRIGGER_PARAM,
    InvalidInput,
    drone_run_id,
    parse_stages,
    validate_recipe,
    validate_ref,
    validate_run_id,
    validate_src,
)
from cc_ci.contract.record import CI, RunRecord, Trigger, TriggerKind
from cc_ci.harness.policy.allowlist import PolicyConfigError, load_allowlist
from cc_ci.harness.settings import Settings, SettingsError

MARK = {
    "passed": "PASS",
    "failed": "FAIL",
    "error": "ERROR",
    "skipped": "skip",
    "pending": "-",
    "running": "...",
}


def parse_args(argv: list[str], env: dict[str, str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="cc-ci-run", description=__doc__.splitlines()[0])
    p.add_argument("recipe", nargs="?", default=env.get("RECIPE"), help="recipe name (env RECIPE)")
    p.add_argument(
        "--repo",
        default=env.get("REPO"),
        help="the recipe's own repository OWNER/NAME or a local path: its release tags are the "
        "upgrade bases (env REPO; default: the --src repository)",
    )
    p.add_argument(
        "--src",
        default=env.get("SRC"),
        help="PR head repository OWNER/NAME (a fork, maybe) or a local path (env SRC; "
        "default coop-cloud/RECIPE)",
    )
    p.add_argument(
        "--ref", default=env.get("REF"), help="commit sha, tag or branch to test (env REF)"
    )
    p.add_argument(
        "--pr", type=int, default=int(env["PR"]) if env.get("PR", "").isdigit() else None
    )
    p.add_argument(
        "--stages", default=env.get("STAGES"), help="comma list; empty = all (env STAGES)"
    )
    p.add_argument(
        "--upgrade-from",
        default=env.get("UPGRADE_FROM"),
        help="comma list of release tags of the base repository to upgrade from, each its "
        "own row; empty = the previous release and recipe_meta.py's UPGRADE_FROM "
        "(env UPGRADE_FROM)",
    )
    p.add_argument(
        "--run-id",
        default=None,
        help="default drone-<DRONE_BUILD_NUMBER>[-c<CCCI_COMMAND>] or local-<time>",
    )
    p.add_argument(
        "--results-dir", type=Path, default=None, help="default $CCCI_RESULTS_DIR, else ./results"
    )
    return p.parse_args(argv)


def parse_upgrade_from(text: str | None) -> tuple[str, ...]:
    """`--upgrade-from`'s comma list of release tags, each a ref by the contract's rules;
    empty (or absent) means the default: the release before the PR head."""
    if text is None or not text.strip():
        return ()
    tags = [t.strip() for t in text.split(",") if t.strip()]
    for tag in tags:
        try:
            validate_ref(tag)
        except InvalidInput:
            raise InvalidInput(f"--upgrade-from: {tag!r} is not a tag name") from None
    return tuple(dict.fromkeys(tags))


def parse_repository(value: str, what: str, env: dict[str, str]) -> str:
    """A repository the run fetches: OWNER/NAME on the forge (CCCI_FORGE_URL), or, for a run
    by hand only, a local path (absolute, `.`, `..`, `~`), returned absolute."""
    if not value.startswith(("/", ".", "~")):
        return validate_src(value)
    if env.get("DRONE_BUILD_NUMBER"):
        raise InvalidInput(f"{what} {value!r}: a local path is for runs by hand, not in a build")
    path = Path(value).expanduser().resolve()
    if not path.is_dir() or not ((path / ".git").exists() or (path / "HEAD").is_file()):
        raise InvalidInput(f"{what} {value!r} is not a git repository on this machine")
    return str(path)


def parse_trigger(env: dict[str, str]) -> Trigger | None:
    """Who asked for the run, where, by which command and why (CCCI_TRIGGERED_BY,
    CCCI_COMMENT_URL, CCCI_COMMAND, CCCI_TRIGGER), or None."""
    by = env.get("CCCI_TRIGGERED_BY") or None
    command = command_id(env)
    kind_text = env.get(TRIGGER_PARAM) or None
    kinds = [k.value for k in TriggerKind]
    if kind_text is not None and kind_text not in kinds:
        raise InvalidInput(f"{TRIGGER_PARAM} {kind_text!r} is not one of {', '.join(kinds)}")
    kind = TriggerKind(kind_text) if kind_text else None
    url = env.get("CCCI_COMMENT_URL") or None
    if url is not None:
        parts = urlsplit(url)
        plain = url.isprintable() and not any(c.isspace() for c in url)
        if parts.scheme not in ("http", "https") or not parts.netloc or not plain:
            raise InvalidInput(f"CCCI_COMMENT_URL {url!r} is not an http(s) URL")
    if by is None and url is None and command is None and kind is None:
        return None
    return Trigger(by, url, command, kind)


def results_dir(args: argparse.Namespace, settings: Settings) -> Path:
    """Where the run's folder goes: --results-dir, else the setting (CCCI_RESULTS_DIR)."""
    return (args.results_dir or settings.results_dir).resolve()


def command_id(env: dict[str, str], name: str = COMMAND_PARAM) -> int | None:
    """The command (PR comment) id the bridge passed (or, `name` JOB_PARAM, the
    default-branch job's id), or None."""
    value = env.get(name, "")
    if not value:
        return None
    if not value.isdigit() or value.startswith("0"):
        raise InvalidInput(f"{name} {value!r} is not an id (a whole number)")
    return int(value)


def default_run_id(env: dict[str, str]) -> str:
    if env.get("DRONE_BUILD_NUMBER", "").isdigit():
        build = int(env["DRONE_BUILD_NUMBER"])
        return drone_run_id(build, command_id(env), job=command_id(env, JOB_PARAM))
    return f"local-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def table(record: RunRecord, run_dir: Path) -> str:
    rows = [f"cc-ci run {record.run_id}: {record.recipe} @ {(record.source.ref or '?')[:12]}"]
    width = max(len(s.name) for s in record.stages) if record.stages else 5
    for s in record.stages:
        t = s.tests
        dur = f"{s.duration_s:6.1f}s" if s.duration_s is not None else "      -"
        counts = f"{t.passed} passed, {t.failed} failed" + (
            f", {t.errors} errors" if t.errors else ""
        )
        rows.append(
            f"  {s.name:<{width}}  {MARK[s.status]:<5} {dur}  {counts}  {s.message}".rstrip()
        )
    td = record.teardown
    rows.append(
        f"  {'teardown':<{width}}  {td.status}"
        + (f" ({', '.join(td.leftovers)})" if td.leftovers else "")
    )
    rows.append(f"  overall: {record.status} (exit {record.exit_code}) in {record.duration_s:.1f}s")
    rows.append(f"  run record: {run_dir / 'run.json'}")
    if record.repro:
        rows.append(f"  to run it again: {record.repro}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    env = dict(os.environ)
    args = parse_args(sys.argv[1:] if argv is None else argv, env)
    try:
        if not args.recipe:
            raise InvalidInput("no recipe given (argument or RECIPE)")
        recipe = validate_recipe(args.recipe)
        src = parse_repository(args.src or f"coop-cloud/{recipe}", "--src", env)
        repo = parse_repository(args.repo, "--repo", env) if args.repo else None
        ref = validate_ref(args.ref or "HEAD")
        stages = parse_stages(args.stages)
        upgrade_from = parse_upgrade_from(args.upgrade_from)
        if upgrade_from and "upgrade" not in stages:
            raise InvalidInput(
                f"--upgrade-from {','.join(upgrade_from)}: the upgrade stage is not among "
                f"--stages {','.join(stages)}"
            )
        trigger = parse_trigger(env)
        run_id = validate_run_id(args.run_id or default_run_id(env))
        settings = Settings.from_env(env)
        allow = load_allowlist(settings.policy_file)
    except (InvalidInput, SettingsError, PolicyConfigError) as exc:
        print(f"cc-ci-run: {exc}", file=sys.stderr)
        return 2
    from cc_ci.harness.interrupt import install_signal_handlers, term_when_parent_dies
    from cc_ci.harness.run import Run, RunRequest

    ci = None
    if env.get("DRONE_BUILD_NUMBER", "").isdigit():
        ci = CI("drone", int(env["DRONE_BUILD_NUMBER"]), env.get("DRONE_BUILD_LINK"))
    req = RunRequest(
        recipe,
        src,
        ref,
        stages,
        run_id,
        results_dir(args, settings),
        args.pr,
        ci,
        trigger,
        repo=repo,
        upgrade_from=upgrade_from,
    )
    restore = install_signal_handlers()
    term_when_parent_dies()  # a cancelled Drone build kills only the step's shell
    try:
        record = Run(req, settings, allow).execute()
    except FileExistsError as exc:
        print(f"cc-ci-run: {exc}", file=sys.stderr)
        return 2
    finally:
        restore()
    print(table(record, req.results_dir / run_id))
    return record.exit_code if record.exit_code is not None else 2


if __name__ == "__main__":
    sys.exit(main())
