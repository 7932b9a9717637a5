"""The bridge: the poll cycle, the webhook's entry, watching builds, and the loop.

`poll_once`, `report_once` and `advance_due` are the units tests drive one at a time; `run`
is the long-running loop built on them. Every step runs on the main loop's thread; the
webhook thread only records a comment and wakes the loop.

Watching (`report_once`, every 10 s at most) reads each open build, Drone's queue once for
all the builds still waiting, and the head of each PR with an open command: a push to it
supersedes the command (docs/bridge.md, "Queue and supersede").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cc_ci.bridge.branch import BranchJobs, period_start
from cc_ci.bridge.client import ApiError, Refused, Unavailable
from cc_ci.bridge.command import parse_command, row_fields
from cc_ci.bridge.config import Config, Secrets
from cc_ci.bridge.drone import Build, Drone, QueueItem, builds_ahead
from cc_ci.bridge.flow import classify, edited
from cc_ci.bridge.gitea import Comment, Gitea, parse_comment
from cc_ci.bridge.identity import is_build_of
from cc_ci.bridge.poll import floor, is_new, list_comments, next_since
from cc_ci.bridge.report import build_message
from cc_ci.bridge.state import OPEN_JOB_PHASES, OPEN_PHASES, CommandRow, Phase, State
from cc_ci.bridge.steps import Steps
from cc_ci.bridge.webhook import HookServer
from cc_ci.contract.eventline import EventLog
from cc_ci.contract.redact import Redactor

REPORT_INTERVAL = 10.0
"""Seconds between two looks at the running builds (or the poll interval, when shorter)."""
QUEUE_WITHHELD = (401, 403, 404, 405, 501)
"""Drone's answers to `GET /api/queue` that will not change by asking again: the token is
no admin's, or this Drone was built without the queue API (501)."""


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
        self.bot_login: str | None = None
        self.steps = Steps(
            config,
            self.state,
            self.gitea,
            self.drone,
            self.log,
            self.redact,
            clock,
            self.identify,
        )
        self.jobs = BranchJobs(
            config, self.state, self.gitea, self.drone, self.log, self.redact, clock
        )
        """The default-branch runs: the schedule and new tags (cc_ci.bridge.branch)."""
        self.health = PollHealth()
        self.wake = threading.Event()
        self.queue_withheld = False
        """Drone will not show its queue to this bridge (logged once): no place is shown."""
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
        if parsed is None and edited(comment) and self._looks_like_command(comment.body):
            self.log(
                "ignored",
                repo=comment.repo,
                comment=comment.id,
                why="edited before the bridge saw it: only a comment created as a command counts",
            )
        row = None
        if parsed is not None:
            fields = {"stages": "", "unknown_stages": "", **row_fields(parsed)}
            row = CommandRow(
                comment_id=comment.id,
                repo=comment.repo,
                pr=comment.pr or 0,
                login=comment.login,
                comment_url=comment.html_url,
                phase=Phase.RECEIVED,
                received_at=int(self.clock()),
                recipe=self.config.recipe_for(comment.repo),
                **fields,
            )
        created = int(comment.created_at.timestamp())
        if not self.state.record(comment.id, comment.repo, created, row) or row is None:
            return False
        extra = {"upgrade_from": row.upgrade_from, "answer": row.answer}
        self.log(
            "command",
            repo=comment.repo,
            pr=comment.pr,
            comment=comment.id,
            by=comment.login,
            stages=row.stages or "all",
            **{k: v for k, v in extra.items() if v},
        )
        return True

    def _looks_like_command(self, body: str) -> bool:
        return parse_command(body, self.config.trigger.command) is not None

    def poll_once(self) -> PollHealth:
        """One poll cycle: each enrolled repository's new comments, then the due steps."""
        health = PollHealth(repos=len(self.config.trigger.repos))
        before = self.gitea.http.requests
        try:
            self.identify()
        except ApiError as e:
            health.errors["*"] = str(e)
        if not health.errors:
            for i, repo in enumerate(self.config.trigger.repos):
                try:
                    health.new_commands += self._poll_repo(repo)
                except ApiError as e:
                    health.errors[repo] = str(e)
                    self.log("poll-failed", repo=repo, error=e)
                    if e.status is None:
                        # No answer at all (down, a timeout): the other repositories are on
                        # the same server; the next cycle tries again.
                        for rest in self.config.trigger.repos[i + 1 :]:
                            health.errors[rest] = "skipped: Gitea did not answer this cycle"
                        break
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
        if not self._looks_like_command(hinted.body):
            # Seen now, as Gitea created it: if it is edited into a command later (even
            # within the same second, which the poll cannot tell from Gitea's times), it
            # never counts.
            self.state.record(hinted.id, repo, int(hinted.created_at.timestamp()), None)
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
        """Run every command's due steps until each waits, is over, or hits an outage:
        first every command's steps up to asking Drone (so each is acknowledged at once,
        however slow Drone is), then the rest."""
        now = self.clock()
        due = [c for c in self.state.commands(*OPEN_PHASES) if c.next_at <= now]
        for c in due:
            self.steps.advance(c, before_drone=True)
        for c in due:
            c = self.state.command(c.comment_id)
            if c.phase in OPEN_PHASES and c.next_at <= now:
                self.steps.advance(c)

    # --- builds ---------------------------------------------------------------------------

    def report_once(self) -> None:
        """Look at every open build once: report those that are done, follow the place of
        those still queued, and supersede the commands whose PR head moved."""
        waiting = []
        for c in self.state.commands(Phase.BUILDING):
            assert c.build is not None
            try:
                build = self.drone.build(c.build)
            except Unavailable as e:
                self.log("watch-failed", build=c.build, error=e)
                if e.status is None:
                    break  # Drone did not answer: the next look tries every build again
                continue
            except Refused as e:
                self.log("watch-refused", build=c.build, error=e)
                build = Build(c.build, "unknown", 0)
            else:
                if not is_build_of(build, c.comment_id, build_message(c)):
                    # Drone numbered builds afresh (a new database): this number is
                    # another build now, and this command's is gone.
                    self.log("build-gone", comment=c.comment_id, build=c.build, why="not ours")
                    build = Build(c.build, "unknown", 0)
            if build.done:
                self.steps.finished(c, build)
                continue
            if build.status != c.build_status:
                c = self.state.update(c.comment_id, build_status=build.status)
            if build.status != "running":
                waiting.append(c)
            elif c.queue_ahead is not None:
                self.state.update(c.comment_id, queue_ahead=None)
        if waiting:
            self._follow_queue(waiting)
        self._check_heads()
        self.jobs.watch()
        self.advance_due()

    def branch_once(self) -> None:
        """The default-branch runs' due work: plan this period's scheduled jobs, read the
        tags when due, and take each open job as far as it goes."""
        self.jobs.plan_due()
        self.jobs.read_tags()
        self.jobs.advance_due()

    def _follow_queue(self, waiting: list[CommandRow]) -> None:
        """Each waiting build's place in Drone's queue: one request for all of them."""
        if self.queue_withheld:
            return
        try:
            queue: tuple[QueueItem, ...] = self.drone.queue()
        except ApiError as e:
            if e.status in QUEUE_WITHHELD:
                self.queue_withheld = True
                self.log("queue-withheld", error=e, then="no place in the queue is shown")
            else:
                self.log("queue-failed", error=e)
            return
        for c in waiting:
            ahead = builds_ahead(queue, c.build_id) if c.build_id else None
            if ahead != c.queue_ahead:
                self.state.update(c.comment_id, queue_ahead=ahead)

    def _check_heads(self) -> None:
        """Read the head of each PR with a command that is waiting for or running its
        build; a head that moved supersedes the commands made for the old one."""
        open_ = [
            c
            for c in self.state.commands(Phase.REQUESTING, Phase.BUILDING)
            if c.head_sha and not c.superseded_by
        ]
        for repo, pr in sorted({(c.repo, c.pr) for c in open_}):
            try:
                head = self.gitea.pull_head(repo, pr)
            except ApiError as e:
                self.log("head-check-failed", repo=repo, pr=pr, error=e)
                if e.status is None:
                    return  # Gitea did not answer: the next look tries again
                continue
            for c in open_:
                if (c.repo, c.pr) == (repo, pr) and head.sha != c.head_sha:
                    self.log("head-moved", comment=c.comment_id, old=c.head_sha, new=head.sha)
                    self.state.update(c.comment_id, superseded_by=head.sha)

    # --- the loop -------------------------------------------------------------------------

    def next_wake(self) -> float | None:
        times = [c.next_at for c in self.state.commands(*OPEN_PHASES) if c.next_at > 0]
        job = self.jobs.next_wake()
        if job is not None:
            times.append(job)
        schedule = self.config.schedule
        if schedule.interval:
            times.append(period_start(self.clock(), schedule.interval) + schedule.interval)
        if schedule.tags:
            times.append(self.jobs.next_tags)
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
            run_records=self.config.results_dir or "none: reports have no stage table",
            schedule=self.config.schedule.interval or "off",
            tags=self.config.schedule.tags,
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
            try:
                # apart: trouble with the commands never holds up the default-branch runs,
                # nor the other way round
                self.branch_once()
            except Exception as e:  # noqa: BLE001 - the loop must outlive one bad cycle
                self.log(
                    "cycle-failed", part="default-branch", error=f"{e.__class__.__name__}: {e}"
                )
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
    doc["open_jobs"] = len(bridge.state.jobs(*OPEN_JOB_PHASES))
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
