"""Each command's steps, one at a time, each recorded in the state file before the next.

`Steps.advance` runs a command's due steps (`cc_ci.bridge.flow.next_step` decides which) until it
waits for its build, is over, or meets an outage; an outage schedules a retry with backoff.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cc_ci.bridge.answers import answer_body
from cc_ci.bridge.client import ApiError, Refused, Unavailable
from cc_ci.bridge.config import Config
from cc_ci.bridge.drone import Build, Drone, NoPipeline
from cc_ci.bridge.flow import Step, backoff, next_step
from cc_ci.bridge.gitea import Gitea
from cc_ci.bridge.report import (
    RunSummary,
    ack_body,
    build_message,
    commit_state,
    drone_params,
    final_body,
    marker,
    no_build_body,
    read_summary,
    retrying_body,
    run_url,
    status_description,
)
from cc_ci.bridge.retry import Retry, retry_decision
from cc_ci.bridge.state import CommandRow, Outcome, Phase, State
from cc_ci.contract.eventline import EventLog
from cc_ci.contract.names import drone_run_id
from cc_ci.contract.record import RECORD_FILE
from cc_ci.contract.record_read import MAX_RECORD_BYTES, RecordError
from cc_ci.contract.redact import Redactor

RECORD_TRIES = 5
"""How often an unreadable run record is read again before the report goes out without
its table."""


def read_record(results_dir: Path, build: int) -> bytes | None:
    """The bytes of build `build`'s run record in the results directory (no symlink
    followed), None when there is none. Raises OSError or ValueError when it cannot be read."""
    path = results_dir / drone_run_id(build) / RECORD_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise ValueError(f"{path} is larger than {MAX_RECORD_BYTES} bytes")
    return data


class Steps:
    def __init__(
        self,
        config: Config,
        state: State,
        gitea: Gitea,
        drone: Drone,
        log: EventLog,
        redact: Redactor,
        clock: Callable[[], float],
        identify: Callable[[], str],
    ) -> None:
        self.config = config
        self.state = state
        self.gitea = gitea
        self.drone = drone
        self.log = log
        self.redact = redact
        self.clock = clock
        self.identify = identify

    def advance(self, c: CommandRow) -> CommandRow:
        while (step := next_step(c)) is not None:
            try:
                c = self._do(step, c)
            except ApiError as e:
                # An outage, or a refusal no step expected: wait and try again.
                failures = c.failures + 1
                wait = backoff(failures)
                self.log("retry", comment=c.comment_id, step=step, after_s=wait, error=e)
                return self.state.update(
                    c.comment_id,
                    failures=failures,
                    next_at=self.clock() + wait,
                    last_error=self.redact(str(e)),
                )
            if c.failures:
                c = self.state.update(c.comment_id, failures=0, next_at=0, last_error="")
        return c

    def _do(self, step: Step, c: CommandRow) -> CommandRow:
        update = self.state.update
        match step:
            case Step.AUTHORIZE:
                return self._authorize(c)
            case Step.CREATE_BUILD:
                return self._create_build(c)
            case Step.REACT:
                self._effect(c, "react", lambda: self.gitea.react(c.repo, c.comment_id, "eyes"))
                return update(c.comment_id, reacted=True)
            case Step.ACK_COMMENT:
                body = ack_body(c, self._build_url(c), run_url(self.config.dashboard_url, c.build))
                posted = self._effect(c, "ack-comment", lambda: self._post_comment(c, body))
                return update(c.comment_id, bot_comment=posted or 0)
            case Step.PENDING_STATUS:
                self._status(c, "pending", self._build_url(c))
                return update(c.comment_id, pending_posted=True)
            case Step.FINAL_COMMENT:
                return self._final_comment(c)
            case Step.FINAL_STATUS:
                assert c.result is not None
                link = run_url(self.config.dashboard_url, c.build) or self._build_url(c)
                self._status(c, c.result, link)
                return update(c.comment_id, final_status_posted=True)
            case Step.CLOSE:
                self.log("reported", comment=c.comment_id, build=c.build, result=c.result)
                return update(c.comment_id, phase=Phase.REPORTED)
        raise AssertionError(step)

    def _effect(self, c: CommandRow, what: str, action: Callable[[], Any]) -> Any:
        """Do one write on Gitea; a refusal (4xx) will not get better, so it is logged and
        given up; an outage raises (the step is retried)."""
        try:
            return action()
        except Refused as e:
            self.log("gave-up", comment=c.comment_id, what=what, error=e)
            return None

    def _status(self, c: CommandRow, state: str, link: str) -> None:
        assert c.head_sha is not None
        context = f"cc-ci/{c.recipe}"
        desc = status_description(state, c.recipe)
        self._effect(
            c,
            f"status-{state}",
            lambda: self.gitea.set_status(c.repo, c.head_sha or "", state, context, desc, link),
        )

    def authorized(self, login: str) -> tuple[bool, str]:
        """Org member or on the allow-list; any error while checking denies."""
        if login.lower() in {a.lower() for a in self.config.trigger.allow}:
            return True, "allow-list"
        try:
            member = self.gitea.is_member(self.config.trigger.org, login)
        except ApiError as e:
            return False, f"membership could not be checked: {e}"
        return member, "org member" if member else f"not a member of {self.config.trigger.org}"

    def _authorize(self, c: CommandRow) -> CommandRow:
        allowed, why = self.authorized(c.login)
        if not allowed:
            self.log("denied", repo=c.repo, pr=c.pr, comment=c.comment_id, by=c.login, why=why)
            return self.state.update(c.comment_id, phase=Phase.DENIED, last_error=self.redact(why))
        self.log("authorized", comment=c.comment_id, by=c.login, why=why)
        if c.unknown_stages or c.answer:
            # Answered (help, an invalid option, an unknown stage), never built.
            return self.state.update(c.comment_id, phase=Phase.FINISHED, outcome=Outcome.REJECTED)
        try:
            head = self.gitea.pull_head(c.repo, c.pr)
        except Refused as e:
            return self._no_build(c, f"The pull request's head could not be read: {e}")
        return self.state.update(
            c.comment_id,
            phase=Phase.REQUESTING,
            head_sha=head.sha,
            head_repo=head.repo,
            intent_at=int(self.clock()),
        )

    def _no_build(self, c: CommandRow, reason: str) -> CommandRow:
        self.log("no-build", comment=c.comment_id, reason=reason)
        return self.state.update(
            c.comment_id,
            phase=Phase.FINISHED,
            outcome=Outcome.NO_BUILD,
            reason=self.redact(reason),
            result="error",
        )

    def _create_build(self, c: CommandRow) -> CommandRow:
        message = build_message(c)
        if c.create_attempts > 0:
            # An earlier try may have created it (Drone's create is not idempotent).
            found = self.drone.find_build(
                lambda b: b.message == message or b.params.get("message") == message,
                not_before=(c.intent_at or c.received_at) - 300,
            )
            if found is not None:
                self.log("build-found", comment=c.comment_id, build=found.number)
                return self._building(c, found)
        c = self.state.update(c.comment_id, create_attempts=c.create_attempts + 1)
        try:
            build = self.drone.create_build(self.config.drone.branch, drone_params(c))
        except NoPipeline as e:
            return self._no_build(c, str(e))
        except Refused as e:
            return self._no_build(c, f"Drone refused the build: {e}")
        self.log("build-created", comment=c.comment_id, build=build.number, recipe=c.recipe)
        return self._building(c, build)

    def _building(self, c: CommandRow, build: Build) -> CommandRow:
        if build.status == "error":
            # Drone answers 200 with an errored build when the pipeline file is broken.
            c = self.state.update(c.comment_id, build=build.number)
            return self.finished(c, build)
        return self.state.update(
            c.comment_id, phase=Phase.BUILDING, build=build.number, build_status=build.status
        )

    def finished(self, c: CommandRow, build: Build) -> CommandRow:
        self.log("build-done", comment=c.comment_id, build=build.number, status=build.status)
        return self.state.update(
            c.comment_id, phase=Phase.FINISHED, outcome=Outcome.BUILT, build_status=build.status
        )

    def _post_comment(self, c: CommandRow, body: str) -> int:
        """Create the bot's comment once: a retry first looks for the one an earlier try
        may have posted (creating a comment is not idempotent either)."""
        body = self.redact(body)
        if c.comment_attempts > 0:
            since = datetime.fromtimestamp(c.received_at - 3600, UTC)  # any clock skew
            for existing in self.gitea.issue_comments(c.repo, c.pr, since):
                # The marker starts the bot's comment: one quoted inside another (from a
                # run record, say) does not count.
                if existing.login == self.identify() and existing.body.startswith(
                    marker(c.comment_id)
                ):
                    self.gitea.edit_comment(c.repo, existing.id, body)
                    return existing.id
        self.state.update(c.comment_id, comment_attempts=c.comment_attempts + 1)
        return self.gitea.create_comment(c.repo, c.pr, body)

    def _run_record(self, c: CommandRow) -> RunSummary | None:
        """The build's run record, read from the results directory: never over the network,
        where the dashboard's public URL goes through the proxy the apps under test share
        (one of them could answer for it)."""
        if self.config.results_dir is None or c.build is None:
            return None
        try:
            raw = read_record(self.config.results_dir, c.build)
        except (OSError, ValueError) as e:
            if c.failures + 1 < RECORD_TRIES:
                raise Unavailable(f"the run record of build {c.build}: {e}") from None
            self.log("no-run-record", comment=c.comment_id, build=c.build, error=e)
            return None
        if raw is None:
            return None
        try:
            return read_summary(raw, c.build)
        except RecordError as e:
            # Read by the same rules as the dashboard's: what it cannot show, neither can we.
            self.log("run-record-unreadable", comment=c.comment_id, build=c.build, error=e)
            return None

    def _final_comment(self, c: CommandRow) -> CommandRow:
        match c.outcome:
            case Outcome.REJECTED:
                body, result = answer_body(c, self.config.trigger.command, self.redact), None
            case Outcome.NO_BUILD:
                body, result = no_build_body(c, self.redact), "error"
            case _:
                run = self._run_record(c)
                retry = retry_decision(run, c.retried_build)
                if retry is not None and run is not None:
                    return self._retry(c, run, retry)
                result = commit_state(c.build_status, run)
                link = run_url(self.config.dashboard_url, c.build)
                first = c.retried_build
                retried = self.drone.build_url(first) if first is not None else None
                body = final_body(
                    c, result, self._build_url(c), link, run, self.redact, retried_url=retried
                )
        posted = self._write_comment(c, body)
        return self.state.update(
            c.comment_id, final_posted=True, result=result, bot_comment=posted or 0
        )

    def _write_comment(self, c: CommandRow, body: str) -> int | None:
        """Edit the bot's comment into `body`, or post it anew when there is none (any more)."""
        if c.bot_comment:
            try:
                self.gitea.edit_comment(c.repo, c.bot_comment, self.redact(body))
                return c.bot_comment
            except Refused as e:
                self.log("edit-refused", comment=c.comment_id, error=e, then="posting anew")
        return self._effect(c, "final-comment", lambda: self._post_comment(c, body))

    def _retry(self, c: CommandRow, run: RunSummary, retry: Retry) -> CommandRow:
        """Retry an errored build once (cc_ci.bridge.retry decides): say so and why on the
        PR, then ask Drone for the same build again; its result is the one reported."""
        link = run_url(self.config.dashboard_url, c.build)
        body = retrying_body(c, self._build_url(c), link, run, retry.error_class, self.redact)
        posted = self._write_comment(c, body)
        self.log("retry-run", comment=c.comment_id, build=c.build, error_class=retry.error_class)
        return self.state.update(
            c.comment_id,
            phase=Phase.REQUESTING,
            retried_build=c.build,
            retried_class=retry.error_class.value,
            build=None,
            build_status=None,
            outcome=None,
            create_attempts=0,
            intent_at=int(self.clock()),
            pending_posted=False,
            bot_comment=posted or 0,
        )

    def _build_url(self, c: CommandRow) -> str:
        return self.drone.build_url(c.build) if c.build is not None else self.config.drone.url
