"""Build small container images locally, without a registry.

No registry can be reached here, so images are assembled from files on the host (a static
binary, Debian's busybox-static) into a root filesystem tarball and loaded with
`docker import`. The tag carries a hash of every input, so an unchanged image is never
rebuilt and two different inputs never share a tag.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from cc_ci.harness.deploy.docker import image_exists

BUSYBOX = Path("/bin/busybox")
# Applets the images link to busybox: enough for a shell, an HTTP server and file work.
BUSYBOX_APPLETS = (
    "sh ash cat cp echo env grep head hostname httpd id ls mkdir mv printf ps rm rmdir "
    "sed sleep sort tail tar tee test touch tr true false uname wc wget which"
).split()


class ImageError(RuntimeError):
    """An image could not be built."""


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """What goes into an image: host files, literal files, and its default command."""

    name: str
    files: tuple[tuple[str, Path], ...] = ()  # (path in image, host file)
    texts: tuple[tuple[str, str], ...] = ()  # (path in image, content)
    cmd: tuple[str, ...] = ()
    busybox: bool = True
    env: tuple[tuple[str, str], ...] = field(default=())

    def digest(self) -> str:
        h = hashlib.sha256()
        h.update(json.dumps([self.name, self.cmd, self.busybox, self.env, self.texts]).encode())
        for dest, src in self.files:
            h.update(dest.encode())
            h.update(hashlib.sha256(src.read_bytes()).digest())
        if self.busybox:
            h.update(hashlib.sha256(BUSYBOX.read_bytes()).digest())
        return h.hexdigest()[:12]

    def tag(self) -> str:
        return f"cc-ci/{self.name}:{self.digest()}"


def _add_bytes(tar: tarfile.TarFile, path: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(path.lstrip("/"))
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, path: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(path.lstrip("/"))
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def rootfs_tar(spec: ImageSpec) -> bytes:
    """The image's root filesystem as an uncompressed tar (deterministic for equal specs)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "etc", "tmp", "var", "var/www", "usr", "usr/bin", "data"):
            _add_dir(tar, d, 0o1777 if d == "tmp" else 0o755)
        _add_bytes(
            tar,
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
        )
        _add_bytes(tar, "etc/group", b"root:x:0:\nnogroup:x:65534:\n")
        if spec.busybox:
            if not BUSYBOX.exists():
                raise ImageError(f"{BUSYBOX} is missing: apt-get install busybox-static")
            _add_bytes(tar, "bin/busybox", BUSYBOX.read_bytes(), 0o755)
            for applet in BUSYBOX_APPLETS:
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type = tarfile.SYMTYPE
                info.linkname = "busybox"
                tar.addfile(info)
        seen_dirs: set[str] = set()
        for dest, content in spec.texts:
            _ensure_parents(tar, dest, seen_dirs)
            _add_bytes(tar, dest, content.encode(), 0o755 if content.startswith("#!") else 0o644)
        for dest, src in spec.files:
            _ensure_parents(tar, dest, seen_dirs)
            mode = src.stat().st_mode & 0o777
            _add_bytes(tar, dest, src.read_bytes(), mode)
    return buf.getvalue()


def _ensure_parents(tar: tarfile.TarFile, dest: str, seen: set[str]) -> None:
    parts = dest.strip("/").split("/")[:-1]
    for i in range(1, len(parts) + 1):
        d = "/".join(parts[:i])
        if d not in seen and d not in (
            "bin",
            "etc",
            "tmp",
            "var",
            "var/www",
            "usr",
            "usr/bin",
            "data",
        ):
            _add_dir(tar, d)
        seen.add(d)


def ensure_image(spec: ImageSpec) -> str:
    """Build the image unless a build of exactly these inputs exists; return its tag."""
    tag = spec.tag()
    if image_exists(tag):
        return tag
    changes: list[str] = []
    if spec.cmd:
        changes += ["--change", "CMD " + json.dumps(list(spec.cmd))]
    for k, v in spec.env:
        changes += ["--change", f"ENV {k}={v}"]
    r = subprocess.run(
        ["docker", "import", *changes, "-", tag],
        input=rootfs_tar(spec),
        capture_output=True,
        timeout=300,
    )
    if r.returncode != 0:
        raise ImageError(f"docker import {tag} failed: {r.stderr.decode(errors='replace').strip()}")
    return tag
