"""The bridge: the poll cycle, the webhook's entry, each command's steps, and the loop.

`poll_once`, `report_once` and `advance_due` are the units tests drive one at a time; `run`
is the long-running loop built on them. Every step runs on the main loop's thread; the
webhook thread only records a comment and wakes the loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bridge.client import ApiError, JsonClient, Refused, Unavailable
from bridge.command import Command, UnknownStages, parse_command
from bridge.config import Config, Secrets
from bridge.drone import Build, Drone, NoPipeline
from bridge.eventlog import EventLog
from bridge.flow import Step, backoff, classify, next_step
from bridge.gitea import Comment, Gitea, parse_comment
from bridge.poll import floor, is_new, list_comments, next_since
from bridge.redact import Redactor
from bridge.report import (
    RunSummary,
    ack_body,
    build_message,
    commit_state,
    drone_params,
    final_body,
    marker,
    no_build_body,
    rejected_body,
    run_url,
    status_description,
    summarize_record,
)
from bridge.state import OPEN_PHASES, CommandRow, Outcome, Phase, State
from bridge.webhook import HookServer

REPORT_INTERVAL = 10.0
"""Seconds between two looks at the running builds (or the poll interval, when shorter)."""
RECORD_TRIES = 3
"""How often the run record is asked for before the report goes out without its table."""


@dataclass(slots=True)
class PollHealth:
    at: str | None = None
    ok: bool = False
    repos: int = 0
    new_commands: int = 0
    requests: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def document(self, polling: bool) -> dict[str, Any]:
        if not polling:
            status = "ok"
        elif self.at is None:
            status = "starting"
        else:
            status = "ok" if self.ok else "degraded"
        return {
            "status": status,
            "polling": polling,
            "last_poll": {
                "at": self.at,
                "ok": self.ok,
                "repos": self.repos,
                "new_commands": self.new_commands,
                "requests": self.requests,
                "errors": self.errors,
            },
        }


class Bridge:
    def __init__(
        self,
        config: Config,
        secrets: Secrets,
        *,
        clock: Callable[[], float] = time.time,
        log: EventLog | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.redact = Redactor(secrets.values())
        self.log = log or EventLog(self.redact)
        self.log.redact = self.redact
        self.clock = clock
        self.state = State(config.state_path)
        self.gitea = Gitea(config.gitea.url, secrets.gitea_token, self.redact, timeout)
        self.drone = Drone(
            config.drone.url, secrets.drone_token, config.drone.repo, self.redact, timeout
        )
        self.dashboard = (
            JsonClient("dashboard", config.dashboard_url, None, self.redact, timeout)
            if config.dashboard_url
            else None
        )
        self.bot_login: str | None = None
        self.health = PollHealth()
        self.wake = threading.Event()
        for repo in self.state.ensure_repos(config.trigger.repos, int(clock())):
            self.log("enrolled", repo=repo, note="comments from before now are not acted on")

    # --- comments in ----------------------------------------------------------------------

    def identify(self) -> str:
        """The bot's own login (its comments are never commands), asked once."""
        if self.bot_login is None:
            self.bot_login = self.gitea.whoami()
            self.log("identified", login=self.bot_login)
        return self.bot_login

    def ingest(self, comment: Comment) -> bool:
        """Record a comment once, whichever path brought it; True when it is a new command."""
        if comment.repo not in self.config.trigger.repos:
            return False
        baseline, since = self.state.cursor(comment.repo)
        if not is_new(comment, baseline, since) or self.state.is_seen(comment.id):
            return False
        parsed = classify(comment, self.identify(), self.config.trigger.command)
        row = None
        if isinstance(parsed, Command | UnknownStages):
            row = CommandRow(
                comment_id=comment.id,
                repo=comment.repo,
                pr=comment.pr or 0,
                login=comment.login,
                comment_url=comment.html_url,
                stages=parsed.stages_param if isinstance(parsed, Command) else "",
                unknown_stages=",".join(parsed.unknown)
                if isinstance(parsed, UnknownStages)
                else "",
                phase=Phase.RECEIVED,
                received_at=int(self.clock()),
                recipe=self.config.recipe_for(comment.repo),
            )
        created = int(comment.created_at.timestamp())
        if not self.state.record(comment.id, comment.repo, created, row) or row is None:
            return False
        self.log(
            "command",
            repo=comment.repo,
            pr=comment.pr,
            comment=comment.id,
            by=comment.login,
            stages=row.stages or "all",
        )
        return True

    def poll_once(self) -> PollHealth:
        """One poll cycle: each enrolled repository's new comments, then the due steps."""
        health = PollHealth(repos=len(self.config.trigger.repos))
        before = self.gitea.http.requests
        try:
            self.identify()
        except ApiError as e:
            health.errors["*"] = str(e)
        if not health.errors:
            for repo in self.config.trigger.repos:
                try:
                    health.new_commands += self._poll_repo(repo)
                except ApiError as e:
                    health.errors[repo] = str(e)
                    self.log("poll-failed", repo=repo, error=e)
        health.requests = self.gitea.http.requests - before
        health.ok = not health.errors
        health.at = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.health = health
        self.advance_due()
        return health

    def _poll_repo(self, repo: str) -> int:
        baseline, since = self.state.cursor(repo)
        listing = list_comments(self.gitea, repo, since)
        new = 0
        for c in sorted(listing.comments, key=lambda c: (c.created_at, c.id)):
            new += self.ingest(c)
        self.state.advance(repo, next_since(since, listing), floor(baseline, since))
        return new

    def hook(self, event: str, payload: Any) -> tuple[int, str]:
        """A verified webhook delivery → (HTTP status, what was done)."""
        if event != "issue_comment":
            return 200, f"ignored: event {event}"
        if not isinstance(payload, dict) or payload.get("action") != "created":
            return 200, "ignored: only new comments are commands"
        repo = (payload.get("repository") or {}).get("full_name")
        if repo not in self.config.trigger.repos:
            return 200, "ignored: repository not enrolled"
        try:
            hinted = parse_comment(repo, payload.get("comment"))
        except Unavailable as e:
            return 400, str(e)
        if self.state.is_seen(hinted.id):
            return 200, "ignored: seen before"
        if parse_command(hinted.body, self.config.trigger.command) is None:
            return 200, "ignored: not a command"
        # The payload is only a hint: the comment is read back from Gitea, so a forged or
        # replayed delivery can at most make the bridge act sooner on a real comment.
        try:
            self.identify()
            comment = self.gitea.comment(repo, hinted.id)
        except Refused as e:
            return 200, f"ignored: {e}"
        except Unavailable as e:
            return 503, str(e)
        if self.ingest(comment):
            self.wake.set()
            return 202, "queued"
        return 200, "ignored: not a new command"

    # --- steps ----------------------------------------------------------------------------

    def advance_due(self) -> None:
        """Run every command's due steps until each waits, is over, or hits an outage."""
        now = self.clock()
        for c in self.state.commands(*OPEN_PHASES):
            if c.next_at <= now:
                self.advance(c)

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
        if c.unknown_stages:
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
            return self._finished(c, build)
        return self.state.update(
            c.comment_id, phase=Phase.BUILDING, build=build.number, build_status=build.status
        )

    def _finished(self, c: CommandRow, build: Build) -> CommandRow:
        self.log("build-done", comment=c.comment_id, build=build.number, status=build.status)
        return self.state.update(
            c.comment_id, phase=Phase.FINISHED, outcome=Outcome.BUILT, build_status=build.status
        )

    def _post_comment(self, c: CommandRow, body: str) -> int:
        """Create the bot's comment once: a retry first looks for the one an earlier try
        may have posted (creating a comment is not idempotent either)."""
        body = self.redact(body)
        if c.comment_attempts > 0:
            since = datetime.fromtimestamp(c.received_at - 60, UTC)
            for existing in self.gitea.issue_comments(c.repo, c.pr, since):
                if existing.login == self.identify() and marker(c.comment_id) in existing.body:
                    self.gitea.edit_comment(c.repo, existing.id, body)
                    return existing.id
        self.state.update(c.comment_id, comment_attempts=c.comment_attempts + 1)
        return self.gitea.create_comment(c.repo, c.pr, body)

    def _run_record(self, c: CommandRow) -> RunSummary | None:
        if self.dashboard is None or c.build is None:
            return None
        try:
            reply = self.dashboard.request("GET", f"/api/runs/drone-{c.build}", ok=(200, 404))
            return (
                summarize_record(self.dashboard.decode(reply, "run record"))
                if reply.status == 200
                else None
            )
        except ApiError as e:
            if c.failures + 1 < RECORD_TRIES:
                raise Unavailable(f"the run record of build {c.build}: {e}") from None
            self.log("no-run-record", comment=c.comment_id, build=c.build, error=e)
            return None

    def _final_comment(self, c: CommandRow) -> CommandRow:
        match c.outcome:
            case Outcome.REJECTED:
                body, result = rejected_body(c, self.config.trigger.command), None
            case Outcome.NO_BUILD:
                body, result = no_build_body(c), "error"
            case _:
                run = self._run_record(c)
                result = commit_state(c.build_status, run)
                link = run_url(self.config.dashboard_url, c.build)
                body = final_body(c, result, self._build_url(c), link, run)
        posted = None
        if c.bot_comment:
            try:
                self.gitea.edit_comment(c.repo, c.bot_comment, self.redact(body))
                posted = c.bot_comment
            except Refused as e:
                self.log("edit-refused", comment=c.comment_id, error=e, then="posting anew")
        if posted is None:
            posted = self._effect(c, "final-comment", lambda: self._post_comment(c, body))
        return self.state.update(
            c.comment_id, final_posted=True, result=result, bot_comment=posted or 0
        )

    def _build_url(self, c: CommandRow) -> str:
        return self.drone.build_url(c.build) if c.build is not None else self.config.drone.url

    # --- builds ---------------------------------------------------------------------------

    def report_once(self) -> None:
        """Look at every running build once; report those that are done."""
        for c in self.state.commands(Phase.BUILDING):
            assert c.build is not None
            try:
                build = self.drone.build(c.build)
            except Unavailable as e:
                self.log("watch-failed", build=c.build, error=e)
                continue
            except Refused as e:
                self.log("watch-refused", build=c.build, error=e)
                build = Build(c.build, "unknown", 0)
            if build.done:
                self._finished(c, build)
        self.advance_due()

    # --- the loop -------------------------------------------------------------------------

    def next_wake(self) -> float | None:
        times = [c.next_at for c in self.state.commands(*OPEN_PHASES) if c.next_at > 0]
        return min(times) if times else None

    def run(self, stop: threading.Event) -> None:
        interval = self.config.trigger.poll_interval
        report_every = min(REPORT_INTERVAL, interval) if interval else REPORT_INTERVAL
        next_poll = next_report = self.clock()
        self.log(
            "started",
            repos=len(self.config.trigger.repos),
            poll_interval=interval,
            webhook=self.config.webhook is not None,
        )
        while not stop.is_set():
            self.wake.clear()
            now = self.clock()
            try:
                if interval and now >= next_poll:
                    self.poll_once()
                    next_poll = now + interval
                if now >= next_report:
                    self.report_once()
                    next_report = now + report_every
                else:
                    self.advance_due()
            except Exception as e:  # noqa: BLE001 - the loop must outlive one bad cycle
                self.log("cycle-failed", error=f"{e.__class__.__name__}: {e}")
            wakes = [next_report] + ([next_poll] if interval else [])
            due = self.next_wake()
            if due is not None:
                wakes.append(due)
            self.wake.wait(max(0.0, min(wakes) - self.clock()))
        self.log("stopped")


def health_status(bridge: Bridge) -> tuple[int, dict[str, Any]]:
    """`GET /healthz`: 200 when the last poll reached every repository, else 503."""
    doc = bridge.health.document(polling=bridge.config.trigger.poll_interval > 0)
    doc["open_commands"] = len(bridge.state.commands(*OPEN_PHASES))
    return (200 if doc["status"] == "ok" else 503), doc


def webhook_server(bridge: Bridge) -> HookServer:
    """The `[webhook]` endpoint for this bridge, bound but not yet serving."""
    assert bridge.config.webhook is not None
    return HookServer(
        (bridge.config.webhook.host, bridge.config.webhook.port),
        bridge.secrets.webhook_secret,
        bridge.hook,
        lambda: health_status(bridge),
        bridge.log,
    )
