"""The whole of cc-ci on this machine, on loopback: a real Gitea, a real Drone server and its
exec runner, the bridge, the dashboard and Traefik, wired as an operator's host wires them.

    python -m devworld.world up       # clears what a killed world left, then starts one
    python -m devworld.world status   # each process, the URLs and the logins
    python -m devworld.world down     # stops every process and removes the apps runs left

- **Gitea** (devworld/real_gitea.py): the org `cc-ci`; the bot `cc-ci-bot`, an org member whose
  API token has exactly the scopes docs/install.md documents; `maintainer`, an org member;
  `outsider`, who is not. The demo recipe (devworld/demo) is pushed as `cc-ci/demo` with its
  release tags (main at the last release, the PR head on the branch `demo-1.2`), and this
  clone's HEAD as `cc-ci/cc-ci`, whose `.drone.yml` Drone reads.
- **Drone** (built by scripts/bootstrap from ../shared/vendor, with the runner protocol): an
  OAuth2 application the bot made in Gitea; the bot logs in through Drone's own `/login` and
  Gitea's consent page, driven by Chromium (Playwright), and gets its Drone token from
  Drone's API; `cc-ci/cc-ci` is synced and activated with that token.
- **The exec runner, the bridge and the dashboard** start from what the NixOS modules render:
  nix/tests/eval-modules.nix evaluates nix/modules with a host module of this world's values
  (`host_module`), and the runner's daemon environment, the steps' environment file, the
  bridge's settings and the dashboard's command line are read from that evaluation; only the
  paths and loopback addresses an operator would also set differ, each set through an option.
- **Traefik** is devworld/proxy.py's, shared with the other tests (the zone `ci.test`).
- **backupbot-standin** (devworld/backupbot, a stand-in for backup-bot-two, whose image cannot
  be had here), so that a plain `!testme` runs all four stages: deployed by `up` unless a
  backupbot already runs on the swarm (then the runs use that one), labelled as this world's
  (`cc-ci.standin.owner=world:<dir>`), and removed by `down` only when this world deployed
  it: a stand-in a test module or a script brought up is theirs to remove.

Everything lives in the world dir ($CCCI_WORLD_DIR, default ~/.local/state/cc-ci/world):
`world.json` (URLs, ports, logins), `logs/`, the token files, Gitea's and Drone's data and the
runner's state. Every process the world starts carries CCCI_WORLD_MEMBER=<that dir> in its
environment and leads a session of its own, listed in `sessions`; the exec runner's steps stay
in its session (it hands them only a few variables). That is how `down` finds all of them,
pipeline steps included, even after the `up` that started them was killed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from cc_ci.contract.names import stack_name
from cc_ci.harness.deploy import docker as dk
from cc_ci.harness.deploy.janitor import SANDBOX_LABEL, read_claims
from cc_ci.harness.deploy.lifecycle import remove_with_docker
from cc_ci.harness.waiting import wait_for
from devworld import backupbot
from devworld.real_gitea import ADMIN, RealGitea, _free_port

ROOT = Path(__file__).resolve().parents[1]
TOOLS = Path(os.environ.get("CCCI_TOOLS", Path.home() / ".cache" / "cc-ci"))
# set on every process the world starts (not the configuration variable CCCI_WORLD_DIR, which
# the shell that runs `up` may carry itself)
MARK = "CCCI_WORLD_MEMBER"
ORG = "cc-ci"
BOT = "cc-ci-bot"
MAINTAINER = "maintainer"
OUTSIDER = "outsider"
# docs/install.md, "A bot account on Gitea"; docs/bridge.md, gitea.token_file
BOT_SCOPES = ("read:organization", "read:user", "write:repository", "write:issue")
DEMO_REPO = f"{ORG}/demo"
CCCI_REPO = f"{ORG}/cc-ci"
PR_BRANCH = "demo-1.2"
ZONE = "ci.test"
PROCESSES = ("gitea", "drone", "runner", "bridge", "dashboard")


class WorldError(RuntimeError):
    """The world could not be brought up (the message says which part and why)."""


def world_dir() -> Path:
    return Path(
        os.environ.get("CCCI_WORLD_DIR") or Path.home() / ".local" / "state" / "cc-ci" / "world"
    ).resolve()


def password(login: str) -> str:
    """The demo logins' passwords (RealGitea.user's rule): printed by `status`, never secret."""
    return f"{login}-password-1"


@dataclass(frozen=True, slots=True)
class Info:
    """What `up` wrote to world.json: enough for tests, `status` and `down`."""

    dir: str
    gitea_url: str
    drone_url: str
    dashboard_url: str
    webhook_url: str
    admin_token: str
    drone_token: str
    pr_branch: str
    pr_head: str
    ccci_head: str
    results_dir: str
    runner_state: str
    ports: dict[str, int]
    pids: dict[str, int]
    backupbot: str = ""
    """The backupbot service the runs use: the world's stand-in, or one that ran already."""

    @staticmethod
    def load(d: Path) -> Info:
        try:
            return Info(**json.loads((d / "world.json").read_text()))
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise WorldError(f"no world is up in {d} ({exc})") from None


# --- the configuration the NixOS modules render ------------------------------------------


def _shared_state() -> Path:
    """Where the local proxy keeps its CA (devworld/demo/world.py's demo_env: the same rule)."""
    return Path(os.environ.get("CCCI_STATE_DIR") or Path.home() / ".local" / "state" / "cc-ci")


def host_module(
    d: Path, gitea_url: str, drone_port: int, ports: dict[str, int], poll_interval: int = 2
) -> str:
    """This world's host as a NixOS module (Nix source): the options an operator sets, with
    loopback addresses and the world's paths. `poll_interval` 0: the webhook alone."""
    s = lambda p: json.dumps(str(p))  # noqa: E731 - a Nix string is a JSON string here
    env = {
        "CCCI_ABRA": os.environ.get("CCCI_ABRA") or shutil.which("abra") or str(Path(sys.executable).parent / "abra-sim"),
        # the shared local Traefik (devworld/proxy.py), not the operator's traefik app
        "CCCI_PROXY_SERVICE": "cc-ci-proxy_app",
        "CCCI_POLICY_FILE": str(d / "policy.toml"),
        "CCCI_TOOLS": str(TOOLS),
    }  # fmt: skip
    runner_env = {
        "DRONE_RPC_PROTO": "http",
        "DRONE_RPC_HOST": f"127.0.0.1:{drone_port}",
        "DRONE_HTTP_BIND": f"127.0.0.1:{ports['runner']}",
        "DRONE_RUNNER_ENVFILE": str(d / "runner.env"),
        "DRONE_RUNNER_ROOT": str(d / "runner-root"),
    }
    attrs = lambda m: " ".join(f"{k} = {json.dumps(v)};" for k, v in m.items())  # noqa: E731
    return f"""{{
  networking.hostName = "cc-ci-world";
  services.cc-ci = {{
    enable = true;
    domain = "{ZONE}";
    stateDir = {s(d / "state")};
    resultsDir = {s(d / "results")};
    gitea = {{ url = "{gitea_url}"; org = "{ORG}"; botUser = "{BOT}"; tokenFile = {s(d / "gitea-token")}; }};
    drone = {{
      repo = "{CCCI_REPO}";
      clientId = "from-gitea";
      clientSecretFile = {s(d / "drone-client-secret")};
      rpcSecretFile = {s(d / "drone-rpc-secret")};
      tokenFile = {s(d / "drone-token")};
      runner.environment = {{ {attrs(runner_env)} }};
    }};
    harness = {{
      caFile = {s(_shared_state() / "pki" / "ca.crt")};
      environment = {{ {attrs(env)} }};
    }};
    bridge = {{
      repos = [ "{DEMO_REPO}" ];
      pollInterval = {poll_interval};
      # no default-branch runs of its own: every build the world makes is one a PR asked for
      schedule = {{ interval = 0; tags = false; }};
      webhook = {{ enable = true; listen = "127.0.0.1:{ports["webhook"]}"; secretFile = {s(d / "webhook-secret")}; }};
      settings = {{
        gitea.token_file = {s(d / "gitea-token")};
        drone.url = "http://127.0.0.1:{drone_port}";
        drone.token_file = {s(d / "drone-token")};
        webhook.secret_file = {s(d / "webhook-secret")};
        state.path = {s(d / "bridge.sqlite3")};
        report.dashboard_url = "http://127.0.0.1:{ports["dashboard"]}";
      }};
    }};
    dashboard = {{ listen = "127.0.0.1:{ports["dashboard"]}"; publicUrl = "http://127.0.0.1:{ports["dashboard"]}"; }};
  }};
}}
"""


def render(module: Path) -> dict:
    """Evaluate the modules with `module` as the host: what each service is started with."""
    src = TOOLS / "src"
    libs = sorted(src.glob("nixpkgs-lib-*/lib/default.nix"))
    sops = sorted(src.glob("sops-nix-*/modules/sops/default.nix"))
    if not libs or not sops:
        raise WorldError(
            f"the vendored nixpkgs library or sops-nix is not in {src}: run scripts/bootstrap"
        )
    evaluate = ROOT / "nix" / "tests" / "eval-modules.nix"
    expr = f"""
      let
        r = import {evaluate} {{ nixpkgsLib = {libs[-1].parent}; sopsModule = {sops[-1].parent}; modules = [ {module} ]; }};
        inherit (r) config;
        cc = config.services.cc-ci;
        ccLib = import {ROOT / "nix" / "lib.nix"};
      in {{
        inherit (r) failedAssertions;
        bridge = cc.bridge.settings;
        stepEnv = ccLib.envFile cc.harness.environment;
        policy = ccLib.policyToml cc.policy.allow;
        runner = config.systemd.services.cc-ci-drone-runner.environment;
        dashboard = config.systemd.services.cc-ci-dashboard.serviceConfig.ExecStart;
        drone = ccLib.droneEnv {{ giteaUrl = cc.gitea.url; clientId = cc.drone.clientId; adminUser = cc.gitea.botUser; }};
      }}"""  # fmt: skip
    r = subprocess.run(
        ["nix-instantiate", "--eval", "--strict", "--json", "-E", expr],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    if r.returncode != 0:
        raise WorldError(f"the modules did not evaluate with the world's host: {r.stderr[-1500:]}")
    out = json.loads(r.stdout)
    return out


def toml(settings: dict) -> str:
    """The bridge's settings (sections of scalars and lists) as TOML, which is what
    pkgs.formats.toml writes from the same value on a real host."""
    lines = []
    for section, table in settings.items():
        lines.append(f"[{section}]")
        for key, value in table.items():
            lines.append(f"{json.dumps(key)} = {json.dumps(value)}")
        lines.append("")
    return "\n".join(lines)


# --- processes ---------------------------------------------------------------------------


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def _session(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, _ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
    return None if state == "Z" else int(session)  # a zombie is gone, only not reaped yet


def _sessions(d: Path) -> set[int]:
    try:
        return {int(x) for x in (d / "sessions").read_text().split()}
    except (OSError, ValueError):
        return set()


def world_processes(d: Path) -> list[int]:
    """Every process of this world, but this one: those carrying its mark, and those in the
    sessions it started (pipeline steps: the exec runner passes only a few variables of its
    own to them, and they stay in its session even when it is gone)."""
    me, sessions = os.getpid(), _sessions(d)
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == me:
            continue
        pid = int(p.name)
        if _environ(pid).get(MARK) == str(d) or (sessions and _session(pid) in sessions):
            found.append(pid)
    return sorted(found)


def _record_session(d: Path, pid: int) -> None:
    """Remember a session the world started (its leader's pid), before anything else can
    happen to it: a world killed at any later moment is still found."""
    with open(d / "sessions", "a") as f:
        f.write(f"{pid}\n")


def _kill_all(d: Path, grace: float = 10.0) -> list[int]:
    found = world_processes(d)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in world_processes(d):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while world_processes(d) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not world_processes(d):
            break
    left = world_processes(d)
    if left:
        raise WorldError(f"processes of the world in {d} would not stop: {left}")
    return found


def _spawn(d: Path, name: str, argv: list[str], env: dict[str, str]) -> int:
    (d / "logs").mkdir(exist_ok=True)
    with open(d / "logs" / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            argv,
            env={**env, MARK: str(d)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=d,
        )
    _record_session(d, proc.pid)
    return proc.pid


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _wait_up(d: Path, name: str, pid: int, url: str, timeout: float = 60) -> None:
    def up() -> bool:
        if not Path(f"/proc/{pid}").exists():
            tail = (d / "logs" / f"{name}.log").read_text(errors="replace")[-1200:]
            raise WorldError(f"{name} exited at start:\n{tail}")
        return _answers(url)

    wait_for(f"{name} answering on {url}", up, timeout=timeout, interval=0.1)


# --- the app resources runs leave ---------------------------------------------------------


def clear_runs(runner_state: Path) -> list[str]:
    """Remove the apps and tests containers of this world's runs that are no longer running
    (a killed runner leaves them); only what those runs claimed, never another's apps."""
    if not (runner_state / "live").is_dir():
        return []
    _claims, dead = read_claims(runner_state)
    removed = []
    for run in dead:
        for domain in run.get("domains", []):
            remove_with_docker(stack_name(domain))
            removed.append(stack_name(domain))
        label = f"label={SANDBOX_LABEL}={run.get('run_id')}"
        # its tests container and relay, then its own tests network (cc_ci/harness/sandbox/)
        for cid in dk.docker("ps", "-aq", "--filter", label, check=False, timeout=60).split():
            dk.docker("rm", "--force", cid, check=False, timeout=60)
        nets = dk.docker(
            "network", "ls", "--filter", label, "--format", "{{.Name}}", check=False, timeout=60
        )
        dk.remove_networks(nets.split())
        for key in ("_info", "_lock"):
            Path(run[key]).unlink(missing_ok=True)
    return removed


def backupbot_owner(d: Path) -> str:
    """The owner label of a stand-in this world deployed (devworld/backupbot, Ownership)."""
    return f"world:{Path(d).absolute()}"


def start_backupbot(d: Path, say=print) -> str:
    """The backupbot the world's runs use: one already on the swarm (a real backup-bot-two,
    or a stand-in someone else deployed), else backupbot-standin deployed as this world's."""
    others = [n for n in backupbot.backupbots() if n != backupbot.SERVICE]
    if others:
        say(f"world: a backupbot already runs on this swarm ({others[0]}): the runs use it")
        return others[0]
    service = backupbot.up(owner=backupbot_owner(d))
    owner = backupbot.owner()
    if owner != backupbot_owner(d):
        say(f"world: backupbot-standin already runs (deployed by {owner}): the runs use it")
    return service


def down(d: Path | None = None) -> list[str]:
    """Stop every process of the world and remove what its runs left, and the backupbot
    stand-in when this world deployed it; returns a summary."""
    return _clear(d or world_dir(), keep_backupbot=False)


def _clear(d: Path, keep_backupbot: bool) -> list[str]:
    """`down`; `keep_backupbot`: leave this world's stand-in for the next `up` to take over."""
    said = []
    pids = _kill_all(d)
    if pids:
        said.append(f"stopped {len(pids)} processes")
    for stack in clear_runs(d / "state" / "runner"):
        said.append(f"removed the run app {stack}")
    if not keep_backupbot and backupbot.down(owner=backupbot_owner(d)):
        said.append("removed backupbot-standin (this world deployed it)")
    if d.exists():
        shutil.rmtree(d)
        said.append(f"removed {d}")
    return said


# --- bringing it up ----------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise WorldError(f"git {args[0]} failed: {r.stderr.strip()[-600:]}")
    return r.stdout.strip()


def _drone(url: str, method: str, path: str, token: str):
    req = urllib.request.Request(
        url + path, method=method, headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        raise WorldError(f"Drone {method} {path}: {exc.code} {exc.read()[:300]!r}") from None
    return json.loads(raw) if raw.strip() else None


def drone_login(
    drone_url: str,
    login: str,
    then: str | None = None,
    screenshot: Path | None = None,
    failed_shot: Path | None = None,
) -> str:
    """Log `login` into Drone the way a person does: Drone's /login sends the browser to
    Gitea's sign-in and then its OAuth2 consent page; granting it returns to Drone, whose
    API then hands out the user's Drone token. Returns that token. `then`: a Drone page to
    open afterwards, saved as the PNG `screenshot`; `failed_shot`: where the page is saved
    when the login fails."""
    from cc_ci.suite.browser import launch_chromium

    with launch_chromium() as browser:
        ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = ctx.new_page()
        try:
            page.goto(f"{drone_url}/login", timeout=30_000)
            page.fill("input[name=user_name]", login)
            page.fill("input[name=password]", password(login))
            page.locator("form button.primary, form button[type=submit]").first.click()
            page.wait_for_load_state()
            if "/login/oauth/authorize" in page.url:
                page.locator("button[name=granted][value=true], #authorize-app").first.click()
            page.wait_for_url(f"{drone_url}/**", timeout=30_000)
            resp = ctx.request.post(f"{drone_url}/api/user/token")
            if not resp.ok:
                raise WorldError(
                    f"Drone's /api/user/token after login: {resp.status} {resp.text()[:200]}"
                )
            if then:
                page.goto(then)
                page.wait_for_load_state("networkidle")
                if screenshot:
                    screenshot.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(screenshot), full_page=True)
            return resp.json()["token"]
        except Exception:
            if failed_shot:
                page.screenshot(path=str(failed_shot))
            raise
        finally:
            ctx.close()


def push_demo(g: RealGitea, forge: Path) -> tuple[str, str]:
    """The demo recipe's history (devworld/demo) as the real repository `cc-ci/demo`: main at
    the last release, every release tag, the PR head on PR_BRANCH. Returns (main, head)."""
    from devworld.demo import SRC, build_forge

    head = build_forge(forge)
    bare = forge / f"{SRC}.git"
    g.api("POST", f"/orgs/{ORG}/repos", {"name": "demo", "default_branch": "main"})
    remote = g.url.replace("://", f"://{ADMIN}:cc-ci-admin-password@") + f"/{DEMO_REPO}.git"
    last_release = _git(bare, "rev-list", "-n", "1", "--tags", "--max-count=1")
    _git(bare, "push", "-q", remote, f"{last_release}:refs/heads/main", "refs/tags/*:refs/tags/*")
    _git(bare, "push", "-q", remote, f"{head}:refs/heads/{PR_BRANCH}")
    return last_release, head


def push_ccci(g: RealGitea) -> str:
    """This clone's HEAD as `cc-ci/cc-ci` main: the .drone.yml and tests/ Drone builds."""
    g.api("POST", f"/orgs/{ORG}/repos", {"name": "cc-ci", "default_branch": "main"})
    remote = g.url.replace("://", f"://{ADMIN}:cc-ci-admin-password@") + f"/{CCCI_REPO}.git"
    _git(ROOT, "push", "-q", "--force", remote, "HEAD:refs/heads/main")
    return _git(ROOT, "rev-parse", "HEAD")


def _binary(name: str) -> str:
    path = shutil.which(name) or str(TOOLS / "bin" / name)
    if not os.access(path, os.X_OK):
        raise WorldError(f"{name} is not built here: run scripts/bootstrap")
    return path


def _base_env() -> dict[str, str]:
    """What every process of the world starts with (then its own settings, and the mark)."""
    return {
        "PATH": f"{Path(sys.executable).parent}:{TOOLS / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }


def _start_bridge(d: Path, env: dict[str, str]) -> int:
    bridge = Path(sys.executable).parent / "cc-ci-bridge"
    return _spawn(d, "bridge", [str(bridge), "--config", str(d / "bridge.toml")], env)


def set_polling(d: Path, poll_interval: int) -> Info:
    """Restart the world's bridge with the modules' configuration for another poll interval
    (0: only Gitea's signed webhook starts commands)."""
    info = Info.load(d)
    pid = info.pids["bridge"]
    if pid in world_processes(d):
        os.kill(pid, signal.SIGTERM)
        wait_for("the bridge stopped", lambda: pid not in world_processes(d), timeout=30)
    drone_port = int(info.drone_url.rsplit(":", 1)[1])
    (d / "host.nix").write_text(
        host_module(d, info.gitea_url, drone_port, info.ports, poll_interval)
    )
    (d / "bridge.toml").write_text(toml(render(d / "host.nix")["bridge"]))
    new = _start_bridge(d, _base_env())
    _wait_up(d, "bridge", new, info.webhook_url.removesuffix("/hook") + "/")
    info = Info(**{**asdict(info), "pids": {**info.pids, "bridge": new}})
    (d / "world.json").write_text(json.dumps(asdict(info), indent=2))
    return info


def up(d: Path | None = None, say=print) -> Info:  # noqa: PLR0915 - one sequence, in order
    d = d or world_dir()
    started = time.monotonic()
    if d.exists() or world_processes(d):
        # the previous world's stand-in, if it deployed one, is this one's now (same owner)
        for line in _clear(d, keep_backupbot=True):
            say(f"world: cleared a previous world: {line}")
    d.mkdir(parents=True)
    os.chmod(d, 0o700)
    (d / "results").mkdir()
    venv_bin = Path(sys.executable).parent
    base_env = _base_env()
    drone_bin, runner_bin = _binary("drone-server"), _binary("drone-runner-exec")
    pids: dict[str, int] = {}

    say("world: the proxy, the demo images and the recipe-tests image (minutes the first time)")
    from devworld.demo.world import demo_world

    demo_world(d / "forge-scratch")
    say("world: backupbot-standin, a stand-in for backup-bot-two (its image: once, a minute)")
    bot = start_backupbot(d, say)
    # cc-ci-run hands Chromium the zone certificate's key from <its state>/pki (a publicly
    # trusted certificate, as on an operator's host, needs none): the local proxy's is copied
    pki = d / "state" / "runner" / "pki"
    pki.mkdir(parents=True)
    shutil.copy(_shared_state() / "pki" / f"{ZONE}.crt", pki / f"{ZONE}.crt")

    say("world: Gitea")
    g = RealGitea(d / "gitea", env={MARK: str(d)}, detach=True)
    g.start()
    pids["gitea"] = g.pid
    _record_session(d, g.pid)
    bot_token = g.user(BOT, scopes=BOT_SCOPES)
    g.user(MAINTAINER)
    g.user(OUTSIDER)
    g.org(ORG, members=(BOT, MAINTAINER))
    (d / "gitea-token").write_text(bot_token)
    main_sha, head = push_demo(g, d / "forge")
    ccci_head = push_ccci(g)

    ports = {k: _free_port() for k in ("drone", "runner", "webhook", "dashboard")}
    drone_url = f"http://127.0.0.1:{ports['drone']}"
    app = g.api(
        "POST",
        "/user/applications/oauth2",
        {"name": "cc-ci-drone", "redirect_uris": [f"{drone_url}/login"], "confidential_client": True},
        sudo=BOT,
    )  # fmt: skip
    (d / "drone-client-secret").write_text(app["client_secret"])
    rpc = secrets.token_hex(16)
    (d / "drone-rpc-secret").write_text(rpc)
    (d / "webhook-secret").write_text(secrets.token_hex(16))

    say("world: the configuration the NixOS modules render")
    (d / "host.nix").write_text(host_module(d, g.url, ports["drone"], ports))
    cfg = render(d / "host.nix")
    (d / "runner.env").write_text(cfg["stepEnv"])
    (d / "policy.toml").write_text(cfg["policy"])
    (d / "bridge.toml").write_text(toml(cfg["bridge"]))

    say("world: Drone")
    (d / "drone").mkdir()
    drone_env = {
        **base_env,
        "DRONE_SERVER_HOST": f"127.0.0.1:{ports['drone']}",
        "DRONE_SERVER_PROTO": "http",
        # Drone listens on this address as given (":PORT" would be every interface)
        "DRONE_SERVER_PORT": f"127.0.0.1:{ports['drone']}",
        "DRONE_GITEA_SERVER": g.url,
        "DRONE_GITEA_CLIENT_ID": app["client_id"],
        "DRONE_GITEA_CLIENT_SECRET": app["client_secret"],
        "DRONE_RPC_SECRET": rpc,
        "DRONE_DATABASE_DRIVER": "sqlite3",
        "DRONE_DATABASE_DATASOURCE": str(d / "drone" / "drone.sqlite"),
        "DRONE_USER_CREATE": cfg["drone"]["DRONE_USER_CREATE"],
        "DRONE_COOKIE_SECURE": "false",
    }
    pids["drone"] = _spawn(d, "drone", [drone_bin, "server"], drone_env)
    _wait_up(d, "drone", pids["drone"], f"{drone_url}/healthz")

    say("world: the bot logs into Drone through Gitea's consent page (Chromium)")
    token = drone_login(drone_url, BOT, failed_shot=d / "logs" / "drone-login-failed.png")
    (d / "drone-token").write_text(token)
    _drone(drone_url, "POST", "/api/user/repos?async=false", token)
    _drone(drone_url, "POST", f"/api/repos/{CCCI_REPO}", token)

    say("world: the exec runner, the bridge and the dashboard")
    runner_env = {**base_env, **cfg["runner"], "DRONE_RPC_SECRET": rpc}
    (d / "runner-root").mkdir()
    Path(runner_env["HOME"]).mkdir(parents=True, exist_ok=True)
    pids["runner"] = _spawn(d, "runner", [runner_bin, "daemon"], runner_env)
    _wait_up(d, "runner", pids["runner"], f"http://{cfg['runner']['DRONE_HTTP_BIND']}/")
    pids["bridge"] = _start_bridge(d, base_env)
    argv = shlex.split(cfg["dashboard"])
    argv[0] = str(venv_bin / Path(argv[0]).name)
    pids["dashboard"] = _spawn(d, "dashboard", argv, base_env)
    _wait_up(d, "dashboard", pids["dashboard"], f"http://127.0.0.1:{ports['dashboard']}/")
    webhook = cfg["bridge"]["webhook"]["listen"]
    _wait_up(d, "bridge", pids["bridge"], f"http://{webhook}/")
    info = Info(
        dir=str(d),
        gitea_url=g.url,
        drone_url=drone_url,
        dashboard_url=f"http://127.0.0.1:{ports['dashboard']}",
        webhook_url=f"http://{webhook}/hook",
        admin_token=g.token,
        drone_token=token,
        pr_branch=PR_BRANCH,
        pr_head=head,
        ccci_head=ccci_head,
        results_dir=str(d / "results"),
        runner_state=str(d / "state" / "runner"),
        ports=ports,
        pids=pids,
        backupbot=bot,
    )
    (d / "world.json").write_text(json.dumps(asdict(info), indent=2))
    say(f"world: up in {time.monotonic() - started:.0f} s ({d})")
    return info


def status(d: Path | None = None) -> str:
    d = d or world_dir()
    info = Info.load(d)
    alive = set(world_processes(d))
    lines = [f"world in {d}"]
    for name in PROCESSES:
        pid = info.pids.get(name)
        lines.append(f"  {name:<10} pid {pid}: {'running' if pid in alive else 'NOT RUNNING'}")
    lines += [
        f"  Gitea      {info.gitea_url}/{DEMO_REPO}  (logins: {MAINTAINER} / {password(MAINTAINER)},"
        f" {OUTSIDER} / {password(OUTSIDER)}, {BOT} / {password(BOT)})",
        f"  Drone      {info.drone_url}/{CCCI_REPO}",
        f"  dashboard  {info.dashboard_url}",
        f"  backupbot  {info.backupbot or 'none'}"
        + (
            " (backupbot-standin, a stand-in for backup-bot-two)"
            if info.backupbot == backupbot.SERVICE
            else ""
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devworld.world", description=__doc__.splitlines()[0]
    )
    p.add_argument("command", choices=("up", "down", "status"))
    args = p.parse_args(argv)
    try:
        if args.command == "up":
            up()
            print(status())
        elif args.command == "down":
            for line in down() or ["nothing was up"]:
                print(f"world: {line}")
        else:
            print(status())
    except WorldError as exc:
        print(f"world: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
