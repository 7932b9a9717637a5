"""abra's command line, as far as abra-sim implements it: argv in, an Invocation out (pure).

Global flags (`-n/--no-input`, `-o/--offline`, `-d/--debug`) are accepted anywhere before
`--` and noted (`Invocation.globals`: the strict readings ask for `-o`, strict.py). Each command accepts only its own flags; anything else is an error, so a
harness that passes a flag real abra would reject fails here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

GLOBAL_FLAGS = frozenset({"-n", "--no-input", "-o", "--offline", "-d", "--debug"})
_GLOBAL_LONG = {"n": "no-input", "o": "offline", "d": "debug"}


class UsageError(Exception):
    """The command line is not one abra-sim accepts."""


@dataclass(frozen=True, slots=True)
class Flag:
    long: str  # without dashes: "server"
    short: str | None = None  # one letter: "s"
    takes_value: bool = False


@dataclass(frozen=True, slots=True)
class CommandSpec:
    path: tuple[str, ...]  # canonical words: ("app", "deploy")
    usage: str  # the positional part: "<domain> [version]"
    flags: tuple[Flag, ...] = ()
    min_args: int = 0
    max_args: int | None = 0  # None: any number
    aliases: Mapping[str, str] = field(default_factory=dict)  # alias word -> canonical


@dataclass(frozen=True, slots=True)
class Invocation:
    path: tuple[str, ...]
    args: tuple[str, ...]
    opts: Mapping[str, str | bool]  # long flag name -> value (True for a boolean flag)
    rest: tuple[str, ...] = ()  # everything after `--`
    globals: frozenset[str] = frozenset()  # the global flags given: "offline", "no-input", …

    def flag(self, name: str) -> bool:
        return bool(self.opts.get(name))

    def value(self, name: str) -> str | None:
        v = self.opts.get(name)
        return v if isinstance(v, str) else None


@dataclass(frozen=True, slots=True)
class Special:
    """`--version` or `--help` rather than a command."""

    what: str  # "version" or "help"
    path: tuple[str, ...] = ()


CHAOS = Flag("chaos", "C")
FORCE = Flag("force", "f")
MACHINE = Flag("machine", "m")
ALL = Flag("all", "a")
NO_CONVERGE = Flag("no-converge-checks", "c")
NO_DOMAIN_CHECKS = Flag("no-domain-checks", "D")

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(("server", "add"), "", (Flag("local", "l"),), 0, 1),
    CommandSpec(("server", "ls"), "", (MACHINE,), aliases={"list": "ls"}),
    CommandSpec(
        ("app", "new"),
        "<recipe>",
        (Flag("server", "s", True), Flag("domain", "D", True), Flag("secrets", "S"), CHAOS),
        1,
        2,
    ),
    CommandSpec(
        ("app", "deploy"),
        "<domain> [version]",
        (CHAOS, NO_CONVERGE, FORCE, NO_DOMAIN_CHECKS, Flag("ignore-env-version", "i")),
        1,
        2,
    ),
    CommandSpec(
        ("app", "upgrade"), "<domain> [version]", (NO_CONVERGE, FORCE, NO_DOMAIN_CHECKS), 1, 2
    ),  # fmt: skip
    CommandSpec(("app", "undeploy"), "<domain>", (), 1, 1),
    CommandSpec(("app", "volume", "remove"), "<domain>", (FORCE,), 1, 1, {"rm": "remove"}),
    CommandSpec(("app", "secret", "remove"), "<domain>", (ALL,), 1, 1, {"rm": "remove"}),
    CommandSpec(
        ("app", "secret", "generate"), "<domain>", (ALL, MACHINE), 1, 1, {"gen": "generate"}
    ),  # fmt: skip
    CommandSpec(
        ("app", "ls"),
        "",
        (MACHINE, Flag("status", "S"), Flag("server", "s", True), Flag("recipe", "r", True)),
        aliases={"list": "ls"},
    ),
    CommandSpec(("app", "ps"), "<domain>", (MACHINE,), 1, 1),
    CommandSpec(
        ("app", "run"),
        "<domain> <service> -- <command…>",
        (Flag("user", "u", True), Flag("no-tty", "t")),
        2,
        None,
    ),
    CommandSpec(("app", "backup", "create"), "<domain>", (CHAOS,), 1, 1),
    CommandSpec(("app", "backup", "snapshots"), "<domain>", (CHAOS,), 1, 1),
    CommandSpec(("app", "restore"), "<domain>", (CHAOS,), 1, 1),
    CommandSpec(("app", "remove"), "<domain>", (FORCE,), 1, 1, {"rm": "remove"}),
)


def _canonical(word: str, prefix: tuple[str, ...]) -> str:
    for spec in COMMANDS:
        if spec.path[: len(prefix)] == prefix and len(spec.path) > len(prefix):
            if word == spec.path[len(prefix)]:
                return word
            if len(spec.path) == len(prefix) + 1 and spec.aliases.get(word) == spec.path[-1]:
                return spec.path[-1]
    return word


def _find(path: tuple[str, ...]) -> CommandSpec | None:
    return next((s for s in COMMANDS if s.path == path), None)


def _is_group(path: tuple[str, ...]) -> bool:
    return any(s.path[: len(path)] == path and len(s.path) > len(path) for s in COMMANDS)


def parse(argv: list[str]) -> Invocation | Special:
    """Parse argv (without the program name); raise UsageError with abra-style wording."""
    if "--" in argv:
        cut = argv.index("--")
        tokens, rest = argv[:cut], tuple(argv[cut + 1 :])
    else:
        tokens, rest = list(argv), ()
    seen = {_GLOBAL_LONG.get(t.lstrip("-"), t.lstrip("-")) for t in tokens if t in GLOBAL_FLAGS}
    tokens = [t for t in tokens if t not in GLOBAL_FLAGS]
    path: tuple[str, ...] = ()
    while tokens and not tokens[0].startswith("-") and _is_group(path):
        word = _canonical(tokens[0], path)
        if not _is_group(path + (word,)) and _find(path + (word,)) is None:
            where = " ".join(("abra", *path))
            raise UsageError(f'unknown command "{tokens[0]}" for "{where}"')
        path += (word,)
        tokens.pop(0)
    if any(t in ("-h", "--help") for t in tokens):
        return Special("help", path)
    if not path and tokens and tokens[0] in ("-v", "--version"):
        if len(tokens) > 1:
            raise UsageError(f"unknown flag: {tokens[1]}")
        return Special("version")
    spec = _find(path)
    if spec is None:
        if tokens:
            raise UsageError(f"unknown flag: {tokens[0]}")
        return Special("help", path)
    inv = _parse_command(spec, tokens, rest)
    return replace(inv, globals=frozenset(seen | inv.globals))


def _parse_command(spec: CommandSpec, tokens: list[str], rest: tuple[str, ...]) -> Invocation:
    by_long = {f.long: f for f in spec.flags}
    by_short = {f.short: f for f in spec.flags if f.short}
    opts: dict[str, str | bool] = {}
    args: list[str] = []
    combined: set[str] = set()  # global flags inside a run of short flags (`-nfC`)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok.startswith("--"):
            name, eq, val = tok[2:].partition("=")
            flag = by_long.get(name)
            if flag is None:
                raise UsageError(f"unknown flag: --{name}")
        elif tok.startswith("-") and len(tok) > 1:
            letters = tok[1:]
            if len(letters) > 1 and all(_boolean_short(c, by_short) for c in letters):
                opts |= {by_short[c].long: True for c in letters if c in by_short}
                combined |= {_GLOBAL_LONG[c] for c in letters if c not in by_short}
                continue
            flag = by_short.get(letters[0])
            if flag is None or (len(letters) > 1 and not flag.takes_value):
                raise UsageError(f"unknown shorthand flag: '{letters[0]}' in {tok}")
            eq, val = ("=", letters[1:]) if len(letters) > 1 else ("", "")
        else:
            args.append(tok)
            continue
        if flag.takes_value:
            if not eq:
                if i >= len(tokens):
                    raise UsageError(f"flag needs an argument: --{flag.long}")
                val = tokens[i]
                i += 1
            opts[flag.long] = val
        elif eq:
            raise UsageError(f"flag --{flag.long} takes no value")
        else:
            opts[flag.long] = True
    if spec.max_args is None:
        args, rest = args[: spec.min_args], tuple(args[spec.min_args :]) + rest
    elif rest:
        raise UsageError(f"abra {' '.join(spec.path)} takes no arguments after --")
    command = " ".join(("abra", *spec.path))
    if len(args) < spec.min_args:
        raise UsageError(f"{command} needs {spec.usage}")
    if spec.max_args is not None and len(args) > spec.max_args:
        raise UsageError(f"{command} accepts at most {spec.max_args} argument(s): {spec.usage}")
    return Invocation(spec.path, tuple(args), opts, rest, frozenset(combined))


def _boolean_short(letter: str, by_short: Mapping[str, Flag]) -> bool:
    """Can this letter stand in a run of short flags such as `-nfC`?"""
    if letter in by_short:
        return not by_short[letter].takes_value
    return f"-{letter}" in GLOBAL_FLAGS


def usage(path: tuple[str, ...] = ()) -> str:
    """One line per command under `path`: words, positional arguments, flags."""
    return "\n".join(
        f"  abra {' '.join(s.path)} {s.usage}".rstrip()
        + "".join(f" [-{f.short}|--{f.long}{' <value>' if f.takes_value else ''}]" for f in s.flags)
        for s in COMMANDS
        if s.path[: len(path)] == path
    )
