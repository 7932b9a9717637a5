"""Deploy an app under test, wait until it is healthy, and tear it down without a trace."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cc_ci.contract.envfile import set_keys, values
from cc_ci.contract.names import stack_name
from cc_ci.contract.record import ErrorClass
from cc_ci.harness.deploy import docker as dk
from cc_ci.harness.deploy.abra import Abra, AbraError, LogSink
from cc_ci.harness.deploy.diagnose import Diagnosis, classify, diagnose
from cc_ci.harness.meta import RecipeMeta
from cc_ci.harness.settings import Settings
from cc_ci.harness.waiting import WaitTimeout, wait_for
from cc_ci.suite.web import https_origin, request


class DeployError(RuntimeError):
    """The app could not be deployed or never became healthy: a recipe problem (a failure),
    unless `error_class` names a cause of the CI's own (cc_ci/harness/deploy/diagnose.py)."""

    def __init__(self, message: str, error_class: ErrorClass | None = None) -> None:
        super().__init__(message)
        self.error_class = error_class


@dataclass(frozen=True, slots=True)
class App:
    recipe: str
    domain: str
    abra: Abra
    https_port: int = 443  # where the proxy serves HTTPS at the address domains resolve to

    @property
    def stack(self) -> str:
        return stack_name(self.domain)

    @property
    def base_url(self) -> str:
        return https_origin(self.domain, self.https_port)


def harness_env(domain: str) -> dict[str, str]:
    """What the harness itself sets in every app env, over the sample and EXTRA_ENV: the
    app's domain and stack, and no certificate resolver (LETS_ENCRYPT_ENV empty: the
    recipe's certresolver label names none, ACME never fires, Traefik serves the wildcard
    certificate)."""
    return {"DOMAIN": domain, "STACK_NAME": stack_name(domain), "LETS_ENCRYPT_ENV": ""}


def check_env(text: str, want: Mapping[str, str]) -> None:
    """Refuse an app env whose value of a key the harness set is not the harness's (as abra
    reads the file: the last line of a key wins). Raises AbraError naming the key."""
    got = values(text)
    for key, value in want.items():
        if got.get(key) != value:
            raise AbraError(
                f"the app env file says {key}={got.get(key)!r} where the harness set {value!r}"
            )


def create_app(
    abra: Abra,
    recipe: str,
    domain: str,
    env: dict[str, str],
    log: LogSink,
    https_port: int = 443,
    secret: Callable[[str], None] = lambda _value: None,
) -> App:
    """`abra app new`, then the harness's env on top, checked, then the app's secrets
    generated, each value handed to `secret` (the run's redactor) before anything else of
    the run is written.

    `env` (EXTRA_ENV) comes first and the harness's own keys last, so neither the recipe's
    `.env.sample` (with whatever placeholder it has for the domain, repeated lines or not)
    nor EXTRA_ENV decides the domain, the stack or the resolver.
    """
    abra.app_new(recipe, domain, log)
    env_file = abra.env_file(domain)
    own = harness_env(domain)
    env_file.write_text(set_keys(env_file.read_text(), {**env, **own}))
    check_env(env_file.read_text(), own)
    for value in abra.secret_generate(domain, log):
        secret(value)
    return App(recipe, domain, abra, https_port)


def deploy(app: App, log: LogSink, timeout: float, force: bool = False) -> None:
    try:
        app.abra.deploy(app.domain, log, timeout=timeout, force=force)
    except AbraError as exc:
        raise DeployError(str(exc), classify(str(exc))) from exc


UPDATE_FAILED = {"paused", "rollback_started", "rollback_paused", "rollback_completed"}


def services_converged(stack: str) -> bool:
    """Every service of the stack runs all its replicas and no update is still rolling.

    Raises DeployError at once when swarm paused or rolled back an update: waiting longer
    would not help.
    """
    lines = dk.docker(
        "service",
        "ls",
        "--filter",
        f"label={dk.STACK_LABEL}={stack}",
        "--format",
        "{{.Name}} {{.Replicas}}",
        timeout=30,
    ).splitlines()
    if not lines:
        return False
    for line in lines:
        _, replicas = line.split(" ", 1)
        running, _, wanted = replicas.split(" ")[0].partition("/")
        if running != wanted:
            return False
    names = [line.split(" ", 1)[0] for line in lines]
    out = dk.docker(
        "service",
        "inspect",
        "--format",
        "{{.Spec.Name}} {{if .UpdateStatus}}" "{{.UpdateStatus.State}}{{end}}",
        *names,
        timeout=30,
    )
    for line in out.splitlines():
        name, _, state = line.partition(" ")
        if state in UPDATE_FAILED:
            raise DeployError(f"swarm stopped the update of {name}: {state}")
        if state not in ("", "completed"):
            return False
    return True


def health_url(app: App, meta: RecipeMeta) -> str:
    """What the harness asks to tell that the app is up: its health path, through the proxy."""
    return f"{app.base_url}{meta.health_path}"


def answers_healthy(
    app: App, settings: Settings, meta: RecipeMeta, seen: list[int] | None = None
) -> bool:
    """One health check: GET the health URL at the settings' address, port and CA. The
    status is appended to `seen` when given."""
    r = request(
        health_url(app, meta), resolve_to=settings.resolve_to, ca_file=settings.ca_file, timeout=10
    )
    if seen is not None:
        seen.append(r.status)
    return r.status in meta.health_ok


def wait_healthy(
    app: App, settings: Settings, meta: RecipeMeta, log: LogSink, timeout: float
) -> float:
    """Wait until every service runs and the health path answers an expected code via the proxy.

    `timeout` bounds the two waits together (the health check always gets at least 5s).

    Returns the seconds it took. Raises DeployError naming what was awaited.
    """
    started = time.monotonic()
    url = health_url(app, meta)
    try:
        wait_for(
            f"services of {app.stack} to converge",
            lambda: services_converged(app.stack),
            timeout=timeout,
            interval=1,
            fatal=(DeployError,),
        )
    except WaitTimeout as exc:
        log.write(f"unhealthy: {exc}\n")
        log.write(_service_states(app.stack))
        diag = _diagnose(app.stack, time.monotonic() - started)
        for line in diag.lines:
            log.write(f"diagnosis: {line}\n")
        waited = f"{time.monotonic() - started:.0f} s"
        message = diag.message() or f"services of {app.stack} did not converge within {waited}"
        raise DeployError(message, diag.error_class) from exc
    seen: list[int] = []
    try:
        remaining = max(timeout - (time.monotonic() - started), 5)
        wait_for(
            f"{url} to answer {'/'.join(map(str, meta.health_ok))}",
            lambda: answers_healthy(app, settings, meta, seen),
            timeout=remaining,
            interval=1,
        )
    except WaitTimeout as exc:
        log.write(f"unhealthy: {exc}\n")
        log.write(_service_states(app.stack))
        last = exc.last if isinstance(exc.last, Exception) else (seen[-1] if seen else None)
        message, cls = unanswered(url, meta.health_ok, remaining, last)
        raise DeployError(message, cls) from exc
    took = time.monotonic() - started
    log.write(f"healthy after {took:.1f}s: {url}\n")
    return took


def unanswered(
    url: str, wanted: tuple[int, ...], waited: float, last: int | Exception | None
) -> tuple[str, ErrorClass | None]:
    """Why the health wait ended, and whose fault: the URL answered another status (the
    recipe's), or the proxy could not be reached at all (the CI's: class `health`)."""
    want = "/".join(map(str, wanted))
    if isinstance(last, int):
        return f"{url} answered {last}, not {want}, for {waited:.0f} s", None
    why = " ".join(str(last).split())[:160] if last is not None else "no answer"
    refused = isinstance(last, ConnectionRefusedError) or "refused" in why.lower()
    return (
        f"{url} did not answer within {waited:.0f} s: {why}",
        ErrorClass.HEALTH if refused else None,
    )


def _diagnose(stack: str, waited: float) -> Diagnosis:
    try:
        return diagnose(stack, waited)
    except dk.DockerError as exc:
        return Diagnosis((f"docker could not be asked why: {exc}",), ErrorClass.DOCKER)


def _service_states(stack: str) -> str:
    try:
        return dk.docker(
            "stack",
            "ps",
            stack,
            "--no-trunc",
            "--format",
            "{{.Name}} {{.CurrentState}} {{.Error}}",
            check=False,
            timeout=30,
        )
    except dk.DockerError as exc:
        return f"(docker stack ps failed: {exc})\n"


def app_leftovers(domain: str) -> list[str]:
    stack = stack_name(domain)
    found = {str(r) for r in dk.stack_resources(stack)}
    found |= {str(r) for r in dk.named_resources(stack + "_")}
    return sorted(found)


def teardown(abra: Abra, domain: str, log: LogSink) -> list[str]:
    """Undeploy, remove volumes, secrets and the env file; verify; return what remains.

    Each step runs even when an earlier one failed; Docker itself is the fallback, and the
    env file goes last, only once nothing of the app is left (so a rerun can still find it).
    """
    stack = stack_name(domain)
    for step in (abra.undeploy, abra.remove_volumes, abra.remove_secrets):
        try:
            step(domain, log)
        except AbraError as exc:
            log.write(f"teardown step failed, falling back to docker: {exc}\n")
    remaining = app_leftovers(domain)
    if remaining:
        log.write(f"still present after abra: {', '.join(remaining)}; removing with docker\n")
        remove_with_docker(stack)
        remaining = app_leftovers(domain)
    if not remaining:
        abra.env_file(domain).unlink(missing_ok=True)
    log.write(
        f"teardown of {domain}: {'clean' if not remaining else 'LEFT ' + ', '.join(remaining)}\n"
    )
    return remaining


def remove_with_docker(stack: str) -> None:
    dk.remove_stack(stack)
    prefix = stack + "_"
    dk.remove_volumes([r.name for r in dk.named_resources(prefix) if r.kind == "volume"])
    for r in dk.named_resources(prefix):
        if r.kind in ("secret", "config"):
            dk.docker(r.kind, "rm", r.name, check=False, timeout=30)
