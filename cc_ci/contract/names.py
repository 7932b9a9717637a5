"""The names cc-ci's parts pass each other: what a run is given (recipe, source, ref, stages,
run id, zone), the run ids of Drone builds, the paths a run record may name, and the names a
run's app gets. Pure functions.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from cc_ci.contract.stages import STAGES, StageName, in_order, row_base, unknown_stages

RECIPE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SRC_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}/[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# A commit sha (7–40 hex), or a tag/branch name made of safe characters.
REF_RE = re.compile(r"^(?![-.])[A-Za-z0-9._+/-]{1,200}$")
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# A Drone build's run: `drone-<build number>-c<command id>` for a PR command's,
# `drone-<build number>-j<job id>` for a default-branch job's, or `drone-<build number>` for a
# build the bridge did not start (.drone.yml spells it in shell).
DRONE_RUN_ID_RE = re.compile(
    r"^drone-(0|[1-9][0-9]{0,17})(?:-c([1-9][0-9]{0,17})|-j([1-9][0-9]{0,17}))?$"
)
COMMAND_PARAM = "CCCI_COMMAND"
"""The build parameter (and the harness's environment variable) holding the id of the
command (the PR comment) a build is for: part of the run id and the record's
`trigger.command`."""
JOB_PARAM = "CCCI_JOB"
"""The build parameter (and the harness's environment variable) holding the id of the
bridge's default-branch job (a scheduled or a tag's run) a build is for: part of the run id."""
TRIGGER_PARAM = "CCCI_TRIGGER"
"""The build parameter holding why the bridge started the build (`pr`, `schedule`, `tag`):
the run record's `trigger.kind`."""
# What a run record accepts as a stage's name: the stages this version knows are a subset.
STAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
ZONE_RE = re.compile(
    r"^(?=.{1,100}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$|^[a-z0-9-]+\.local$"
)
# Run apps are named <recipe[:4]>-<6 hex>.<zone>: the janitor recognises exactly these.
APP_LABEL_RE = re.compile(r"^[a-z0-9]{1,4}-[0-9a-f]{6}$")
# Docker: config and secret names ≤ 64 characters, service names ≤ 63.
DOCKER_NAME_MAX = 64
# The longest "<stack>_<resource>_<version>" suffix a recipe is allowed to need.
RESOURCE_SUFFIX_BUDGET = 30


class InvalidInput(ValueError):
    """A run input (recipe, source, ref, stages, run id, zone) is malformed."""


def validate_recipe(name: str) -> str:
    if not RECIPE_RE.fullmatch(name or ""):
        raise InvalidInput(
            f"recipe {name!r} is not a recipe name (lower-case letters, digits, '-')"
        )
    return name


def validate_src(src: str) -> str:
    if not SRC_RE.fullmatch(src or "") or ".." in src:
        raise InvalidInput(f"source {src!r} is not OWNER/NAME")
    return src


def validate_ref(ref: str) -> str:
    if not REF_RE.fullmatch(ref or "") or ".." in ref or ref.endswith((".lock", "/")):
        raise InvalidInput(f"ref {ref!r} is not a commit sha, tag or branch name")
    return ref


def is_row_name(name: str) -> bool:
    """A name a run record's stage row may have: a stage's (`STAGE_NAME_RE`, of this version
    or a newer one), or an upgrade row `upgrade from <tag>` whose tag is a ref by
    `validate_ref`'s rules (contract/stages.py, `upgrade_row`)."""
    if STAGE_NAME_RE.fullmatch(name):
        return True
    base = row_base(name)
    return base is not None and is_ref(base)


def is_ref(text: str) -> bool:
    """True when `validate_ref` accepts `text`."""
    try:
        validate_ref(text)
    except InvalidInput:
        return False
    return True


def validate_run_id(run_id: str) -> str:
    if not RUN_ID_RE.fullmatch(run_id or ""):
        raise InvalidInput(f"run id {run_id!r} must match {RUN_ID_RE.pattern}")
    return run_id


def drone_run_id(build: int, command: int | None = None, *, job: int | None = None) -> str:
    """The run id of Drone build number `build`, started for command (PR comment) id
    `command`: `drone-<build>-c<command>`; or for the bridge's default-branch job `job`:
    `drone-<build>-j<job>`. Drone numbers builds afresh when its database is new, and
    Gitea's comment ids never come again (nor a job id: the bridge's clock in seconds when
    it planned the job, each later than the last), so no reset of Drone reuses the id of a
    run the bridge started. A build the bridge did not start (both None, e.g. one started
    by hand in Drone) is `drone-<build>`."""
    if type(build) is not int or not 0 <= build < 10**18:
        raise InvalidInput(f"Drone build number {build!r} is not a whole number below 10^18")
    if command is not None and job is not None:
        raise InvalidInput("a Drone build is for a command or for a job, not both")
    for what, value, letter in (("command", command, "c"), ("job", job, "j")):
        if value is None:
            continue
        if type(value) is not int or not 0 < value < 10**18:
            raise InvalidInput(f"{what} id {value!r} is not a whole number from 1 below 10^18")
        return f"drone-{build}-{letter}{value}"
    return f"drone-{build}"


def drone_build(run_id: str) -> int | None:
    """The Drone build number a run id names, or None when it is not a Drone build's run."""
    m = DRONE_RUN_ID_RE.fullmatch(run_id)
    return int(m.group(1)) if m else None


def drone_command(run_id: str) -> int | None:
    """The command id a Drone build's run id names, or None when it names none."""
    m = DRONE_RUN_ID_RE.fullmatch(run_id)
    return int(m.group(2)) if m and m.group(2) else None


def drone_job(run_id: str) -> int | None:
    """The default-branch job id a Drone build's run id names, or None when it names none."""
    m = DRONE_RUN_ID_RE.fullmatch(run_id)
    return int(m.group(3)) if m and m.group(3) else None


def is_safe_relpath(path: str) -> bool:
    """True when `path` names a file below a folder: relative, no '..', '.', or empty parts.

    The run record's rule for the logs and artifacts it names (relative to the run folder).
    """
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def validate_zone(zone: str) -> str:
    if not ZONE_RE.fullmatch(zone or ""):
        raise InvalidInput(f"test zone {zone!r} is not a DNS domain")
    return zone


def parse_stages(text: str | None) -> tuple[StageName, ...]:
    """A comma list of stage names in any order → the stages in lifecycle order. Empty = all."""
    if text is None or not text.strip():
        return STAGES
    wanted = [s.strip() for s in text.split(",") if s.strip()]
    unknown = unknown_stages(wanted)
    if unknown:
        raise InvalidInput(f"unknown stage(s) {', '.join(unknown)}; valid: {', '.join(STAGES)}")
    return in_order(wanted)


def app_domain(recipe: str, zone: str, salt: str | None = None) -> str:
    """A short, unique domain for one deployment: <recipe[:4]>-<6 hex>.<zone>.

    Docker derives config and secret names from it (<stack>_<name>_<version>, ≤ 64 chars), so
    it must stay short whatever the recipe is called; the full context lives in the run record.
    """
    salt = salt if salt is not None else secrets.token_hex(8)
    digest = hashlib.sha256(f"{recipe}|{salt}".encode()).hexdigest()[:6]
    prefix = re.sub(r"[^a-z0-9]", "", recipe)[:4] or "app"
    domain = f"{prefix}-{digest}.{zone}"
    if len(stack_name(domain)) + RESOURCE_SUFFIX_BUDGET > DOCKER_NAME_MAX:
        raise InvalidInput(
            f"test zone {zone!r} is too long: app stacks would exceed Docker's "
            f"{DOCKER_NAME_MAX}-character config and secret names"
        )
    return domain


def stack_name(domain: str) -> str:
    """abra's stack name for a domain: dots become underscores, hyphens stay."""
    return domain.replace(".", "_")


def is_run_app(domain: str, zone: str) -> bool:
    """True for domains this harness creates for runs (and nothing else the operator runs)."""
    suffix = "." + zone
    return domain.endswith(suffix) and bool(APP_LABEL_RE.fullmatch(domain[: -len(suffix)]))
