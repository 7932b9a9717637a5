"""The runner's settings, read once from the environment at start."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cc_ci.contract.names import validate_zone

REPO_ROOT = Path(__file__).resolve().parents[2]
# The default ceilings, in seconds: no enrolled suite asks for more (tests/test_settings.py).
DEPLOY_CEILING = 1200
STAGE_CEILING = 1800


class SettingsError(ValueError):
    """A setting is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Settings:
    zone: str  # apps are deployed as <label>.<zone>; the wildcard certificate covers it
    resolve_to: str  # the address app domains resolve to (the gateway, or 127.0.0.1)
    https_port: int  # where that address serves HTTPS (Traefik's published port)
    ca_file: Path | None  # the CA that signed the wildcard certificate (None: system trust)
    forge_url: str  # where SRC repositories are cloned from: <forge_url>/<SRC>.git
    git_token_file: Path | None
    state_dir: Path  # per-run work dirs and the live-run locks the janitor reads
    results_dir: Path  # run records, when cc-ci-run is given no --results-dir
    tools_dir: Path  # the cache of built tools and the recipe-tests image's wheels
    policy_file: Path | None  # the compose policy gate's allow-list (None: nothing allowed)
    suites_dir: Path  # tests/<recipe>/
    abra: str  # the abra binary
    abra_server: str
    # The operator's ceilings, in seconds (timeouts.py): a recipe_meta.py may ask for less.
    deploy_timeout: float  # deploy, then again the wait until healthy
    stage_timeout: float  # each pytest phase of a stage, the recipe-local container
    proxy_service: str = "cc-ci-proxy_app"  # the Traefik service recipe-local tests reach
    tests_memory: str = "2g"  # caps of the recipe-local tests' container
    tests_cpus: float = 2.0
    abra_catalogue: Path | None = None  # a catalogue to link (read-only); None: an empty one
    max_deployments: int = 2  # a run's deployments at once (chains.py); 1: one after the other

    @staticmethod
    def from_env(env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        abra = env.get("CCCI_ABRA") or shutil.which("abra") or ""
        ca = env.get("CCCI_CA_FILE")
        token = env.get("CCCI_GIT_TOKEN_FILE")
        policy = env.get("CCCI_POLICY_FILE", "").strip()
        try:
            https_port = int(env.get("CCCI_HTTPS_PORT", "443"))
            deploy_timeout = float(env.get("CCCI_DEPLOY_TIMEOUT", str(DEPLOY_CEILING)))
            stage_timeout = float(env.get("CCCI_STAGE_TIMEOUT", str(STAGE_CEILING)))
            tests_cpus = float(env.get("CCCI_TESTS_CPUS", "2"))
        except ValueError as exc:
            raise SettingsError(f"a numeric CCCI_* setting is malformed: {exc}") from exc
        at_once = env.get("CCCI_MAX_DEPLOYMENTS", "2").strip()
        if not at_once.isdigit() or int(at_once) < 1:
            raise SettingsError(
                f"CCCI_MAX_DEPLOYMENTS={at_once!r} must be a whole number of deployments a run "
                "may have at once, at least 1 (1: in series)"
            )
        max_deployments = int(at_once)
        if not 0 < https_port < 65536:
            raise SettingsError(f"CCCI_HTTPS_PORT={https_port} is not a port (1-65535)")
        for key, seconds in (
            ("CCCI_DEPLOY_TIMEOUT", deploy_timeout),
            ("CCCI_STAGE_TIMEOUT", stage_timeout),
        ):
            if not 0 < seconds < float("inf"):
                raise SettingsError(f"{key}={seconds:g} must be a positive number of seconds")
        return Settings(
            zone=validate_zone(env.get("CCCI_ZONE", "ci.test")),
            resolve_to=env.get("CCCI_RESOLVE_TO", "127.0.0.1"),
            https_port=https_port,
            ca_file=Path(ca) if ca else None,
            forge_url=env.get("CCCI_FORGE_URL", "https://git.coopcloud.tech").rstrip("/"),
            git_token_file=Path(token) if token else None,
            state_dir=Path(env.get("CCCI_STATE_DIR", Path.home() / ".local" / "state" / "cc-ci")),
            results_dir=Path(env.get("CCCI_RESULTS_DIR", "results")),
            tools_dir=Path(env.get("CCCI_TOOLS", Path.home() / ".cache" / "cc-ci")),
            policy_file=Path(policy) if policy else None,
            suites_dir=Path(env.get("CCCI_SUITES_DIR", REPO_ROOT / "tests")),
            abra=abra,
            abra_server=env.get("CCCI_ABRA_SERVER", "default"),
            abra_catalogue=Path(cat) if (cat := env.get("CCCI_ABRA_CATALOGUE")) else None,
            deploy_timeout=deploy_timeout,
            stage_timeout=stage_timeout,
            proxy_service=env.get("CCCI_PROXY_SERVICE", "cc-ci-proxy_app"),
            tests_memory=env.get("CCCI_TESTS_MEMORY", "2g"),
            tests_cpus=min(tests_cpus, float(os.cpu_count() or 1)),
            max_deployments=max_deployments,
        )
