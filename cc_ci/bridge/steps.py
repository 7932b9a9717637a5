"""Each command's steps, one at a time, each recorded in the state file before the next.

`Steps.advance` runs a command's due steps (`cc_ci.bridge.flow.next_step` decides which) until it
waits for its build, is over, or meets an outage; an outage schedules a retry with backoff.
What the failure itself changes is still done at once: when Drone does not answer the
create, the bot's comment says so before the create waits for its retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cc_ci.bridge.answers import answer_body
from cc_ci.bridge.client import ApiError, Refused, Unavailable
from cc_ci.bridge.config import Config
from cc_ci.bridge.drone import Build, Drone, NoPipeline
from cc_ci.bridge.flow import DRONE_STEPS, Step, backoff, next_step, progress
from cc_ci.bridge.gitea import Gitea
from cc_ci.bridge.identity import RecordMismatch, is_build_of, record_mismatch
from cc_ci.bridge.report import (
    RunSummary,
    ack_body,
    build_message,
    commit_state,
    drone_params,
    final_body,
    marker,
    no_build_body,
    retrying_body,
    run_url,
    status_description,
    summarize_record,
    superseded_body,
    superseded_description,
)
from cc_ci.bridge.retry import Retry, retry_decision
from cc_ci.bridge.state import CommandRow, Outcome, Phase, State
from cc_ci.contract.eventline import EventLog
from cc_ci.contract.names import drone_run_id
from cc_ci.contract.record import RECORD_FILE, RunRecord
from cc_ci.contract.record_read import (
    MAX_RECORD_BYTES,
    RecordError,
    decode_record,
    read_record_file,
)
from cc_ci.contract.redact import Redactor

RECORD_TRIES = 5
"""How often an unreadable run record is read again before the report goes out without
its table."""
SUPERSEDED_STATE = "warning"
"""The commit status of a head whose build a push superseded: not tested, nothing failed."""


def read_record(results_dir: Path, run_id: str) -> bytes | None:
    """The bytes of run `run_id`'s record in the results directory (no symlink followed),
    None when there is none. Raises OSError or ValueError when it cannot be read."""
    path = results_dir / run_id / RECORD_FILE
    try:
        data = read_record_file(path)
    except FileNotFoundError:
        return None
    if len(data) > MAX_RECORD_BYTES:
        raise ValueError(f"{path} is larger than {MAX_RECORD_BYTES} bytes")
    return data


def load_record(results_dir: Path, run_id: str) -> RunRecord | None:
    """Run `run_id`'s record from the results directory, decoded by the dashboard's rules;
    None when there is none. Raises OSError, ValueError or RecordError when it cannot be
    read or is not a record."""
    raw = read_record(results_dir, run_id)
    return decode_record(raw, run_id) if raw is not None else None


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

    def advance(self, c: CommandRow, *, before_drone: bool = False) -> CommandRow:
        """Run the command's steps until it waits. `before_drone`: stop at the first step
        that asks Drone (the loop acknowledges every command before it asks Drone for any)."""
        failed: Step | None = None
        while (step := next_step(c)) is not None:
            if step == failed or (before_drone and step in DRONE_STEPS):
                break
            try:
                c = self._do(step, c)
            except ApiError as e:
                c = self._retry_later(c, step, e)
                if failed is not None:
                    break
                # The failed step waits for its backoff; a step the failure made due before
                # it (saying that Drone is not answering) is done now.
                failed = step
                continue
            if c.failures and failed is None:
                c = self.state.update(c.comment_id, failures=0, next_at=0, last_error="")
        return c

    def _retry_later(self, c: CommandRow, step: Step, e: ApiError) -> CommandRow:
        """An outage, or a refusal no step expected: wait and try again."""
        failures = c.failures + 1
        wait = backoff(failures)
        self.log("retry", comment=c.comment_id, step=step, after_s=wait, error=e)
        changes: dict[str, Any] = {}
        if step is Step.CREATE_BUILD and isinstance(e, Unavailable) and not c.drone_down:
            changes["drone_down"] = True
            self.log("drone-down", comment=c.comment_id, note="the PR comment says so")
        return self.state.update(
            c.comment_id,
            failures=failures,
            next_at=self.clock() + wait,
            last_error=self.redact(str(e)),
            **changes,
        )

    def _do(self, step: Step, c: CommandRow) -> CommandRow:
        update = self.state.update
        match step:
            case Step.AUTHORIZE:
                return self._authorize(c)
            case Step.REACT:
                self._effect(c, "react", lambda: self.gitea.react(c.repo, c.comment_id, "eyes"))
                return update(c.comment_id, reacted=True)
            case Step.PENDING_STATUS:
                self._status(c, "pending", self._build_url(c))
                return update(c.comment_id, pending_posted=True)
            case Step.ACK_COMMENT:
                shown = progress(c)
                body = self._progress_body(c)
                posted = self._effect(c, "ack-comment", lambda: self._post_comment(c, body))
                return update(c.comment_id, bot_comment=posted or 0, shown=shown)
            case Step.UPDATE_COMMENT:
                assert c.bot_comment
                shown = progress(c)
                body = self.redact(self._progress_body(c))
                bot_comment = c.bot_comment
                self._effect(
                    c,
                    "update-comment",
                    lambda: self.gitea.edit_comment(c.repo, bot_comment, body),
                )
                return update(c.comment_id, shown=shown)
            case Step.CREATE_BUILD:
                return self._create_build(c)
            case Step.SUPERSEDE:
                return self._supersede(c)
            case Step.FINAL_COMMENT:
                return self._final_comment(c)
            case Step.FINAL_STATUS:
                assert c.result is not None
                link = self._run_link(c) or self._build_url(c)
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
        if c.outcome is Outcome.SUPERSEDED and state != "pending":
            desc = superseded_description(c, self.redact)
        else:
            desc = status_description(state, c.recipe)
        self._effect(
            c,
            f"status-{state}",
            lambda: self.gitea.set_status(c.repo, c.head_sha or "", state, context, desc, link),
        )

    # --- authorization ----------------------------------------------------------------

    def authorized(self, login: str) -> tuple[bool, str]:
        """Org member or on the allow-list. Only Gitea's definite answer decides: 204 is a
        member; 404 (and the 303 a bot outside the org gets) is not. Anything else (a 5xx,
        a timeout, an answer that makes no sense) raises, and the step is retried."""
        if login.lower() in {a.lower() for a in self.config.trigger.allow}:
            return True, "allow-list"
        member = self.gitea.is_member(self.config.trigger.org, login)
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

    # --- the build ----------------------------------------------------------------------

    def _find_build(self, c: CommandRow) -> Build | None:
        """The build an earlier try may have created (Drone's create is not idempotent)."""
        message = build_message(c)
        return self.drone.find_build(
            lambda b: is_build_of(b, c.comment_id, message),
            not_before=(c.intent_at or c.received_at) - 300,
        )

    def _create_build(self, c: CommandRow) -> CommandRow:
        if c.create_attempts > 0:
            found = self._find_build(c)
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
        c = self.state.update(
            c.comment_id, build=build.number, build_id=build.id or None, drone_down=False
        )
        if build.status == "error":
            # Drone answers 200 with an errored build when the pipeline file is broken.
            return self.finished(c, build)
        return self.state.update(c.comment_id, phase=Phase.BUILDING, build_status=build.status)

    def finished(self, c: CommandRow, build: Build) -> CommandRow:
        self.log("build-done", comment=c.comment_id, build=build.number, status=build.status)
        return self.state.update(
            c.comment_id, phase=Phase.FINISHED, outcome=Outcome.BUILT, build_status=build.status
        )

    def _supersede(self, c: CommandRow) -> CommandRow:
        """The PR's head moved: cancel the old head's build, if it has one, and end."""
        number = c.build
        if number is None and c.create_attempts > 0:
            found = self._find_build(c)  # a create whose answer was lost may have made it
            if found is not None:
                number = found.number
                c = self.state.update(c.comment_id, build=number, build_id=found.id or None)
        status = None
        if number is not None:
            try:
                build = self.drone.cancel(number)
            except Refused as e:
                self.log("cancel-refused", comment=c.comment_id, build=number, error=e)
            else:
                if (
                    build.done
                    and build.status != "killed"
                    and is_build_of(build, c.comment_id, build_message(c))
                ):
                    # It ended before the cancel reached it: its result stands for its head.
                    return self.finished(c, build)
                self.log("cancelled", comment=c.comment_id, build=number, status=build.status)
                status = build.status
        self.log("superseded", comment=c.comment_id, build=number, by=c.superseded_by)
        return self.state.update(
            c.comment_id,
            phase=Phase.FINISHED,
            outcome=Outcome.SUPERSEDED,
            build_status=status,
            result=SUPERSEDED_STATE,
        )

    # --- the bot's comment and the report -----------------------------------------------

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

    def _run_record(self, c: CommandRow) -> RunSummary | RecordMismatch | None:
        """The record of the command's build, read from the results directory (never over
        the network, where the dashboard's public URL goes through the proxy the apps under
        test share: one of them could answer for it), when it is this command's; a mismatch
        names the first field that says otherwise."""
        if self.config.results_dir is None or c.build is None:
            return None
        run_id = drone_run_id(c.build, c.comment_id)
        try:
            raw = read_record(self.config.results_dir, run_id)
        except (OSError, ValueError) as e:
            if c.failures + 1 < RECORD_TRIES:
                raise Unavailable(f"the run record {run_id}: {e}") from None
            self.log("no-run-record", comment=c.comment_id, run=run_id, error=e)
            return None
        if raw is None:
            return None
        try:
            record = decode_record(raw, run_id)
        except RecordError as e:
            # Read by the same rules as the dashboard's: what it cannot show, neither can we.
            self.log("run-record-unreadable", comment=c.comment_id, run=run_id, error=e)
            return None
        mismatch = record_mismatch(record, c)
        if mismatch is not None:
            self.log(
                "run-record-mismatch",
                comment=c.comment_id,
                run=run_id,
                field=mismatch.field,
                recorded=mismatch.recorded,
                expected=mismatch.expected,
            )
            return mismatch
        return summarize_record(record)

    def _final_comment(self, c: CommandRow) -> CommandRow:
        match c.outcome:
            case Outcome.REJECTED:
                body, result = answer_body(c, self.config.trigger.command, self.redact), None
            case Outcome.NO_BUILD:
                body, result = no_build_body(c, self.redact), "error"
            case Outcome.SUPERSEDED:
                body = superseded_body(c, self.config.trigger.command, self._link(c), self.redact)
                result = SUPERSEDED_STATE
            case _:
                run = self._run_record(c)
                retry = retry_decision(run, c.retried_build)
                # A head a push replaced is not worth another try: the new one is to test.
                if retry is not None and isinstance(run, RunSummary) and not c.superseded_by:
                    return self._retry(c, run, retry)
                result = commit_state(c.build_status, run)
                first = c.retried_build
                retried = self.drone.build_url(first) if first is not None else None
                body = final_body(
                    c,
                    result,
                    self._build_url(c),
                    self._run_link(c),
                    run,
                    self.redact,
                    retried_url=retried,
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
        PR, then ask Drone for the same build again; its result is the one reported. The
        retry is a new build: a new number, so a run id of its own
        (drone-<build>-c<command>), and the same parameters, so its record is this
        command's; its message names the build it retries, so neither is taken for the
        other."""
        again = {
            "phase": Phase.REQUESTING,
            "retried_build": c.build,
            "retried_class": retry.error_class.value,
            "build": None,
            "build_id": None,
            "build_status": None,
            "queue_ahead": None,
            "drone_down": False,
            "outcome": None,
            "create_attempts": 0,
            "intent_at": int(self.clock()),
            "pending_posted": False,
        }
        retrying = replace(c, **again)
        body = retrying_body(
            retrying,
            self._build_url(c),
            self._run_link(c),
            run,
            retry.error_class,
            self.redact,
        )
        posted = self._write_comment(c, body)
        self.log("retry-run", comment=c.comment_id, build=c.build, error_class=retry.error_class)
        return self.state.update(
            c.comment_id, **again, shown=progress(retrying), bot_comment=posted or 0
        )

    def _progress_body(self, c: CommandRow) -> str:
        """The bot's comment while the build is asked for, queued or running; for the
        automatic retry, why it is retried and the first try beside it."""
        if c.retried_build is None:
            return ack_body(c, self._link(c), self._run_link(c))
        first = self.drone.build_url(c.retried_build)
        first_run = run_url(self.config.dashboard_url, c.retried_build, c.comment_id)
        return retrying_body(
            c,
            first,
            first_run,
            self._first_try(c),
            c.retried_class,
            self.redact,
            retry_url=self._link(c),
            retry_run_link=self._run_link(c),
        )

    def _first_try(self, c: CommandRow) -> RunSummary | None:
        """The record of the build the retry retries, for the comment: None when it cannot
        be read now or is not this command's (the final report does not need it)."""
        if self.config.results_dir is None or c.retried_build is None:
            return None
        run_id = drone_run_id(c.retried_build, c.comment_id)
        try:
            record = load_record(self.config.results_dir, run_id)
        except (OSError, ValueError, RecordError) as e:
            self.log("first-try-unreadable", comment=c.comment_id, run=run_id, error=e)
            return None
        if record is None or record_mismatch(record, c) is not None:
            return None
        return summarize_record(record)

    def _link(self, c: CommandRow) -> str | None:
        """The build's page, once there is a build."""
        return self.drone.build_url(c.build) if c.build is not None else None

    def _run_link(self, c: CommandRow) -> str | None:
        return run_url(self.config.dashboard_url, c.build, c.comment_id)

    def _build_url(self, c: CommandRow) -> str:
        """The build's page, or before there is one, the cc-ci repository's builds."""
        return self._link(c) or f"{self.config.drone.url}/{self.config.drone.repo}"
