"""The test zone's wildcard certificate, as the harness hands it to the browsers of a suite."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from pathlib import Path


def cert_spki(cert: Path) -> str | None:
    """base64(sha256(SubjectPublicKeyInfo)) of a certificate, for Chromium's
    --ignore-certificate-errors-spki-list (trusting exactly the test zone's certificate)."""
    if not cert.exists():
        return None
    pub = subprocess.run(
        ["openssl", "x509", "-pubkey", "-noout", "-in", str(cert)],
        capture_output=True,
        timeout=30,
        check=True,
    ).stdout
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"],
        input=pub,
        capture_output=True,
        timeout=30,
        check=True,
    ).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()
