"""What to do next for a command. Pure: a state row in, the next step out.

The steps run one at a time and each records its result in the state file before the next
begins, so after a crash `next_step` of the stored row is exactly the work that was left.
"""

from __future__ import annotations

from enum import StrEnum

from cc_ci.bridge.command import Parsed, parse_command
from cc_ci.bridge.gitea import Comment
from cc_ci.bridge.state import CommandRow, Outcome, Phase


class Step(StrEnum):
    AUTHORIZE = "authorize"
    """Check the commenter; then reject unknown stages, or resolve the PR head."""
    CREATE_BUILD = "create-build"
    """Create the Drone build (after looking for it when an earlier try may have created it)."""
    REACT = "react"
    """The `eyes` reaction on the command comment."""
    ACK_COMMENT = "ack-comment"
    """The bot's comment linking the build."""
    PENDING_STATUS = "pending-status"
    """Commit status `pending` on the head commit."""
    FINAL_COMMENT = "final-comment"
    """Edit the bot's comment (or post one) with the outcome."""
    FINAL_STATUS = "final-status"
    """Commit status success, failure or error."""
    CLOSE = "close"
    """Everything is reported."""


def next_step(c: CommandRow) -> Step | None:
    """The next step, or None when the command waits (for its build) or is over."""
    match c.phase:
        case Phase.RECEIVED:
            return Step.AUTHORIZE
        case Phase.REQUESTING:
            return Step.CREATE_BUILD
        case Phase.BUILDING:
            if not c.reacted:
                return Step.REACT
            if c.bot_comment is None:
                return Step.ACK_COMMENT
            if not c.pending_posted:
                return Step.PENDING_STATUS
            return None
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
