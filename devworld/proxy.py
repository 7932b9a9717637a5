"""The test zone's front door on this machine: a CA, a wildcard certificate, and Traefik.

In production the operator's Traefik (the Co-op Cloud traefik recipe, deployed by the NixOS
module) already runs. Here `python -m devworld.proxy up` brings up the same shape: Traefik as a
swarm service from a locally built image, the `web`/`web-secure` entrypoints recipes label
for, the swarm provider on the `proxy` network, host ports 80/443, and a wildcard
certificate for the test zone from a generated CA — no ACME anywhere.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from cc_ci.harness.deploy import docker as dk
from cc_ci.harness.settings import Settings
from cc_ci.harness.waiting import wait_for
from cc_ci.suite.web import request
from devworld.images import ImageSpec, ensure_image

STACK = "cc-ci-proxy"


class ProxyError(RuntimeError):
    """The local proxy could not be brought up."""


def _openssl(*args: str) -> None:
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise ProxyError(f"openssl {args[0]} failed: {r.stderr.strip()}")


def ensure_pki(pki: Path, zone: str) -> tuple[Path, Path, Path]:
    """A CA and a wildcard certificate for `*.zone`, made once. Returns (ca, cert, key)."""
    pki.mkdir(parents=True, exist_ok=True)
    os.chmod(pki, 0o700)
    ca_key, ca, key, cert = pki / "ca.key", pki / "ca.crt", pki / f"{zone}.key", pki / f"{zone}.crt"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    if not ca.exists():
        _openssl(
            "req",
            "-x509",
            *ec,
            "-keyout",
            str(ca_key),
            "-out",
            str(ca),
            "-days",
            "3650",
            "-subj",
            "/CN=cc-ci test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        )
    if not cert.exists():
        csr, ext = pki / f"{zone}.csr", pki / f"{zone}.ext"
        ext.write_text(f"subjectAltName=DNS:*.{zone},DNS:{zone}\nextendedKeyUsage=serverAuth\n")
        _openssl("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN=*.{zone}")
        _openssl(
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-out",
            str(cert),
            "-days",
            "825",
            "-extfile",
            str(ext),
        )
    return ca, cert, key


def traefik_binary() -> Path:
    tools = Path(os.environ.get("CCCI_TOOLS", Path.home() / ".cache" / "cc-ci"))
    found = shutil.which("traefik") or str(tools / "bin" / "traefik")
    if not Path(found).exists():
        raise ProxyError("no traefik binary: run scripts/bootstrap (it builds Traefik)")
    return Path(found)


STATIC = {
    "entryPoints": {
        "web": {
            "address": ":80",
            "http": {"redirections": {"entryPoint": {"to": "web-secure", "scheme": "https"}}},
        },
        "web-secure": {"address": ":443"},
    },
    "providers": {
        "swarm": {
            "endpoint": "unix:///var/run/docker.sock",
            "exposedByDefault": False,
            "network": "proxy",
            "refreshSeconds": 2,
        },
        "file": {"filename": "/etc/traefik/dynamic.yml"},
    },
    "ping": {},
    "log": {"level": "INFO", "noColor": True},
}
DYNAMIC = {
    "tls": {
        "stores": {
            "default": {
                "defaultCertificate": {
                    "certFile": "/run/secrets/ssl_cert",
                    "keyFile": "/run/secrets/ssl_key",
                }
            }
        },
        "certificates": [{"certFile": "/run/secrets/ssl_cert", "keyFile": "/run/secrets/ssl_key"}],
    }
}


def up(settings: Settings, pki_dir: Path) -> Path:
    """Converge the proxy stack; no-op when it already runs this exact configuration."""
    ca, cert, key = ensure_pki(pki_dir, settings.zone)
    image = ensure_image(
        ImageSpec(
            name="traefik",
            files=(("usr/bin/traefik", traefik_binary()),),
            texts=(("etc/traefik/traefik.yml", json.dumps(STATIC)),),
            cmd=("/usr/bin/traefik", "--configFile=/etc/traefik/traefik.yml"),
            busybox=True,
        )
    )
    work = pki_dir.parent / "proxy"
    work.mkdir(parents=True, exist_ok=True)
    (work / "dynamic.yml").write_text(json.dumps(DYNAMIC))
    digest = hashlib.sha256((image + cert.read_text() + json.dumps(DYNAMIC)).encode()).hexdigest()[
        :10
    ]
    current = dk.docker(
        "service",
        "inspect",
        f"{STACK}_app",
        "--format",
        '{{index .Spec.Labels "cc-ci.proxy.digest"}}',
        check=False,
        timeout=30,
    ).strip()
    if current != digest:
        compose = {
            "version": "3.8",
            "services": {
                "app": {
                    "image": image,
                    "ports": [
                        {"target": p, "published": p, "protocol": "tcp", "mode": "host"}
                        for p in (80, 443)
                    ],
                    "volumes": [
                        {
                            "type": "bind",
                            "source": "/var/run/docker.sock",
                            "target": "/var/run/docker.sock",
                            "read_only": True,
                        }
                    ],
                    "networks": ["proxy"],
                    "configs": [{"source": "dynamic", "target": "/etc/traefik/dynamic.yml"}],
                    "secrets": ["ssl_cert", "ssl_key"],
                    "deploy": {
                        "labels": {"cc-ci.proxy.digest": digest},
                        "update_config": {"order": "stop-first"},
                    },
                }
            },
            "networks": {"proxy": {"external": True}},
            "configs": {
                "dynamic": {"name": f"{STACK}_dynamic_{digest}", "file": str(work / "dynamic.yml")}
            },
            "secrets": {
                "ssl_cert": {"name": f"{STACK}_ssl_cert_{digest}", "file": str(cert)},
                "ssl_key": {"name": f"{STACK}_ssl_key_{digest}", "file": str(key)},
            },
        }
        (work / "compose.json").write_text(json.dumps(compose, indent=1))
        dk.docker(
            "stack", "deploy", "--prune", "-c", str(work / "compose.json"), STACK, timeout=120
        )
    probe = f"https://cc-ci-probe.{settings.zone}/"

    def answers() -> bool:
        return request(probe, resolve_to=settings.resolve_to, ca_file=ca, timeout=5).status == 404

    wait_for(f"Traefik to serve the wildcard certificate for {settings.zone}", answers, timeout=90)
    return ca


def down() -> list[str]:
    return [str(r) for r in dk.remove_stack(STACK)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devworld.proxy", description=__doc__.splitlines()[0]
    )
    p.add_argument("action", choices=["up", "down"])
    args = p.parse_args(argv)
    settings = Settings.from_env()
    if args.action == "down":
        left = down()
        print("proxy removed" if not left else f"left: {left}")
        return 0 if not left else 1
    try:
        ca = up(settings, settings.state_dir / "pki")
    except (ProxyError, dk.DockerError, TimeoutError) as exc:
        print(f"proxy: {exc}", file=sys.stderr)
        return 2
    print(f"proxy up for *.{settings.zone} on {settings.resolve_to}:443; CA: {ca}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
