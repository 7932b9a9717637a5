"""What the bridge answers to a command it does not run: `help`, an unknown stage, an option
it cannot take. Pure: a command row in, markdown out (text from the comment goes through
`cc_ci.bridge.report.text`, which masks secrets with the `redact` function before it cuts
and sets what it quotes in a code span)."""

from __future__ import annotations

from cc_ci.bridge.command import ANSWER_HELP, FROM_OPTION, HELP_WORD, MAX_UPGRADE_BASES
from cc_ci.bridge.report import Redact, marker, text
from cc_ci.bridge.state import CommandRow
from cc_ci.contract.stages import STAGES, StageName

STAGE_MEANING = {
    StageName.INSTALL: "a fresh deploy of the PR head comes up healthy and its tests pass",
    StageName.UPGRADE: "the previous release (or `from=`), upgraded to the PR head, keeps its data",
    StageName.BACKUP: "backup, mutate, restore brings the original data back",
    StageName.RECIPE_LOCAL: "the recipe's own tests, in a sandbox, against the live app",
}
"""What each stage proves, as `help` says it."""


def answer_body(c: CommandRow, word: str, redact: Redact) -> str:
    """The reply to a command that is answered, not run: `help`, an invalid option, or an
    unknown stage."""
    if c.answer == ANSWER_HELP:
        return help_body(c, word)
    if c.unknown_stages:
        return rejected_body(c, word, redact)
    return invalid_body(c, word, redact)


def rejected_body(c: CommandRow, word: str, redact: Redact) -> str:
    unknown = ", ".join(text(s, 40, redact=redact) for s in c.unknown_stages.split(","))
    valid = ", ".join(f"`{s}`" for s in STAGES)
    return "\n".join(
        [
            marker(c.comment_id),
            f"**cc-ci** does not know the stage {unknown}: nothing was started.",
            "",
            f"Valid stages: {valid}. `{word}` alone runs all of them, e.g. `{word} install upgrade`.",
            f"`{word} {HELP_WORD}` shows the whole syntax.",
        ]
    )


def invalid_body(c: CommandRow, word: str, redact: Redact) -> str:
    return "\n".join(
        [
            marker(c.comment_id),
            f"**cc-ci** cannot run this command as written: {text(c.reason, 300, redact=redact)}. "
            "Nothing was started.",
            "",
            f"`{word} {HELP_WORD}` shows the syntax.",
        ]
    )


def help_body(c: CommandRow, word: str) -> str:
    """The syntax, the stages (the contract's, in run order) and the recipe this repository
    is enrolled as."""
    stages = [f"| `{s}` | {STAGE_MEANING.get(s, '')} |" for s in STAGES]
    return "\n".join(
        [
            marker(c.comment_id),
            f"**cc-ci** tests the recipe `{c.recipe}` (enrolled repository `{c.repo}`) at this "
            "pull request's head commit, on a real swarm, and edits its comment into the result.",
            "",
            "| comment | runs |",
            "|---|---|",
            f"| `{word}` | every stage |",
            f"| `{word} install upgrade` | the stages named (in run order, whatever order they "
            "are written in; spaces or commas between them) |",
            f"| `{word} upgrade {FROM_OPTION}=TAG[,TAG]` | the upgrade from these release tags "
            f"(at most {MAX_UPGRADE_BASES}) instead of the previous release |",
            f"| `{word} {HELP_WORD}` | nothing: this answer |",
            "",
            "The command must be the first line of a new comment.",
            "",
            "| stage | proves |",
            "|---|---|",
            *stages,
            "",
            "A run that ends in an error of Docker or of pulling an image is retried once by "
            "itself; the comment says so and why.",
        ]
    )
