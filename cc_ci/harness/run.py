"""One cc-ci run: fetch the recipe at the PR head, run the planned stages, always tear down.

The shell around the pure parts (naming, plan, outcome, record): it deploys, runs pytest,
asks outcome.py what each result means, writes the run record after every step, and
guarantees teardown on failure, timeout and SIGTERM. Each planned deployment is a chain
(chains.py) with its own app, abra directory and recipe checkout; the chains work side by
side, so the record is changed and saved under a lock.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from cc_ci.contract.names import app_domain, stack_name
from cc_ci.contract.record import (
    CI,
    ErrorClass,
    RunRecord,
    Source,
    StageResult,
    StageStatus,
    Trigger,
    junit_failing,
    utc_now,
    write_record,
)
from cc_ci.contract.redact import Redactor
from cc_ci.contract.stages import StageName, row_base, row_file
from cc_ci.harness import backup, children
from cc_ci.harness import recipe as rcp
from cc_ci.harness import upgrade as upg
from cc_ci.harness.certs import cert_spki
from cc_ci.harness.chains import Cancel, Chain, limit_for, run_chains
from cc_ci.harness.deploy.abra import Abra, AbraError
from cc_ci.harness.deploy.diagnose import classify
from cc_ci.harness.deploy.janitor import LiveRun, janitor
from cc_ci.harness.deploy.lifecycle import (
    App,
    DeployError,
    create_app,
    deploy,
    harness_env,
    teardown,
    wait_healthy,
)
from cc_ci.harness.deploy.spec import SpecError, wanted
from cc_ci.harness.deploy.swarm import read_stack
from cc_ci.harness.interrupt import Interrupted
from cc_ci.harness.meta import MetaError, RecipeMeta, load_meta
from cc_ci.harness.outcome import (
    ENDED_EARLY,
    NO_RECIPE_TESTS,
    Fault,
    Outcome,
    PhaseResult,
    Step,
    blame,
    fault_outcome,
    run_error_class,
    run_status,
    stage_outcome,
    teardown_raised,
    teardown_result,
    total,
)
from cc_ci.harness.plan import (
    DeployKind,
    Deployment,
    choose_bases,
    plan_run,
    repro_command,
    upgrade_rows,
)
from cc_ci.harness.policy.allowlist import Allowlist
from cc_ci.harness.policy.env import parse_env
from cc_ci.harness.policy.gate import Verdict, gate, sample_env
from cc_ci.harness.publish import publish_files, publish_junit
from cc_ci.harness.runlog import FileLog, event
from cc_ci.harness.sandbox.container import SandboxError, run_recipe_tests, sandbox_limits
from cc_ci.harness.sandbox.network import RunNetwork, teardown_network
from cc_ci.harness.seen_secrets import operator_secrets
from cc_ci.harness.settings import Settings
from cc_ci.harness.suite import BUILTIN, SuiteError, merge_junit, run_phase
from cc_ci.harness.timeouts import Timeouts, timeouts
from cc_ci.suite.context import SuiteContext


class PolicyRefused(Exception):
    """The compose policy gate refused what was about to be deployed."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.summary())
        self.verdict = verdict


@dataclass(frozen=True, slots=True)
class RunRequest:
    recipe: str
    src: str
    ref: str
    stages: tuple[str, ...]
    run_id: str
    results_dir: Path
    pr: int | None = None
    ci: CI | None = None
    trigger: Trigger | None = None
    repo: str | None = None
    """The recipe's own repository (`REPO`), where release tags come from; None: `src`."""
    upgrade_from: tuple[str, ...] = ()
    """The upgrade bases asked for (`--upgrade-from`); empty: the previous release."""

    @property
    def base_repo(self) -> str:
        return self.repo or self.src


@dataclass(slots=True)
class ChainState:
    """What one chain has of its own: its place in the plan, its abra directory (ABRA_DIR: the app's env file) and
    its recipe checkout there (the upgrade moves it to the base release and back), where its
    tests' screenshots go before they are published, and its deployment's timings."""

    index: int  # the deployment's place in the plan
    abra: Abra
    checkout: rcp.Checkout
    artifacts: Path
    timing: dict = field(default_factory=dict)


class Run:
    def __init__(self, req: RunRequest, settings: Settings, allow: Allowlist | None = None) -> None:
        self.req = req
        self.settings = settings
        self.allow = allow
        self.run_dir = req.results_dir / req.run_id
        self.workdir = settings.state_dir / "runs" / req.run_id
        # every secret the run can see, before anything is written (seen_secrets.py); the
        # app secrets abra generates are added as they are read back (create_app)
        self.redact = Redactor(operator_secrets((settings.git_token_file,)))
        self.abra = Abra(
            settings.abra, self.workdir / "abra", settings.abra_server, settings.abra_catalogue
        )
        self.network = RunNetwork(req.run_id, settings.state_dir)  # its own tests network
        self.started = time.monotonic()
        self.record = RunRecord(
            run_id=req.run_id,
            recipe=req.recipe,
            source=Source(req.src, req.ref, req.pr, None, base_repo=req.repo),
            started_at=utc_now(),
            stages=tuple(StageResult(s) for s in req.stages),
            trigger=req.trigger,
            ci=req.ci,
            repro=self._repro(req.ref, req.upgrade_from),
        )
        self.bases: tuple[str, ...] = ()
        self.cancel = Cancel()  # set on SIGTERM/SIGINT while the chains work (chains.py)
        self._lock = threading.RLock()  # the record, the timings: changed by every chain
        self.chain_timings: list[dict] = []
        self._network_down = False
        self.teardowns: list[tuple[float, list[str]]] = []
        # each deployment's timings, by its place in the plan (chains deploy in any order)
        self.deploy_timings: dict[int, dict] = {}
        self.phase_timings: list[dict] = []
        self.error_classes: list[ErrorClass] = []  # each error's class, as they happened

    # -- record keeping -------------------------------------------------------------------

    def save(self) -> None:
        with self._lock:
            timings = {
                "deployments": [self.deploy_timings[i] for i in sorted(self.deploy_timings)],
                "phases": self.phase_timings,
                "chains": self.chain_timings,
            }
            write_record(self.run_dir, self.record, timings=timings, redact=self.redact)

    def _change(self, **changes: object) -> None:
        """Replace fields of the record (values or functions of the old value) and save."""
        with self._lock:
            new = {k: v(getattr(self.record, k)) if callable(v) else v for k, v in changes.items()}
            self.record = replace(self.record, **new)
            self.save()

    def set_stage(self, name: str, **changes: object) -> None:
        with self._lock:
            self.record = self.record.with_stage(replace(self.record.stage(name), **changes))
            self.save()

    def log(self, stage: str) -> FileLog:
        return FileLog(self.run_dir / f"{row_file(stage)}.log", self.redact)

    def _repro(self, ref: str, bases: tuple[str, ...]) -> str:
        """The record's `repro`: the cc-ci-run line that makes this run again (plan.py)."""
        r = self.req
        return self.redact(
            repro_command(
                r.recipe,
                src=r.src,
                ref=ref,
                stages=r.stages,
                repo=r.repo,
                pr=r.pr,
                bases=bases,
                forge_url=self.settings.forge_url,
            )
        )

    # -- the run --------------------------------------------------------------------------

    def execute(self) -> RunRecord:
        if self.run_dir.exists() and (self.run_dir / "run.json").exists():
            raise FileExistsError(f"run {self.req.run_id} already has a record in {self.run_dir}")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.save()
        infra = self.log("setup")
        try:
            with LiveRun(self.settings.state_dir, self.req.run_id, self.workdir) as live:
                try:
                    removed = janitor(self.settings.state_dir, self.settings.zone, infra)
                    if removed:
                        event("janitor removed orphans", stacks=",".join(removed))
                    self._prepare(infra)
                    self._run_plan(live)
                finally:
                    self._network_teardown()
                    # only the run that holds the lock owns the work dir: a second run of the
                    # same id, refused above, must not remove the first one's
                    shutil.rmtree(self.workdir, ignore_errors=True)
        except (Interrupted, KeyboardInterrupt):
            self._blame(fault_outcome(Fault.INTERRUPTED, "", Step.RUN))
        except Exception as exc:  # noqa: BLE001 - the process edge: record it, exit 2
            detail = self.redact(str(exc))
            event("run could not be carried out", error=detail.replace(" ", "_")[:200])
            infra.write(f"ERROR: {detail}\n")
            cls = classify(detail, exc)
            self._blame(fault_outcome(Fault.CANNOT, detail, Step.RUN, error_class=cls))
        return self._finish()

    def _prepare(self, log: FileLog) -> None:
        s = self.settings
        token = self.redact.add_file(s.git_token_file) if s.git_token_file else None
        self.abra.abra_dir.mkdir(parents=True, exist_ok=True)
        self.abra.ensure_catalogue()
        self.record = replace(self.record, tools={"abra": self.abra.version(log)})
        self.abra.ensure_server(log)
        dest = self.abra.abra_dir / "recipes" / self.req.recipe
        self.checkout = rcp.fetch_recipe(
            s.forge_url,
            self.req.src,
            self.req.ref,
            dest,
            log,
            self.redact,
            token,
            repo=self.req.repo,
            pr=self.req.pr,
        )
        self.record = replace(
            self.record, source=replace(self.record.source, ref=self.checkout.head)
        )
        # abra may move the checkout later: keep the PR's own tests as fetched.
        self.recipe_tests = self.workdir / "recipe-tests"
        if (dest / "tests").is_dir():
            shutil.copytree(dest / "tests", self.recipe_tests, symlinks=True)
        self.suite_dir = s.suites_dir / self.req.recipe
        self.meta: RecipeMeta = load_meta(self.suite_dir)
        self.timeouts: Timeouts = timeouts(s, self.meta)
        for line in self.timeouts.capped:
            log.write(f"timeouts: {line}\n")
        self.spki = cert_spki(s.state_dir / "pki" / f"{s.zone}.crt")
        self._choose_bases(log)
        self.save()
        event(
            "recipe fetched",
            recipe=self.req.recipe,
            head=self.checkout.head[:12],
            previous=self.checkout.previous_release,
        )

    def _choose_bases(self, log: FileLog) -> None:
        """The upgrade bases (plan.choose_bases: refused before anything is deployed when
        one is not a release of the base repository), their rows, and the repro line."""
        if StageName.UPGRADE in self.req.stages:
            self.bases = choose_bases(
                self.req.upgrade_from,
                self.meta.upgrade_from,
                self.checkout.tags,
                self.checkout.previous_release,
                self.req.base_repo,
            )
            log.write(
                f"upgrade bases from {self.req.base_repo}: {', '.join(self.bases) or 'none'}\n"
            )
        rows = upgrade_rows([s.name for s in self.record.stages], self.bases)
        old = {s.name: s for s in self.record.stages}
        self.record = replace(
            self.record,
            stages=tuple(old.get(r) or StageResult(r) for r in rows),
            repro=self._repro(self.checkout.head, self.bases),
        )

    def _run_plan(self, live: LiveRun) -> None:
        """The plan's deployments, each a chain, side by side up to the limit (chains.py).
        After every chain has ended: a chain's unexpected error is the run's; a cancel (a
        signal while they worked) is Interrupted, as a signal on the main thread is."""
        plan = plan_run(self.req.stages, self.bases)
        for name, why in plan.skipped:
            self.set_stage(name, status=StageStatus.SKIPPED, message=why)
        limit = limit_for(self.settings.max_deployments, self.meta.serial)
        if len(plan.deployments) > 1:
            why = "recipe_meta.py SERIAL" if self.meta.serial else "CCCI_MAX_DEPLOYMENTS"
            self.log("setup").write(
                f"deployments: {len(plan.deployments)}, at most {limit} at once ({why})\n"
            )
        chains = [
            Chain(d.stages[0], partial(self._chain, d, live, i))
            for i, d in enumerate(plan.deployments)
        ]
        results = run_chains(chains, limit, self.cancel)
        with self._lock:
            self.chain_timings[:] = [
                {
                    "chain": r.name,
                    "kind": str(d.kind),
                    "stages": list(d.stages),
                    "started_s": r.started_s,
                    "ended_s": r.ended_s,
                    "wall_s": r.wall_s,
                    "interrupted": r.interrupted,
                }
                for d, r in zip(plan.deployments, results, strict=True)
            ]
        self.save()
        errors = [r.error for r in results if r.error is not None]
        if errors:
            raise errors[0]
        if self.cancel.is_set:
            raise Interrupted(self.cancel.why)

    def _chain(self, dep: Deployment, live: LiveRun, index: int) -> None:
        """One chain, in its own thread: its own abra directory (a copy of the prepared
        one, with the recipe checkout), then the deployment; interrupted, its open stages
        say so."""
        try:
            self._deployment(dep, live, self._chain_state(dep, index))
        except Interrupted:
            self._blame(fault_outcome(Fault.INTERRUPTED, "", Step.RUN), dep.stages)
            raise
        finally:
            if StageName.RECIPE_LOCAL in dep.stages:
                # the one chain that uses the tests network: it goes now, not after the others
                self._network_teardown()

    def _network_teardown(self) -> None:
        """Remove the run's tests network and relay (when it made them), once."""
        with self._lock:
            if self._network_down:
                return
            self._network_down = True
        net = teardown_network(self.network, self.log("teardown"))
        if net is not None:
            with self._lock:
                self.teardowns.append(net)

    def _chain_state(self, dep: Deployment, index: int) -> ChainState:
        root = self.workdir / "chains" / row_file(dep.stages[0])
        abra_dir = root / "abra"
        shutil.copytree(self.abra.abra_dir, abra_dir, symlinks=True)
        checkout = replace(self.checkout, path=abra_dir / "recipes" / self.req.recipe)
        abra = replace(self.abra, abra_dir=abra_dir)
        return ChainState(index, abra, checkout, root / "screenshots")

    @contextmanager
    def _deployed(
        self, kind: DeployKind, live: LiveRun, log: FileLog, chain: ChainState
    ) -> Iterator[App]:
        domain = app_domain(self.req.recipe, self.settings.zone)
        env = sample_env(
            chain.checkout.path,
            {**self.meta.env_for(domain), **harness_env(domain)},
        )
        self._gate(
            env,
            f"{kind} deployment",
            log,
            self.meta.domains_for(domain, self.settings.zone),
            chain.checkout.path,
        )
        live.claim(domain)
        self._change(deployments=lambda n: n + 1)
        timing = chain.timing
        timing.update({"kind": str(kind), "domain": domain})
        with self._lock:
            self.deploy_timings[chain.index] = timing
        try:
            t0 = time.monotonic()
            app = create_app(
                chain.abra,
                self.req.recipe,
                domain,
                self.meta.env_for(domain),
                log,
                https_port=self.settings.https_port,
                secret=self.redact.add,
            )
            deploy(app, log, timeout=self.timeouts.deploy)
            with self._lock:  # save() reads the timings from another chain's thread
                timing["deploy_s"] = round(time.monotonic() - t0, 2)
            healthy_s = wait_healthy(app, self.settings, self.meta, log, self.timeouts.deploy)
            with self._lock:
                timing["healthy_s"] = round(healthy_s, 2)
            self.save()  # the app is up: the record says so at once
            yield app
        finally:
            self._teardown(domain, timing, chain.abra)

    def _gate(
        self,
        env: dict[str, str],
        what: str,
        log: FileLog,
        domains: tuple[str, ...],
        checkout: Path,
    ) -> None:
        """Check the compose files about to be deployed (in the chain's `checkout`); refuse
        before anything is created. `domains` are the app's own host names, the only ones
        its Traefik labels may route."""
        verdict = gate(checkout, env, self.req.recipe, self.allow, domains)
        self._change(policy=lambda p: (*p, verdict.to_record(what)))
        for line in verdict.lines():
            log.write(f"policy: {line}\n")
        if verdict.refused:
            log.write(f"policy: refused the {what}; nothing was deployed\n")
            raise PolicyRefused(verdict)

    def _teardown(self, domain: str, timing: dict, abra: Abra) -> None:
        # shielded: a cancel neither kills nor interrupts it (on the main thread: signals
        # ignored meanwhile); the other chains go on while it runs
        with children.shielded():
            t0 = time.monotonic()
            try:
                left = teardown(abra, domain, self.log("teardown"))
            except Exception as exc:  # noqa: BLE001 - a failed teardown is a result, not a crash
                self.log("teardown").write(f"teardown raised: {exc}\n")
                left = teardown_raised(str(exc))
            took = time.monotonic() - t0
            with self._lock:
                timing["teardown_s"] = round(took, 2)
                self.teardowns.append((took, left))
            event("teardown", domain=domain, seconds=f"{took:.1f}", leftovers=len(left))

    def _deployment(self, dep: Deployment, live: LiveRun, chain: ChainState) -> None:
        first = dep.stages[0]
        log = self.log(first)
        try:
            if dep.kind is DeployKind.UPGRADE:
                self._upgrade(live, log, dep, chain)
                return
            self.set_stage(first, status=StageStatus.RUNNING, log=f"{first}.log")
            with self._deployed(DeployKind.FRESH, live, log, chain) as app:
                for name in dep.stages:
                    self._stage(name, app, chain)
        except DeployError as exc:
            ended = fault_outcome(
                Fault.UNHEALTHY, str(exc), Step.DEPLOYMENT, error_class=exc.error_class
            )
            self._blame(ended, dep.stages)
        except PolicyRefused as exc:
            self._blame(fault_outcome(Fault.REFUSED, str(exc), Step.DEPLOYMENT), dep.stages)
        except (AbraError, rcp.FetchError, SuiteError, MetaError) as exc:
            detail = self.redact(str(exc))
            ended = fault_outcome(
                Fault.CANNOT, detail, Step.DEPLOYMENT, error_class=classify(detail)
            )
            self._blame(ended, dep.stages)

    def _stage(self, name: str, app: App, chain: ChainState) -> None:
        children.checkpoint()  # a boundary: the run may have been cancelled meanwhile
        t0 = time.monotonic()
        self.set_stage(name, status=StageStatus.RUNNING, log=f"{name}.log")
        log = self.log(name)
        phases: list[PhaseResult] = []
        try:
            if name == StageName.INSTALL:
                phases.append(
                    self._phase(
                        app,
                        name,
                        "verify",
                        [self.suite_dir / "test_install.py", BUILTIN],
                        None,
                        log,
                        chain,
                    )
                )
            elif name == StageName.RECIPE_LOCAL:
                if not self.recipe_tests.is_dir():
                    self._set_outcome(name, NO_RECIPE_TESTS, duration_s=0.0)
                    return
                phases.append(self._sandboxed(app, name, log, chain))
            elif name == StageName.BACKUP:
                tests = self.suite_dir / "test_backup.py"
                phases.append(self._phase(app, name, "seed", [tests], "seed", log, chain))
                if not phases[-1].failed:
                    since = backup.now()
                    app.abra.backup_create(app.domain, log, timeout=self.timeouts.backup)
                    phases.append(self._phase(app, name, "mutate", [tests], "mutate", log, chain))
                    app.abra.restore(app.domain, log, timeout=self.timeouts.backup)
                    wait_healthy(app, self.settings, self.meta, log, self.timeouts.deploy)
                    details, found = backup.check(stack_name(app.domain), since, log)
                    self.set_stage(name, details=details)
                    if found:
                        self._close_stage(name, t0, phases, backup.failed(found))
                        return
                    phases.append(
                        self._phase(
                            app, name, "verify", [tests], "not seed and not mutate", log, chain
                        )
                    )
        except (AbraError, SandboxError, backup.BackupCheckError) as exc:
            detail = self.redact(str(exc))
            cls = classify(detail)
            ended = fault_outcome(Fault.CANNOT, detail, Step.STAGE, stage=name, error_class=cls)
            self._close_stage(name, t0, phases, ended)
            return
        except DeployError as exc:  # only the wait after restore raises it here
            ended = fault_outcome(
                Fault.UNHEALTHY, str(exc), Step.RESTORE, stage=name, error_class=exc.error_class
            )
            self._close_stage(name, t0, phases, ended)
            return
        self._close_stage(name, t0, phases)

    def _phase(
        self,
        app: App,
        stage: str,
        phase: str,
        paths: list[Path],
        marker: str | None,
        log: FileLog,
        chain: ChainState,
        extra_env: dict[str, str] | None = None,
    ) -> PhaseResult:
        children.checkpoint()
        ctx = self._context(app, stage, phase, chain.artifacts)
        # pytest writes into the work dir; the run folder gets the masked copies (publish.py)
        private = self.workdir / "junit" / f"{row_file(stage)}.{phase}.junit.xml"
        private.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        result = run_phase(ctx, paths, marker, private, log, self.timeouts.stage, extra_env)
        junit = self.run_dir / f"{row_file(stage)}.{phase}.junit.xml"
        result = replace(result, junit=publish_junit(result.junit, junit, self.redact))
        publish_files(Path(ctx.artifacts_dir), self.run_dir / "screenshots", self.redact)
        with self._lock:
            self.phase_timings.append(
                {"stage": stage, "phase": phase, "seconds": round(time.monotonic() - t0, 2)}
            )
        return result

    def _sandboxed(self, app: App, stage: str, log: FileLog, chain: ChainState) -> PhaseResult:
        """The recipe's own tests: PR code, so they run confined (cc_ci/harness/sandbox/container.py)."""
        s = self.settings
        t0 = time.monotonic()
        result = run_recipe_tests(
            run_id=self.req.run_id,
            tests=self.recipe_tests,
            workdir=self.workdir,
            run_dir=self.run_dir,
            ctx=self._context(app, stage, "verify", chain.artifacts),
            ca_file=s.ca_file,
            proxy_service=s.proxy_service,
            network=self.network,
            limits=sandbox_limits(s),
            timeout=self.timeouts.stage,
            log=log,
            tools=s.tools_dir,
            redact=self.redact,
        )
        with self._lock:
            self.phase_timings.append(
                {"stage": stage, "phase": "verify", "seconds": round(time.monotonic() - t0, 2)}
            )
        return result

    def _context(self, app: App, stage: str, phase: str, artifacts: Path) -> SuiteContext:
        s = self.settings
        return SuiteContext(
            recipe=self.req.recipe,
            domain=app.domain,
            stack=stack_name(app.domain),
            base_url=app.base_url,
            zone=s.zone,
            stage=row_file(stage),
            phase=phase,
            resolve_to=s.resolve_to,
            ca_file=str(s.ca_file) if s.ca_file else None,
            cert_spki=self.spki,
            artifacts_dir=str(artifacts),
            run_dir=str(self.run_dir),
            data_file=str(self.workdir / f"data-{row_file(stage)}.json"),
            env_file=str(app.abra.env_file(app.domain)),
            health_path=self.meta.health_path,
            health_ok=self.meta.health_ok,
            main_service=self.meta.main_service,
            front_page=self.meta.front_page,
            upgraded_from=row_base(stage),
            head=self.checkout.head,
        )

    def _close_stage(
        self, name: str, t0: float, phases: list[PhaseResult], ended: Outcome | None = None
    ) -> None:
        """Record a finished stage: `ended` when a fault ended it, else what its phases say."""
        result = ended or stage_outcome(name, self.req.recipe, phases)
        counts = total(phases)
        junit = merge_junit(
            [p.junit for p in phases if p.junit], self.run_dir / f"{row_file(name)}.junit.xml"
        )
        shots = sorted(
            p.relative_to(self.run_dir).as_posix()
            for p in (self.run_dir / "screenshots").glob(f"{row_file(name)}-*.png")
        )
        self._set_outcome(
            name,
            result,
            duration_s=round(time.monotonic() - t0, 2),
            tests=counts if counts is not None else self.record.stage(name).tests,
            junit=junit.name if junit else None,
            failing=junit_failing(junit),
            artifacts=tuple(shots),
        )
        event("stage", name=name, status=result.status, seconds=f"{time.monotonic() - t0:.1f}")

    def _upgrade(self, live: LiveRun, log: FileLog, dep: Deployment, chain: ChainState) -> None:
        name = dep.stages[0]  # upgrade from <tag>
        prev = dep.base
        assert prev is not None  # the plan makes an upgrade deployment per base
        t0 = time.monotonic()
        details = {
            "from": prev,
            "from_repo": self.req.base_repo,
            "from_commit": rcp.tag_commit(chain.checkout.path, prev, log, self.redact),
        }
        self.set_stage(
            name, status=StageStatus.RUNNING, log=f"{row_file(name)}.log", details=details
        )
        from_repo = details["from_repo"]
        rcp.checkout(chain.checkout.path, prev, log, self.redact)
        phases: list[PhaseResult] = []
        tests = self.suite_dir / "test_upgrade.py"
        proof: upg.UpgradeProof | None = None
        try:
            with self._deployed(DeployKind.UPGRADE, live, log, chain) as app:
                log.write(f"deployed the previous release {prev}\n")
                phases.append(self._phase(app, name, "seed", [tests], "seed", log, chain))
                if not phases[-1].failed:
                    rcp.checkout(chain.checkout.path, chain.checkout.head, log, self.redact)
                    # the head deploys with the env made from the previous release's sample
                    app_env = parse_env(app.abra.env_file(app.domain).read_text())
                    self._gate(
                        {**app_env, "STACK_NAME": app.stack},
                        "upgrade to the PR head",
                        log,
                        self.meta.domains_for(app.domain, self.settings.zone),
                        chain.checkout.path,
                    )
                    before = read_stack(app.stack)
                    asked = wanted(chain.checkout.path, app.abra.env_file(app.domain), app.stack)
                    t_up = time.monotonic()
                    deploy(app, log, timeout=self.timeouts.deploy, force=True)
                    healthy_s = wait_healthy(
                        app, self.settings, self.meta, log, self.timeouts.deploy
                    )
                    after, tasks = upg.observe_after(app.stack, timeout=30)
                    proof = upg.prove(
                        before=before,
                        after=after,
                        wanted=asked,
                        tasks=tasks,
                        stack=app.stack,
                        from_release=prev,
                        from_repo=from_repo,
                        to=self.checkout.head,
                    )
                    for line in proof.lines():
                        log.write(line + "\n")
                    self.set_stage(name, details={**details, **proof.to_details()})
                    with self._lock:
                        chain.timing["upgrade_s"] = round(time.monotonic() - t_up, 2)
                        chain.timing["upgrade_healthy_s"] = round(healthy_s, 2)
                    log.write(f"upgraded {prev} → {self.checkout.head[:12]}\n")
                    phases.append(
                        self._phase(
                            app,
                            name,
                            "verify",
                            [tests, BUILTIN],
                            "not seed and not mutate",
                            log,
                            chain,
                        )
                    )
        except DeployError as exc:
            ended = fault_outcome(
                Fault.UNHEALTHY,
                str(exc),
                Step.UPGRADE,
                stage=name,
                previous=prev,
                error_class=exc.error_class,
            )
            self._close_stage(name, t0, phases, ended)
            return
        except SpecError as exc:
            detail = self.redact(str(exc))
            ended = fault_outcome(Fault.CANNOT, detail, Step.STAGE, stage=name)
            self._close_stage(name, t0, phases, ended)
            return
        except PolicyRefused as exc:
            ended = fault_outcome(Fault.REFUSED, str(exc), Step.UPGRADE, stage=name)
            self._close_stage(name, t0, phases, ended)
            return
        self._close_stage(name, t0, phases, upg.proof_outcome(proof) if proof else None)

    def _set_outcome(self, name: str, outcome: Outcome, **more: object) -> None:
        with self._lock:
            if outcome.error_class is not None:
                self.error_classes.append(outcome.error_class)
            self.set_stage(name, status=outcome.status, message=outcome.message, **more)

    def _blame(self, outcome: Outcome, among: tuple[str, ...] | None = None) -> None:
        """Close the stages that never finished (of one deployment, or of the run)."""
        with self._lock:
            for name, result in blame(self.record.stages, outcome, among):
                self._set_outcome(name, result)

    def _finish(self) -> RunRecord:
        td = teardown_result(self.teardowns)
        self._blame(ENDED_EARLY)
        status, code = run_status(self.record.stages, td)
        error_class, retryable = run_error_class(status, td, self.error_classes)
        self.record = replace(
            self.record,
            error_class=error_class,
            retryable=retryable,
            teardown=td,
            status=status,
            exit_code=int(code),
            finished_at=utc_now(),
            duration_s=round(time.monotonic() - self.started, 2),
        )
        self.save()
        # what cc-ci-run prints goes to the build log: masked as the record is
        masked = tuple(replace(st, message=self.redact(st.message)) for st in self.record.stages)
        return replace(self.record, stages=masked)
