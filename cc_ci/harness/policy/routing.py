"""The compose policy's routing rule: a recipe's Traefik labels route its own domains only. Pure.

Traefik reads the labels of every service on the swarm, so a recipe's labels can claim any
host name (cc-ci's dashboard, the bridge's hook, another run's app), a TCP port, another
provider's middleware or Traefik's own API. The rule reads every `traefik.*` label of every
service (its `deploy.labels`, which Traefik's swarm provider reads, and its container
`labels`, which the plain Docker provider would) and refuses, one finding per label, what
reaches past the run's own domains. See docs/policy.md, "Routing".

Some checks need the whole recipe: a router's priority is measured against its rule, and a
middleware or service it uses must be one the recipe defines. Compose merges labels across
the `COMPOSE_FILE` list, so labels are read from every file first (`read_labels`) and judged
together (`routing_findings`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cc_ci.harness.policy.rules import Finding, FindingKind

WEB_ENTRYPOINTS = ("web", "web-secure")  # the Co-op Cloud traefik recipe's HTTP(S) entrypoints
OWN_PROVIDERS = frozenset({"docker", "swarm"})  # the providers that read these labels
HOST_MATCHERS = frozenset({"host", "hostheader"})  # HostHeader: Traefik v2's alias of Host
MAX_NESTING = 50  # parentheses and `!` in one rule; real rules use two or three
SHOWN = 120  # characters of a label's value a finding quotes


@dataclass(frozen=True, slots=True)
class Label:
    """One label as a compose file writes it, after `${VAR}` interpolation."""

    file: str
    service: str
    where: str  # the compose key: `deploy.labels[2]`, `deploy.labels`, `labels[0]`
    key: str
    value: str
    container: bool  # a container label (`labels:`), not a swarm service label

    @property
    def path(self) -> list[str]:
        """The key's parts, lower-cased: Traefik reads label keys without regard to case."""
        return self.key.strip().lower().split(".")

    @property
    def name(self) -> str:
        """The router, service or middleware name of `traefik.<proto>.<kind>.<name>.…`."""
        parts = self.key.strip().split(".")
        return parts[3] if len(parts) > 3 else ""


def read_labels(file: str, doc: dict) -> tuple[list[Label], list[Finding]]:
    """The labels of every service in one interpolated compose document, and a finding for
    each label list or mapping of the wrong shape. Services of the wrong shape are left to
    the other rules (they report them)."""
    labels: list[Label] = []
    bad: list[Finding] = []
    services = doc.get("services")
    if not isinstance(services, dict):
        return labels, bad
    for svc_name, spec in services.items():
        if not isinstance(spec, dict):
            continue
        svc = str(svc_name)
        sources: list[tuple[str, object, bool]] = []
        deploy = spec.get("deploy")
        if isinstance(deploy, dict):
            sources.append(("deploy.labels", deploy.get("labels"), False))
        elif deploy is not None:
            bad.append(_unparseable(file, svc, "deploy", "a mapping", deploy))
        sources.append(("labels", spec.get("labels"), True))
        for where, value, container in sources:
            if value is None:
                continue
            if isinstance(value, dict):
                for k, v in value.items():
                    text = "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                    labels.append(Label(file, svc, where, str(k), text, container))
            elif isinstance(value, list):
                for i, entry in enumerate(value):
                    if not isinstance(entry, str):
                        bad.append(_unparseable(file, svc, f"{where}[{i}]", "a string", entry))
                        continue
                    k, _, v = entry.partition("=")
                    labels.append(Label(file, svc, f"{where}[{i}]", k, v, container))
            else:
                bad.append(_unparseable(file, svc, where, "a list or mapping", value))
    return labels, bad


def _unparseable(file: str, svc: str, key: str, want: str, value: object) -> Finding:
    detail = f"expected {want}, found {value!r:.60}"
    return Finding(FindingKind.UNPARSEABLE, file, svc, key, detail)


def routing_findings(labels: Iterable[Label], domains: Iterable[str], stack: str) -> list[Finding]:
    """One finding for each Traefik label that routes past the run's own `domains`.

    `domains` are the host names the harness gave this app (trusted: not from the PR);
    `stack` is its stack name, which every router, service and middleware name must start
    with, so that it cannot replace (and so knock out) another app's of the same name.
    """
    return _Routing(list(labels), tuple(domains), stack).run()


class _Routing:
    def __init__(self, labels: list[Label], domains: tuple[str, ...], stack: str) -> None:
        self.labels = [lb for lb in labels if lb.path[0] == "traefik"]
        self.own = {d.lower() for d in domains}
        self.shown = ", ".join(domains) or "none: the gate was given no domain"
        self.stack = stack
        self.defined: dict[str, set[str]] = {"middlewares": set(), "services": set()}
        self.rules: dict[tuple[str, bool, str], str] = {}  # the rule Traefik ends up with
        for lb in self.labels:
            p = lb.path
            if len(p) > 4 and p[1] == "http" and p[2] in self.defined:
                self.defined[p[2]].add(lb.name)
            if len(p) == 5 and p[1:3] == ["http", "routers"] and p[4] == "rule":
                self.rules[(lb.service, lb.container, lb.name)] = lb.value

    def run(self) -> list[Finding]:
        out = []
        for lb in self.labels:
            problems = list(self.problems(lb))
            if problems:
                value = lb.value if len(lb.value) <= SHOWN else lb.value[:SHOWN] + "…"
                detail = f"{lb.key.strip()}={value}: {'; '.join(problems)}"
                out.append(Finding(FindingKind.ROUTING, lb.file, lb.service, lb.where, detail))
        return out

    def problems(self, lb: Label) -> Iterator[str]:
        p = lb.path
        if len(p) < 2:
            return
        if p[1] in ("tcp", "udp"):
            yield (
                f"{p[1].upper()} routing goes by port or TLS name (HostSNI), past the app's "
                "domain: only HTTP routers are allowed"
            )
            return
        if p[1] != "http" or len(p) < 4 or p[2] not in ("routers", "services", "middlewares"):
            return
        kind, attr = p[2], p[4:]
        yield from self.named(kind, lb.name)
        if kind == "routers":
            yield from self.router(lb, attr)
        elif kind == "services":
            yield from self.service(lb, attr)
        elif attr[:2] == ["chain", "middlewares"]:
            yield from self.uses("middlewares", lb.value)
        elif attr[:2] == ["errors", "service"]:
            yield from self.uses("services", lb.value)

    def named(self, kind: str, name: str) -> Iterator[str]:
        low, stack = name.lower(), self.stack.lower()
        if not stack or not (low == stack or low.startswith((f"{stack}-", f"{stack}_"))):
            yield (
                f"names the {kind[:-1]} {name or '(empty)'}, which does not start with the "
                f"app's stack name ({self.stack or 'unset'}): it could replace another app's"
            )

    def router(self, lb: Label, attr: list[str]) -> Iterator[str]:
        if attr == ["rule"]:
            yield from self.rule(lb.value)
        elif attr == ["entrypoints"]:
            names = [e.strip() for e in lb.value.split(",") if e.strip()]
            if not names:
                yield "names no entrypoint, so Traefik puts the router on every one"
            for ep in names:
                if ep not in WEB_ENTRYPOINTS:
                    yield f"puts the router on the entrypoint {ep} (only web and web-secure)"
        elif attr == ["priority"]:
            yield from self.priority(lb)
        elif attr == ["middlewares"]:
            yield from self.uses("middlewares", lb.value)
        elif attr == ["service"]:
            yield from self.uses("services", lb.value)
        elif attr[:1] == ["tls"] and attr[1:2] and attr[1].startswith("domains"):
            for host in (h.strip() for h in lb.value.split(",")):
                if host.lower() not in self.own:
                    yield f"asks for a certificate for {host or 'an empty name'}, {self.not_own}"

    @property
    def not_own(self) -> str:
        return f"not this app's domain ({self.shown})"

    def rule(self, text: str) -> Iterator[str]:
        try:
            tree = parse_rule(text)
        except RuleError as exc:
            yield f"cannot be read as a Traefik rule ({exc})"
            return
        for name, args in matchers(tree):
            low = name.lower()
            if low in HOST_MATCHERS:
                if not args:
                    yield f"{name}() names no host"
                for host in args:
                    if host.lower() not in self.own:
                        yield f"routes {host or 'an empty host name'}, {self.not_own}"
            elif low.startswith("hostregexp"):
                yield f"{name} matches hosts by pattern: name the app's domain with Host()"
        if not host_bound(tree):
            yield (
                "matches requests for every host: some way to satisfy it has no Host() "
                "naming the app's domain"
            )

    def priority(self, lb: Label) -> Iterator[str]:
        try:
            value = int(lb.value.strip())
        except ValueError:
            yield "is not a whole number"
            return
        rule = self.rules.get((lb.service, lb.container, lb.name))
        default = len(rule) if rule else 0
        if value > default:
            basis = f"{default}, its rule's length" if rule else "0 here: the router has no rule"
            yield (
                f"is above Traefik's default priority ({basis}): the router would outrank "
                "routers it otherwise loses to"
            )

    def uses(self, kind: str, value: str) -> Iterator[str]:
        what = kind[:-1]
        for ref in (r.strip() for r in value.split(",")):
            if not ref:
                continue
            name, at, provider = ref.rpartition("@")
            if not at:
                name, provider = ref, ""
            if provider.lower() == "internal":
                yield f"uses {ref}, Traefik's own {what}"
            elif provider and provider.lower() not in OWN_PROVIDERS:
                yield f"uses {ref}, a {what} of the {provider} provider, not this recipe's"
            elif name not in self.defined[kind]:
                yield f"uses the {what} {ref}, which this recipe does not define"

    def service(self, lb: Label, attr: list[str]) -> Iterator[str]:
        if not attr:
            return
        if attr[0] != "loadbalancer":
            yield (
                f"defines a {attr[0]} service: only load balancers over the app's own "
                "containers are allowed"
            )
        elif attr[1:3] == ["server", "url"] or (attr[1:2] and attr[1].startswith("servers")):
            yield "points the service at an address of its own choosing, not the app's containers"


# -- Traefik's rule language ------------------------------------------------------------------


class RuleError(ValueError):
    """A rule the gate cannot read (so it cannot vouch for what it matches)."""


# A parsed rule: ("call", name, args), ("not", node), ("and", nodes), ("or", nodes).
Node = tuple

_SPACE = re.compile(r"\s*")
_TOKEN = re.compile(
    r"(?P<op>&&|\|\||[!(),])|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|`(?P<raw>[^`]*)`|\"(?P<str>[^\"\\\n]*)\""
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = _SPACE.match(text).end()  # type: ignore[union-attr]
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise RuleError(f"unexpected {text[pos : pos + 12]!r}")
        kind = m.lastgroup or ""
        out.append(("str" if kind == "raw" else kind, m.group(kind)))
        pos = _SPACE.match(text, m.end()).end()  # type: ignore[union-attr]
    return out


class _Parser:
    """Traefik's grammar (v2 and v3): `!` binds tightest, then `&&`, then `||`."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1] != value):
            want = value or kind
            raise RuleError(f"expected {want!r}, found {tok[1] if tok else 'the end'!r}")
        self.i += 1
        return tok[1]

    def either(self) -> Node:
        nodes = [self.both()]
        while self.peek() == ("op", "||"):
            self.i += 1
            nodes.append(self.both())
        return nodes[0] if len(nodes) == 1 else ("or", tuple(nodes))

    def both(self) -> Node:
        nodes = [self.unary()]
        while self.peek() == ("op", "&&"):
            self.i += 1
            nodes.append(self.unary())
        return nodes[0] if len(nodes) == 1 else ("and", tuple(nodes))

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise RuleError(f"nested deeper than {MAX_NESTING}")
        try:
            tok = self.peek()
            if tok == ("op", "!"):
                self.i += 1
                return ("not", self.unary())
            if tok == ("op", "("):
                self.i += 1
                node = self.either()
                self.take("op", ")")
                return node
            return self.call()
        finally:
            self.depth -= 1

    def call(self) -> Node:
        name = self.take("name")
        self.take("op", "(")
        args: list[str] = []
        if self.peek() != ("op", ")"):
            args.append(self.take("str"))
            while self.peek() == ("op", ","):
                self.i += 1
                args.append(self.take("str"))
        self.take("op", ")")
        return ("call", name, tuple(args))


def parse_rule(text: str) -> Node:
    """A Traefik router rule as a tree; RuleError for what Traefik's grammar does not allow
    (and for escapes in double-quoted strings, which the gate does not decode)."""
    parser = _Parser(_tokens(text))
    if parser.peek() is None:
        raise RuleError("the rule is empty")
    tree = parser.either()
    if parser.peek() is not None:
        raise RuleError(f"unexpected {parser.peek()[1]!r} after the rule")  # type: ignore[index]
    return tree


def matchers(node: Node) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every matcher of a rule, wherever it is: (name, arguments)."""
    if node[0] == "call":
        yield node[1], node[2]
    elif node[0] == "not":
        yield from matchers(node[1])
    else:
        for n in node[1]:
            yield from matchers(n)


def host_bound(node: Node) -> bool:
    """Whether every request the rule matches is for a host a Host() in it names: an `&&`
    needs one such part, an `||` needs all of them, and under `!` nothing is bound.
    (HostRegexp counts as bound here: it is refused on its own.)"""
    kind = node[0]
    if kind == "call":
        low = node[1].lower()
        return (low in HOST_MATCHERS and bool(node[2])) or low.startswith("hostregexp")
    if kind == "and":
        return any(host_bound(n) for n in node[1])
    if kind == "or":
        return all(host_bound(n) for n in node[1])
    return False
