"""A real Gitea on loopback, for tests that are worth more against the real thing than a simulator.

scripts/bootstrap builds Gitea from the Go module proxy into $CCCI_TOOLS/bin/gitea (a link into
its source folder, whose locales and templates it reads at run time). `RealGitea` starts it on a
free loopback port with SQLite in a temporary folder, makes an admin account with a token, and
offers the few calls tests need to build a world: organisations, users, repositories, branches,
pull requests (from forks too) and comments, each acting as the user it names (the admin token
with Gitea's `Sudo` header). Standard library only.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ADMIN = "cc-ci-admin"


class GiteaUnavailable(RuntimeError):
    """The gitea binary is not installed here (scripts/bootstrap builds it)."""


def gitea_binary() -> Path:
    tools = Path(os.environ.get("CCCI_TOOLS", Path.home() / ".cache" / "cc-ci"))
    for candidate in (tools / "bin" / "gitea", shutil.which("gitea")):
        if candidate and Path(candidate).exists():
            return Path(candidate).resolve()
    raise GiteaUnavailable(f"no gitea binary in {tools}/bin or on PATH: run scripts/bootstrap")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


APP_INI = """\
{root_override}APP_NAME = cc-ci test forge
RUN_MODE = prod
WORK_PATH = {work}
[database]
DB_TYPE = sqlite3
PATH = {work}/data/gitea.db
[server]
HTTP_ADDR = 127.0.0.1
HTTP_PORT = {port}
ROOT_URL = http://127.0.0.1:{port}/
STATIC_ROOT_PATH = {static}
DISABLE_SSH = true
OFFLINE_MODE = true
[security]
INSTALL_LOCK = true
[service]
DISABLE_REGISTRATION = true
[repository]
ROOT = {work}/repos
[log]
MODE = file
LEVEL = warn
ROOT_PATH = {work}/log
[webhook]
ALLOWED_HOST_LIST = loopback
[cron]
ENABLED = false
"""


class ApiError(Exception):
    """Gitea answered with an error status."""

    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:200]}")
        self.status = status


class RealGitea:
    """`with RealGitea(tmp_path) as g:` — a running Gitea; `g.url`, `g.token`, `g.api(...)`."""

    def __init__(
        self,
        work: Path,
        start_timeout: float = 60.0,
        env: dict[str, str] | None = None,
        detach: bool = False,
    ) -> None:
        """`env`: more variables for Gitea's processes; `detach`: Gitea in a session of its
        own, so it outlives this process (devworld/world.py stops it by its mark)."""
        self.binary = gitea_binary()
        self.extra_env = dict(env or {})
        self.detach = detach
        self.work = Path(work)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = ""
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen | None = None

    @classmethod
    def attach(cls, url: str, token: str) -> RealGitea:
        """The API calls of a Gitea that is already running (started elsewhere) at `url`."""
        g = cls.__new__(cls)
        g.url, g.token, g._proc = url.rstrip("/"), token, None
        return g

    # -- life cycle -------------------------------------------------------------------------
    def __enter__(self) -> RealGitea:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _cli(self, *args: str) -> str:
        r = subprocess.run(
            [str(self.binary), "--config", str(self.ini), *args],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if r.returncode != 0:
            raise RuntimeError(f"gitea {args[0]} failed: {(r.stderr or r.stdout).strip()[-400:]}")
        return r.stdout

    def _env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.work / "home"),
            "GITEA_WORK_DIR": str(self.work),
            **self.extra_env,
        }

    def start(self) -> None:
        (self.work / "custom" / "conf").mkdir(parents=True, exist_ok=True)
        (self.work / "home").mkdir(exist_ok=True)
        self.ini = self.work / "custom" / "conf" / "app.ini"
        # Gitea refuses to run as root unless told; these tests run as root on a CI machine.
        override = "I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true\n" if os.geteuid() == 0 else ""
        self.ini.write_text(
            APP_INI.format(
                root_override=override, work=self.work, port=self.port, static=self.binary.parent
            )
        )
        self._cli("migrate")
        self._cli(
            "admin",
            "user",
            "create",
            "--admin",
            "--username",
            ADMIN,
            "--password",
            "cc-ci-admin-password",
            "--email",
            f"{ADMIN}@example.test",
            "--must-change-password=false",
        )
        out = self._cli(
            "admin",
            "user",
            "generate-access-token",
            "--username",
            ADMIN,
            "--scopes",
            "all",
            "--raw",
        )
        # Gitea logs its running-as-root warning to stdout too: the token is the last line.
        self.token = out.strip().splitlines()[-1].strip()
        log = open(self.work / "gitea.out", "wb")  # noqa: SIM115 - lives as long as the process
        self._proc = subprocess.Popen(
            [str(self.binary), "--config", str(self.ini), "web"],
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=self.detach,
        )
        log.close()
        self.pid = self._proc.pid
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                self.api("GET", "/version")
                return
            except (OSError, ApiError):
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    tail = (self.work / "gitea.out").read_text(errors="replace")[-800:]
                    self.stop()
                    raise RuntimeError(f"gitea did not start on {self.url}: {tail}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    # -- API --------------------------------------------------------------------------------
    def api(
        self,
        method: str,
        path: str,
        body: object = None,
        sudo: str | None = None,
        auth: str | None = None,
    ):
        """One call to /api/v1 as the admin (or as `sudo`); the decoded JSON, or None."""
        req = urllib.request.Request(
            f"{self.url}/api/v1{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": auth or f"token {self.token}",
                "Content-Type": "application/json",
            },
        )
        if sudo:
            req.add_header("Sudo", sudo)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, method, path, exc.read().decode(errors="replace")) from None
        return json.loads(raw) if raw.strip() else None

    def user(self, login: str, scopes: tuple[str, ...] = ("all",)) -> str:
        """Create a user; returns a token of its own with `scopes` (Gitea makes tokens on a
        password only)."""
        password = f"{login}-password-1"
        self.api(
            "POST",
            "/admin/users",
            {
                "username": login,
                "email": f"{login}@example.test",
                "password": password,
                "must_change_password": False,
            },
        )
        basic = base64.b64encode(f"{login}:{password}".encode()).decode()
        tok = self.api(
            "POST",
            f"/users/{login}/tokens",
            {"name": "t", "scopes": list(scopes)},
            auth=f"Basic {basic}",
        )
        return tok["sha1"]

    def org(self, name: str, members: tuple[str, ...] = ()) -> None:
        self.api("POST", "/orgs", {"username": name})
        owners = next(t for t in self.api("GET", f"/orgs/{name}/teams") if t["name"] == "Owners")
        for login in members:
            self.api("PUT", f"/teams/{owners['id']}/members/{login}")

    def repo(self, full_name: str) -> None:
        owner, name = full_name.split("/")
        body = {"name": name, "auto_init": True, "default_branch": "main"}
        users = {u["login"] for u in self.api("GET", "/admin/users?limit=50")}
        path = "/user/repos" if owner in users else f"/orgs/{owner}/repos"
        self.api("POST", path, body, sudo=owner if owner in users else None)

    def fork(self, full_name: str, login: str) -> str:
        fork = self.api("POST", f"/repos/{full_name}/forks", {}, sudo=login)
        return fork["full_name"]

    def pull_request(self, base_repo: str, head_repo: str, branch: str, author: str) -> dict:
        """A branch in `head_repo` with one new file, and a PR of it into `base_repo`'s main."""
        self.api(
            "POST",
            f"/repos/{head_repo}/branches",
            {"new_branch_name": branch, "old_branch_name": "main"},
            sudo=author,
        )
        content = base64.b64encode(f"change on {branch}\n".encode()).decode()
        self.api(
            "POST",
            f"/repos/{head_repo}/contents/{branch}.txt",
            {"branch": branch, "content": content, "message": f"change on {branch}"},
            sudo=author,
        )
        head_owner = head_repo.split("/")[0]
        head = branch if head_repo == base_repo else f"{head_owner}:{branch}"
        return self.api(
            "POST",
            f"/repos/{base_repo}/pulls",
            {"head": head, "base": "main", "title": f"PR from {branch}"},
            sudo=author,
        )

    def issue(self, repo: str, title: str, author: str) -> dict:
        return self.api("POST", f"/repos/{repo}/issues", {"title": title}, sudo=author)

    def comment(self, repo: str, number: int, body: str, author: str) -> dict:
        return self.api(
            "POST", f"/repos/{repo}/issues/{number}/comments", {"body": body}, sudo=author
        )

    def edit_comment(self, repo: str, comment_id: int, body: str, author: str) -> dict:
        return self.api(
            "PATCH", f"/repos/{repo}/issues/comments/{comment_id}", {"body": body}, sudo=author
        )
