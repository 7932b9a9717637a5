"""sops with an age key: encrypt a YAML file, decrypt it, get the value back."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=60, env=env, cwd=cwd)
    assert r.returncode == 0, f"{args[0]} failed: {r.stderr.strip()}"
    return r.stdout


def test_sops_encrypts_yaml_for_a_generated_age_key_and_decrypts_it(tmp_path: Path):
    for tool in ("sops", "age-keygen"):
        assert shutil.which(tool), f"{tool} is not on PATH: run scripts/bootstrap"
    key = tmp_path / "key.txt"
    run("age-keygen", "-o", str(key))
    recipient = next(
        line.split(": ", 1)[1] for line in key.read_text().splitlines() if "public key" in line
    )
    plain = tmp_path / "secrets.yaml"
    plain.write_text("drone_token: canary-7f3a\n")
    # cwd outside the repository: sops would otherwise apply the project's .sops.yaml rules
    encrypted = run("sops", "--encrypt", "--age", recipient, str(plain), cwd=tmp_path)
    assert "canary-7f3a" not in encrypted
    assert "ENC[" in encrypted
    enc = tmp_path / "secrets.enc.yaml"
    enc.write_text(encrypted)
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(key)}
    value = run(
        "sops", "--decrypt", "--extract", '["drone_token"]', str(enc), env=env, cwd=tmp_path
    )
    assert value == "canary-7f3a"
