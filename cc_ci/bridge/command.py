"""What a comment asks for. Pure: a comment's body in, a decision out.

The comment's first line, trimmed, must be the command word alone or followed by stage
names (separated by spaces or commas). Anything else is not a command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cc_ci.contract.stages import StageName, in_order, unknown_stages


@dataclass(frozen=True, slots=True)
class Command:
    """A valid command: the stages to run in lifecycle order; empty means all of them."""

    stages: tuple[StageName, ...]

    @property
    def stages_param(self) -> str:
        """The Drone `STAGES` parameter: a comma list, empty for all."""
        return ",".join(self.stages)


@dataclass(frozen=True, slots=True)
class UnknownStages:
    """The command word with stage names the runner does not know: answered, never run."""

    unknown: tuple[str, ...]


def parse_command(body: str, word: str) -> Command | UnknownStages | None:
    """`Command`, `UnknownStages`, or None when the comment is not a command at all."""
    first = body.lstrip("\ufeff").split("\n", 1)[0].strip()
    tokens = first.split(None, 1)
    if not tokens or tokens[0] != word:
        return None
    rest = tokens[1] if len(tokens) > 1 else ""
    names = [n for n in re.split(r"[\s,]+", rest) if n]
    unknown = unknown_stages(names)
    if unknown:
        return UnknownStages(unknown)
    return Command(in_order(names))
