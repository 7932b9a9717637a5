"""The app env as abra reads it, and compose's `${VAR}` interpolation. Pure functions.

Part of the compose policy gate (cc_ci/harness/policy/gate.py): the gate must see the compose files and
the values abra would deploy, so it reads the env the way abra does (the contract's env-file
parser, godotenv rules) and interpolates
compose values the way docker's loader does (`$$`, `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
`${VAR:?e}`, `${VAR?e}`, `${VAR:+a}`, `${VAR+a}`). What it cannot resolve it reports, so the
gate can refuse instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from cc_ci.contract import envfile

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DEFAULT_COMPOSE_FILE = "compose.yml"


def parse_env(text: str) -> dict[str, str]:
    """An abra app env (or `.env.sample`) evaluated line by line, as abra reads it
    (cc_ci/contract/envfile.py). `COMPOSE_FILE="$COMPOSE_FILE:compose.postgres.yml"` appends
    to the value set above it; commented-out lines count for nothing."""
    return envfile.values(text)


def split_compose_file(value: str | None) -> list[str]:
    """The COMPOSE_FILE value as a list of files; unset or empty means `compose.yml`."""
    files = [f.strip() for f in (value or "").split(":") if f.strip()]
    return files or [DEFAULT_COMPOSE_FILE]


def compose_file_list(env_text: str) -> list[str]:
    """The compose files an env file's text selects, in order (default `compose.yml`)."""
    return split_compose_file(parse_env(env_text).get("COMPOSE_FILE"))


class _Scanner:
    """Interpolates one string; `missing` collects what could not be resolved."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.missing: list[str] = []

    def run(self, text: str) -> str:
        out: list[str] = []
        i = 0
        while i < len(text):
            c = text[i]
            if c != "$":
                out.append(c)
                i += 1
            elif text.startswith("$$", i):
                out.append("$")
                i += 2
            elif text.startswith("${", i):
                end = self._closing(text, i + 2)
                if end < 0:
                    self.missing.append(f"unterminated {text[i:]!r}")
                    return "".join(out)
                out.append(self._braced(text[i + 2 : end]))
                i = end + 1
            elif m := NAME.match(text, i + 1):
                out.append(self._lookup(m.group(0)))
                i = m.end()
            else:
                out.append("$")
                i += 1
        return "".join(out)

    @staticmethod
    def _closing(text: str, start: int) -> int:
        depth = 1
        i = start
        while i < len(text):
            if text.startswith("${", i):
                depth += 1
                i += 2
                continue
            if text[i] == "}":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        return -1

    def _lookup(self, name: str) -> str:
        if name in self.env:
            return self.env[name]
        self.missing.append(name)
        return ""

    def _braced(self, body: str) -> str:
        m = NAME.match(body)
        if not m:
            self.missing.append(f"invalid ${{{body}}}")
            return ""
        name, rest = m.group(0), body[m.end() :]
        value = self.env.get(name)
        empty = not value
        if rest == "":
            return self._lookup(name)
        for op, use_alt in ((":-", empty), ("-", value is None)):
            if rest.startswith(op):
                return self.run(rest[len(op) :]) if use_alt else str(value)
        for op, use_alt in ((":+", not empty), ("+", value is not None)):
            if rest.startswith(op):
                return self.run(rest[len(op) :]) if use_alt else ""
        for op, fails in ((":?", empty), ("?", value is None)):
            if rest.startswith(op):
                if fails:
                    self.missing.append(name)
                    return ""
                return str(value)
        self.missing.append(f"invalid ${{{body}}}")
        return ""


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """Compose interpolation of one value: (result, names that could not be resolved).

    An unset variable without a default becomes "" as compose does, and is reported.
    """
    scanner = _Scanner(env)
    result = scanner.run(text)
    return result, tuple(dict.fromkeys(scanner.missing))


Path_ = tuple[str | int, ...]
MAX_NODES = 100_000  # a compose file is hundreds of nodes; aliases can make billions


class DocumentError(ValueError):
    """A parsed document the gate will not walk: it refers to itself, or aliases blow it up."""


def interpolate_tree(
    node: object, env: Mapping[str, str], path: Path_ = ()
) -> tuple[object, dict[Path_, tuple[str, ...]]]:
    """Interpolate every string value (not keys) of a parsed compose document.

    Returns the new document and, for each path whose value had unresolved variables, their
    names, so a check can refuse a security-relevant key it cannot know. Raises DocumentError
    for a document that contains itself or expands (through YAML aliases) past MAX_NODES.
    """
    missing: dict[Path_, tuple[str, ...]] = {}
    count = 0
    open_: set[int] = set()

    def walk(value: object, at: Path_) -> object:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            raise DocumentError(f"more than {MAX_NODES} values once YAML aliases are expanded")
        if isinstance(value, str):
            text, names = interpolate(value, env)
            if names:
                missing[at] = names
            return text
        if not isinstance(value, dict | list):
            return value
        if id(value) in open_:
            raise DocumentError("a YAML alias refers to a value that contains it")
        open_.add(id(value))
        try:
            if isinstance(value, dict):
                return {k: walk(v, (*at, str(k))) for k, v in value.items()}
            return [walk(v, (*at, i)) for i, v in enumerate(value)]
        finally:
            open_.discard(id(value))

    return walk(node, path), missing
