"""Env files as abra reads them (godotenv rules): the one parser and the one writer.

An app's env file and a recipe's `.env.sample` are read line by line, in order:

- `KEY=value`, with an optional `export ` prefix; blank lines and `#` lines count for nothing;
- unquoted values end at ` #` (a `#` inside a word, as in `a#b`, is part of the value);
- single quotes are literal: no escapes, no expansion;
- double quotes take `\\n`, `\\r`, `\\"`, `\\\\` and `\\$` escapes (`\\$` is a literal `$`);
- `$VAR` and `${VAR}` in unquoted and double-quoted values expand from keys set earlier in
  the same file (unknown = ""), which is what lets `.env.sample` say
  `COMPOSE_FILE="$COMPOSE_FILE:compose.postgres.yml"`.

The harness, the suite fixtures, the policy gate and abra-sim all read and write through
here, so none of them can read one file differently. Pure: text in, plain data out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_ESCAPES = {"n": "\n", "r": "\r"}
# What may stand unquoted on the right of `=` and read back as itself.
_BARE = re.compile(r"[A-Za-z0-9_./:@,+=%^~-]*")


class EnvFileError(ValueError):
    """A key or value that cannot be written to an env file so that it reads back the same."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """One `KEY=value` line, its value unquoted and expanded."""

    key: str
    value: str
    comment: str  # text after the value's ` #`, stripped; "" when there is none


def _scan(text: str, known: Mapping[str, str], *, escapes: bool) -> str:
    """Expand `$VAR`/`${VAR}` from `known`; `\\$` is a literal `$`. With `escapes` (inside
    double quotes) `\\n`, `\\r` and `\\<char>` are unescaped too."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and (escapes or text[i + 1] == "$"):
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]) if escapes else "$")
            i += 2
        elif c == "$" and (m := _REF.match(text, i)):
            out.append(known.get(m.group(1) or m.group(2), ""))
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _closing_quote(raw: str) -> int:
    """Index of the `"` that closes a value starting with `"`, or -1."""
    i = 1
    while i < len(raw):
        if raw[i] == "\\":
            i += 2
            continue
        if raw[i] == '"':
            return i
        i += 1
    return -1


def _value(raw: str, known: Mapping[str, str]) -> tuple[str, str]:
    """(value, trailing comment) of the text after `=`."""
    raw = raw.strip()
    if raw.startswith("'"):
        end = raw.find("'", 1)
        body, tail = (raw[1:end], raw[end + 1 :]) if end > 0 else (raw[1:], "")
    elif raw.startswith('"'):
        end = _closing_quote(raw)
        inner, tail = (raw[1:end], raw[end + 1 :]) if end > 0 else (raw[1:], "")
        body = _scan(inner, known, escapes=True)
    else:
        m = re.search(r"\s#", raw)
        if m:
            return _scan(raw[: m.start()].strip(), known, escapes=False), raw[m.end() :].strip()
        if raw.startswith("#"):
            return "", raw[1:].strip()
        return _scan(raw, known, escapes=False), ""
    comment = tail.split("#", 1)[1].strip() if "#" in tail else ""
    return body, comment


def parse(text: str) -> list[Assignment]:
    """Every assignment in the file, in order; comments, blank and other lines are skipped."""
    known: dict[str, str] = {}
    out: list[Assignment] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = ASSIGN.match(line)
        if not m:
            continue  # docker and abra ignore lines that are not assignments
        value, comment = _value(m.group(2), known)
        known[m.group(1)] = value
        out.append(Assignment(m.group(1), value, comment))
    return out


def values(text: str) -> dict[str, str]:
    """The file as a mapping, as abra reads it; a later assignment of a key wins."""
    return {a.key: a.value for a in parse(text)}


def quote(value: str) -> str:
    """`value` as the right side of `KEY=`, so that `parse` reads back exactly `value`."""
    if "\n" in value or "\r" in value:
        raise EnvFileError(f"an env value cannot hold a line break: {value!r}")
    if _BARE.fullmatch(value):
        return value
    if "'" not in value:
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def set_keys(text: str, updates: Mapping[str, str], *, first: bool = False) -> str:
    """Set `KEY=value` lines: replace the first uncommented one, drop its repeats, add new ones
    (at the end, or at the top when `first`). Values are quoted as `quote` does.

    The result always ends in a newline, so nothing appended later glues onto a comment.
    """
    for key in updates:
        if not KEY.fullmatch(key):
            raise EnvFileError(f"{key!r} is not an env key (letters, digits, '_')")
    lines: list[str] = []
    done: set[str] = set()
    for line in text.splitlines():
        m = ASSIGN.match(line)
        if m and m.group(1) in updates and not line.lstrip().startswith("#"):
            key = m.group(1)
            if key not in done:
                lines.append(f"{key}={quote(updates[key])}")
                done.add(key)
            continue
        lines.append(line)
    new = [f"{k}={quote(v)}" for k, v in updates.items() if k not in done]
    lines = new + lines if first else lines + new
    return "\n".join(lines) + "\n"


def abra_sh_exports(text: str) -> dict[str, str]:
    """The `export X=Y` lines of a recipe's `abra.sh` (config versions, as abra reads them:
    each line on its own; functions and other lines count for nothing). abra merges them
    over the app env at deploy time."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.lstrip().startswith("export "):
            out.update(values(line))
    return out
