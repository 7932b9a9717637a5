"""scripts/secrets with the real sops and age binaries, in a temporary directory."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "secrets"
TOOLS = Path(os.environ.get("CCCI_TOOLS", Path.home() / ".cache" / "cc-ci"))
SOPS = os.environ.get("SOPS") or shutil.which("sops") or str(TOOLS / "bin" / "sops")
AGE_KEYGEN = shutil.which("age-keygen")

pytestmark = [
    pytest.mark.needs("sops", found=Path(SOPS).is_file() and SOPS),
    pytest.mark.needs("age"),
]

CERT = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIUcanaryCERTcanaryCERTcanary0wCgYIKoZIzj0EAwIw\n"
    "\n"
    "ZXhhbXBsZS5vcmcwHhcNMjYwMTAxMDAwMDAwWhcNMjYwNDAxMDAwMDAwWjAaMRgw\n"
    "-----END CERTIFICATE-----\n"
)
VALUES = {
    "wildcard_cert": CERT,
    "wildcard_key": "-----BEGIN EC PRIVATE KEY-----\ncanary-key-body-7f3a\n-----END EC PRIVATE KEY-----\n",
    "drone_client_secret": "canary-oauth-9c1d",
    "gitea_token": "canary-gitea-token-51b0",
    "drone_token": "canary drone token with spaces: and # signs",
}


def run(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        input=stdin,
    )


@pytest.fixture
def world(tmp_path: Path) -> dict:
    """A host identity, a .sops.yaml that names it, and a directory of secret values."""
    key = tmp_path / "host" / "key.txt"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "SOPS": SOPS,
        "TMPDIR": str(tmp_path),
        "SOPS_CONFIG": str(tmp_path / ".sops.yaml"),
    }
    r = run("identity", str(key), env=env)
    assert r.returncode == 0, r.stderr
    recipient = r.stdout.strip()
    (tmp_path / ".sops.yaml").write_text(
        "creation_rules:\n"
        "  - path_regex: (^|/)secrets/secrets\\.yaml$\n"
        f"    age: {recipient}\n"
    )
    values = tmp_path / "values"
    values.mkdir()
    for name, value in VALUES.items():
        (values / name).write_text(value)
    out = tmp_path / "repo" / "secrets" / "secrets.yaml"
    env["SOPS_AGE_KEY_FILE"] = str(key)
    return {"env": env, "key": key, "recipient": recipient, "values": values, "out": out}


def decrypt(world: dict) -> dict:
    r = subprocess.run(
        [SOPS, "decrypt", str(world["out"])],
        capture_output=True,
        text=True,
        timeout=60,
        env=world["env"],
    )
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(r.stdout)


def assert_no_plaintext(path: Path, values: list[str]) -> None:
    text = path.read_text()
    for value in values:
        for line in value.splitlines():
            if len(line) >= 8 and not line.startswith("-----"):
                assert line not in text


def test_identity_is_private_and_prints_its_recipient(world):
    key: Path = world["key"]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert re.fullmatch(r"age1[0-9a-z]{58}", world["recipient"])
    derived = subprocess.run([AGE_KEYGEN, "-y", str(key)], capture_output=True, text=True)
    assert derived.stdout.strip() == world["recipient"]


def test_identity_never_overwrites_an_existing_key(world):
    before = world["key"].read_bytes()
    r = run("identity", str(world["key"]), env=world["env"])
    assert r.returncode != 0
    assert world["recipient"] in r.stderr
    assert world["key"].read_bytes() == before


def test_fill_encrypts_every_value_exactly(world):
    r = run("fill", str(world["values"]), str(world["out"]), env=world["env"])
    assert r.returncode == 0, r.stderr
    assert_no_plaintext(world["out"], list(VALUES.values()))
    assert "sops:" in world["out"].read_text()
    plain = decrypt(world)
    for name, value in VALUES.items():
        assert plain[name] == value, name
    # generate-kind secrets are made when absent; optional ones are left out
    assert re.fullmatch(r"[0-9a-f]{64}", plain["drone_rpc_secret"])
    assert re.fullmatch(r"[0-9a-f]{64}", plain["webhook_secret"])
    assert plain["drone_rpc_secret"] != plain["webhook_secret"]
    assert "runner_git_token" not in plain
    assert_no_plaintext(world["out"], [plain["drone_rpc_secret"]])


def test_fill_names_missing_required_secrets_and_writes_nothing(world):
    (world["values"] / "gitea_token").unlink()
    (world["values"] / "wildcard_key").unlink()
    r = run("fill", str(world["values"]), str(world["out"]), env=world["env"])
    assert r.returncode != 0
    assert "gitea_token" in r.stderr and "wildcard_key" in r.stderr
    assert not world["out"].exists()


def test_fill_refuses_to_replace_an_existing_file(world):
    assert run("fill", str(world["values"]), str(world["out"]), env=world["env"]).returncode == 0
    before = world["out"].read_bytes()
    r = run("fill", str(world["values"]), str(world["out"]), env=world["env"])
    assert r.returncode != 0 and "rotate" in r.stderr
    assert world["out"].read_bytes() == before


def test_rotate_replaces_one_secret_and_keeps_the_others(world, tmp_path):
    assert run("fill", str(world["values"]), str(world["out"]), env=world["env"]).returncode == 0
    before = decrypt(world)
    new = tmp_path / "new-token"
    new.write_text("canary-rotated-token-88e2")
    r = run("rotate", "gitea_token", str(new), str(world["out"]), env=world["env"])
    assert r.returncode == 0, r.stderr
    after = decrypt(world)
    assert after["gitea_token"] == "canary-rotated-token-88e2"
    assert {k: v for k, v in after.items() if k != "gitea_token"} == {
        k: v for k, v in before.items() if k != "gitea_token"
    }
    assert_no_plaintext(world["out"], ["canary-rotated-token-88e2", CERT])


def test_rotate_makes_a_new_random_value_for_a_generated_secret(world):
    assert run("fill", str(world["values"]), str(world["out"]), env=world["env"]).returncode == 0
    old = decrypt(world)["drone_rpc_secret"]
    r = run("rotate", "drone_rpc_secret", "", str(world["out"]), env=world["env"])
    assert r.returncode == 0, r.stderr
    new = decrypt(world)["drone_rpc_secret"]
    assert re.fullmatch(r"[0-9a-f]{64}", new) and new != old


def test_rotate_reads_a_multiline_value_from_stdin(world):
    assert run("fill", str(world["values"]), str(world["out"]), env=world["env"]).returncode == 0
    renewed = CERT.replace("canary", "renewd")
    r = run("rotate", "wildcard_cert", "-", str(world["out"]), env=world["env"], stdin=renewed)
    assert r.returncode == 0, r.stderr
    assert decrypt(world)["wildcard_cert"] == renewed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rotate", "no_such_secret", "-"], "unknown secret"),
        (["rotate", "gitea_token"], "give a file"),
    ],
)
def test_rotate_refuses_what_it_cannot_do(world, args, message):
    assert run("fill", str(world["values"]), str(world["out"]), env=world["env"]).returncode == 0
    before = world["out"].read_bytes()
    r = run(*args, *([""] if len(args) == 2 else []), str(world["out"]), env=world["env"])
    assert r.returncode != 0 and message in r.stderr
    assert world["out"].read_bytes() == before


def test_rotate_without_the_identity_fails_and_keeps_the_file(world, tmp_path):
    assert run("fill", str(world["values"]), str(world["out"]), env=world["env"]).returncode == 0
    before = world["out"].read_bytes()
    other = tmp_path / "other.txt"
    subprocess.run([AGE_KEYGEN, "-o", str(other)], capture_output=True, check=True)
    env = {**world["env"], "SOPS_AGE_KEY_FILE": str(other)}
    r = run("rotate", "drone_rpc_secret", "", str(world["out"]), env=env)
    assert r.returncode != 0 and "cannot decrypt" in r.stderr
    assert world["out"].read_bytes() == before


def test_check_lists_names_and_never_values(world):
    assert run("fill", str(world["values"]), str(world["out"]), env=world["env"]).returncode == 0
    r = run("check", str(world["out"]), env=world["env"])
    assert r.returncode == 0, r.stderr
    assert "present  gitea_token" in r.stdout
    assert "absent   runner_git_token (optional)" in r.stdout
    for value in VALUES.values():
        assert value.splitlines()[0] not in r.stdout + r.stderr or value.startswith("-----")


def test_the_repository_sops_yaml_refuses_its_placeholders(world):
    env = {k: v for k, v in world["env"].items() if k != "SOPS_CONFIG"}
    r = run("fill", str(world["values"]), str(world["out"]), env=env)
    assert r.returncode != 0
    assert "could not encrypt" in r.stderr
    assert not world["out"].exists()
