"""cc-ci-bridge --config FILE: turn `!testme` on enrolled recipe PRs into Drone builds."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from cc_ci.bridge.app import Bridge, webhook_server
from cc_ci.bridge.config import ConfigError, load_config, load_secrets
from cc_ci.bridge.state import StateError
from cc_ci.contract.eventline import EventLog
from cc_ci.contract.redact import Redactor


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cc-ci-bridge",
        description="Watch enrolled recipe PRs for the test command, start Drone builds, "
        "report the results on the PR. See docs/bridge.md.",
    )
    p.add_argument("--config", required=True, type=Path, help="the bridge's TOML configuration")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
        secrets = load_secrets(config)
    except ConfigError as e:
        print(f"cc-ci-bridge: {e}", file=sys.stderr)
        return 2
    log = EventLog(Redactor(secrets.values()))
    try:
        bridge = Bridge(config, secrets, log=log)
    except StateError as e:
        log("failed", error=e)
        return 2
    server = None
    if config.webhook is not None:
        try:
            server = webhook_server(bridge)
        except OSError as e:
            log(
                "failed",
                error=f"cannot listen on {config.webhook.host}:{config.webhook.port}: {e.strerror}",
            )
            return 2
        threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True).start()
        log("listening", url=server.url, paths="/hook /healthz")

    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        bridge.wake.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        bridge.run(stop)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        bridge.state.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
