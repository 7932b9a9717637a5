"""The compose policy's findings and the rules that find them in one compose file. Pure.

Each rule reads one key of an interpolated compose document and says, in a Finding, what it
asks of the host. A security-relevant value that depends on a variable the app env does not
define is not guessed at: it is an `unresolved-variable` finding. A value of the wrong shape
is `unparseable`. Unknown keys are none of the gate's business.
"""

from __future__ import annotations

import enum
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cc_ci.contract.record import PolicyFinding
from cc_ci.harness.policy.env import Path_


class FindingKind(enum.StrEnum):
    BIND_MOUNT = "bind-mount"
    PRIVILEGED = "privileged"
    CAP_ADD = "cap-add"
    DEVICES = "devices"
    HOST_NETWORK = "host-network"
    HOST_PID = "host-pid"
    HOST_IPC = "host-ipc"
    HOST_USERNS = "host-userns"
    SECURITY_OPT = "security-opt"
    PUBLISHED_PORT = "published-port"
    HOST_FILE = "host-file"
    EXTERNAL_VOLUME = "external-volume"
    UNRESOLVED = "unresolved-variable"
    UNPARSEABLE = "unparseable"
    PATH_ESCAPE = "path-escape"
    ROUTING = "routing"
    UNPINNED_IMAGE = "unpinned-image"
    HARNESS_ENV = "harness-env"


K = FindingKind
# What an operator may let through for a recipe. The rest never are: an unparseable or
# unresolvable file is one the gate has not really checked, a route past the app's own
# domains takes what belongs to cc-ci or another run (no recipe needs that of the CI host),
# the harness's own env keys (the app's domain, stack and resolver) are no recipe's to set,
# and a warning refuses nothing.
ALLOWABLE = frozenset(K) - {
    K.UNRESOLVED,
    K.UNPARSEABLE,
    K.PATH_ESCAPE,
    K.ROUTING,
    K.UNPINNED_IMAGE,
    K.HARNESS_ENV,
}


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


def encodable(text: str) -> str:
    """`text` with what UTF-8 cannot encode (lone surrogates) written as `\\udfff` escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    file: str
    service: str | None
    key: str
    detail: str
    severity: Severity = Severity.ERROR
    subject: str = ""  # what an allow-list narrows on: a bind source, a published port

    def __post_init__(self) -> None:
        # Names and values come from the PR, and YAML escapes (or an undecodable file name)
        # can make a lone surrogate that no file, log or page can encode: keep it as `\udfff`.
        for name in ("file", "service", "key", "detail", "subject"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, encodable(value))

    def line(self) -> str:
        """`compose.yml: service app: volumes[0]: bind mount of host path /srv`."""
        parts = [self.file]
        if self.service is not None:
            parts.append(f"service {self.service}")
        if self.key:
            parts.append(self.key)
        text = ": ".join([*parts, self.detail])
        return f"warning: {text}" if self.severity is Severity.WARNING else text

    def to_json(self) -> dict:
        return {
            "kind": str(self.kind),
            "severity": str(self.severity),
            "file": self.file,
            "service": self.service,
            "key": self.key,
            "detail": self.detail,
            "line": self.line(),
        }

    def to_record(self) -> PolicyFinding:
        """The finding as the run record keeps it (cc_ci/contract/record.py)."""
        return PolicyFinding(
            kind=str(self.kind),
            severity=str(self.severity),
            file=self.file,
            service=self.service,
            key=self.key,
            detail=self.detail,
            line=self.line(),
        )


DOCKER_SOCKET = ("/var/run/docker.sock", "/run/docker.sock")
FALSE_WORDS = {"false", "no", "off", "0", "n", "f"}
# security_opt may only tighten; these are the loosenings worth naming.
LOOSENING = {
    "seccomp:unconfined": "turns off the seccomp filter",
    "apparmor:unconfined": "turns off AppArmor",
    "label:disable": "turns off SELinux labelling",
    "no-new-privileges:false": "lets processes gain privileges",
    "systempaths:unconfined": "unmasks /proc and /sys paths",
}
TIGHTENING = {"no-new-privileges", "no-new-privileges:true"}
# Keys that take another namespace: key → (kind, what `host` means).
NAMESPACES = {
    "network_mode": (K.HOST_NETWORK, "network"),
    "pid": (K.HOST_PID, "process"),
    "ipc": (K.HOST_IPC, "IPC"),
    "userns_mode": (K.HOST_USERNS, "user"),
}
MOUNT_TYPES_OK = {"volume", "tmpfs", "image"}
MOUNT_FS_OK = {"nfs", "nfs4", "cifs", "tmpfs"}  # driver_opts types that are no host path
WINDOWS_DRIVE = re.compile(r"^([A-Za-z]:[\\/][^:]*):")


def is_set(value: object) -> bool:
    """A boolean compose flag is on unless it is plainly off (YAML 1.1 and 1.2 spellings)."""
    if value is None or value is False:
        return False
    if isinstance(value, bool | int | float):
        return bool(value)
    return not (isinstance(value, str) and value.strip().lower() in FALSE_WORDS)


def is_host_path(source: str) -> bool:
    """A volume source that is a path on the host, not the name of a volume."""
    return source.startswith(("/", ".", "~", "\\")) or "/" in source or "\\" in source


def image_is_pinned(image: str) -> bool:
    if "@" in image:
        return True  # a digest
    last = image.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    return bool(tag) and tag != "latest"


def port_parts(entry: object) -> tuple[str, str, str] | None:
    """(published, target, mode) of one `ports` entry; published "" = a port swarm picks."""
    if isinstance(entry, int) and not isinstance(entry, bool):
        return "", str(entry), "ingress"
    if isinstance(entry, str):
        spec = entry.rsplit("/", 1)[0]
        parts = spec.rsplit(":", 2)
        return (parts[-2] if len(parts) > 1 else ""), parts[-1], "ingress"
    if isinstance(entry, dict):
        published = entry.get("published")
        return (
            "" if published is None else str(published),
            str(entry.get("target", "")),
            str(entry.get("mode") or "ingress"),
        )
    return None


class FileCheck:
    """The rules over one interpolated compose document."""

    def __init__(
        self,
        name: str,
        doc: dict,
        missing: Mapping[Path_, tuple[str, ...]],
        env: Mapping[str, str],
        inside: Callable[[str], bool],
    ) -> None:
        self.name = name
        self.doc = doc
        self.missing = missing
        self.env = env
        self.inside = inside
        self.found: list[Finding] = []

    def emit(self, kind: K, service: str | None, key: str, detail: str, subject: str = "") -> None:
        severity = Severity.WARNING if kind is K.UNPINNED_IMAGE else Severity.ERROR
        self.found.append(Finding(kind, self.name, service, key, detail, severity, subject))

    def unresolved(self, at: Path_, service: str | None, key: str, warn: bool = False) -> bool:
        """Report a value under `at` that depends on unset variables; True if there is one."""
        n = len(at)
        names = [x for p, ns in self.missing.items() if p[:n] == at for x in ns]
        if names:
            kind = K.UNPINNED_IMAGE if warn else K.UNRESOLVED
            listed = ", ".join(dict.fromkeys(names))
            self.emit(
                kind, service, key, f"depends on variables the app env does not set: {listed}"
            )
        return bool(names)

    def shape(self, value: object, want: type | tuple[type, ...], service: str | None, key: str):
        if isinstance(value, want):
            return value
        names = " or ".join(t.__name__ for t in (want if isinstance(want, tuple) else (want,)))
        wanted = names.replace("dict", "mapping").replace("str", "string")
        self.emit(K.UNPARSEABLE, service, key, f"expected a {wanted}, found {value!r:.60}")
        return None

    # -- the document -------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        services = self.doc.get("services")
        if services is not None and self.shape(services, dict, None, "services") is not None:
            for svc_name, svc in services.items():
                if self.shape(svc, dict, str(svc_name), "") is not None:
                    self.service(str(svc_name), svc)
        for section, (rule, relevant) in {
            "volumes": (self.top_volume, ("external", "name", "driver", "driver_opts")),
            "networks": (self.top_network, ("external", "name", "driver")),
            "configs": (self.top_file, ("file", "environment")),
            "secrets": (self.top_file, ("file", "environment")),
        }.items():
            table = self.doc.get(section)
            if table is None or self.shape(table, dict, None, section) is None:
                continue
            for key, spec in table.items():
                where = f"{section}.{key}"
                if spec is None or self.shape(spec, dict, None, where) is None:
                    continue
                unknown = [
                    self.unresolved((section, str(key), sub), None, f"{where}.{sub}")
                    for sub in relevant
                ]
                if not any(unknown):
                    rule(where, spec)
        return self.found

    def service(self, svc: str, spec: dict) -> None:
        rules = {
            "volumes": self.volumes,
            "ports": self.ports,
            "cap_add": self.cap_add,
            "devices": self.devices,
            "security_opt": self.security_opt,
            "env_file": self.env_file,
            "networks": self.networks,
            "privileged": self.privileged,
            "extends": self.extends,
            "device_cgroup_rules": self.device_rule,
            "volumes_from": self.volumes_from,
            **{k: self.namespace for k in NAMESPACES},
        }
        for key, rule in rules.items():
            value = spec.get(key)
            if value is None:
                continue
            if isinstance(value, list):
                for i, item in enumerate(value):
                    where = f"{key}[{i}]"
                    if not self.unresolved(("services", svc, key, i), svc, where):
                        rule(svc, where, item)
            elif not self.unresolved(("services", svc, key), svc, key):
                rule(svc, key, value)
        self.image(svc, spec.get("image"))

    def image(self, svc: str, image: object) -> None:
        if image is None or self.unresolved(("services", svc, "image"), svc, "image", warn=True):
            return
        if self.shape(image, str, svc, "image") and not image_is_pinned(image):
            self.emit(K.UNPINNED_IMAGE, svc, "image", f"{image} is pinned to no version")

    # -- service keys (a list key's rule is called once per entry) -------------------------------

    def volumes(self, svc: str, key: str, entry: object) -> None:
        if isinstance(entry, str):
            drive = WINDOWS_DRIVE.match(entry)
            source = drive.group(1) if drive else entry.split(":", 2)[0] if ":" in entry else ""
            if ":" in entry and not source:
                self.emit(K.UNPARSEABLE, svc, key, f"volume {entry!r} has an empty source")
            elif source and is_host_path(source):
                self.bind(svc, key, source)
        elif isinstance(entry, dict):
            kind = str(entry.get("type") or "volume")
            source = str(entry.get("source") or "")
            if kind in ("bind", "npipe") or (kind == "volume" and is_host_path(source)):
                self.bind(svc, key, source or "(no source given)")
            elif kind not in MOUNT_TYPES_OK:
                self.emit(K.UNPARSEABLE, svc, key, f"unknown mount type {kind!r}")
        else:
            self.shape(entry, (str, dict), svc, key)

    def bind(self, svc: str | None, key: str, source: str) -> None:
        note = " (the Docker socket: root on the host)" if source in DOCKER_SOCKET else ""
        norm = posixpath.normpath(source) if source.startswith("/") else source
        self.emit(K.BIND_MOUNT, svc, key, f"bind mount of host path {source}{note}", norm)

    def ports(self, svc: str, key: str, entry: object) -> None:
        parts = port_parts(entry)
        if parts is None:
            self.shape(entry, (int, str, dict), svc, key)
            return
        published, target, mode = parts
        where = f"port {published}" if published else "a port swarm picks"
        detail = f"publishes container port {target} on {where} ({mode} mode)"
        self.emit(K.PUBLISHED_PORT, svc, key, detail, published)

    def cap_add(self, svc: str, key: str, entry: object) -> None:
        if key == "cap_add" or self.shape(entry, str, svc, key) is not None:
            self.emit(K.CAP_ADD, svc, key, f"adds the capability {entry}")

    def devices(self, svc: str, key: str, entry: object) -> None:
        if isinstance(entry, dict):
            entry = entry.get("source", entry)
        self.emit(K.DEVICES, svc, key, f"passes the host device {entry} through")

    def device_rule(self, svc: str, key: str, entry: object) -> None:
        self.emit(K.DEVICES, svc, key, f"allows host devices by the cgroup rule {entry}")

    def volumes_from(self, svc: str, key: str, entry: object) -> None:
        self.emit(K.EXTERNAL_VOLUME, svc, key, f"mounts the volumes of {entry}")

    def security_opt(self, svc: str, key: str, entry: object) -> None:
        if self.shape(entry, str, svc, key) is None:
            return
        opt = entry.strip().lower().replace("=", ":", 1)
        if opt in TIGHTENING:
            return
        why = LOOSENING.get(opt, "sets its own confinement (only no-new-privileges may be set)")
        self.emit(K.SECURITY_OPT, svc, key, f"security_opt {entry} {why}")

    def privileged(self, svc: str, key: str, value: object) -> None:
        if is_set(value):
            self.emit(K.PRIVILEGED, svc, key, "runs privileged: every capability, every device")

    def namespace(self, svc: str, key: str, value: object) -> None:
        kind, what = NAMESPACES[key]
        mode = str(value).strip()
        if mode == "host":
            self.emit(kind, svc, key, f"shares the host's {what} namespace")
        elif mode.startswith(("container:", "service:")):
            self.emit(kind, svc, key, f"joins the {what} namespace of {mode}")

    def networks(self, svc: str, key: str, value: object) -> None:
        names = [value] if key != "networks" else value
        if self.shape(names, (dict, list), svc, key) is None:
            return
        declared = self.doc.get("networks") if isinstance(self.doc.get("networks"), dict) else {}
        for net in names:
            spec = declared.get(net) if isinstance(declared.get(net), dict) else {}
            if str(net) == "host" or network_name(str(net), spec) == "host":
                where = key if key != "networks" else f"networks.{net}"
                self.emit(K.HOST_NETWORK, svc, where, f"attaches to the host network ({net})")

    def env_file(self, svc: str, key: str, entry: object) -> None:
        path = entry.get("path") if isinstance(entry, dict) else entry
        if self.shape(path, str, svc, key) is not None and not self.inside(path):
            self.emit(K.HOST_FILE, svc, key, f"reads env file {path} from outside the recipe")

    def extends(self, svc: str, key: str, value: object) -> None:
        path = value.get("file") if isinstance(value, dict) else None
        if isinstance(path, str) and not self.inside(path):
            self.emit(K.HOST_FILE, svc, f"{key}.file", f"extends {path} from outside the recipe")

    # -- top-level definitions ----------------------------------------------------------------

    def top_volume(self, where: str, spec: dict) -> None:
        name = spec.get("name")
        ext = spec.get("external")
        stack = self.env.get("STACK_NAME")
        if is_set(ext):
            real = ext.get("name", name) if isinstance(ext, dict) else name
            detail = f"uses the existing volume {real or where.split('.', 1)[1]}, not its own"
            self.emit(K.EXTERNAL_VOLUME, None, where, detail)
        elif name is not None and not (stack and str(name).startswith(f"{stack}_")):
            self.emit(K.EXTERNAL_VOLUME, None, f"{where}.name", f"names the volume {name}")
        opts = spec.get("driver_opts")
        if opts is None or self.shape(opts, dict, None, f"{where}.driver_opts") is None:
            return
        device = str(opts.get("device") or "")
        fs, o = str(opts.get("type") or ""), str(opts.get("o") or "")
        # The local driver mounts what the options say: only a network or memory file system
        # is not a path on the host (`type: none, o: bind` and overlay `lowerdir=` are).
        if fs in MOUNT_FS_OK and "bind" not in o and "dir=" not in o:
            return
        if is_host_path(device) and "dir=" not in o:
            self.bind(None, f"{where}.driver_opts", device)
        else:
            detail = f"mounts {device or '(no device)'} as {fs or '(no type)'} with o={o!r}"
            self.emit(K.BIND_MOUNT, None, f"{where}.driver_opts", f"{detail}: a host mount")

    def top_network(self, where: str, spec: dict) -> None:
        if network_name(where.split(".", 1)[1], spec) == "host" or spec.get("driver") == "host":
            self.emit(K.HOST_NETWORK, None, where, "declares the host network")

    def top_file(self, where: str, spec: dict) -> None:
        path = spec.get("file")
        readable = path is not None and self.shape(path, str, None, f"{where}.file") is not None
        if readable and not self.inside(path):
            self.emit(K.HOST_FILE, None, f"{where}.file", f"reads {path} from the host")
        if spec.get("environment") is not None:
            detail = f"reads {spec['environment']} from the deploying process's environment"
            self.emit(K.HOST_FILE, None, f"{where}.environment", detail)


def network_name(key: str, spec: Mapping) -> str:
    """The real name of a declared network: `name:`, legacy `external: {name:}`, or its key."""
    ext = spec.get("external")
    if isinstance(ext, dict) and ext.get("name"):
        return str(ext["name"])
    return str(spec.get("name") or key)
