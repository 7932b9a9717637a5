"""What a test needs of this machine, and what happens when it is missing: the one place a
test of cc-ci skips (docs/testing.md, "Missing parts").

    needs("gitea")                              # in a test or fixture: the binary's path
    pytestmark = pytest.mark.needs("sops", "age")   # for every test of a module

Each component knows the step of `scripts/bootstrap` that brings it. When one is missing:

- under `CI=true` the test **fails**, naming that step: what CI runs must have been built;
- otherwise it is **skipped**, and the reason names the step (run `scripts/bootstrap`);
- a component bootstrap *cannot* bring on this machine (real abra) is skipped in both cases,
  with the reason it cannot be had: a skip that says so is the honest answer until something
  builds it.

`decide` is the pure rule; `needs` applies it with pytest; the plugin part (loaded with
`-p devworld.needs`, see pyproject.toml) reads the `needs` marker.
"""

from __future__ import annotations

import enum
import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

TOOLS = Path(os.environ.get("CCCI_TOOLS", Path.home() / ".cache" / "cc-ci"))


def _tool(env: str | None, name: str) -> str | None:
    """$ENV, else `name` on PATH, else $CCCI_TOOLS/bin/<name>: the first that is executable."""
    for candidate in (
        os.environ.get(env) if env else None,
        shutil.which(name),
        TOOLS / "bin" / name,
    ):
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return str(candidate)
    return None


def _gitea() -> str | None:
    from devworld.real_gitea import GiteaUnavailable, gitea_binary

    try:
        return str(gitea_binary())
    except GiteaUnavailable:
        return None


def _traefik() -> str | None:
    from devworld.proxy import ProxyError, traefik_binary

    try:
        return str(traefik_binary())
    except ProxyError:
        return None


def _chromium() -> str | None:
    from cc_ci.suite.browser import BrowserError, chromium_path

    try:
        return chromium_path()
    except BrowserError:
        return None


def _playwright() -> str | None:
    spec = importlib.util.find_spec("playwright")
    return spec.origin if spec and spec.origin else None


def _age() -> str | None:
    keygen, age = shutil.which("age-keygen"), shutil.which("age")
    return keygen if keygen and age else None


def _nix_vendor() -> str | None:
    """The nixpkgs library and sops-nix's modules, unpacked by bootstrap's nix_vendor."""
    src = TOOLS / "src"
    libs = sorted(src.glob("nixpkgs-lib-*/lib/default.nix"))
    sops = sorted(src.glob("sops-nix-*/modules/sops/default.nix"))
    return str(src) if libs and sops else None


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    what: str
    find: Callable[[], str | None]
    """Where it is on this machine, or None."""
    step: str | None
    """The step of scripts/bootstrap that brings it (a function of that script), or None."""
    cannot: str = ""
    """For `step` None: why bootstrap cannot bring it here."""


COMPONENTS: dict[str, Component] = {
    c.name: c
    for c in (
        Component("gitea", "Gitea 1.26", _gitea, "go_tool gitea (build_gitea)"),
        Component("traefik", "Traefik", _traefik, "go_tool traefik (build_traefik)"),
        Component("chromium", "Debian's Chromium", _chromium, "apt_packages (chromium)"),
        Component("playwright", "Python Playwright", _playwright, "python_env (pip install -e .[test])"),
        Component("sops", "sops", lambda: _tool("SOPS", "sops"), "go_tool sops (build_sops)"),
        Component("age", "age and age-keygen", _age, "apt_packages (age)"),
        Component(
            "nix-instantiate", "nix-instantiate", lambda: shutil.which("nix-instantiate"),
            "apt_packages (nix-bin)",
        ),
        Component(
            "nix-vendor", "the nixpkgs library and sops-nix's modules", _nix_vendor,
            "nix_vendor (from ../shared/vendor)",
        ),
        Component("sh", "a POSIX shell", lambda: shutil.which("sh"), "apt_packages (the base system)"),
        Component(
            "abra", "abra", lambda: shutil.which("abra"), None,
            "the Go module proxy refuses coopcloud.tech/abra at every version (403 Forbidden), "
            "so abra_tool cannot build it here; put an abra binary on PATH",
        ),
        Component(
            "drone-runner-exec", "Drone's exec runner", lambda: _tool("DRONE_RUNNER_EXEC", "drone-runner-exec"),
            "vendor_go_tool drone-runner-exec (build_drone_runner_exec)",
        ),
        Component(
            "drone-server", "the Drone server (with the runner protocol)", lambda: _tool("DRONE_SERVER", "drone-server"),
            "vendor_go_tool drone-server (build_drone_server)",
        ),
    )
}  # fmt: skip


class Verdict(enum.StrEnum):
    PRESENT = "present"
    SKIP = "skip"
    FAIL = "fail"


def decide(component: Component, found: bool, ci: bool) -> tuple[Verdict, str]:
    """What a test that needs `component` does, and the reason it gives. Pure."""
    if found:
        return Verdict.PRESENT, ""
    if component.step is None:
        return Verdict.SKIP, (
            f"{component.what} ({component.name}) is not on this machine, and scripts/bootstrap "
            f"cannot bring it: {component.cannot}"
        )
    if ci:
        return Verdict.FAIL, (
            f"{component.what} ({component.name}) is missing under CI=true: scripts/bootstrap's "
            f"step {component.step} brings it; a run that skipped it would hide a missing part"
        )
    return Verdict.SKIP, (
        f"{component.what} ({component.name}) is missing: run scripts/bootstrap "
        f"(its step {component.step} brings it)"
    )


def under_ci(env: dict[str, str] | None = None) -> bool:
    return (os.environ if env is None else env).get("CI", "").lower() == "true"


def needs(name: str, found: str | bool | None = None) -> str:
    """Where `name` is (its path), or skip / fail the calling test as `decide` says.
    `found` overrides the component's own search (for a test that looks in its own place)."""
    try:
        component = COMPONENTS[name]
    except KeyError:
        raise ValueError(f"needs({name!r}): known components are {', '.join(COMPONENTS)}") from None
    where = component.find() if found is None else found
    verdict, why = decide(component, bool(where), under_ci())
    if verdict is Verdict.FAIL:
        pytest.fail(why, pytrace=False)
    if verdict is Verdict.SKIP:
        pytest.skip(why)
    return str(where)


# --- the pytest plugin part: the `needs` marker (declared in pyproject.toml) --------------


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        for name in mark.args:
            needs(name, mark.kwargs.get("found"))
