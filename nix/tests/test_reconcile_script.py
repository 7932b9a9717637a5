"""nix/reconcile/abra-app-reconcile.sh, the swarm units' shared reconcile, run by bash.

Docker and abra are stand-ins on PATH that keep the swarm's and abra's state in files (this
machine runs no Docker daemon for these tests). What is under test is the script's own logic:
converge once, then do nothing; a changed secret is a new version; drift is redeployed;
missing preconditions fail before anything is touched; .env edits never glue lines.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "nix" / "reconcile" / "abra-app-reconcile.sh"
DOMAIN = "traefik.ci.example.org"
STACK = "traefik_ci_example_org"

DOCKER = """#!/bin/sh
s=$STUB_STATE
case "$1 $2" in
  "info --format") cat "$s/swarm" ;;
  "secret inspect") test -e "$s/secrets/$3" ;;
  "stack ls") ls "$s/stacks" ;;
  *) echo "docker stub: unexpected $*" >&2; exit 3 ;;
esac
"""

ABRA = r"""#!/bin/sh
s=$STUB_STATE
echo "$*" >> "$s/abra.log"
case "$1 $2" in
  "server add") mkdir -p "$ABRA_DIR/servers/default" ;;
  "app new")
    # a recipe's .env.sample whose last line has no newline (backup-bot-two's did)
    printf 'TYPE=%s\nLETS_ENCRYPT_ENV=production\nSECRET_RESTIC_PASSWORD_VERSION=v1 # length=32\n# end' \
      "$3" > "$ABRA_DIR/servers/default/$7.env" ;;
  "app secret")
    stack=$(echo "$4" | tr . _)
    case "$3" in
      insert) cp "$7" "$s/secrets/${stack}_$5_$6" ;;
      generate) touch "$s/secrets/${stack}_$5_$6"; echo '{"value":"generated-canary-31f"}' ;;
    esac ;;
  "app deploy") touch "$s/stacks/$(echo "$3" | tr . _)" ;;
  *) echo "abra stub: unexpected $*" >&2; exit 3 ;;
esac
"""


@pytest.fixture
def host(tmp_path: Path) -> dict:
    state = tmp_path / "state"
    for d in ("secrets", "stacks"):
        (state / d).mkdir(parents=True)
    (state / "swarm").write_text("active\n")
    (state / "abra.log").write_text("")
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, text in (("docker", DOCKER), ("abra", ABRA)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "ssl_cert").write_text(
        "-----BEGIN CERTIFICATE-----\nfirst\n-----END CERTIFICATE-----\n"
    )
    env_file = tmp_path / "traefik.env"
    env_file.write_text("COMPOSE_FILE=compose.yml:compose.wildcard.yml\nLETS_ENCRYPT_ENV=\n")
    abra_dir = tmp_path / "abra"
    env = {
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "ABRA_DIR": str(abra_dir),
        "CREDENTIALS_DIRECTORY": str(creds),
        "STUB_STATE": str(state),
    }
    return {"env": env, "state": state, "creds": creds, "env_file": env_file, "abra": abra_dir}


def reconcile(host: dict, *extra: str) -> subprocess.CompletedProcess:
    # writeShellApplication runs the text under bash with errexit, nounset and pipefail
    argv = ["bash", "-o", "errexit", "-o", "nounset", "-o", "pipefail", str(SCRIPT)]
    argv += ["--recipe", "traefik", "--domain", DOMAIN, "--env", str(host["env_file"])]
    argv += ["--secret", "ssl_cert:SECRET_WILDCARD_CERT_VERSION", "--generate", "restic_password"]
    argv += list(extra)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=host["env"])


def abra_calls(host: dict) -> list[str]:
    return host["state"].joinpath("abra.log").read_text().splitlines()


def app_env(host: dict) -> str:
    return (host["abra"] / "servers" / "default" / f"{DOMAIN}.env").read_text()


def cert_version(host: dict) -> str:
    return "v" + hashlib.sha256((host["creds"] / "ssl_cert").read_bytes()).hexdigest()[:8]


def test_a_blank_host_is_converged_in_one_run(host):
    r = reconcile(host)
    assert r.returncode == 0, r.stderr
    calls = abra_calls(host)
    assert calls[0] == "server add --local -n"
    assert calls[1] == f"app new traefik --server default --domain {DOMAIN} -n"
    ver = cert_version(host)
    assert any(c.startswith(f"app secret insert {DOMAIN} ssl_cert {ver} ") for c in calls)
    assert f"app secret generate {DOMAIN} restic_password v1 -m -n" in calls
    assert calls[-1] == f"app deploy {DOMAIN} -f -D -n"
    assert (host["state"] / "stacks" / STACK).exists()
    lines = app_env(host).splitlines()
    assert lines.count("LETS_ENCRYPT_ENV=") == 1 and "LETS_ENCRYPT_ENV=production" not in lines
    assert "COMPOSE_FILE=compose.yml:compose.wildcard.yml" in lines
    assert f"SECRET_WILDCARD_CERT_VERSION={ver}" in lines
    # the sample's unterminated last line stays a comment of its own
    assert "# end" in lines
    assert app_env(host).endswith("\n")


def test_a_converged_app_is_left_alone(host):
    assert reconcile(host).returncode == 0
    before, env_before = abra_calls(host), app_env(host)
    r = reconcile(host)
    assert r.returncode == 0, r.stderr
    assert abra_calls(host) == before
    assert app_env(host) == env_before
    assert "nothing to do" in r.stderr


def test_a_changed_certificate_is_a_new_secret_version_and_a_redeploy(host):
    assert reconcile(host).returncode == 0
    old = cert_version(host)
    (host["creds"] / "ssl_cert").write_text("-----BEGIN CERTIFICATE-----\nrenewed\n")
    new = cert_version(host)
    n = len(abra_calls(host))
    r = reconcile(host)
    assert r.returncode == 0, r.stderr
    calls = abra_calls(host)[n:]
    assert calls[0].startswith(f"app secret insert {DOMAIN} ssl_cert {new} ")
    assert calls[-1] == f"app deploy {DOMAIN} -f -D -n"
    lines = app_env(host).splitlines()
    assert f"SECRET_WILDCARD_CERT_VERSION={new}" in lines
    assert f"SECRET_WILDCARD_CERT_VERSION={old}" not in lines


def test_a_stack_that_went_away_is_deployed_again(host):
    assert reconcile(host).returncode == 0
    (host["state"] / "stacks" / STACK).unlink()
    n = len(abra_calls(host))
    r = reconcile(host)
    assert r.returncode == 0, r.stderr
    assert abra_calls(host)[n:] == [f"app deploy {DOMAIN} -f -D -n"]


def test_generated_values_never_reach_the_output(host):
    r = reconcile(host)
    assert r.returncode == 0
    assert "generated-canary-31f" not in r.stdout + r.stderr


@pytest.mark.parametrize(
    ("breakage", "message"),
    [("missing-secret", "secret ssl_cert is missing"), ("swarm-down", "swarm is not active")],
)
def test_a_missing_precondition_fails_before_anything_is_touched(host, breakage, message):
    if breakage == "missing-secret":
        (host["creds"] / "ssl_cert").unlink()
    else:
        (host["state"] / "swarm").write_text("inactive\n")
    r = reconcile(host)
    assert r.returncode != 0
    assert message in r.stderr
    assert abra_calls(host) == []
