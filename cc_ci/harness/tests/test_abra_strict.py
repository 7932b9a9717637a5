"""The harness's side of the strict abra readings (issue 13, items 4 and 5): a full terminal
for backup and restore, the offline catalogue, the domain the harness sets, the generated
secrets read back, and every secret the run can see masked in what it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from cc_ci.contract.record import RunRecord, Source, StageResult, utc_now, write_record
from cc_ci.contract.redact import Redactor
from cc_ci.harness.deploy.abra import Abra, AbraError, generated_values
from cc_ci.harness.deploy.lifecycle import check_env, harness_env
from cc_ci.harness.deploy.terminal import run_in_terminal
from cc_ci.harness.publish import artifact_name, publish_files, publish_junit
from cc_ci.harness.seen_secrets import from_environment, netrc_passwords, secret_names

TTY_PROBE = (
    "import os, sys; print([os.isatty(f) for f in (0, 1, 2)]); print('err', file=sys.stderr)"
)


def test_a_command_on_the_terminal_has_a_tty_on_all_three_streams_and_its_output_is_read():
    r = run_in_terminal([sys.executable, "-c", TTY_PROBE], {"PATH": "/usr/bin:/bin"}, timeout=30)
    assert r.returncode == 0
    assert r.stdout == "[True, True, True]\nerr\n"


def test_a_command_on_the_terminal_keeps_its_exit_status():
    r = run_in_terminal([sys.executable, "-c", "raise SystemExit(3)"], {}, timeout=30)
    assert r.returncode == 3


def test_a_command_on_the_terminal_that_outlasts_its_timeout_is_killed():
    with pytest.raises(subprocess.TimeoutExpired):
        run_in_terminal([sys.executable, "-c", "import time; time.sleep(60)"], {}, timeout=1)


def test_every_abra_call_but_the_version_is_offline_and_never_prompts():
    abra = Abra("abra", Path("/tmp/x"))
    assert abra.argv(["app", "deploy", "d"]) == ["abra", "app", "deploy", "d", "-n", "-o"]
    assert abra.argv(["--version"]) == ["abra", "--version"]


def test_an_abra_dir_gets_an_empty_committed_catalogue_or_a_link_to_the_operators(tmp_path):
    cat = Abra("abra", tmp_path / "abra").ensure_catalogue()
    assert json.loads((cat / "recipes.json").read_text()) == {}
    log = subprocess.run(["git", "log", "--oneline"], cwd=cat, capture_output=True, text=True)
    assert log.returncode == 0 and log.stdout.strip()
    theirs = tmp_path / "operator-catalogue"
    (theirs / ".git").mkdir(parents=True)
    linked = Abra("abra", tmp_path / "abra2", catalogue=theirs).ensure_catalogue()
    assert linked.is_symlink() and linked.resolve() == theirs
    with pytest.raises(AbraError, match="not a git clone"):
        Abra("abra", tmp_path / "abra3", catalogue=tmp_path).ensure_catalogue()


def test_generated_secret_values_are_read_from_the_machine_output_whatever_its_shape():
    assert generated_values('[{"name": "db_password", "value": "s3cr3tvalue"}]') == ["s3cr3tvalue"]
    assert generated_values('{"db_password": "abcdef", "key": "ghijkl"}') == ["abcdef", "ghijkl"]
    assert generated_values("") == []
    with pytest.raises(AbraError, match="did not print JSON"):
        generated_values("NAME VALUE\ndb hunter22")
    with pytest.raises(AbraError, match="recognisable"):
        generated_values('[{"name": "db_password", "version": "v1"}]')


def test_the_harness_owns_the_domain_the_stack_and_the_resolver():
    env = harness_env("demo-1a2b3c.ci.test")
    assert env == {
        "DOMAIN": "demo-1a2b3c.ci.test",
        "STACK_NAME": "demo-1a2b3c_ci_test",
        "LETS_ENCRYPT_ENV": "",
    }
    check_env(
        "DOMAIN=demo-1a2b3c.ci.test\nSTACK_NAME=demo-1a2b3c_ci_test\nLETS_ENCRYPT_ENV=\n", env
    )
    # a later line wins in abra's reading: the check reads the file the way abra does
    repeated = "DOMAIN=demo-1a2b3c.ci.test\nSTACK_NAME=demo-1a2b3c_ci_test\nLETS_ENCRYPT_ENV=\nDOMAIN=x.example.com\n"
    with pytest.raises(AbraError, match="DOMAIN='x.example.com'"):
        check_env(repeated, env)


def test_the_env_file_keeps_the_harness_domain_whatever_placeholder_and_repeats_the_sample_has():
    from cc_ci.contract.envfile import set_keys, values

    sample = "TYPE=x\nDOMAIN={{ .Domain }}.example.org\nLETS_ENCRYPT_ENV=production\nDOMAIN=evil.example.com\n"
    env = harness_env("x-1a2b3c.ci.test")
    text = set_keys(sample, {"DOMAIN": "from-extra-env.ci.test", **env})
    check_env(text, env)
    assert values(text)["DOMAIN"] == "x-1a2b3c.ci.test"


def test_the_run_sees_secret_variables_token_files_credentials_and_the_netrc(tmp_path):
    token = tmp_path / "token"
    token.write_text("file-token-123\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "rpc-secret").write_text("rpc-secret-456")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text("machine git.example login bot password netrc-pass-789\n")
    env = {
        "CCCI_GIT_TOKEN_FILE": str(token),
        "CCCI_DRONE_SECRET": "env-secret-000",
        "GITEA_TOKEN": "gitea-token-111",
        "CREDENTIALS_DIRECTORY": str(creds),
        "HOME": str(home),
        "CCCI_ZONE": "ci.test",
        "PATH": "/usr/bin",
    }
    found = from_environment(env)
    assert set(found) == {
        "file-token-123",
        "env-secret-000",
        "gitea-token-111",
        "rpc-secret-456",
        "netrc-pass-789",
    }
    assert secret_names({"CCCI_ZONE": "", "DRONE_NETRC_PASSWORD": ""}) == ["DRONE_NETRC_PASSWORD"]
    assert netrc_passwords("machine a login b password c") == ["c"]


def test_a_missing_or_huge_token_file_is_no_secret_and_no_crash(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"x" * (65 * 1024))
    assert (
        from_environment({"A_TOKEN_FILE": str(tmp_path / "nope"), "B_TOKEN_FILE": str(big)}) == []
    )


def test_artifacts_reach_the_run_folder_masked_in_name_and_text(tmp_path):
    redact = Redactor(["s3cr3tvalue"])
    assert artifact_name("recipe-local-s3cr3tvalue.png", redact) == "recipe-local-redacted.png"
    assert artifact_name("install-front.png", redact) == "install-front.png"
    src = tmp_path / "work"
    src.mkdir()
    (src / "install-s3cr3tvalue.png").write_bytes(b"\x89PNG")
    junit = src / "install.verify.junit.xml"
    junit.write_text(
        '<testsuite><testcase name="t"><system-out>s3cr3tvalue</system-out></testcase></testsuite>'
    )
    out = tmp_path / "run"
    published = publish_junit(junit, out / "install.verify.junit.xml", redact)
    assert published is not None and "s3cr3tvalue" not in published.read_text()
    assert not junit.exists()
    moved = publish_files(src, out / "screenshots", redact)
    assert [p.name for p in moved] == ["install-redacted.png"]


def test_the_record_is_masked_before_it_is_written(tmp_path):
    rec = RunRecord(
        run_id="r1",
        recipe="demo",
        source=Source("cc-ci/demo", "abc", None, None),
        started_at=utc_now(),
        stages=(StageResult("install", message="failed: password s3cr3tvalue rejected"),),
    )
    path = write_record(tmp_path, rec, redact=Redactor(["s3cr3tvalue"]))
    assert "s3cr3tvalue" not in path.read_text()
    assert "[redacted]" in path.read_text()


class _FakeAbra:
    """The two calls create_app makes, as a recipe with a hostile sample would answer them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls: list[str] = []

    def env_file(self, domain: str) -> Path:
        return self.root / f"{domain}.env"

    def app_new(self, recipe: str, domain: str, log) -> None:
        self.calls.append("new")
        self.env_file(domain).write_text(
            "TYPE=demo\nDOMAIN=demo.example.org\nLETS_ENCRYPT_ENV=production\n"
            "DOMAIN=dashboard.ci.test\nSECRET_X_VERSION=v1\n"
        )

    def secret_generate(self, domain: str, log) -> list[str]:
        self.calls.append("generate")
        assert "DOMAIN=" + domain in self.env_file(domain).read_text(), "secrets come after the env"
        return ["generated-value-1"]


def test_create_app_sets_the_harness_keys_last_then_hands_the_secrets_to_the_redactor(tmp_path):
    from cc_ci.contract.envfile import values
    from cc_ci.harness.deploy.lifecycle import create_app

    abra = _FakeAbra(tmp_path)
    redact = Redactor()
    domain = "demo-1a2b3c.ci.test"
    extra = {"DOMAIN": "extra.ci.test", "LETS_ENCRYPT_ENV": "staging", "GREETING": "hi"}
    create_app(abra, "demo", domain, extra, log=None, secret=redact.add)  # type: ignore[arg-type]
    env = values(abra.env_file(domain).read_text())
    assert env | harness_env(domain) == env and env["GREETING"] == "hi"
    assert abra.calls == ["new", "generate"]
    assert redact("x generated-value-1 y") == "x [redacted] y"


def test_each_call_the_adapter_makes_is_a_row_of_the_golden_table(tmp_path):
    """Without a swarm: the adapter's calls against a binary that only records them (the
    end-to-end comparison, in order, is test_strict_e2e.py)."""
    from devworld.strictabra import golden_table

    calls = tmp_path / "calls"
    fake = tmp_path / "abra"
    fake.write_text(f'#!/bin/sh\necho "$*" >>{calls}\n[ "$1" = --version ] && echo fake\nexit 0\n')
    fake.chmod(0o755)
    abra = Abra(str(fake), tmp_path / "abra-dir")
    log = SimpleNamespace(write=lambda _text: None)
    d = "<domain>"
    abra.version(log)
    abra.ensure_server(log)
    abra.app_new("demo", d, log)
    abra.secret_generate(d, log)
    abra.deploy(d, log, timeout=30)
    abra.deploy(d, log, timeout=30, force=True)
    abra.backup_create(d, log, timeout=30)
    abra.restore(d, log, timeout=30)
    abra.undeploy(d, log)
    abra.remove_volumes(d, log)
    abra.remove_secrets(d, log)
    rows = {call for call, _ in golden_table()}
    made = ["abra " + line for line in calls.read_text().splitlines()]
    assert len(made) == 11
    assert [m for m in made if m not in rows] == []
