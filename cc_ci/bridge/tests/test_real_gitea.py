"""The bridge against a real Gitea (built by scripts/bootstrap), with Drone simulated: the
API facts the bridge and forgesim rely on hold for the real thing, and a `!testme` goes
round trip, by poll and by Gitea's own signed webhook delivery."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cc_ci.bridge.app import Bridge, webhook_server
from cc_ci.bridge.config import Config, Drone, Gitea, Secrets, Trigger, Webhook
from cc_ci.bridge.gitea import Gitea as GiteaClient
from cc_ci.contract.eventline import EventLog
from cc_ci.contract.redact import Redactor
from cc_ci.harness.waiting import wait_for
from devworld.forgesim import Sim
from devworld.needs import needs
from devworld.real_gitea import RealGitea

ORG = "recipe-maintainers"
REPO = f"{ORG}/custom-html"
CI_REPO = f"{ORG}/cc-ci"


BOT_SCOPES = ["write:issue", "write:repository", "read:organization", "read:user"]
"""The scopes docs/bridge.md asks for; every test here runs the bot with exactly these."""


def scoped_token(g: RealGitea, login: str, scopes: list[str]) -> str:
    # RealGitea.user sets this password; Gitea mints tokens only on a password.
    basic = base64.b64encode(f"{login}:{login}-password-1".encode()).decode()
    body = {"name": "bridge", "scopes": scopes}
    return g.api("POST", f"/users/{login}/tokens", body, auth=f"Basic {basic}")["sha1"]


@dataclass
class Forge:
    gitea: RealGitea
    bot_token: str
    outsider_token: str
    pr: dict
    fork_pr: dict
    issue: dict


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forge]:
    needs("gitea")
    g = RealGitea(tmp_path_factory.mktemp("gitea"))
    with g:
        g.user("cc-ci-bot")
        bot = scoped_token(g, "cc-ci-bot", BOT_SCOPES)
        g.user("alice")
        outsider = g.user("mallory")
        g.org(ORG, members=("cc-ci-bot", "alice"))
        g.repo(REPO)
        pr = g.pull_request(REPO, REPO, "change-1", "alice")
        fork = g.fork(REPO, "mallory")
        fork_pr = g.pull_request(REPO, fork, "from-fork", "mallory")
        issue = g.issue(REPO, "not a PR", "alice")
        yield Forge(g, bot, outsider, pr, fork_pr, issue)


def client(forge: Forge, token: str | None = None) -> GiteaClient:
    return GiteaClient(forge.gitea.url, token or forge.bot_token, Redactor(), timeout=10)


def test_the_comment_list_filters_on_updated_at_so_an_edit_comes_again(forge):
    g, gitea = forge.gitea, client(forge)
    first = g.comment(REPO, forge.pr["number"], "first", "alice")
    time.sleep(1.1)  # Gitea's times are whole seconds
    later = datetime.now(UTC)
    time.sleep(1.1)
    second = g.comment(REPO, forge.pr["number"], "second", "alice")
    items, total = gitea.repo_comments(REPO, later, page=1)
    assert [c.id for c in items] == [second["id"]] and total == 1
    g.edit_comment(REPO, first["id"], "first, edited", "alice")
    items, total = gitea.repo_comments(REPO, later, page=1)
    assert [c.id for c in items] == [first["id"], second["id"]]  # creation order
    assert total == 2


def test_a_comment_knows_whether_it_is_on_a_pr(forge):
    g, gitea = forge.gitea, client(forge)
    on_pr = g.comment(REPO, forge.pr["number"], "x", "alice")
    on_issue = g.comment(REPO, forge.issue["number"], "y", "alice")
    assert gitea.comment(REPO, on_pr["id"]).pr == forge.pr["number"]
    assert gitea.comment(REPO, on_issue["id"]).pr is None


def test_membership_is_204_for_members_and_a_303_never_counts(forge):
    assert client(forge).is_member(ORG, "alice") is True
    assert client(forge).is_member(ORG, "mallory") is False
    # The outsider's token is no member: Gitea answers 303, which the bridge never follows.
    as_outsider = client(forge, forge.outsider_token)
    reply = as_outsider.http.request("GET", f"/orgs/{ORG}/members/alice", ok=(204, 303, 404))
    assert reply.status == 303
    assert as_outsider.is_member(ORG, "alice") is False


def test_a_fork_pr_names_the_fork_and_its_head(forge):
    head = client(forge).pull_head(REPO, forge.fork_pr["number"])
    assert head.repo == "mallory/custom-html"
    assert head.sha == forge.fork_pr["head"]["sha"]


def test_the_default_branch_head_and_the_newest_tags_read_as_the_bridge_reads_them(forge):
    """What the default-branch runs rely on (docs/forge-api.md §2.10), with the bot's own
    scopes: the default branch and its head, and the tags newest first."""
    g, gitea = forge.gitea, client(forge)
    head = gitea.default_branch_head(REPO)
    main = g.api("GET", f"/repos/{REPO}/branches/main")
    assert (head.branch, head.sha) == ("main", main["commit"]["id"])
    assert gitea.tags(REPO) == []
    for name in ("1.0.0+1.0", "1.1.0+1.1"):
        # annotated (a message): their time is their own, so the order is by creation
        g.api("POST", f"/repos/{REPO}/tags", {"tag_name": name, "target": "main", "message": name})
        time.sleep(1.1)  # Gitea's times are whole seconds
    assert gitea.tags(REPO) == ["1.1.0+1.1", "1.0.0+1.0"]
    assert gitea.tags(REPO, limit=1) == ["1.1.0+1.1"]


def test_reactions_comments_and_statuses_are_accepted_as_the_bridge_sends_them(forge):
    g, gitea = forge.gitea, client(forge)
    c = g.comment(REPO, forge.pr["number"], "!testme", "alice")
    gitea.react(REPO, c["id"], "eyes")
    gitea.react(REPO, c["id"], "eyes")  # 200 the second time
    posted = gitea.create_comment(REPO, forge.pr["number"], "ack")
    gitea.edit_comment(REPO, posted, "final")
    sha = forge.pr["head"]["sha"]
    gitea.set_status(REPO, sha, "pending", "cc-ci/custom-html", "testing", "http://x/1")
    combined = g.api("GET", f"/repos/{REPO}/commits/{sha}/status")
    assert combined["statuses"][0]["status"] == "pending"
    assert gitea.whoami() == "cc-ci-bot"


def test_testme_round_trip_by_poll_and_by_the_real_webhook(forge, tmp_path: Path):
    g = forge.gitea
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "gitea").write_text(forge.bot_token)
    (secrets_dir / "drone").write_text("drone-token-0123456789")
    (secrets_dir / "hook").write_text("hook-secret-0123456789")
    with Sim() as sim:
        sim.world.add_drone_token("drone-token-0123456789", "cc-ci-bot")
        sim.world.add_drone_repo(CI_REPO, writers=("cc-ci-bot",))
        config = Config(
            gitea=Gitea(g.url, secrets_dir / "gitea"),
            drone=Drone(sim.drone_url, secrets_dir / "drone", CI_REPO, "main"),
            trigger=Trigger("!testme", ORG, (), (REPO,), 30),
            state_path=tmp_path / "state.sqlite3",
            webhook=Webhook("127.0.0.1", 0, secrets_dir / "hook"),
        )
        secrets = Secrets(forge.bot_token, "drone-token-0123456789", "hook-secret-0123456789")
        time.sleep(1.1)  # the other tests' comments are from before this first start
        bridge = Bridge(config, secrets, log=EventLog(stream=open(tmp_path / "log", "w")))  # noqa: SIM115
        server = webhook_server(bridge)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            bridge.poll_once()
            g.comment(REPO, forge.pr["number"], "!testme install", "alice")
            g.comment(REPO, forge.pr["number"], "!testme", "mallory")
            bridge.poll_once()
            (build,) = sim.world.builds_of(CI_REPO)
            assert build.params["SRC"] == REPO and build.params["STAGES"] == "install"
            assert build.params["REF"] == forge.pr["head"]["sha"]

            host, port = server.server_address[:2]
            g.api(
                "POST",
                f"/repos/{REPO}/hooks",
                {
                    "type": "gitea",
                    "active": True,
                    "events": ["pull_request_comment"],
                    "config": {
                        "url": f"http://{host}:{port}/hook",
                        "content_type": "json",
                        "secret": "hook-secret-0123456789",
                    },
                },
            )
            g.comment(REPO, forge.fork_pr["number"], "!testme upgrade", "alice")
            wait_for(
                "a build started by Gitea's webhook delivery",
                lambda: bridge.advance_due() or len(sim.world.builds_of(CI_REPO)) == 2,
                timeout=20,
                interval=0.1,
            )
            second = sim.world.builds_of(CI_REPO)[1]
            assert second.params["SRC"] == "mallory/custom-html"

            sim.world.finish_build(CI_REPO, 1, "success", "demo")
            bridge.report_once()
            # The combined status holds the newest status per context. (The plain list is
            # ordered by creation second: pending and success set in one second may tie.)
            sha = forge.pr["head"]["sha"]
            combined = g.api("GET", f"/repos/{REPO}/commits/{sha}/status")["statuses"]
            assert [(s["context"], s["status"]) for s in combined] == [
                ("cc-ci/custom-html", "success")
            ]
            comments = g.api("GET", f"/repos/{REPO}/issues/{forge.pr['number']}/comments")
            mine = [
                c
                for c in comments
                if c["user"]["login"] == "cc-ci-bot" and "cc-ci:command" in c["body"]
            ]
            assert len(mine) == 1 and "passed" in mine[0]["body"]
            log = (tmp_path / "log").read_text()
            assert "event=denied" in log and "by=mallory" in log
            assert "event=hook delivery=" in log and "status=202" in log
            assert forge.bot_token not in log
        finally:
            server.shutdown()
            server.server_close()
            bridge.state.close()


def test_a_push_to_the_pr_supersedes_its_build_and_the_old_head_says_so(forge, tmp_path: Path):
    g = forge.gitea
    pr = g.pull_request(REPO, REPO, "change-2", "alice")
    old = pr["head"]["sha"]
    (tmp_path / "gitea").write_text(forge.bot_token)
    (tmp_path / "drone").write_text("drone-token-0123456789")
    with Sim() as sim:
        sim.world.add_drone_token("drone-token-0123456789", "cc-ci-bot", admin=True)
        sim.world.add_drone_repo(CI_REPO, writers=("cc-ci-bot",))
        config = Config(
            gitea=Gitea(g.url, tmp_path / "gitea"),
            drone=Drone(sim.drone_url, tmp_path / "drone", CI_REPO, "main"),
            trigger=Trigger("!testme", ORG, (), (REPO,), 30),
            state_path=tmp_path / "state.sqlite3",
        )
        secrets = Secrets(forge.bot_token, "drone-token-0123456789")
        time.sleep(1.1)  # the other tests' comments are from before this first start
        bridge = Bridge(config, secrets, log=EventLog(stream=open(tmp_path / "log", "w")))  # noqa: SIM115
        try:
            bridge.poll_once()
            g.comment(REPO, pr["number"], "!testme", "alice")
            bridge.poll_once()
            (build,) = sim.world.builds_of(CI_REPO)
            assert build.params["REF"] == old
            content = base64.b64encode(b"a second commit\n").decode()
            pushed = g.api(
                "POST",
                f"/repos/{REPO}/contents/more.txt",
                {"branch": "change-2", "content": content, "message": "more"},
                sudo="alice",
            )["commit"]["sha"]
            # Gitea moves a PR's head in a background task, a moment after the push.
            wait_for(
                "Gitea to move the PR's head",
                lambda: client(forge).pull_head(REPO, pr["number"]).sha == pushed,
                timeout=20,
                interval=0.1,
            )
            bridge.report_once()
            assert sim.world.build(CI_REPO, build.number).status == "killed"
            combined = g.api("GET", f"/repos/{REPO}/commits/{old}/status")["statuses"]
            assert [(s["context"], s["status"], s["description"]) for s in combined] == [
                ("cc-ci/custom-html", "warning", f"cc-ci: superseded by {pushed[:10]}")
            ]
            assert g.api("GET", f"/repos/{REPO}/commits/{pushed}/status").get("statuses") in (
                None,
                [],
            )
            comments = g.api("GET", f"/repos/{REPO}/issues/{pr['number']}/comments")
            (mine,) = [c for c in comments if c["user"]["login"] == "cc-ci-bot"]
            assert f"superseded by `{pushed[:10]}`" in mine["body"]
        finally:
            bridge.state.close()
