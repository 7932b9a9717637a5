"""What a recipe suite's pytest run is told about the app under test (the plugin's input)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

ENV_VAR = "CCCI_CONTEXT"


class ContextError(RuntimeError):
    """The suite is run outside cc-ci-run (no context), or the context is unreadable."""


@dataclass(frozen=True, slots=True)
class SuiteContext:
    recipe: str
    domain: str
    stack: str
    base_url: str  # https://<domain>, and :<port> when the proxy is not reached at 443
    zone: str
    stage: str
    phase: str  # seed, mutate or verify
    resolve_to: str
    ca_file: str | None
    cert_spki: str | None  # base64 sha256 of the wildcard certificate's key, for Chromium
    artifacts_dir: str  # screenshots go here (relative paths in the record start at run_dir)
    run_dir: str
    data_file: str  # run_data persisted between the phases of one stage
    env_file: str  # the app's abra env file
    health_path: str
    health_ok: tuple[int, ...]
    main_service: str
    front_page: str
    upgraded_from: str | None = None  # the upgrade stage: the release it started from
    head: str | None = None  # the commit under test (the PR head)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @staticmethod
    def load() -> SuiteContext:
        path = os.environ.get(ENV_VAR)
        if not path:
            raise ContextError(
                "no app under test: recipe suites run under cc-ci-run, which sets CCCI_CONTEXT"
            )
        try:
            data = json.loads(Path(path).read_text())
            data["health_ok"] = tuple(data["health_ok"])
            return SuiteContext(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise ContextError(f"{ENV_VAR}={path} is unreadable: {exc}") from exc
