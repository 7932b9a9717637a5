"""What to do next for a command. Pure: a state row in, the next step out.

The steps run one at a time and each records its result in the state file before the next
begins, so after a crash `next_step` of the stored row is exactly the work that was left.
The order (docs/bridge.md, "The order of the steps"): authorize, then acknowledge (👀, the
pending status), then ask Drone; the bot's comment follows the build (Drone not answering,
its place in the queue, running) and ends as the report.
"""

from __future__ import annotations

from enum import StrEnum

from cc_ci.bridge.command import Parsed, parse_command
from cc_ci.bridge.drone import NOT_DONE
from cc_ci.bridge.gitea import Comment
from cc_ci.bridge.state import CommandRow, Outcome, Phase


class Step(StrEnum):
    AUTHORIZE = "authorize"
    """Check the commenter; then reject unknown stages, or resolve the PR head."""
    REACT = "react"
    """The `eyes` reaction on the command comment."""
    PENDING_STATUS = "pending-status"
    """Commit status `pending` on the head commit."""
    ACK_COMMENT = "ack-comment"
    """The bot's comment: what is tested, and how far it is (`progress`)."""
    CREATE_BUILD = "create-build"
    """Create the Drone build (after looking for it when an earlier try may have created it)."""
    UPDATE_COMMENT = "update-comment"
    """Edit the bot's comment to show the progress as it now is."""
    SUPERSEDE = "supersede"
    """The PR's head moved: cancel the build (if there is one) and end as superseded."""
    FINAL_COMMENT = "final-comment"
    """Edit the bot's comment (or post one) with the outcome."""
    FINAL_STATUS = "final-status"
    """Commit status success, failure, error (or warning, when superseded)."""
    CLOSE = "close"
    """Everything is reported."""


DRONE_STEPS = frozenset({Step.CREATE_BUILD, Step.SUPERSEDE})
"""The steps that ask Drone: every command's acknowledgement goes out before any of them."""


def progress(c: CommandRow) -> str:
    """What the bot's comment should show of an open command: `drone-down` (Drone did not
    answer the create), `starting` (not yet asked), `queued` or `queued-<n>` (pending, n
    builds ahead in Drone's queue), `running`; "" once the build is done."""
    if c.build is None:
        return "drone-down" if c.drone_down else "starting"
    status = c.build_status or "pending"
    if status == "running":
        return "running"
    if status in NOT_DONE:
        return "queued" if c.queue_ahead is None else f"queued-{c.queue_ahead}"
    return ""


def _comment_step(c: CommandRow) -> Step | None:
    if c.bot_comment is None:
        return Step.ACK_COMMENT
    if c.bot_comment and c.shown != progress(c):
        return Step.UPDATE_COMMENT
    return None


def next_step(c: CommandRow) -> Step | None:
    """The next step, or None when the command waits (for its build) or is over."""
    match c.phase:
        case Phase.RECEIVED:
            return Step.AUTHORIZE
        case Phase.REQUESTING:
            if c.superseded_by:
                return Step.SUPERSEDE
            if not c.reacted:
                return Step.REACT
            if not c.pending_posted and c.retried_build is None:
                # The automatic retry was acknowledged long ago, and the head's status is
                # still the first try's `pending`: the retry's names its build, once it has one.
                return Step.PENDING_STATUS
            if c.drone_down and (step := _comment_step(c)) is not None:
                return step
            return Step.CREATE_BUILD
        case Phase.BUILDING:
            if c.superseded_by:
                return Step.SUPERSEDE
            if not c.reacted:
                return Step.REACT
            if not c.pending_posted:
                return Step.PENDING_STATUS
            return _comment_step(c)
        case Phase.FINISHED:
            if not c.reacted:
                return Step.REACT
            if not c.final_posted:
                return Step.FINAL_COMMENT
            if c.outcome is not Outcome.REJECTED and c.head_sha and not c.final_status_posted:
                return Step.FINAL_STATUS
            return Step.CLOSE
    return None


EDIT_SLACK = 1
"""Seconds `updated_at` may be past `created_at` in a comment never edited: Gitea stamps the
two separately at creation, in whole seconds, so they can fall either side of a second."""


def edited(comment: Comment) -> bool:
    """True when the comment was changed after it was created (as far as Gitea's times tell)."""
    return (comment.updated_at - comment.created_at).total_seconds() > EDIT_SLACK


def classify(comment: Comment, bot_login: str, word: str) -> Parsed | None:
    """The command a comment holds, or None: not on a PR, the bot's own, edited since it was
    created (only a comment *created* as a command counts), or no command."""
    if comment.pr is None or comment.login.lower() == bot_login.lower() or edited(comment):
        return None
    return parse_command(comment.body, word)


def backoff(failures: int) -> float:
    """Seconds to wait after the n-th consecutive failure: 2, 4, 8 … at most 5 minutes."""
    return float(min(300, 2 ** max(1, failures)))
