"""A stack of a locally built image deploys on the swarm, answers HTTP, and leaves nothing."""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import urllib.request
from pathlib import Path

from cc_ci.harness.deploy.docker import docker, remove_stack, stack_resources
from cc_ci.harness.waiting import wait_for
from devworld.images import ImageSpec, ensure_image


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_stack_of_local_image_answers_http_on_host_port_and_is_removed_without_trace(
    tmp_path: Path,
):
    assert shutil.which("docker"), "docker is not on PATH: run scripts/bootstrap"
    assert (
        docker("info", "--format", "{{.Swarm.LocalNodeState}}").strip() == "active"
    ), "this node is not a swarm manager: run scripts/bootstrap"
    tag = ensure_image(
        ImageSpec(
            name="smoke-httpd",
            texts=(("var/www/index.html", "cc-ci smoke ok\n"),),
            cmd=("httpd", "-f", "-p", "8080", "-h", "/var/www"),
        )
    )
    stack = f"ccsmoke{secrets.token_hex(3)}"
    port = free_port()
    compose = {
        "version": "3.8",
        "services": {
            "web": {
                "image": tag,
                "ports": [{"target": 8080, "published": port, "protocol": "tcp", "mode": "host"}],
                "volumes": ["data:/data"],
                "configs": [{"source": "cfg", "target": "/etc/smoke.conf"}],
                "secrets": ["sec"],
            }
        },
        "volumes": {"data": {}},
        "configs": {"cfg": {"file": str(tmp_path / "smoke.conf")}},
        "secrets": {"sec": {"file": str(tmp_path / "smoke.secret")}},
    }
    (tmp_path / "smoke.conf").write_text("a=1\n")
    (tmp_path / "smoke.secret").write_text("not-a-real-secret\n")
    (tmp_path / "compose.yml").write_text(json.dumps(compose))
    try:
        docker("stack", "deploy", "--compose-file", str(tmp_path / "compose.yml"), stack)
        body = wait_for(
            f"HTTP 200 from stack {stack} on 127.0.0.1:{port}",
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read(),
            timeout=90,
        )
        assert body == b"cc-ci smoke ok\n"
    finally:
        remaining = remove_stack(stack)
    assert remaining == [], f"stack {stack} left behind: {[str(r) for r in remaining]}"
    assert stack_resources(stack) == []
