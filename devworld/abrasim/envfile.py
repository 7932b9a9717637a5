"""The text files abra reads: an app's env file, a recipe's `.env.sample`, and `abra.sh`.

Env files (and abra.sh's exports) are read and written with cc-ci's one env-file parser
(cc_ci/contract/envfile.py, godotenv rules, as abra reads them); this module adds what abra
derives from them.

Everything here is pure: text in, plain data out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from cc_ci.contract.envfile import parse, set_keys, values

_SECRET_KEY = re.compile(r"^SECRET_([A-Z0-9_]+?)_VERSION$")
_LENGTH_HINT = re.compile(r"\blength\s*=\s*(\d+)")
DEFAULT_SECRET_LENGTH = 32


@dataclass(frozen=True, slots=True)
class SecretSpec:
    """A secret the app uses, from a `SECRET_<NAME>_VERSION=<version>` line."""

    name: str  # <name> lower-cased, as in the docker secret name
    version: str
    length: int  # from a `# length=N` hint, else DEFAULT_SECRET_LENGTH

    def docker_name(self, stack: str) -> str:
        return f"{stack}_{self.name}_{self.version}"


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


def recipe_of(env: Mapping[str, str]) -> str:
    """The recipe name from `TYPE=` (or `RECIPE=`), without a `:<version>` stamp."""
    return (env.get("RECIPE") or env.get("TYPE") or "").split(":", 1)[0]


def set_key(text: str, key: str, value: str, *, first: bool = False) -> str:
    """Replace the first uncommented `KEY=` line, or add one (at the top when `first`)."""
    return set_keys(text, {key: value}, first=first)


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
