"""The networks the recipe's own tests reach the app through, one of them per run.

    tests container ──(run network: cc-ci-run-<run id>)── relay ──(cc-ci-tests)── Traefik

- `cc-ci-tests` is shared: an internal, attachable overlay (no route out) that the proxy's
  Traefik joins once (one Traefik restart, the first time; guarded by the `proxy` lock so
  two runs never attach it at once). Only Traefik and the runs' relays are on it.
- Each run that runs recipe-local tests gets its own internal, attachable overlay, named
  and labelled from its run id, created on first use and removed (and the removal checked)
  when the run ends. Its tests container is on it alone, with the run's relay: a container
  of the recipe-tests image running cc_ci/harness/sandbox/relay.py, which forwards its
  port 443, and nothing else, to Traefik's. Two runs' tests never share a network, and
  no run attaching its network restarts Traefik under another run's tests.
- A run killed before it could remove its network leaves it, and its relay, to the next
  run's janitor (cc_ci/harness/deploy/janitor.py): both carry the run id in the label
  `cc-ci.sandbox.run`.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from cc_ci.harness import children, locks
from cc_ci.harness.deploy import docker as dk
from cc_ci.harness.deploy.janitor import SANDBOX_LABEL as LABEL
from cc_ci.harness.outcome import teardown_raised
from cc_ci.harness.runlog import FileLog
from cc_ci.harness.sandbox.relay import READY
from cc_ci.harness.waiting import WaitTimeout, wait_for

NETWORK = "cc-ci-tests"  # the shared one, Traefik's
RUN_NETWORK_PREFIX = "cc-ci-run-"
PROXY_PORT = 443  # Traefik's HTTPS entrypoint in its container, and the relay's port
RELAY = Path(__file__).resolve().parent / "relay.py"
RELAY_UID = 65534


class NetworkError(RuntimeError):
    """A tests network or the relay could not be set up: cc-ci's problem, a stage error."""


def run_network_name(run_id: str) -> str:
    """The run's own tests network: `cc-ci-run-<run id>` (run ids are Docker-safe names)."""
    return RUN_NETWORK_PREFIX + run_id


def _create_network(name: str, labels: dict[str, str]) -> None:
    r = children.run(
        [
            "docker",
            "network",
            "create",
            "--driver",
            "overlay",
            "--internal",
            "--attachable",
            *[x for k, v in labels.items() for x in ("--label", f"{k}={v}")],
            name,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if r.returncode != 0 and "already exists" not in r.stderr:
        raise NetworkError(f"cannot create the network {name}: {r.stderr.strip()}")


def _internal_overlay(name: str) -> str:
    """The id of network `name`, checked to be an internal overlay."""
    net = json.loads(dk.docker("network", "inspect", name, timeout=30))[0]
    if not net.get("Internal") or net.get("Driver") != "overlay":
        raise NetworkError(f"network {name} exists but is not an internal overlay network")
    return net["Id"]


def ensure_network(name: str = NETWORK) -> str:
    """The shared internal, attachable overlay for Traefik and the relays; returns its id.
    Hold the `proxy` lock around it: Docker lets two networks have one name."""
    found = dk.docker("network", "ls", "-q", "--filter", f"name=^{name}$", timeout=30).split()
    if not found:
        _create_network(name, {"cc-ci.sandbox": "1"})
    return _internal_overlay(name)


def proxy_address(
    service: str, network: str = NETWORK, timeout: float = 180, state_dir: Path | None = None
) -> str:
    """Traefik's address on the shared tests network, attaching its service to it when needed.

    Attaching restarts Traefik once (a service update); later runs find it attached. The
    address is that of the running task: a standalone container on an internal overlay
    does not reach a service's virtual IP (dockerd 20.10), but it does reach its tasks.
    Held under the `proxy` lock, so two runs never update Traefik at once.
    """
    with locks.held(locks.PROXY, state_dir):
        net_id = ensure_network(network)
        try:
            spec = json.loads(dk.docker("service", "inspect", service, timeout=30))[0]
        except dk.DockerError as exc:
            raise NetworkError(f"no proxy service {service} (CCCI_PROXY_SERVICE): {exc}") from exc
        targets = {n.get("Target") for n in spec["Spec"]["TaskTemplate"].get("Networks") or []}
        if not targets & {net_id, network}:
            r = children.run(
                [
                    "docker",
                    "service",
                    "update",
                    "--detach=false",
                    "--network-add",
                    network,
                    service,
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            if r.returncode != 0 and "already attached" not in r.stderr:
                raise NetworkError(
                    f"cannot attach {service} to {network}: {r.stderr.strip()[-300:]}"
                )

        def task_address() -> str | None:
            ids = dk.docker(
                "service", "ps", "-q", "--filter", "desired-state=running", service, timeout=30
            ).split()
            for task in json.loads(dk.docker("inspect", *ids, timeout=30)) if ids else []:
                if task.get("Status", {}).get("State") != "running":
                    continue
                for att in task.get("NetworksAttachments") or []:
                    if att.get("Network", {}).get("ID") == net_id and att.get("Addresses"):
                        return att["Addresses"][0].split("/")[0]
            return None

        try:
            return wait_for(f"a running task of {service} on {network}", task_address, timeout)
        except TimeoutError as exc:
            raise NetworkError(str(exc)) from exc


def confined(*, user: int, pids: int, memory: str) -> list[str]:
    """The confinement every container cc-ci starts for a run shares (the tests' container,
    the relay): a read-only root, an unprivileged user, no capabilities and no way to gain
    any, and caps on processes and memory (no swap beyond it)."""
    return [
        "--read-only",
        "--user",
        f"{user}:{user}",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--pids-limit",
        str(pids),
        "--memory",
        memory,
        "--memory-swap",
        memory,
    ]


def relay_argv(*, name: str, run_id: str, image: str, network: str, proxy_ip: str) -> list[str]:
    """`docker create` for the run's relay: confined like the tests' container, on the run's
    network (the shared one is connected before it starts), forwarding 443 to Traefik."""
    return [
        "docker",
        "create",
        "--name",
        name,
        "--label",
        f"{LABEL}={run_id}",
        "--network",
        network,
        *confined(user=RELAY_UID, pids=64, memory="128m"),
        # a port below 1024 without a capability; a sysctl of the container's own namespace
        "--sysctl",
        "net.ipv4.ip_unprivileged_port_start=0",
        # `docker logs` says when it listens; a driver that keeps little, whatever the default
        "--log-driver",
        "local",
        "--log-opt",
        "max-size=64k",
        "--entrypoint",
        "python3",
        image,
        "-c",
        RELAY.read_text(),
        str(PROXY_PORT),
        proxy_ip,
        str(PROXY_PORT),
    ]


def run_resources(run_id: str) -> list[str]:
    """What of run `run_id`'s tests networking exists: its labelled networks and containers."""
    found = []
    for kind, cmd in (("network", ["network", "ls"]), ("container", ["ps", "-a"])):
        fmt = "{{.Name}}" if kind == "network" else "{{.Names}}"
        out = dk.docker(*cmd, "--filter", f"label={LABEL}={run_id}", "--format", fmt, timeout=60)
        found += [f"{kind} {n}" for n in out.split()]
    return sorted(found)


@dataclass
class RunNetwork:
    """One run's tests network and relay: made on first use, removed by `remove()`."""

    run_id: str
    state_dir: Path | None = None
    created: bool = False
    _gateway: str | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return run_network_name(self.run_id)

    def gateway(self, proxy_service: str, image: str, log: FileLog, timeout: float = 60) -> str:
        """The relay's address on the run's network (what the app's domain resolves to in the
        tests' container); the network and the relay are set up the first time."""
        if self._gateway is not None:
            return self._gateway
        proxy_ip = proxy_address(proxy_service, state_dir=self.state_dir)
        self.created = True
        _create_network(self.name, {LABEL: self.run_id})
        net_id = _internal_overlay(self.name)
        relay = f"cc-ci-relay-{self.run_id[:40]}-{secrets.token_hex(3)}"
        argv = relay_argv(
            name=relay, run_id=self.run_id, image=image, network=self.name, proxy_ip=proxy_ip
        )
        for step in (argv, ["docker", "network", "connect", NETWORK, relay]):
            r = children.run(step, capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise NetworkError(f"cannot set up the relay: {r.stderr.strip()[-300:]}")
        dk.docker("start", relay, timeout=60)

        def address() -> str | None:
            info = json.loads(dk.docker("inspect", relay, timeout=30))[0]
            if not info["State"].get("Running"):
                raise NetworkError(f"the relay stopped: {info['State'].get('Error') or 'exited'}")
            if READY not in dk.docker("logs", relay, timeout=30):
                return None
            for net in (info["NetworkSettings"].get("Networks") or {}).values():
                if net.get("NetworkID") == net_id and net.get("IPAddress"):
                    return net["IPAddress"]
            return None

        try:
            self._gateway = wait_for(
                f"the relay {relay} to listen", address, timeout, fatal=(NetworkError,)
            )
        except WaitTimeout as exc:
            raise NetworkError(str(exc)) from exc
        log.write(
            f"network: {self.name} for this run; relay {relay} at {self._gateway} "
            f"→ Traefik {proxy_ip}:{PROXY_PORT} on {NETWORK}\n"
        )
        return self._gateway

    def remove(self, log: FileLog) -> list[str]:
        """Remove the run's relay, containers and network; verify; return what remains."""
        before = run_resources(self.run_id)
        containers = [r.split(" ", 1)[1] for r in before if r.startswith("container ")]
        if containers:
            dk.docker("rm", "--force", *containers, check=False, timeout=60)
        dk.remove_networks([r.split(" ", 1)[1] for r in before if r.startswith("network ")])
        left = run_resources(self.run_id)
        log.write(
            f"teardown of {self.name}: {'clean' if not left else 'LEFT ' + ', '.join(left)}\n"
        )
        return left


def teardown_network(net: RunNetwork, log: FileLog) -> tuple[float, list[str]] | None:
    """The run's network teardown as (seconds, leftovers), shielded meanwhile (on the main
    thread SIGTERM and SIGINT held off; in a chain, the run's cancel: children.shielded);
    None when the run never made one."""
    if not net.created:
        return None
    with children.shielded():
        t0 = time.monotonic()
        try:
            left = net.remove(log)
        except Exception as exc:  # noqa: BLE001 - a failed teardown is a result, not a crash
            log.write(f"teardown of {net.name} raised: {exc}\n")
            left = teardown_raised(str(exc))
        return time.monotonic() - t0, left
