"""Images built from Debian packages, without a registry.

A Debian base comes from `debootstrap --variant=minbase` into a folder, loaded with
`docker import`. Images on top of it are made by running a container from the base that
installs packages and runs setup commands (argument lists, no shell string is assembled
from outside input), then `docker commit`. Every tag carries a hash of its inputs, so an
unchanged image is never rebuilt, and a changed input never reuses an old one.

    base = debian_base()
    tag = derive(base, "nginx", packages=("nginx-light",), run=(("rm", "-f", "/etc/nginx/sites-enabled/default"),))
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cc_ci.harness import children
from cc_ci.harness.deploy.docker import DockerError, docker, image_exists

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("ca-certificates",)


class DebImageError(RuntimeError):
    """A Debian-based image could not be built; the message names the step."""


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


def debian_base(suite: str = SUITE, mirror: str = MIRROR) -> str:
    """A minimal Debian root filesystem as an image: cc-ci/debian:<suite>-<hash>."""
    tag = f"cc-ci/debian:{suite}-{_digest(suite, mirror, BASE_PACKAGES)}"
    if image_exists(tag):
        return tag
    if not shutil.which("debootstrap"):
        raise DebImageError("debootstrap is not installed: run scripts/bootstrap")
    with tempfile.TemporaryDirectory(prefix="cc-ci-debootstrap-") as tmp:
        root = Path(tmp) / "root"
        r = children.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                suite,
                str(root),
                mirror,
            ],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if r.returncode != 0:
            raise DebImageError(f"debootstrap {suite} failed: {r.stdout.strip()[-300:]}")
        # apt in containers: no recommends, no docs, clean caches.
        (root / "etc/apt/apt.conf.d/90cc-ci").write_text(
            'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
        )
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        tar = children.run(
            ["tar", "-C", str(root), "-c", "."], capture_output=True, timeout=600, check=True
        ).stdout
    r2 = children.run(["docker", "import", "-", tag], input=tar, capture_output=True, timeout=600)
    if r2.returncode != 0:
        raise DebImageError(f"docker import {tag} failed: {r2.stderr.decode().strip()}")
    return tag


@dataclass(frozen=True, slots=True)
class Layer:
    """What to put on top of a base: Debian packages, files, then setup commands."""

    name: str
    packages: tuple[str, ...] = ()
    files: tuple[tuple[str, str], ...] = ()  # (path in image, content)
    host_files: tuple[tuple[str, Path], ...] = ()  # (path in image, host file), e.g. wheels
    run: tuple[tuple[str, ...], ...] = ()  # argument lists, run in order as root (sh -c "…"
    # where a step needs a shell)
    env: tuple[tuple[str, str], ...] = ()
    cmd: tuple[str, ...] = ()
    workdir: str = "/"
    user: str = ""
    extra: dict = field(default_factory=dict)  # anything else that should change the hash

    def tag(self, base: str) -> str:
        parts: list[object] = [base, self.packages, self.files, self.run, self.env, self.cmd]
        parts += [self.workdir, self.user, self.extra]
        if self.host_files:  # by content; left out when empty so older tags stay valid
            parts.append([(dest, _file_sha256(src)) for dest, src in self.host_files])
        return f"cc-ci/{self.name}:{_digest(*parts)}"


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def derive(base: str, layer: Layer, timeout: float = 3600) -> str:
    """Build `layer` on `base` unless an image of exactly these inputs exists; return its tag."""
    tag = layer.tag(base)
    if image_exists(tag):
        return tag
    name = f"cc-ci-build-{secrets.token_hex(4)}"
    script = ["set -eu"]
    if layer.packages:
        script += [
            "export DEBIAN_FRONTEND=noninteractive",
            "apt-get update -qq",
            'apt-get install -y -qq "$@"',
            "apt-get clean",
            "rm -rf /var/lib/apt/lists/*",
        ]
    with tempfile.TemporaryDirectory(prefix="cc-ci-layer-") as tmp:
        ctx = Path(tmp)
        for i, (dest, content) in enumerate(layer.files):
            (ctx / f"f{i}").write_text(content)
            script.append(shlex.join(["mkdir", "-p", str(Path(dest).parent)]))
            script.append(shlex.join(["cp", f"/cc-ci-ctx/f{i}", dest]))
        for i, (dest, src) in enumerate(layer.host_files):
            shutil.copyfile(src, ctx / f"h{i}")
            script.append(shlex.join(["mkdir", "-p", str(Path(dest).parent)]))
            script.append(shlex.join(["cp", f"/cc-ci-ctx/h{i}", dest]))
        # Layers are cc-ci's own code, never a PR's; shlex.join quotes each argument.
        script += [shlex.join(argv) for argv in layer.run]
        try:
            r = children.run(
                [
                    "docker",
                    "run",
                    "--name",
                    name,
                    "-v",
                    f"{ctx}:/cc-ci-ctx:ro",
                    base,
                    "sh",
                    "-c",
                    "\n".join(script),
                    "sh",
                    *layer.packages,
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            if r.returncode != 0:
                raise DebImageError(
                    f"building {layer.name}: {(r.stderr or r.stdout).strip()[-500:]}"
                )
            changes = []
            for k, v in layer.env:
                changes += ["--change", f"ENV {k}={v}"]
            if layer.cmd:
                changes += ["--change", "CMD " + json.dumps(list(layer.cmd))]
            changes += ["--change", f"WORKDIR {layer.workdir}"]
            if layer.user:
                changes += ["--change", f"USER {layer.user}"]
            docker("commit", *changes, name, tag, timeout=600)
        except (subprocess.TimeoutExpired, DockerError) as exc:
            raise DebImageError(f"building {layer.name}: {exc}") from exc
        finally:
            _remove_build_container(name)
    return tag


def _remove_build_container(name: str) -> None:
    """Remove a layer's build container. Its writable layer can be gigabytes (n8n's
    node_modules: over 2 GB), which Docker may take minutes to delete on a busy disk; the
    image is committed by then, so a removal that does not end in time is said, not raised."""
    try:
        docker("rm", "-f", name, check=False, timeout=600)
    except DockerError as exc:
        print(f"debimage: {exc}; remove it later: docker rm -f {name}", file=sys.stderr)
