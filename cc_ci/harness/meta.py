"""`tests/<recipe>/recipe_meta.py`: a recipe suite's options, read and checked once."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cc_ci.contract.names import is_ref

KNOWN = {
    "HEALTH_PATH",
    "HEALTH_OK",
    "DEPLOY_TIMEOUT",
    "STAGE_TIMEOUT",
    "BACKUP_TIMEOUT",
    "EXTRA_ENV",
    "MAIN_SERVICE",
    "FRONT_PAGE",
    "UPGRADE_FROM",
    "SERIAL",
}

HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{1,63}$")


class MetaError(ValueError):
    """recipe_meta.py is malformed; the message names the option."""


@dataclass(frozen=True, slots=True)
class RecipeMeta:
    health_path: str = "/"
    health_ok: tuple[int, ...] = (200,)
    deploy_timeout: float = 300.0  # deploy until healthy
    stage_timeout: float = 900.0  # one pytest phase
    backup_timeout: float = 600.0
    main_service: str = "app"
    front_page: str = "/"  # what the built-in browser check opens and screenshots
    extra_env: Mapping[str, str] | Callable[[str], Mapping[str, str]] = field(default_factory=dict)
    upgrade_from: tuple[str, ...] = ()
    """Release tags the upgrade stage also starts from, after the previous release."""
    serial: bool = False
    """The run's deployments one after the other, whatever CCCI_MAX_DEPLOYMENTS allows: an
    app too big to run twice on the host (chains.py)."""

    def env_for(self, domain: str) -> dict[str, str]:
        """Extra env for an app at `domain` (EXTRA_ENV may be a function of the domain)."""
        env = self.extra_env(domain) if callable(self.extra_env) else self.extra_env
        out = {}
        for k, v in dict(env).items():
            if (
                not isinstance(k, str)
                or not k.isidentifier()
                or not isinstance(v, str)
                or "\n" in v
            ):
                raise MetaError(
                    f"EXTRA_ENV entry {k!r}={v!r}: keys are env names, values one-line strings"
                )
            out[k] = v
        return out

    def domains_for(self, domain: str, zone: str) -> tuple[str, ...]:
        """The host names an app at `domain` may route: its own, and each EXTRA_ENV value
        that is a host name inside the test zone (cryptpad's SANDBOX_DOMAIN). cc-ci's suite
        assigns them, not the PR, so the policy gate trusts them (docs/policy.md)."""
        inside = [v for v in self.env_for(domain).values() if in_zone(v, zone)]
        return tuple(dict.fromkeys([domain, *inside]))


def in_zone(value: str, zone: str) -> bool:
    """A host name strictly inside the test zone (`sbcryp-1a2b3c.ci.test` in `ci.test`)."""
    return bool(HOST_RE.fullmatch(value)) and value.endswith(f".{zone}")


def load_meta(suite_dir: Path) -> RecipeMeta:
    path = suite_dir / "recipe_meta.py"
    if not path.exists():
        return RecipeMeta()
    spec = importlib.util.spec_from_file_location(f"recipe_meta_{suite_dir.name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise MetaError(f"{path}: cannot be loaded: {exc}") from exc
    names = {n for n in vars(module) if n.isupper()}
    unknown = names - KNOWN
    if unknown:
        raise MetaError(
            f"{path}: unknown option(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KNOWN))}"
        )
    kw: dict = {}

    def get(name: str, kind: type | tuple[type, ...]):
        if name in names:
            value = getattr(module, name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise MetaError(f"{path}: {name} must be {kind}, not {type(value).__name__}")
            return value
        return None

    if (v := get("HEALTH_PATH", str)) is not None:
        if not v.startswith("/"):
            raise MetaError(f"{path}: HEALTH_PATH must start with '/'")
        kw["health_path"] = v
    if (v := get("FRONT_PAGE", str)) is not None:
        kw["front_page"] = v
    if (v := get("HEALTH_OK", (tuple, list, int))) is not None:
        codes = (v,) if isinstance(v, int) else tuple(v)
        if not codes or not all(isinstance(c, int) and 100 <= c <= 599 for c in codes):
            raise MetaError(f"{path}: HEALTH_OK must be HTTP status codes")
        kw["health_ok"] = codes
    for name, key in (
        ("DEPLOY_TIMEOUT", "deploy_timeout"),
        ("STAGE_TIMEOUT", "stage_timeout"),
        ("BACKUP_TIMEOUT", "backup_timeout"),
    ):
        if (v := get(name, (int, float))) is not None:
            if v <= 0:
                raise MetaError(f"{path}: {name} must be positive")
            kw[key] = float(v)
    if (v := get("MAIN_SERVICE", str)) is not None:
        kw["main_service"] = v
    if (v := get("UPGRADE_FROM", (tuple, list))) is not None:
        if not all(isinstance(t, str) and is_ref(t) for t in v):
            raise MetaError(f"{path}: UPGRADE_FROM must be a list of release tags, not {v!r}")
        kw["upgrade_from"] = tuple(dict.fromkeys(v))
    if "SERIAL" in names:
        v = module.SERIAL
        if not isinstance(v, bool):
            raise MetaError(f"{path}: SERIAL must be True or False, not {v!r}")
        kw["serial"] = v
    if "EXTRA_ENV" in names:
        v = module.EXTRA_ENV
        if not (callable(v) or isinstance(v, Mapping)):
            raise MetaError(f"{path}: EXTRA_ENV must be a dict or a function of the domain")
        kw["extra_env"] = v
    return RecipeMeta(**kw)
