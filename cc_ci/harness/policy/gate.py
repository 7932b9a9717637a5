"""The compose policy gate: what a recipe's compose files may ask of the CI host.

A `!testme` deploys compose files from a pull request, and the runner holds the Docker
socket. Before anything is deployed, the gate reads the files abra would assemble (the
`COMPOSE_FILE` list of the app env) and refuses host access: bind mounts, privileges,
capabilities, devices, host namespaces, loosened confinement, published ports, host files,
Traefik routes past the run's own domains (cc_ci/harness/policy/routing.py), and anything it
cannot parse or resolve. The operator's allow-list (cc_ci/harness/policy/allowlist.py)
can let named findings through for named recipes. See docs/policy.md.

The core (`findings_for`, `judge`, `check`) is pure; `compose_files` and `gate` read files.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from cc_ci.contract.envfile import abra_sh_exports
from cc_ci.contract.record import PolicyCheck
from cc_ci.harness.policy.env import DocumentError, interpolate_tree, parse_env, split_compose_file
from cc_ci.harness.policy.routing import Label, read_labels, routing_findings
from cc_ci.harness.policy.rules import ALLOWABLE, FileCheck, Finding, FindingKind, Severity

if TYPE_CHECKING:
    from cc_ci.harness.policy.allowlist import Allowlist

__all__ = [
    "ALLOWABLE",
    "ComposeFileRefused",
    "ComposeParseError",
    "Finding",
    "FindingKind",
    "PolicyError",
    "Severity",
    "Verdict",
    "check",
    "compose_files",
    "escaping_symlinks",
    "findings_for",
    "gate",
    "judge",
    "sample_env",
]


MAX_COMPOSE_BYTES = 1_000_000  # real compose files are a few kilobytes
# What only the harness sets in an app env (cc_ci/harness/deploy/lifecycle.py, harness_env).
HARNESS_KEYS = ("DOMAIN", "STACK_NAME", "LETS_ENCRYPT_ENV")


def abra_sh_env(recipe_dir: Path) -> tuple[dict[str, str], list[Finding]]:
    """What the recipe's `abra.sh` exports, which abra merges over the app env when it
    deploys, and a finding for each export of a key only the harness may set (an `abra.sh`
    that exports DOMAIN would deploy the app under a name the gate never saw)."""
    path = recipe_dir / "abra.sh"
    try:
        readable = path.is_file() and inside_dir(recipe_dir)("abra.sh")
        text = path.read_text(encoding="utf-8") if readable else ""
    except (OSError, UnicodeDecodeError):
        text = ""  # an unreadable abra.sh exports nothing abra could read either
    exports = abra_sh_exports(text)
    findings = [
        Finding(
            FindingKind.HARNESS_ENV,
            "abra.sh",
            None,
            f"export {key}",
            f"sets {key}={exports[key]!r}, which only the harness sets",
        )
        for key in HARNESS_KEYS
        if key in exports
    ]
    return {k: v for k, v in exports.items() if k not in HARNESS_KEYS}, findings


class PolicyError(ValueError):
    """The gate could not be applied as asked (a refusal is a Verdict, not this)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    findings: tuple[Finding, ...] = ()  # what counts: errors refuse, warnings are reported
    allowed: tuple[Finding, ...] = ()  # errors the operator's allow-list let through

    @property
    def refused(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    def lines(self) -> list[str]:
        """One line per finding: refusals, then warnings, then what the allow-list let by."""
        return (
            [f.line() for f in self.errors]
            + [f.line() for f in self.warnings]
            + [f"{f.line()} (allowed by the operator's policy)" for f in self.allowed]
        )

    def summary(self) -> str:
        """One sentence for a stage message."""
        n = len(self.errors)
        if n:
            return f"refused by the compose policy: {n} finding{'s' * (n != 1)}: " + "; ".join(
                f.line() for f in self.errors
            )
        return f"compose policy passed ({len(self.warnings)} warnings, {len(self.allowed)} allowed)"

    def to_json(self) -> dict:
        return {
            "refused": self.refused,
            "findings": [f.to_json() for f in self.findings],
            "allowed": [f.to_json() for f in self.allowed],
        }

    def to_record(self, before: str) -> PolicyCheck:
        """The verdict as the run record keeps it; `before` says what was about to be
        deployed (e.g. `fresh deployment`)."""
        return PolicyCheck(
            before=before,
            refused=self.refused,
            findings=tuple(f.to_record() for f in self.findings),
            allowed=tuple(f.to_record() for f in self.allowed),
        )


# -- parsing --------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """safe_load that refuses duplicate keys: Go's YAML parser rejects or resolves them
    differently, and a second `privileged:` must not hide behind the first."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key is not a scalar", key_node.start_mark
            ) from exc
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


def _construct_number(loader: _StrictLoader, node: yaml.ScalarNode) -> object:
    """YAML 1.1 reads `22:22` as the base-60 number 1342; Go's YAML 1.2 parser, like every
    compose tool, reads a string. Keep it a string, so `ports: [22:22]` means port 22."""
    if ":" in node.value:
        return loader.construct_scalar(node)
    if node.tag.endswith(":int"):
        return loader.construct_yaml_int(node)
    return loader.construct_yaml_float(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_number)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _construct_number)


class ComposeParseError(PolicyError):
    """A compose file is not YAML the gate will read; `.where` is "line N" when known."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.where = where


def parse_compose(text: str) -> object:
    """YAML → data; raises ComposeParseError naming the problem and its line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark else ""
        what = ", ".join(x for x in (exc.context, exc.problem) if x)
        raise ComposeParseError(f"invalid YAML: {' '.join(what.split())}", where) from exc
    except (yaml.YAMLError, TypeError, RecursionError) as exc:
        raise ComposeParseError(f"invalid YAML: {' '.join(str(exc).split())}") from exc


# -- the pure core --------------------------------------------------------------------------


def lexically_inside(rel: str) -> bool:
    """A relative path that stays inside the recipe directory, judged by its text alone."""
    if not rel or rel.startswith(("/", "~", "\\")) or (len(rel) > 1 and rel[1] == ":"):
        return False
    norm = posixpath.normpath(rel.replace("\\", "/"))
    return norm != ".." and not norm.startswith("../")


def findings_for(
    files: Mapping[str, str | object],
    env: Mapping[str, str] | None = None,
    inside: Callable[[str], bool] = lexically_inside,
    domains: Iterable[str] = (),
) -> list[Finding]:
    """Every finding in the compose files (name → YAML text or parsed data), allowed or not.

    `env` is the app env used for `${VAR}` interpolation; `inside` says whether a path
    relative to the recipe directory stays inside it (the shell also resolves symlinks);
    `domains` are the host names the run gave the app, the only ones its Traefik labels may
    route (none given: every route is refused).
    """
    env = dict(env or {})
    out: list[Finding] = []
    labels: list[Label] = []
    for name, content in files.items():
        try:
            doc = parse_compose(content) if isinstance(content, str) else content
        except ComposeParseError as exc:
            out.append(Finding(FindingKind.UNPARSEABLE, name, None, exc.where, str(exc)))
            continue
        if not isinstance(doc, dict):
            what = "empty" if doc is None else f"a {type(doc).__name__}, not a mapping"
            out.append(Finding(FindingKind.UNPARSEABLE, name, None, "", f"the file is {what}"))
            continue
        try:
            resolved, missing = interpolate_tree(doc, env)
        except DocumentError as exc:
            out.append(Finding(FindingKind.UNPARSEABLE, name, None, "", str(exc)))
            continue
        out += FileCheck(name, resolved, missing, env, inside).run()
        found, bad = read_labels(name, resolved)
        labels += found
        out += bad
    # Compose merges labels across the files, so routes are judged over all of them.
    return out + routing_findings(labels, domains, env.get("STACK_NAME", ""))


def judge(findings: Iterable[Finding], recipe: str, allow: Allowlist | None) -> Verdict:
    """Split findings into those that count and those the allow-list lets through."""
    counted: list[Finding] = []
    allowed: list[Finding] = []
    for f in findings:
        ok = f.severity is Severity.ERROR and allow is not None and allow.permits(recipe, f)
        (allowed if ok else counted).append(f)
    return Verdict(tuple(counted), tuple(allowed))


def check(
    files: Mapping[str, str | object],
    recipe: str,
    allow: Allowlist | None = None,
    env: Mapping[str, str] | None = None,
    inside: Callable[[str], bool] = lexically_inside,
    domains: Iterable[str] = (),
) -> Verdict:
    """The verdict on a recipe's compose files (name → YAML text or parsed data)."""
    return judge(findings_for(files, env, inside, domains), recipe, allow)


# -- the shell: files on disk ---------------------------------------------------------------


class ComposeFileRefused(PolicyError):
    """COMPOSE_FILE names a file the gate will not read; `.finding` says which and why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.line())
        self.finding = finding


def compose_files(recipe_dir: Path, env: Mapping[str, str]) -> list[Path]:
    """The compose files abra would assemble for an app env, in order.

    Raises ComposeFileRefused for an entry that is absolute, climbs out with `..`, resolves
    through a symlink to outside the recipe, or still holds an unexpanded `$`.
    """
    root = recipe_dir.resolve()
    out: list[Path] = []
    for entry in split_compose_file(env.get("COMPOSE_FILE")):
        if "$" in entry:
            raise ComposeFileRefused(
                Finding(
                    FindingKind.UNRESOLVED,
                    entry,
                    None,
                    "COMPOSE_FILE",
                    "the entry holds an unexpanded variable (read the env with "
                    "cc_ci.harness.policy.env.parse_env)",
                )
            )
        if not lexically_inside(entry) or not (root / entry).resolve().is_relative_to(root):
            raise ComposeFileRefused(
                Finding(
                    FindingKind.PATH_ESCAPE,
                    entry,
                    None,
                    "COMPOSE_FILE",
                    "names a file outside the recipe directory",
                )
            )
        out.append(recipe_dir / posixpath.normpath(entry))
    return out


def inside_dir(recipe_dir: Path) -> Callable[[str], bool]:
    """`lexically_inside`, and the path also resolves (through symlinks) inside the recipe."""
    root = recipe_dir.resolve()

    def inside(rel: str) -> bool:
        return lexically_inside(rel) and (root / rel).resolve().is_relative_to(root)

    return inside


def escaping_symlinks(recipe_dir: Path) -> list[Finding]:
    """Symlinks anywhere in the recipe (but .git) that lead outside it.

    abra copies `.env.sample` into the app env, Docker reads config files, and the harness
    copies `tests/`: each would follow such a link to a file on the CI host.
    """
    root = recipe_dir.resolve()
    out: list[Finding] = []
    for dirpath, dirnames, filenames in os.walk(recipe_dir):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                rel = path.relative_to(recipe_dir).as_posix()
                detail = f"is a symlink to {os.readlink(path)}, outside the recipe directory"
                out.append(Finding(FindingKind.PATH_ESCAPE, rel, None, "", detail))
    return out


def sample_env(recipe_dir: Path, overrides: Mapping[str, str]) -> dict[str, str]:
    """The env a new app of this recipe would get before `abra app new` has run: the
    recipe's `.env.sample`, evaluated as abra does, with the harness's values on top."""
    sample = recipe_dir / ".env.sample"
    try:
        # A symlink out of the recipe is never read (the gate refuses it: escaping_symlinks).
        readable = sample.is_file() and inside_dir(recipe_dir)(".env.sample")
        text = sample.read_text(encoding="utf-8") if readable else ""
    except (OSError, UnicodeDecodeError):
        text = ""  # then COMPOSE_FILE is compose.yml, and every variable is unset
    return {**parse_env(text), **overrides}


def gate(
    recipe_dir: Path,
    env: Mapping[str, str],
    recipe: str,
    allow: Allowlist | None,
    domains: Iterable[str] = (),
) -> Verdict:
    """Read the compose files of a checked-out recipe as abra would assemble them for `env`
    (the app env, already evaluated: cc_ci.harness.policy.env.parse_env) and judge them.
    `domains` are the app's own host names (the harness's, never the PR's): its Traefik
    labels may route these and nothing else. `abra.sh`'s exports count as abra counts them:
    over the env (and refused for the harness's own keys)."""
    exports, owned = abra_sh_env(recipe_dir)
    env = {**env, **exports}
    try:
        paths = compose_files(recipe_dir, env)
    except ComposeFileRefused as exc:
        links = [f for f in escaping_symlinks(recipe_dir) if f.file != exc.finding.file]
        return judge([*owned, *links, exc.finding], recipe, allow)
    files: dict[str, str] = {}
    unreadable: list[Finding] = []
    for path in paths:
        name = path.relative_to(recipe_dir).as_posix()
        try:
            if path.stat().st_size > MAX_COMPOSE_BYTES:
                detail = f"the file is larger than {MAX_COMPOSE_BYTES} bytes"
                unreadable.append(Finding(FindingKind.UNPARSEABLE, name, None, "", detail))
                continue
            files[name] = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            detail = "the file does not exist (COMPOSE_FILE names it)"
            unreadable.append(Finding(FindingKind.UNPARSEABLE, name, None, "", detail))
        except (OSError, UnicodeDecodeError) as exc:
            detail = f"the file cannot be read: {exc}"
            unreadable.append(Finding(FindingKind.UNPARSEABLE, name, None, "", detail))
    found = findings_for(files, env, inside_dir(recipe_dir), domains)
    return judge(owned + escaping_symlinks(recipe_dir) + unreadable + found, recipe, allow)
