"""The operator's allow-list for the compose policy gate: which recipes may do what.

It lives in cc-ci's own configuration (a TOML file named by CCCI_POLICY_FILE, written by the
NixOS module), never in a recipe. Parsed once at the edge; errors name the bad entry.

    [recipes.traefik]
    allow = ["bind-mount", "published-port"]
    bind_sources = ["/var/run/docker.sock"]
    ports = [80, 443]
"""

from __future__ import annotations

import posixpath
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from cc_ci.contract.names import RECIPE_RE
from cc_ci.harness.policy.rules import ALLOWABLE, Finding, FindingKind

POLICY_FILE_ENV = "CCCI_POLICY_FILE"
RECIPE_KEYS = ("allow", "ports", "bind_sources")


class PolicyConfigError(ValueError):
    """The allow-list file is malformed; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class RecipeAllowance:
    allow: frozenset[FindingKind] = frozenset()
    ports: frozenset[int] | None = None  # None: any published port, once allowed
    bind_sources: frozenset[str] | None = None  # None: any bind source, once allowed

    def permits(self, finding: Finding) -> bool:
        if finding.kind not in self.allow:
            return False
        if finding.kind is FindingKind.PUBLISHED_PORT and self.ports is not None:
            return _ports_within(finding.subject, self.ports)
        if finding.kind is FindingKind.BIND_MOUNT and self.bind_sources is not None:
            return finding.subject in self.bind_sources
        return True


@dataclass(frozen=True, slots=True)
class Allowlist:
    recipes: Mapping[str, RecipeAllowance] = field(default_factory=lambda: MappingProxyType({}))

    def permits(self, recipe: str, finding: Finding) -> bool:
        """Whether the operator lets this finding through for this recipe."""
        entry = self.recipes.get(recipe)
        return entry is not None and entry.permits(finding)


def _ports_within(subject: str, allowed: frozenset[int]) -> bool:
    """A published port (or range "8000-8010") all of whose ports are allowed."""
    low, _, high = subject.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        return False  # a port swarm picks, or one we cannot read
    lo, hi = int(low), int(high or low)
    return hi - lo < 65536 and all(p in allowed for p in range(lo, hi + 1))


def parse_allowlist(data: Mapping, source: str = "the allow-list") -> Allowlist:
    """A parsed TOML document → Allowlist; PolicyConfigError names what is wrong."""
    extra = sorted(set(data) - {"recipes"})
    if extra:
        raise PolicyConfigError(f"{source}: unknown top-level key(s) {extra}; only [recipes.*]")
    recipes = data.get("recipes", {})
    if not isinstance(recipes, dict):
        raise PolicyConfigError(f"{source}: `recipes` must be a table of [recipes.<name>]")
    out: dict[str, RecipeAllowance] = {}
    for name, entry in recipes.items():
        where = f"{source}: [recipes.{name}]"
        if not RECIPE_RE.fullmatch(name):
            raise PolicyConfigError(f"{where}: {name!r} is not a recipe name")
        if not isinstance(entry, dict):
            raise PolicyConfigError(f"{where} must be a table")
        out[name] = _parse_recipe(entry, where)
    return Allowlist(MappingProxyType(out))


def _parse_recipe(entry: dict, where: str) -> RecipeAllowance:
    unknown = sorted(set(entry) - set(RECIPE_KEYS))
    if unknown:
        raise PolicyConfigError(f"{where}: unknown key(s) {unknown}; known: {list(RECIPE_KEYS)}")
    kinds = _str_list(entry.get("allow", []), f"{where} allow")
    bad = [k for k in kinds if k not in {str(a) for a in ALLOWABLE}]
    if bad:
        raise PolicyConfigError(
            f"{where} allow: {bad} cannot be allowed; allowable kinds: "
            f"{sorted(str(a) for a in ALLOWABLE)}"
        )
    allow = frozenset(FindingKind(k) for k in kinds)
    ports = None
    if "ports" in entry:
        if FindingKind.PUBLISHED_PORT not in allow:
            raise PolicyConfigError(f'{where}: `ports` needs "published-port" in `allow`')
        raw = entry["ports"]
        if not isinstance(raw, list) or not all(
            isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in raw
        ):
            raise PolicyConfigError(f"{where} ports: a list of port numbers 1-65535, got {raw!r}")
        ports = frozenset(raw)
    sources = None
    if "bind_sources" in entry:
        if FindingKind.BIND_MOUNT not in allow:
            raise PolicyConfigError(f'{where}: `bind_sources` needs "bind-mount" in `allow`')
        paths = _str_list(entry["bind_sources"], f"{where} bind_sources")
        relative = [p for p in paths if not p.startswith("/")]
        if relative:
            raise PolicyConfigError(f"{where} bind_sources: {relative} are not absolute paths")
        sources = frozenset(posixpath.normpath(p) for p in paths)
    return RecipeAllowance(allow, ports, sources)


def _str_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyConfigError(f"{where}: a list of strings, got {value!r}")
    return value


def load_allowlist(path: Path | None) -> Allowlist:
    """Read the operator's allow-list file; no file configured means nothing is allowed."""
    if path is None:
        return Allowlist()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyConfigError(f"{POLICY_FILE_ENV}={path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyConfigError(f"{POLICY_FILE_ENV}={path}: cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_allowlist(data, str(path))
