"""What a comment asks for. Pure: a comment's body in, a decision out.

The comment's first line, trimmed, must be the command word alone or followed by words,
separated by spaces (stage names may also be separated by commas):

    !testme                           every stage
    !testme install upgrade           these stages, in lifecycle order
    !testme upgrade from=TAG[,TAG]    upgrade from these release tags (the harness's
                                      --upgrade-from); needs the upgrade stage to run
    !testme help                      the syntax, the stages and the enrolled recipe

Anything else on the first line is not a command. A command that cannot be run as written
(a stage or option that does not exist, a tag that is not a ref) is answered, never run.
"""

from __future__ import annotations

from dataclasses import dataclass

from cc_ci.contract.names import InvalidInput, validate_ref
from cc_ci.contract.stages import StageName, in_order, unknown_stages

HELP_WORD = "help"
FROM_OPTION = "from"
MAX_UPGRADE_BASES = 5
"""The most release tags one `from=` may name: each is a deployment of its own."""


@dataclass(frozen=True, slots=True)
class Command:
    """A valid command: the stages to run in lifecycle order (empty means all of them) and
    the release tags to upgrade from (empty: the harness's default, the previous release)."""

    stages: tuple[StageName, ...]
    upgrade_from: tuple[str, ...] = ()

    @property
    def stages_param(self) -> str:
        """The Drone `STAGES` parameter: a comma list, empty for all."""
        return ",".join(self.stages)

    @property
    def upgrade_from_param(self) -> str:
        """The Drone `UPGRADE_FROM` parameter: a comma list of tags, empty for the default."""
        return ",".join(self.upgrade_from)


@dataclass(frozen=True, slots=True)
class UnknownStages:
    """The command word with stage names the runner does not know: answered, never run."""

    unknown: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Help:
    """`!testme help`: answered with the syntax, never run."""


@dataclass(frozen=True, slots=True)
class BadOption:
    """An option the command cannot take as written: answered with why, never run."""

    problem: str


Parsed = Command | UnknownStages | Help | BadOption


def parse_command(body: str, word: str) -> Parsed | None:
    """What the comment asks for, or None when it is not a command at all."""
    first = body.lstrip("\ufeff").split("\n", 1)[0].strip()
    tokens = first.split()
    if not tokens or tokens[0] != word:
        return None
    names: list[str] = []
    options: dict[str, str] = {}
    for token in tokens[1:]:
        key, eq, value = token.partition("=")
        if not eq:
            names += [n for n in token.split(",") if n]
        elif key in options:
            return BadOption(f"{key}= is given twice")
        else:
            options[key] = value
    if HELP_WORD in names:
        return Help()
    unknown = unknown_stages(names)
    if unknown:
        return UnknownStages(unknown)
    stages = in_order(names)
    upgrade_from: tuple[str, ...] = ()
    for key, value in options.items():
        if key != FROM_OPTION:
            return BadOption(f"there is no option {key}=, the one option is from=TAG[,TAG]")
        tags = parse_tags(value)
        if isinstance(tags, BadOption):
            return tags
        if stages and StageName.UPGRADE not in stages:
            return BadOption("from= names upgrade bases, but the upgrade stage is not asked for")
        upgrade_from = tags
    return Command(stages, upgrade_from)


def parse_tags(value: str) -> tuple[str, ...] | BadOption:
    """`from=`'s comma list of release tags, each checked by the contract's ref rules."""
    tags = tuple(dict.fromkeys(t for t in value.split(",") if t))
    if not tags:
        return BadOption("from= names no tag: write from=TAG or from=TAG,TAG")
    if len(tags) > MAX_UPGRADE_BASES:
        return BadOption(f"from= names {len(tags)} tags, at most {MAX_UPGRADE_BASES} are run")
    for tag in tags:
        try:
            validate_ref(tag)
        except InvalidInput:
            return BadOption(f"from= names {tag!r}, which is not a tag name")
    return tags


ANSWER_HELP = "help"
ANSWER_INVALID = "invalid"


def row_fields(parsed: Parsed) -> dict[str, str]:
    """What the state's command row keeps of a parsed command (`CommandRow`'s `stages`,
    `unknown_stages`, `upgrade_from`, `answer` and, for an invalid one, `reason`)."""
    match parsed:
        case Command():
            return {"stages": parsed.stages_param, "upgrade_from": parsed.upgrade_from_param}
        case UnknownStages():
            return {"unknown_stages": ",".join(parsed.unknown)}
        case Help():
            return {"answer": ANSWER_HELP}
        case BadOption():
            return {"answer": ANSWER_INVALID, "reason": parsed.problem}
