"""Every secret a run can see on the runner, for its redactor (cc_ci/contract/redact.py).

A run sees the operator's secrets through its environment: the token files its settings
name (`CCCI_GIT_TOKEN_FILE`), any variable whose name says it holds a secret (`*TOKEN*`,
`*SECRET*`, `*PASSWORD*`, …; a `*_FILE` one names a file holding it), the files systemd
hands the unit as credentials (`$CREDENTIALS_DIRECTORY`), and the `.netrc` Drone's exec
runner writes into the step's home with the forge login's password. The app secrets abra
generates are added later, as they are read back (cc_ci/harness/deploy/lifecycle.py).

`from_environment` reads files; `secret_names`, `netrc_passwords` are pure.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE_KEY|API_KEY")
NOT_SECRETS = {"CREDENTIALS_DIRECTORY"}  # names the folder of credentials, read below
MAX_FILE = 64 * 1024  # a token or a key; a bigger file is not one


def secret_names(env: Mapping[str, str]) -> list[str]:
    """The variables of `env` whose names say they hold a secret (or a file of one)."""
    return sorted(k for k in env if SECRET_NAME.search(k.upper()) and k not in NOT_SECRETS)


def netrc_passwords(text: str) -> list[str]:
    """The `password` values of a .netrc file's text."""
    words = text.split()
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w == "password"]


def _read(path: Path) -> str | None:
    """A small regular file's text, or None (missing, unreadable, a directory, too big)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE:
            return None
        return path.read_text(errors="replace")
    except OSError:
        return None


def from_environment(env: Mapping[str, str], files: tuple[Path | None, ...] = ()) -> list[str]:
    """The secret values a run with environment `env` can see, plus those in `files` (the
    token files its settings name)."""
    found: list[str] = []
    paths = [p for p in files if p is not None]
    for name in secret_names(env):
        if name.endswith("_FILE") or name.endswith("_PATH"):
            paths.append(Path(env[name]))
        else:
            found.append(env[name])
    creds = env.get("CREDENTIALS_DIRECTORY")
    if creds and Path(creds).is_dir():
        paths += sorted(Path(creds).iterdir())
    for path in paths:
        text = _read(path)
        if text is not None:
            found.append(text.strip())
    home = env.get("HOME")
    if home:
        netrc = _read(Path(home) / ".netrc")
        if netrc:
            found += netrc_passwords(netrc)
    return [v for v in dict.fromkeys(v.strip() for v in found) if v]


def operator_secrets(files: tuple[Path | None, ...] = ()) -> list[str]:
    """`from_environment` for this process."""
    return from_environment(dict(os.environ), files)
