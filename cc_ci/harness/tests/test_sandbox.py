"""The recipe-tests sandbox's decisions, without Docker: what the container is given, and
what is read back from the folder the tests could write to."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest

from cc_ci.contract.record import Counts, junit_counts
from cc_ci.harness.sandbox.container import (
    INPUT,
    MAX_SHOT,
    PNG_MAGIC,
    RESULTS,
    BoundedOutput,
    Limits,
    collect,
    docker_run_argv,
)
from cc_ci.harness.sandbox.image import IN_IMAGE, image_files, pinned

HERE = Path(__file__).resolve().parents[1] / "sandbox"


def argv(**kw: object) -> list[str]:
    args = {
        "name": "cc-ci-tests-x",
        "run_id": "local-1",
        "image": "cc-ci/recipe-tests:abc",
        "domain": "demo-1a2b3c.ci.test",
        "base_url": "https://demo-1a2b3c.ci.test",
        "proxy_ip": "10.0.2.3",
        "input_dir": Path("/state/runs/x/sandbox/input"),
        "results_dir": Path("/state/runs/x/sandbox/results"),
        "limits": Limits(memory="1g", cpus=1.5, pids=256),
        "network": "cc-ci-run-local-1",
        "ca": True,
    }
    return docker_run_argv(**{**args, **kw})


def flag_values(a: list[str], flag: str) -> list[str]:
    return [a[i + 1] for i, x in enumerate(a) if x == flag]


def test_the_tests_container_is_confined_in_every_way_docker_offers():
    a = argv()
    assert flag_values(a, "--network") == ["cc-ci-run-local-1"]
    assert flag_values(a, "--cap-drop") == ["ALL"]
    assert flag_values(a, "--security-opt") == ["no-new-privileges"]
    assert flag_values(a, "--user") == ["65534:65534"]
    assert flag_values(a, "--memory") == ["1g"] == flag_values(a, "--memory-swap")
    assert flag_values(a, "--cpus") == ["1.5"]
    assert flag_values(a, "--pids-limit") == ["256"]
    assert flag_values(a, "--log-driver") == ["none"]
    assert "--read-only" in a
    assert "--privileged" not in a and "--cap-add" not in a


def test_the_tests_container_sees_only_its_input_read_only_and_its_results():
    a = argv()
    assert flag_values(a, "--mount") == [
        f"type=bind,source=/state/runs/x/sandbox/input,target={INPUT},readonly",
        f"type=bind,source=/state/runs/x/sandbox/results,target={RESULTS}",
    ]
    options = a[: a.index("cc-ci/recipe-tests:abc")]
    assert not {"-v", "--volume", "--volumes-from"} & set(options)
    assert flag_values(options, "--tmpfs") == ["/tmp:rw,nosuid,nodev,size=512m"]
    assert not any("docker.sock" in x for x in a)


def test_the_tests_container_gets_no_environment_of_the_runners(monkeypatch):
    monkeypatch.setenv("CCCI_GIT_TOKEN_FILE", "/run/credentials/x/git-token")
    monkeypatch.setenv("DRONE_TOKEN", "canary")
    env = flag_values(argv(), "--env")
    assert env == [
        "CCCI_BASE_URL=https://demo-1a2b3c.ci.test",
        "CCCI_APP_DOMAIN=demo-1a2b3c.ci.test",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1",
        f"SSL_CERT_FILE={INPUT}/ca.crt",
    ]
    assert "--env-file" not in argv()


def test_the_tests_run_with_the_plugin_chain_in_order_and_the_apps_base_url():
    args = argv()
    assert flag_values(args, "-p") == [
        "pytest_base_url.plugin",
        "pytest_playwright.pytest_playwright",
        "cc_ci.suite.sandbox_plugin",
    ]
    assert flag_values(args, "--base-url") == ["https://demo-1a2b3c.ci.test"]


def test_the_apps_domain_resolves_to_traefik_on_the_test_network():
    assert flag_values(argv(), "--add-host") == ["demo-1a2b3c.ci.test:10.0.2.3"]


@pytest.fixture
def results(tmp_path: Path) -> Path:
    (tmp_path / "results" / "screenshots").mkdir(parents=True)
    (tmp_path / "run" / "screenshots").mkdir(parents=True)
    return tmp_path / "results"


def test_a_junit_file_and_pngs_the_tests_wrote_come_back_into_the_run_folder(results: Path):
    (results / "junit.xml").write_text('<testsuite tests="2" failures="1"/>')
    (results / "screenshots" / "recipe-local-front.png").write_bytes(PNG_MAGIC + b"data")
    (results / "screenshots" / "login page.png").write_bytes(PNG_MAGIC + b"data")
    run = results.parent / "run"
    junit, shots = collect(results, run, "recipe-local", "verify")
    assert junit == run / "recipe-local.verify.junit.xml"
    assert junit_counts(junit) == Counts(passed=1, failed=1)
    assert sorted(p.name for p in shots) == [
        "recipe-local-front.png",
        "recipe-local-login-page.png",
    ]


def test_links_devices_oversized_and_non_png_files_are_not_read_back(results: Path):
    secret = results.parent / "host-secret"
    secret.write_text("host file")
    (results / "junit.xml").symlink_to(secret)
    shots = results / "screenshots"
    (shots / "link.png").symlink_to(secret)
    os.mkfifo(shots / "fifo.png")
    (shots / "big.png").write_bytes(PNG_MAGIC + b"x" * MAX_SHOT)
    (shots / "script.png").write_text("<script>alert(1)</script>")
    junit, got = collect(results, results.parent / "run", "recipe-local", "verify")
    assert (junit, got) == (None, ())


def test_a_results_folder_that_is_a_link_is_not_followed(tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.png").write_bytes(PNG_MAGIC)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "screenshots").symlink_to(elsewhere)
    assert collect(tmp_path / "results", tmp_path / "run", "recipe-local", "verify") == (None, ())


@pytest.mark.parametrize(
    "xml",
    ['<testsuite tests="many" failures="1"/>', "<testsuite", '<testsuite tests="-5"/>'],
)
def test_a_junit_file_with_nonsense_counts_nothing_and_raises_nothing(tmp_path: Path, xml: str):
    (tmp_path / "j.xml").write_text(xml)
    assert junit_counts(tmp_path / "j.xml") == Counts()


def test_the_code_copied_into_the_image_imports_only_itself_pytest_and_playwright():
    stdlib = set(sys.stdlib_module_names)
    files = image_files()
    assert any(path.endswith("/cc_ci/suite/sandbox_plugin.py") for path, _ in files)
    for path, text in files:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mods = [node.module]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            else:
                continue
            for mod in mods:
                top = mod.split(".")[0]
                ok = top in stdlib | {"pytest", "playwright", "__future__"} or (
                    mod.split(".")[:2] in (["cc_ci", f] for f in IN_IMAGE) or mod == "cc_ci"
                )
                assert ok, f"{path} imports {mod}, which the image does not have"


def test_every_wheel_of_the_image_is_pinned_by_hash():
    names = {name for name, _, _ in pinned()}
    assert {"pytest", "playwright", "greenlet", "pluggy", "iniconfig", "packaging"} <= names
    lines = [
        line
        for line in (HERE / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == len(pinned())


def test_only_the_first_and_last_megabyte_of_a_flood_of_output_is_kept():
    r, w = os.pipe()
    with os.fdopen(r, "rb") as reader:
        out = BoundedOutput(reader, limit=1000)
        with os.fdopen(w, "wb") as writer:
            writer.write(b"a" * 600 + b"m" * 10_000 + b"z" * 600)
        text = out.text()
    assert text.startswith("a" * 500) and text.endswith("z" * 500)
    assert "[… " in text and "bytes of output left out" in text
    assert len(text) < 1200


def test_short_output_is_kept_whole():
    r, w = os.pipe()
    with os.fdopen(r, "rb") as reader:
        out = BoundedOutput(reader, limit=1000)
        with os.fdopen(w, "wb") as writer:
            writer.write(b"collected 2 items\n2 passed\n")
        assert out.text() == "collected 2 items\n2 passed\n"
