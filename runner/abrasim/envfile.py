"""The text files abra reads: an app's env file, a recipe's `.env.sample`, and `abra.sh`.

Env files use dotenv syntax (docker `env_file` plus quoting): `KEY=value`, an optional
`export ` prefix, `#` comments, single quotes taken literally, double quotes with `\\n`
escapes, and `$VAR`/`${VAR}` expanded from keys defined earlier in the same file, which is
what lets `.env.sample` say `COMPOSE_FILE="$COMPOSE_FILE:compose.postgres.yml"`.

Everything here is pure: text in, plain data out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
_EXPAND = re.compile(r"\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_SECRET_KEY = re.compile(r"^SECRET_([A-Z0-9_]+?)_VERSION$")
_LENGTH_HINT = re.compile(r"\blength\s*=\s*(\d+)")
DEFAULT_SECRET_LENGTH = 32


@dataclass(frozen=True, slots=True)
class Assignment:
    """One `KEY=value` line, its value already unquoted and expanded."""

    key: str
    value: str
    comment: str  # text after a trailing ` #`, stripped; "" when there is none


@dataclass(frozen=True, slots=True)
class SecretSpec:
    """A secret the app uses, from a `SECRET_<NAME>_VERSION=<version>` line."""

    name: str  # <name> lower-cased, as in the docker secret name
    version: str
    length: int  # from a `# length=N` hint, else DEFAULT_SECRET_LENGTH

    def docker_name(self, stack: str) -> str:
        return f"{stack}_{self.name}_{self.version}"


def _expand(text: str, known: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "\\$":
            return "$"
        return known.get(m.group(1) or m.group(2), "")

    return _EXPAND.sub(sub, text)


def _split_value(raw: str, known: Mapping[str, str]) -> tuple[str, str]:
    """(value, trailing comment) of the text after `=`."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        i = 1
        while i < len(raw) and raw[i] != quote:
            i += 2 if raw[i] == "\\" and quote == '"' else 1
        body, tail = raw[1:i], raw[i + 1 :]
        comment = tail.split("#", 1)[1].strip() if "#" in tail else ""
        if quote == "'":
            return body, comment
        body = body.replace("\\n", "\n").replace('\\"', '"')
        return _expand(body, known), comment
    value, comment = raw, ""
    m = re.search(r"\s#", raw)
    if m:
        value, comment = raw[: m.start()], raw[m.end() :].strip()
    elif raw.startswith("#"):
        value, comment = "", raw[1:].strip()
    return _expand(value.strip(), known), comment


def parse(text: str) -> list[Assignment]:
    """Every assignment in the file, in order; comments and blank lines are skipped."""
    known: dict[str, str] = {}
    out: list[Assignment] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _ASSIGN.match(line)
        if not m:
            continue  # docker ignores lines that are not assignments; so do we
        value, comment = _split_value(m.group(2), known)
        known[m.group(1)] = value
        out.append(Assignment(m.group(1), value, comment))
    return out


def values(text: str) -> dict[str, str]:
    """The file as a mapping; a later assignment of a key wins."""
    return {a.key: a.value for a in parse(text)}


def secret_specs(text: str) -> list[SecretSpec]:
    """The secrets an env file lists, with their versions and length hints."""
    specs: dict[str, SecretSpec] = {}
    for a in parse(text):
        m = _SECRET_KEY.match(a.key)
        if not m or not a.value:
            continue
        hint = _LENGTH_HINT.search(a.comment)
        length = int(hint.group(1)) if hint else DEFAULT_SECRET_LENGTH
        name = m.group(1).lower()
        specs[name] = SecretSpec(name, a.value, length)
    return list(specs.values())


def abra_sh_exports(text: str) -> dict[str, str]:
    """`export X=Y` lines of a recipe's abra.sh (config versions); functions are ignored."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.lstrip().startswith("export "):
            continue
        m = _ASSIGN.match(line)
        if m:
            out[m.group(1)] = _split_value(m.group(2), {})[0]
    return out


def recipe_of(env: Mapping[str, str]) -> str:
    """The recipe name from `TYPE=` (or `RECIPE=`), without a `:<version>` stamp."""
    return (env.get("RECIPE") or env.get("TYPE") or "").split(":", 1)[0]


def set_key(text: str, key: str, value: str, *, first: bool = False) -> str:
    """Replace the first uncommented `KEY=` line, or add one (at the top when `first`)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _ASSIGN.match(line)
        if m and m.group(1) == key and not line.lstrip().startswith("#"):
            lines[i] = f"{key}={value}"
            break
    else:
        if first:
            lines.insert(0, f"{key}={value}")
        else:
            lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def app_env_from_sample(sample: str, recipe: str, domain: str) -> str:
    """The new app's env file: `.env.sample` with its TYPE line kept and DOMAIN set."""
    text = sample.replace("{{ .Domain }}", domain).replace("{{.Domain}}", domain)
    keys = {a.key for a in parse(text)}
    if "TYPE" not in keys and "RECIPE" not in keys:
        text = set_key(text, "TYPE", recipe, first=True)
    return set_key(text, "DOMAIN", domain)


def stamp_version(text: str, recipe: str, version: str) -> str:
    """Rewrite `TYPE=<recipe>` as `TYPE=<recipe>:<version>`, as abra does after a deploy."""
    key = "RECIPE" if "RECIPE" in values(text) and "TYPE" not in values(text) else "TYPE"
    return set_key(text, key, f"{recipe}:{version}", first=True)
