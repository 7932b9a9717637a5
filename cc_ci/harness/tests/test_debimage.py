"""cc_ci/harness/sandbox/debimage.py without Docker: what a slow removal of a build
container does (CI once failed an n8n build whose image was committed, because removing its
2 GB build container took longer than a minute)."""

from __future__ import annotations

from cc_ci.harness.deploy.docker import DockerError
from cc_ci.harness.sandbox import debimage


def test_a_build_container_that_is_slow_to_go_is_said_not_raised(monkeypatch, capsys):
    calls = []

    def slow_docker(*args, **kw):
        calls.append((args, kw))
        raise DockerError("docker rm -f cc-ci-build-1 timed out after 600s")

    monkeypatch.setattr(debimage, "docker", slow_docker)
    debimage._remove_build_container("cc-ci-build-1")
    assert calls == [(("rm", "-f", "cc-ci-build-1"), {"check": False, "timeout": 600})]
    err = capsys.readouterr().err
    assert "timed out after 600s" in err and "docker rm -f cc-ci-build-1" in err
