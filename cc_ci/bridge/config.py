"""The bridge's TOML configuration (docs/bridge.md#configuration), parsed once into frozen
types.

`parse_config` takes the decoded TOML as a dict and reads no files, so the NixOS module's
rendered settings can be checked without the secrets. `load_secrets` reads the `*_file`
paths at start; nothing else in the bridge touches a secret's path.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cc_ci.contract.names import RECIPE_RE

REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
LOGIN = re.compile(r"[A-Za-z0-9_.-]+")


class ConfigError(ValueError):
    """The configuration is missing something, has something unknown, or a bad value."""


@dataclass(frozen=True, slots=True)
class Gitea:
    url: str
    token_file: Path


@dataclass(frozen=True, slots=True)
class Drone:
    url: str
    token_file: Path
    repo: str
    branch: str


@dataclass(frozen=True, slots=True)
class Trigger:
    command: str
    org: str
    allow: tuple[str, ...]
    repos: tuple[str, ...]
    poll_interval: int


@dataclass(frozen=True, slots=True)
class Schedule:
    """Runs of each enrolled recipe's default branch (docs/bridge.md, "Default-branch runs")."""

    interval: int = 86400
    """Seconds between two scheduled runs of each recipe (periods from the Unix epoch, so a
    day is a UTC day); 0: none on a schedule."""
    tags: bool = True
    """Also run when a new release tag appears in the recipe's repository."""
    tag_poll_interval: int = 300
    """Seconds between two looks at each repository's tags."""

    @property
    def on(self) -> bool:
        return self.interval > 0 or self.tags


@dataclass(frozen=True, slots=True)
class Webhook:
    host: str
    port: int
    secret_file: Path


@dataclass(frozen=True, slots=True)
class Config:
    gitea: Gitea
    drone: Drone
    trigger: Trigger
    state_path: Path
    webhook: Webhook | None = None
    dashboard_url: str | None = None
    """The dashboard's public URL, for links only: nothing is fetched from it (it is reached
    through the proxy the apps under test share)."""
    results_dir: Path | None = None
    """Where the harness writes the run records; the stage table is read from there."""
    recipes: dict[str, str] = field(default_factory=dict)
    schedule: Schedule = Schedule()

    def recipe_for(self, repo: str) -> str:
        """The recipe a repository holds: `[recipes]`, else the repository's name."""
        return self.recipes.get(repo, repo.split("/", 1)[1])


@dataclass(frozen=True, slots=True)
class Secrets:
    """The secret values, read from the `*_file` paths at start. Never printed."""

    gitea_token: str
    drone_token: str
    webhook_secret: str | None = None

    def values(self) -> tuple[str, ...]:
        return tuple(v for v in (self.gitea_token, self.drone_token, self.webhook_secret) if v)

    def __repr__(self) -> str:
        return "Secrets(…)"


_SECTIONS: dict[str, tuple[set[str], set[str]]] = {
    # section: (required keys, optional keys)
    "gitea": ({"url", "token_file"}, set()),
    "drone": ({"url", "token_file", "repo", "branch"}, set()),
    "trigger": ({"command", "org", "repos"}, {"allow", "poll_interval"}),
    "webhook": ({"listen", "secret_file"}, set()),
    "state": ({"path"}, set()),
    "report": (set(), {"dashboard_url", "results_dir"}),
    "schedule": (set(), {"interval", "tags", "tag_poll_interval"}),
}
_REQUIRED_SECTIONS = ("gitea", "drone", "trigger", "state")


def _section(raw: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = raw.get(name)
    if value is None:
        if name in _REQUIRED_SECTIONS:
            raise ConfigError(f"missing section [{name}]")
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    required, optional = _SECTIONS[name]
    unknown = sorted(set(value) - required - optional)
    if unknown:
        raise ConfigError(f"unknown key {name}.{unknown[0]}")
    missing = sorted(required - set(value))
    if missing:
        raise ConfigError(f"missing key {name}.{missing[0]}")
    return value


def _str(section: dict[str, Any], name: str, key: str) -> str:
    value = section[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name}.{key} must be a non-empty string")
    return value.strip()


def _url(section: dict[str, Any], name: str, key: str) -> str:
    value = _str(section, name, key).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ConfigError(f"{name}.{key} must be an http(s) URL, got {value!r}")
    return value


def _path(section: dict[str, Any], name: str, key: str) -> Path:
    return Path(_str(section, name, key))


def _repo(value: object, where: str) -> str:
    if not isinstance(value, str) or not REPO.fullmatch(value):
        raise ConfigError(f"{where} must be an owner/name repository, got {value!r}")
    return value


def parse_listen(value: str, where: str = "webhook.listen") -> tuple[str, int]:
    """`host:port` (`[v6]:port` for IPv6) → (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{where} must be host:port, got {value!r}")
    return host.strip("[]"), int(port)


def _seconds(section: dict[str, Any], name: str, key: str, default: int, least: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{name}.{key} must be a whole number of seconds, {least} or more")
    return value


def _schedule(section: dict[str, Any] | None) -> Schedule:
    default = Schedule()
    if section is None:
        return default
    interval = _seconds(section, "schedule", "interval", default.interval, 0)
    if 0 < interval < 60:
        raise ConfigError("schedule.interval must be 0 (off) or at least 60 seconds")
    tags = section.get("tags", default.tags)
    if not isinstance(tags, bool):
        raise ConfigError("schedule.tags must be true or false")
    every = _seconds(section, "schedule", "tag_poll_interval", default.tag_poll_interval, 10)
    return Schedule(interval, tags, every)


def parse_config(raw: dict[str, Any]) -> Config:
    """Check every key of the decoded TOML and build the `Config`; `ConfigError` names the key."""
    unknown = sorted(set(raw) - set(_SECTIONS) - {"recipes"})
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}]")
    g = _section(raw, "gitea")
    d = _section(raw, "drone")
    t = _section(raw, "trigger")
    s = _section(raw, "state")
    w = _section(raw, "webhook")
    r = _section(raw, "report")
    schedule = _schedule(_section(raw, "schedule"))
    assert g is not None and d is not None and t is not None and s is not None

    repos = t["repos"]
    if not isinstance(repos, list) or not repos:
        raise ConfigError("trigger.repos must be a non-empty list of owner/name repositories")
    repos_t = tuple(_repo(x, "trigger.repos[]") for x in repos)
    if len(set(repos_t)) != len(repos_t):
        raise ConfigError("trigger.repos lists a repository twice")
    allow = t.get("allow", [])
    if not isinstance(allow, list) or not all(
        isinstance(x, str) and LOGIN.fullmatch(x) for x in allow
    ):
        raise ConfigError("trigger.allow must be a list of logins")
    interval = t.get("poll_interval", 30)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 0:
        raise ConfigError("trigger.poll_interval must be a whole number of seconds, 0 or more")
    command = _str(t, "trigger", "command")
    if any(c.isspace() for c in command):
        raise ConfigError("trigger.command must be one word, e.g. '!testme'")
    org = _str(t, "trigger", "org")
    if not LOGIN.fullmatch(org):
        raise ConfigError(f"trigger.org is not an organisation name: {org!r}")

    recipes_raw = raw.get("recipes", {})
    if not isinstance(recipes_raw, dict):
        raise ConfigError("[recipes] must be a table of repository = recipe name")
    recipes: dict[str, str] = {}
    for repo, recipe in recipes_raw.items():
        _repo(repo, "a [recipes] key")
        if repo not in repos_t:
            raise ConfigError(f"[recipes] names {repo}, which is not in trigger.repos")
        if not isinstance(recipe, str) or not RECIPE_RE.fullmatch(recipe):
            raise ConfigError(f"recipes.{repo!r} must be a recipe name, got {recipe!r}")
        recipes[repo] = recipe
    for repo in repos_t:
        name = recipes.get(repo, repo.split("/", 1)[1])
        if not RECIPE_RE.fullmatch(name):
            raise ConfigError(
                f"the repository name of {repo} is not a recipe name: map it in [recipes]"
            )

    webhook = None
    if w is not None:
        host, port = parse_listen(_str(w, "webhook", "listen"))
        webhook = Webhook(host, port, _path(w, "webhook", "secret_file"))
    if interval == 0 and webhook is None:
        raise ConfigError("trigger.poll_interval = 0 turns polling off; then [webhook] is required")
    dashboard = _url(r, "report", "dashboard_url") if r and "dashboard_url" in r else None
    results_dir = _path(r, "report", "results_dir") if r and "results_dir" in r else None

    return Config(
        gitea=Gitea(_url(g, "gitea", "url"), _path(g, "gitea", "token_file")),
        drone=Drone(
            _url(d, "drone", "url"),
            _path(d, "drone", "token_file"),
            _repo(d["repo"], "drone.repo"),
            _str(d, "drone", "branch"),
        ),
        trigger=Trigger(command, org, tuple(allow), repos_t, interval),
        state_path=_path(s, "state", "path"),
        webhook=webhook,
        dashboard_url=dashboard,
        results_dir=results_dir,
        recipes=recipes,
        schedule=schedule,
    )


def load_config(path: Path) -> Config:
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    try:
        return parse_config(raw)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def _read_secret(path: Path, key: str) -> str:
    try:
        value = path.read_text().strip()
    except OSError as e:
        raise ConfigError(f"{key} {path}: cannot read it ({e.strerror})") from None
    if not value:
        raise ConfigError(f"{key} {path} is empty")
    if any(c.isspace() for c in value):
        raise ConfigError(f"{key} {path} holds more than one word")
    return value


def load_secrets(config: Config) -> Secrets:
    return Secrets(
        gitea_token=_read_secret(config.gitea.token_file, "gitea.token_file"),
        drone_token=_read_secret(config.drone.token_file, "drone.token_file"),
        webhook_secret=(
            _read_secret(config.webhook.secret_file, "webhook.secret_file")
            if config.webhook
            else None
        ),
    )
