"""abra's files under $ABRA_DIR, the app they describe, and the names Docker will accept.

$ABRA_DIR/servers/<server>/<domain>.env   one app's env file
$ABRA_DIR/recipes/<recipe>/               a recipe's git checkout
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from devworld.abrasim import envfile

# swarmkit: secret and config names at most 64 characters; service names at most 63.
MAX_SECRET_OR_CONFIG_NAME = 64
MAX_SERVICE_NAME = 63
_DOCKER_NAME = re.compile(r"^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$")


class Fatal(Exception):
    """A user-facing failure: printed as `FATA <message>`, exit status 1."""


def abra_dir() -> Path:
    return Path(os.environ.get("ABRA_DIR") or Path.home() / ".abra")


def stack_name(domain: str) -> str:
    """abra's stack name for a domain: dots become underscores."""
    return domain.replace(".", "_")


def check_docker_name(kind: str, name: str, limit: int = MAX_SECRET_OR_CONFIG_NAME) -> None:
    """Refuse a secret/config/service name that Docker would reject, naming it and why."""
    if len(name) > limit:
        raise Fatal(
            f"{kind} name {name} is {len(name)} characters; Docker allows at most {limit}: "
            "use a shorter domain"
        )
    if not _DOCKER_NAME.match(name):
        raise Fatal(f"{kind} name {name} is not a valid Docker name ([a-zA-Z0-9-_.])")


@dataclass(frozen=True, slots=True)
class App:
    """An app as its env file describes it."""

    server: str
    name: str  # the env file's name without `.env`: the domain it was created with
    env_path: Path
    env_text: str

    @property
    def env(self) -> dict[str, str]:
        return envfile.values(self.env_text)

    @property
    def domain(self) -> str:
        return self.env.get("DOMAIN") or self.name

    @property
    def recipe(self) -> str:
        return envfile.recipe_of(self.env)

    @property
    def stack(self) -> str:
        return self.env.get("STACK_NAME") or stack_name(self.name)

    @property
    def secrets(self) -> list[envfile.SecretSpec]:
        return envfile.secret_specs(self.env_text)


def servers_dir(root: Path) -> Path:
    return root / "servers"


def recipe_dir(root: Path, recipe: str) -> Path:
    return root / "recipes" / recipe


def server_names(root: Path) -> list[str]:
    d = servers_dir(root)
    return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []


def all_apps(root: Path) -> list[App]:
    apps = []
    for server in server_names(root):
        for path in sorted((servers_dir(root) / server).glob("*.env")):
            apps.append(App(server, path.name.removesuffix(".env"), path, path.read_text()))
    return apps


def find_app(root: Path, name: str) -> App:
    for app in all_apps(root):
        if app.name == name:
            return app
    raise Fatal(f"cannot find app with name {name}")


def require_recipe(root: Path, recipe: str) -> Path:
    """The recipe's checkout; abra-sim never clones one."""
    d = recipe_dir(root, recipe)
    if not recipe:
        raise Fatal("the app env file has no TYPE= line naming its recipe")
    if not (d / ".git").exists():
        raise Fatal(
            f"recipe {recipe} is not a git checkout at {d}: abra-sim never clones recipes, "
            "put the checkout there first"
        )
    return d
