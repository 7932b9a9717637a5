"""The whole system on this machine (devworld/world.py): a maintainer's `!testme` on a real
Gitea PR travels through the bridge, a real Drone server and its exec runner, `.drone.yml`
and `cc-ci-run` on the swarm, and comes back as the PR comment, the commit status and the
dashboard's run page. Screenshots of the three are kept under $CCCI_ARTIFACTS (default
artifacts/ in the clone). Deploys on the shared swarm: run it under /tmp/cc-ci-swarm.lock.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import urllib.request
from pathlib import Path

import pytest

from cc_ci.contract.names import stack_name
from cc_ci.contract.stages import row_stage
from cc_ci.harness.deploy import docker as dk
from cc_ci.harness.waiting import wait_for
from devworld import backupbot
from devworld import world as w
from devworld.needs import needs
from devworld.real_gitea import RealGitea

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("CCCI_ARTIFACTS", ROOT / "artifacts")) / "whole-system"
RUN_TIMEOUT = 1500


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    for part in ("gitea", "drone-server", "drone-runner-exec", "traefik", "chromium"):
        needs(part)
    for part in ("playwright", "nix-instantiate", "nix-vendor"):
        needs(part)
    d = tmp_path_factory.mktemp("world") / "w"
    ran_before = backupbot.backupbots()  # a backupbot someone else deployed stays theirs
    info = w.up(d)
    yield info
    w.down(d)
    assert w.world_processes(d) == [], "a process of the world outlived down"
    assert not d.exists()
    assert backupbot.backupbots() == ran_before, "down removes only the stand-in it deployed"


def gitea(info: w.Info) -> RealGitea:
    return RealGitea.attach(info.gitea_url, info.admin_token)


def builds(info: w.Info) -> list[dict]:
    return w._drone(info.drone_url, "GET", f"/api/repos/{w.CCCI_REPO}/builds", info.drone_token)


def bot_comments(g: RealGitea, pr: int) -> list[dict]:
    cs = g.api("GET", f"/repos/{w.DEMO_REPO}/issues/{pr}/comments")
    return [c for c in cs if c["user"]["login"] == w.BOT]


def open_pr(g: RealGitea, branch: str, title: str) -> dict:
    return g.api(
        "POST",
        f"/repos/{w.DEMO_REPO}/pulls",
        {"head": branch, "base": "main", "title": title},
        sudo=w.MAINTAINER,
    )


def wait_finished(info: w.Info, number: int) -> dict:
    def done():
        b = w._drone(
            info.drone_url, "GET", f"/api/repos/{w.CCCI_REPO}/builds/{number}", info.drone_token
        )
        return b if b["status"] not in ("pending", "running") else None

    return wait_for(f"Drone build {number} finished", done, timeout=RUN_TIMEOUT, interval=2)


def final_status(g: RealGitea, sha: str) -> dict:
    def settled():
        st = [s for s in g.api("GET", f"/repos/{w.DEMO_REPO}/commits/{sha}/statuses")
              if s["context"] == "cc-ci/demo"]  # fmt: skip
        last = max(st, key=lambda s: s["id"]) if st else None
        return last if last and last["status"] != "pending" else None

    return wait_for("the final cc-ci/demo status", settled, timeout=120, interval=1)


def screenshots(info: w.Info, pr_url: str, build: int, run_page: str) -> None:
    from cc_ci.suite.browser import launch_chromium

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with launch_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(pr_url)
        page.screenshot(path=str(ARTIFACTS / "gitea-pr.png"), full_page=True)
        page.goto(run_page)
        page.screenshot(path=str(ARTIFACTS / "dashboard-run.png"), full_page=True)
        page.close()
    w.drone_login(
        info.drone_url,
        w.BOT,
        then=f"{info.drone_url}/{w.CCCI_REPO}/{build}",
        screenshot=ARTIFACTS / "drone-build.png",
    )


def test_a_maintainers_testme_travels_from_the_pr_to_a_green_verdict(world):
    g = gitea(world)
    pr = open_pr(g, world.pr_branch, "demo 1.2")
    assert pr["head"]["sha"] == world.pr_head
    cmd = g.comment(w.DEMO_REPO, pr["number"], "!testme", w.MAINTAINER)

    eyes = lambda: any(  # noqa: E731
        r["content"] == "eyes" and r["user"]["login"] == w.BOT
        for r in g.api("GET", f"/repos/{w.DEMO_REPO}/issues/comments/{cmd['id']}/reactions") or []
    )
    wait_for("👀 on the command", eyes, timeout=60, interval=0.5)
    wait_for("the ack comment", lambda: bot_comments(g, pr["number"]), timeout=60, interval=0.5)

    wait_for("a Drone build", lambda: builds(world), timeout=60, interval=0.5)
    (build,) = builds(world)
    assert build["event"] == "custom"
    params = build["params"]
    assert params["RECIPE"] == "demo" and params["SRC"] == w.DEMO_REPO
    assert params["REF"] == world.pr_head and params["PR"] == str(pr["number"])
    assert params["STAGES"] == ""  # every stage: backup too, on the world's backupbot
    assert params["CCCI_COMMAND"] == str(cmd["id"])
    assert params["CCCI_TRIGGERED_BY"] == w.MAINTAINER

    done = wait_finished(world, build["number"])
    assert done["status"] == "success", json.dumps(done)[:2000]
    # the exec runner ran recipe-ci's steps: checkout of cc-ci at its commit, then cc-ci-run
    log = w._drone(world.drone_url, "GET",
                   f"/api/repos/{w.CCCI_REPO}/builds/{build['number']}/logs/1/1", world.drone_token)  # fmt: skip
    out = "".join(line["out"] for line in log)
    assert f"cc-ci at {world.ccci_head}" in out
    test_log = w._drone(world.drone_url, "GET",
                        f"/api/repos/{w.CCCI_REPO}/builds/{build['number']}/logs/1/2", world.drone_token)  # fmt: skip
    assert "cc-ci-run" in "".join(line["out"] for line in test_log)

    run_id = f"drone-{build['number']}-c{cmd['id']}"
    record = json.loads((Path(world.results_dir) / run_id / "run.json").read_text())
    assert record["status"] == "passed"
    assert record["source"]["ref"] == world.pr_head and record["source"]["pr"] == pr["number"]
    assert [(row_stage(s["name"]), s["status"]) for s in record["stages"]] == [
        ("install", "passed"),
        ("upgrade", "passed"),
        ("backup", "passed"),
        ("recipe-local", "passed"),
    ], [(s["name"], s["status"], s["message"]) for s in record["stages"]]
    backup = next(s for s in record["stages"] if s["name"] == "backup")
    assert backup["tests"]["passed"] >= 1 and backup["tests"]["skipped"] == 0, backup
    assert backup["details"]["backupbot"] == world.backupbot and backup["details"]["snapshot"]
    assert record["teardown"]["status"] == "clean"

    status = final_status(g, world.pr_head)
    assert status["status"] == "success", status
    assert status["target_url"] == f"{world.dashboard_url}/runs/{run_id}"
    with urllib.request.urlopen(status["target_url"], timeout=30) as resp:
        assert run_id in resp.read().decode()

    def table():
        body = bot_comments(g, pr["number"])[0]["body"]
        rows = ("| install | ✅ passed", "| upgrade from `", "| backup | ✅ passed",
                "| recipe-local | ✅ passed")  # fmt: skip
        return body if all(r in body for r in rows) else None

    body = wait_for("the four passing rows in the PR comment", table, timeout=60, interval=1)
    assert "❌" not in body and "⏭️" not in body and "⚠️" not in body, body
    # a PR's run is on the recipe's page, marked by its PR; the overview and the README badge
    # show the newest default-branch run only (docs/dashboard.md)
    with urllib.request.urlopen(world.dashboard_url + "/recipes/demo", timeout=30) as resp:
        page = resp.read().decode()
    assert run_id in page and f"PR #{pr['number']}" in page

    screenshots(world, pr["html_url"], build["number"], status["target_url"])
    for name in ("gitea-pr.png", "drone-build.png", "dashboard-run.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000, name


def test_the_worlds_backupbot_stand_in_outlives_a_test_module_that_borrows_it(world):
    # the world's stand-in (or, when one ran before the world, that one: left as it was)
    assert world.backupbot == backupbot.SERVICE  # no other backupbot can be had here
    owner = backupbot.owner()
    assert owner is not None
    # what cc_ci/harness/tests/test_backup_e2e.py's fixture does: its own `down` leaves it
    with backupbot.deployed() as service:
        assert service == backupbot.SERVICE
    assert backupbot.owner() == owner
    assert backupbot.running_container()


def test_an_outsiders_testme_starts_nothing_and_gets_no_answer(world):
    g = gitea(world)
    pr = next(p for p in g.api("GET", f"/repos/{w.DEMO_REPO}/pulls?state=open"))
    before = len(builds(world))
    answered = len(bot_comments(g, pr["number"]))
    cmd = g.comment(w.DEMO_REPO, pr["number"], "!testme", w.OUTSIDER)
    log = Path(world.dir) / "logs" / "bridge.log"
    wait_for(
        "the bridge's denial of the outsider",
        lambda: f"comment={cmd['id']}" in log.read_text() and "event=denied" in log.read_text(),
        timeout=60,
        interval=0.5,
    )
    assert len(builds(world)) == before
    assert len(bot_comments(g, pr["number"])) == answered
    assert not g.api("GET", f"/repos/{w.DEMO_REPO}/issues/comments/{cmd['id']}/reactions")


def run_command(world: w.Info, g: RealGitea, pr: dict, body: str) -> tuple[dict, dict, dict]:
    """The maintainer comments `body` on `pr`; (the new Drone build finished, its run record,
    the final commit status)."""
    before = {b["number"] for b in builds(world)}
    cmd = g.comment(w.DEMO_REPO, pr["number"], body, w.MAINTAINER)

    def new_build():
        fresh = [b for b in builds(world) if b["number"] not in before]
        return fresh[0] if fresh else None

    build = wait_for("a Drone build for the command", new_build, timeout=60, interval=0.5)
    assert build["params"]["CCCI_COMMAND"] == str(cmd["id"])
    done = wait_finished(world, build["number"])
    run_id = f"drone-{build['number']}-c{cmd['id']}"
    record = json.loads((Path(world.results_dir) / run_id / "run.json").read_text())

    def settled():
        st = [s for s in g.api("GET", f"/repos/{w.DEMO_REPO}/commits/{pr['head']['sha']}/statuses")
              if s["context"] == "cc-ci/demo" and s["target_url"].endswith(run_id)]  # fmt: skip
        return st[0] if st and st[0]["status"] != "pending" else None

    return done, record, wait_for(f"the status of {run_id}", settled, timeout=120, interval=1)


def test_a_failing_recipe_test_fails_the_status_and_is_named_on_the_run_page(world):
    from devworld.demo import BROKEN_TEST

    g = gitea(world)
    branch = "demo-broken"
    g.api("POST", f"/repos/{w.DEMO_REPO}/branches",
          {"new_branch_name": branch, "old_branch_name": world.pr_branch}, sudo=w.MAINTAINER)  # fmt: skip
    path = "tests/test_recipe_local.py"
    f = g.api("GET", f"/repos/{w.DEMO_REPO}/contents/{path}?ref={branch}")
    text = base64.b64decode(f["content"]).decode() + BROKEN_TEST
    g.api(
        "PUT",
        f"/repos/{w.DEMO_REPO}/contents/{path}",
        {"branch": branch, "sha": f["sha"], "message": "a failing recipe test",
         "content": base64.b64encode(text.encode()).decode()},
        sudo=w.MAINTAINER,
    )  # fmt: skip
    pr = open_pr(g, branch, "a broken test")
    done, record, status = run_command(world, g, pr, "!testme recipe-local")
    assert record["status"] == "failed"
    assert status["status"] == "failure"
    assert done["status"] == "failure"

    (stage,) = record["stages"]
    assert [t.rsplit("::", 1)[-1] for t in stage["failing"]] == ["test_deliberately_broken"]

    def failed_row():
        for body in (c["body"] for c in bot_comments(g, pr["number"])):
            for line in body.splitlines():
                if line.startswith("| recipe-local | ❌ failed") and "tests failed" in line:
                    return line
        return None

    line = wait_for("the failed stage in the PR comment", failed_row, timeout=60, interval=1)
    assert line.endswith("failing: `test_deliberately_broken` |"), line
    # the failing test by name: in the JUnit file the run page (the status's link) serves
    with urllib.request.urlopen(status["target_url"], timeout=30) as resp:
        page = resp.read().decode()
    assert "recipe-local.junit.xml" in page
    assert f"<li><code>{stage['failing'][0]}</code></li>" in page
    with urllib.request.urlopen(f"{status['target_url']}/recipe-local.junit.xml", timeout=30) as r:
        assert 'name="test_deliberately_broken"' in r.read().decode()
    g.api("PATCH", f"/repos/{w.DEMO_REPO}/pulls/{pr['number']}", {"state": "closed"})


def test_testme_upgrade_through_giteas_signed_webhook_with_polling_off_runs_only_upgrade(world):
    # two cases in one run (each run deploys the demo: CI's time): the command comes by
    # Gitea's signed webhook alone, and `!testme upgrade` runs only the upgrade stage
    g = gitea(world)
    d = Path(world.dir)
    w.set_polling(d, 0)
    secret = (d / "webhook-secret").read_text()
    g.api(
        "POST",
        f"/repos/{w.DEMO_REPO}/hooks",
        {"type": "gitea", "active": True, "events": ["pull_request_comment"],
         "config": {"url": world.webhook_url, "content_type": "json", "secret": secret}},
    )  # fmt: skip
    pr = next(p for p in g.api("GET", f"/repos/{w.DEMO_REPO}/pulls?state=open"))
    done, record, status = run_command(world, g, pr, "!testme upgrade")
    assert done["params"]["STAGES"] == "upgrade"
    assert [row_stage(s["name"]) for s in record["stages"]] == ["upgrade"]
    assert done["status"] == "success" and status["status"] == "success"
    log = (d / "logs" / "bridge.log").read_text()
    assert "event=hook delivery=" in log and "status=202" in log
    assert "poll_interval=0" in log
    w.set_polling(d, 2)


def live_stacks(world: w.Info) -> list[str] | None:
    """The stacks of a run of this world that are deployed now, or None."""
    for info in (Path(world.runner_state) / "live").glob("*.json"):
        domains = json.loads(info.read_text()).get("domains") or []
        stacks = [stack_name(d) for d in domains]
        if stacks and any(s in dk.docker("stack", "ls", "--format", "{{.Name}}") for s in stacks):
            return stacks
    return None


def push_commit(g: RealGitea, branch: str, path: str, text: str) -> str:
    """The maintainer pushes a commit to `branch` (Gitea's contents API); returns its sha."""
    f = g.api("GET", f"/repos/{w.DEMO_REPO}/contents/{path}?ref={branch}")
    r = g.api(
        "PUT",
        f"/repos/{w.DEMO_REPO}/contents/{path}",
        {"branch": branch, "sha": f["sha"], "message": "a push while the build runs",
         "content": base64.b64encode(text.encode()).decode()},
        sudo=w.MAINTAINER,
    )  # fmt: skip
    return r["commit"]["sha"]


def test_a_push_while_the_build_runs_supersedes_it_and_the_harness_tears_down(world):
    g = gitea(world)
    branch = "demo-pushed"
    g.api("POST", f"/repos/{w.DEMO_REPO}/branches",
          {"new_branch_name": branch, "old_branch_name": world.pr_branch}, sudo=w.MAINTAINER)  # fmt: skip
    pr = open_pr(g, branch, "pushed to while tested")
    old = pr["head"]["sha"]
    before = {b["number"] for b in builds(world)}
    cmd = g.comment(w.DEMO_REPO, pr["number"], "!testme install", w.MAINTAINER)

    def new_build():
        fresh = [b for b in builds(world) if b["number"] not in before]
        return fresh[0] if fresh else None

    build = wait_for("a Drone build for the command", new_build, timeout=60, interval=0.5)
    stacks = wait_for("the run's app deployed", lambda: live_stacks(world), RUN_TIMEOUT, 1)
    new = push_commit(g, branch, "README.md", "pushed while the build ran\n")

    done = wait_finished(world, build["number"])
    assert done["status"] == "killed", json.dumps(done)[:2000]
    run_id = f"drone-{build['number']}-c{cmd['id']}"
    path = Path(world.results_dir) / run_id / "run.json"

    def finished():  # the harness got SIGTERM when the runner killed its shell: it unwinds
        record = json.loads(path.read_text()) if path.exists() else {}
        return record if record.get("status") not in (None, "running") else None

    record = wait_for("the cancelled run's record to be finished", finished, 300, interval=1)
    assert record["status"] == "error", record
    assert record["stages"][0]["message"] == "the run was interrupted", record["stages"]
    assert record["teardown"]["status"] == "clean", record["teardown"]
    names = dk.docker("stack", "ls", "--format", "{{.Name}}").split()
    assert not set(stacks) & set(names), "the superseded run's app outlived it"
    for kind in ("volume", "secret", "config"):
        left = dk.docker(kind, "ls", "--format", "{{.Name}}").split()
        assert not [n for n in left for s in stacks if n.startswith(s + "_")], kind

    def superseded():
        for body in (c["body"] for c in bot_comments(g, pr["number"])):
            if f"superseded by `{new[:10]}`" in body:
                return body
        return None

    wait_for("the PR comment to say superseded", superseded, timeout=60, interval=1)
    st = [s for s in g.api("GET", f"/repos/{w.DEMO_REPO}/commits/{old}/statuses")
          if s["context"] == "cc-ci/demo"]  # fmt: skip
    last = max(st, key=lambda s: s["id"])
    assert last["description"] == f"cc-ci: superseded by {new[:10]}", last
    g.api("PATCH", f"/repos/{w.DEMO_REPO}/pulls/{pr['number']}", {"state": "closed"})


def test_a_world_killed_mid_run_is_cleared_by_the_next_up(world):
    g = gitea(world)
    pr = next(p for p in g.api("GET", f"/repos/{w.DEMO_REPO}/pulls?state=open"))
    g.comment(w.DEMO_REPO, pr["number"], "!testme install", w.MAINTAINER)
    stacks = wait_for(
        "a run app deployed by the world", lambda: live_stacks(world), RUN_TIMEOUT, interval=1
    )
    d = Path(world.dir)

    def killed():  # the machine loses the world: nothing is stopped cleanly
        found = w.world_processes(d)
        for pid in found:  # a step may end, or start a child, between the scan and the kill
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return not found

    wait_for("every world process gone", killed, timeout=30, interval=0.2)
    assert any(s in dk.docker("stack", "ls", "--format", "{{.Name}}") for s in stacks)

    info = w.up(d)
    names = dk.docker("stack", "ls", "--format", "{{.Name}}").split()
    assert not set(stacks) & set(names), "the killed run's app outlived the next up"
    for kind in ("volume", "secret", "config"):
        left = dk.docker(kind, "ls", "--format", "{{.Name}}").split()
        assert not [n for n in left for s in stacks if n.startswith(s + "_")], kind
    assert set(info.pids.values()) <= set(w.world_processes(d))
    assert not builds(info), "the new world's Drone is a fresh one"
