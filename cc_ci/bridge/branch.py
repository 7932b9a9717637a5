"""Runs of each enrolled recipe's default branch: on a schedule, and when a new release tag
appears (docs/bridge.md, "Default-branch runs"). Their records are what the dashboard's
README badges and levels are made of; a pull request's runs never are.

A job is planned once, in one transaction with what planned it (the schedule's period, the
tags seen), so a restart never plans it again; then, like a command, each step is recorded
before the next: read the default branch's head, create the Drone build (a retry first looks
for the build an earlier try may have created, by its message), watch it until it is done.
Nothing is written on Gitea: the run's record is the report, on the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable

from cc_ci.bridge.client import ApiError, Refused, Unavailable
from cc_ci.bridge.config import Config
from cc_ci.bridge.drone import Build, Drone, NoPipeline
from cc_ci.bridge.flow import backoff
from cc_ci.bridge.gitea import Gitea
from cc_ci.bridge.identity import is_job_build
from cc_ci.bridge.report import summarize_record
from cc_ci.bridge.retry import retry_decision
from cc_ci.bridge.state import JobPhase, JobRow, State
from cc_ci.bridge.steps import load_record
from cc_ci.contract.eventline import EventLog
from cc_ci.contract.names import JOB_PARAM, TRIGGER_PARAM, drone_run_id
from cc_ci.contract.record import RunRecord
from cc_ci.contract.record_read import RecordError
from cc_ci.contract.redact import Redactor

SCHEDULE = "schedule"
TAG = "tag"


def period_start(now: float, interval: int) -> int:
    """The start of the schedule period `now` falls in: periods count from the Unix epoch,
    so a daily schedule's start at 00:00 UTC."""
    return int(now) // interval * interval


def job_message(j: JobRow) -> str:
    """Drone's build message for a job: what it builds and why, and the job id a retry of
    the create looks for; the automatic retry of a build says so, so that neither is taken
    for the other."""
    why = "schedule" if j.kind == SCHEDULE else f"new tag {j.reason}"
    retry = f", retry of build {j.retried_build}" if j.retried_build is not None else ""
    sha = (j.head_sha or "")[:12]
    return f"cc-ci {j.recipe}: {j.repo} {j.branch} at {sha} ({why}, job {j.job_id}{retry})"


def job_record_mismatch(record: RunRecord, j: JobRow) -> str | None:
    """The first field of the record that is not what the job built, or None."""
    checks: tuple[tuple[str, object, object], ...] = (
        ("recipe", record.recipe, j.recipe),
        ("source.repo", record.source.repo, j.repo),
        ("source.ref", record.source.ref, j.head_sha),
        ("source.pr", record.source.pr, None),
        ("trigger.kind", record.trigger.kind if record.trigger else None, j.kind),
    )
    return next((name for name, got, want in checks if got != want), None)


def job_params(j: JobRow) -> dict[str, str]:
    """The build parameters of a default-branch run (docs/forge-api.md §4): the recipe's own
    repository (as REPO and SRC) at its default branch's head, no PR, every stage, the previous release as
    the upgrade's base; why (`CCCI_TRIGGER`, the record's `trigger.kind`) and the job id
    (part of the run id, drone-<build>-j<job>)."""
    assert j.head_sha
    return {
        "RECIPE": j.recipe,
        "REPO": j.repo,
        "SRC": j.repo,
        "REF": j.head_sha,
        "PR": "",
        "STAGES": "",
        "UPGRADE_FROM": "",
        TRIGGER_PARAM: j.kind,
        JOB_PARAM: str(j.job_id),
        "message": job_message(j),
    }


class BranchJobs:
    def __init__(
        self,
        config: Config,
        state: State,
        gitea: Gitea,
        drone: Drone,
        log: EventLog,
        redact: Redactor,
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.state = state
        self.gitea = gitea
        self.drone = drone
        self.log = log
        self.redact = redact
        self.clock = clock
        self.next_tags = 0.0
        """When the tags are read next (`schedule.tag_poll_interval` after the last read)."""

    # --- planning -------------------------------------------------------------------------

    def plan_due(self) -> int:
        """Plan this period's scheduled job of every repository that has none yet; the
        number planned. A bridge that was down for days plans one, for the period it is in."""
        interval = self.config.schedule.interval
        if not interval:
            return 0
        now = self.clock()
        start = period_start(now, interval)
        planned = 0
        for repo in self.config.trigger.repos:
            last = self.state.scheduled(repo)
            if last is not None and last >= start:
                continue
            recipe = self.config.recipe_for(repo)
            job = self.state.plan(repo, recipe, SCHEDULE, str(start), int(now), period=start)
            if job is not None:
                planned += 1
                self.log("job-planned", job=job.job_id, repo=repo, kind=SCHEDULE, period=start)
        return planned

    def read_tags(self) -> int:
        """Read each repository's newest tags (when due); a tag not seen before plans one
        job (several new at once: one, named after the newest). The first read of a
        repository only records the tags it has. The number of jobs planned."""
        if not self.config.schedule.tags or self.clock() < self.next_tags:
            return 0
        self.next_tags = self.clock() + self.config.schedule.tag_poll_interval
        planned = 0
        for repo in self.config.trigger.repos:
            try:
                names = self.gitea.tags(repo)
            except ApiError as e:
                self.log("tags-failed", repo=repo, error=e)
                if e.status is None:
                    break  # Gitea did not answer: the next read tries every repository
                continue
            if not self.state.tags_read(repo):
                self.state.baseline_tags(repo, tuple(names))
                self.log("tags-read", repo=repo, tags=len(names), note="known: no run for them")
                continue
            known = self.state.known_tags(repo)
            new = tuple(n for n in names if n not in known)
            if not new:
                continue
            recipe = self.config.recipe_for(repo)
            job = self.state.plan(repo, recipe, TAG, new[0], int(self.clock()), tags=new)
            if job is not None:
                planned += 1
                self.log("job-planned", job=job.job_id, repo=repo, kind=TAG, tag=new[0])
        return planned

    # --- the steps ------------------------------------------------------------------------

    def advance_due(self) -> None:
        now = self.clock()
        for j in self.state.jobs(JobPhase.PLANNED, JobPhase.REQUESTING):
            if j.next_at <= now:
                self.advance(j)

    def advance(self, j: JobRow) -> JobRow:
        """Run the job's steps until it waits for its build, is over, or meets an outage
        (then it is retried with backoff)."""
        while j.phase in (JobPhase.PLANNED, JobPhase.REQUESTING):
            try:
                j = self._resolve(j) if j.phase is JobPhase.PLANNED else self._create(j)
            except ApiError as e:
                failures = j.failures + 1
                wait = backoff(failures)
                self.log("retry", job=j.job_id, step=j.phase, after_s=wait, error=e)
                return self.state.update_job(
                    j.job_id,
                    failures=failures,
                    next_at=self.clock() + wait,
                    last_error=self.redact(str(e)),
                )
        if j.failures:
            j = self.state.update_job(j.job_id, failures=0, next_at=0, last_error="")
        return j

    def next_wake(self) -> float | None:
        times = [j.next_at for j in self.state.jobs(JobPhase.PLANNED, JobPhase.REQUESTING)]
        times = [t for t in times if t > 0]
        return min(times) if times else None

    def _resolve(self, j: JobRow) -> JobRow:
        try:
            head = self.gitea.default_branch_head(j.repo)
        except Refused as e:
            return self._done(j, None, f"the default branch's head could not be read: {e}")
        return self.state.update_job(
            j.job_id, phase=JobPhase.REQUESTING, branch=head.branch, head_sha=head.sha
        )

    def _create(self, j: JobRow) -> JobRow:
        message = job_message(j)
        if j.create_attempts > 0:
            found = self.drone.find_build(
                lambda b: is_job_build(b, j.job_id, message), not_before=j.planned_at - 300
            )
            if found is not None:
                self.log("build-found", job=j.job_id, build=found.number)
                return self._building(j, found)
        j = self.state.update_job(j.job_id, create_attempts=j.create_attempts + 1)
        try:
            build = self.drone.create_build(self.config.drone.branch, job_params(j))
        except NoPipeline as e:
            return self._done(j, None, str(e))
        except Refused as e:
            return self._done(j, None, f"Drone refused the build: {e}")
        self.log("build-created", job=j.job_id, build=build.number, recipe=j.recipe, kind=j.kind)
        return self._building(j, build)

    def _finished(self, j: JobRow, status: str) -> JobRow:
        """The build is done: retried once when its run record (this job's own) ended in a
        docker or image error (`cc_ci.bridge.retry`, as for a command), else over."""
        record = self._record(j)
        retry = retry_decision(summarize_record(record) if record else None, j.retried_build)
        if retry is None:
            return self._done(j, status)
        self.log("retry-run", job=j.job_id, build=j.build, error_class=retry.error_class)
        return self.state.update_job(
            j.job_id,
            phase=JobPhase.REQUESTING,
            retried_build=j.build,
            retried_class=retry.error_class.value,
            build=None,
            build_id=None,
            build_status=None,
            create_attempts=0,
        )

    def _record(self, j: JobRow) -> RunRecord | None:
        """The record of the job's build, from the results directory, when it is the job's."""
        if self.config.results_dir is None or j.build is None:
            return None
        run_id = drone_run_id(j.build, job=j.job_id)
        try:
            record = load_record(self.config.results_dir, run_id)
        except (OSError, ValueError, RecordError) as e:
            self.log("run-record-unreadable", job=j.job_id, run=run_id, error=e)
            return None
        mismatch = job_record_mismatch(record, j) if record else None
        if mismatch is not None:
            self.log("run-record-mismatch", job=j.job_id, run=run_id, field=mismatch)
            return None
        return record

    def _building(self, j: JobRow, build: Build) -> JobRow:
        j = self.state.update_job(
            j.job_id,
            phase=JobPhase.BUILDING,
            build=build.number,
            build_id=build.id or None,
            build_status=build.status,
        )
        return self._finished(j, build.status) if build.done else j

    def _done(self, j: JobRow, status: str | None, why: str = "") -> JobRow:
        self.log("job-done", job=j.job_id, build=j.build, status=status or "no build", why=why)
        return self.state.update_job(
            j.job_id, phase=JobPhase.DONE, build_status=status, last_error=self.redact(why)
        )

    # --- watching -------------------------------------------------------------------------

    def watch(self) -> None:
        """Look at every job's open build once; end those that are done."""
        for j in self.state.jobs(JobPhase.BUILDING):
            assert j.build is not None
            try:
                build = self.drone.build(j.build)
            except Unavailable as e:
                self.log("watch-failed", job=j.job_id, build=j.build, error=e)
                if e.status is None:
                    return  # Drone did not answer: the next look tries again
                continue
            except Refused as e:
                self.log("watch-refused", job=j.job_id, build=j.build, error=e)
                self._done(j, "unknown", f"Drone refused to show the build: {e}")
                continue
            if not is_job_build(build, j.job_id, job_message(j)):
                self.log("build-gone", job=j.job_id, build=j.build, why="not ours")
                self._done(j, "unknown", "the build is gone (Drone numbered builds afresh)")
                continue
            if build.done:
                self._finished(j, build.status)
            elif build.status != j.build_status:
                self.state.update_job(j.job_id, build_status=build.status)
