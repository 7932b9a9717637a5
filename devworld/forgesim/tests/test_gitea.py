"""The simulated Gitea keeps the quirks of the reference's checklist (§5)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading

from cc_ci.harness.waiting import wait_for
from devworld.forgesim.demo import BOT, MEMBER, ORG, OUTSIDER
from devworld.forgesim.tests.conftest import call

REPO = f"{ORG}/custom-html"


def gitea(sim, demo, method, target, **kw):
    headers = {"Authorization": f"token {demo.gitea_token}"} | kw.pop("headers", {})
    return call(sim.gitea_url, method, "/api/v1" + target, headers=headers, **kw)


def test_the_repo_comment_list_filters_on_updated_at_inclusive_and_orders_by_creation(sim, demo):
    w = sim.world
    t = w.now()
    old = w.add_comment(REPO, 1, MEMBER, "old", at=t - 100)
    same = w.add_comment(REPO, 2, MEMBER, "same second", at=t)
    w.add_comment(REPO, 1, MEMBER, "before", at=t - 1)
    w.edit_comment(old.id, "edited", at=t + 5)
    since = "2027-01-15T08:00:00Z"  # = t
    r = gitea(sim, demo, "GET", f"/repos/{REPO}/issues/comments?since={since}")
    assert r.status == 200
    assert [c["id"] for c in r.json()] == [old.id, same.id]  # created order, edit included
    assert r.headers["x-total-count"] == "2"
    assert "link" not in r.headers


def test_a_raw_plus_in_since_is_a_422_and_an_encoded_one_works(sim, demo):
    r = gitea(sim, demo, "GET", f"/repos/{REPO}/issues/comments?since=2027-01-15T10:00:00+02:00")
    assert r.status == 422
    r = gitea(sim, demo, "GET", f"/repos/{REPO}/issues/comments?since=2027-01-15T10:00:00%2B02:00")
    assert r.status == 200


def test_the_repo_comment_list_pages_only_when_page_is_given(sim, demo):
    for i in range(60):
        sim.world.add_comment(REPO, 1, MEMBER, f"c{i}")
    everything = gitea(sim, demo, "GET", f"/repos/{REPO}/issues/comments?limit=10")
    assert len(everything.json()) == 60
    page = gitea(sim, demo, "GET", f"/repos/{REPO}/issues/comments?page=2&limit=100")
    assert len(page.json()) == 10  # limit clamped to 50
    assert page.headers["x-total-count"] == "60"
    default = gitea(sim, demo, "GET", f"/repos/{REPO}/issues/comments?page=1")
    assert len(default.json()) == 30


def test_issue_url_and_pull_request_url_follow_what_the_comment_is_on(sim, demo):
    sim.world.add_issue(REPO, MEMBER)  # number 3
    on_pr = sim.world.add_comment(REPO, 1, MEMBER, "x")
    on_issue = sim.world.add_comment(REPO, 3, MEMBER, "y")
    by_id = {c["id"]: c for c in gitea(sim, demo, "GET", f"/repos/{REPO}/issues/comments").json()}
    assert by_id[on_pr.id]["issue_url"] == ""
    assert by_id[on_pr.id]["pull_request_url"].endswith(f"/{REPO}/pulls/1")
    assert by_id[on_issue.id]["pull_request_url"] == ""
    assert by_id[on_issue.id]["issue_url"].endswith(f"/{REPO}/issues/3")
    assert by_id[on_pr.id]["created_at"].endswith("+02:00")


def test_comment_create_is_201_and_reactions_are_201_then_200(sim, demo):
    r = gitea(sim, demo, "POST", f"/repos/{REPO}/issues/1/comments", body={"body": "hi"})
    assert r.status == 201 and r.json()["user"]["login"] == BOT
    cid = r.json()["id"]
    path = f"/repos/{REPO}/issues/comments/{cid}/reactions"
    assert gitea(sim, demo, "POST", path, body={"content": "eyes"}).status == 201
    assert gitea(sim, demo, "POST", path, body={"content": "eyes"}).status == 200
    assert gitea(sim, demo, "POST", path, body={"content": "shrug"}).status == 403
    edited = gitea(sim, demo, "PATCH", f"/repos/{REPO}/issues/comments/{cid}", body={"body": "b"})
    assert edited.status == 200 and edited.json()["body"] == "b"


def test_editing_someone_elses_comment_without_write_is_403(sim, demo):
    sim.world.repos[REPO].writers.discard(BOT)
    c = sim.world.add_comment(REPO, 1, MEMBER, "mine")
    r = gitea(sim, demo, "PATCH", f"/repos/{REPO}/issues/comments/{c.id}", body={"body": "x"})
    assert r.status == 403


def test_writes_without_a_token_are_401(sim, demo):
    r = call(sim.gitea_url, "POST", f"/api/v1/repos/{REPO}/issues/1/comments", body={"body": "x"})
    assert r.status == 401 and r.json()["message"] == "token is required"


def test_org_membership_is_204_or_404_for_a_member_and_303_for_anyone_else(sim, demo):
    assert gitea(sim, demo, "GET", f"/orgs/{ORG}/members/{MEMBER}").status == 204
    assert gitea(sim, demo, "GET", f"/orgs/{ORG}/members/{OUTSIDER}").status == 404
    sim.world.orgs[ORG].discard(BOT)
    r = gitea(sim, demo, "GET", f"/orgs/{ORG}/members/{MEMBER}")
    assert r.status == 303
    assert r.headers["location"].endswith(f"/orgs/{ORG}/public_members/{MEMBER}")
    assert gitea(sim, demo, "GET", f"/orgs/{ORG}/members/{BOT}").status == 404
    assert call(sim.gitea_url, "GET", f"/api/v1/orgs/{ORG}/members/{MEMBER}").status == 401


def test_a_pull_names_its_head_and_an_issue_is_not_a_pull(sim, demo):
    r = gitea(sim, demo, "GET", f"/repos/{REPO}/pulls/1")
    head = r.json()["head"]
    assert head["repo"]["full_name"] == f"{MEMBER}/custom-html"
    assert head["sha"] == sim.world.issues[(REPO, 1)].head_sha
    sim.world.add_issue(REPO, MEMBER)
    assert gitea(sim, demo, "GET", f"/repos/{REPO}/pulls/3").status == 404
    issue = gitea(sim, demo, "GET", f"/repos/{REPO}/issues/3").json()
    assert issue["pull_request"] is None
    assert gitea(sim, demo, "GET", f"/repos/{REPO}/issues/1").json()["pull_request"] is not None
    sim.world.issues[(REPO, 1)].head_repo = None
    gone = gitea(sim, demo, "GET", f"/repos/{REPO}/pulls/1").json()["head"]
    assert gone["repo"] is None and gone["repo_id"] == -1


def test_commit_statuses_take_state_answer_status_and_an_unknown_sha_is_500(sim, demo):
    sha = sim.world.issues[(REPO, 1)].head_sha
    body = {"state": "pending", "context": "cc-ci/x", "description": " d ", "target_url": "u"}
    r = gitea(sim, demo, "POST", f"/repos/{REPO}/statuses/{sha[:10]}", body=body)
    assert r.status == 201
    assert r.json()["status"] == "pending" and "state" not in r.json()
    assert r.json()["description"] == "d"
    assert gitea(sim, demo, "POST", f"/repos/{REPO}/statuses/{'0' * 40}", body=body).status == 500
    gitea(sim, demo, "POST", f"/repos/{REPO}/statuses/{sha}", body=body | {"state": "failure"})
    combined = gitea(sim, demo, "GET", f"/repos/{REPO}/commits/{sha}/status").json()
    assert combined["state"] == "failure" and combined["total_count"] == 1


def test_faults_answer_500_malformed_or_nothing_and_can_target_a_path(sim, demo):
    sim.fault("gitea", "500", times=1)
    r = gitea(sim, demo, "GET", "/user")
    assert r.status == 500 and demo.gitea_token in r.json()["message"]  # the canary echo
    sim.fault("gitea", "malformed", times=1, path="/user")
    assert gitea(sim, demo, "GET", f"/repos/{REPO}/pulls/1").status == 200
    assert gitea(sim, demo, "GET", "/user").body.startswith(b'{"this is": not')
    sim.fault("gitea", "down", times=1)
    try:
        gitea(sim, demo, "GET", "/user")
    except ConnectionError:
        pass
    else:
        raise AssertionError("a down service answered")
    assert gitea(sim, demo, "GET", "/user").status == 200


def test_webhook_deliveries_carry_gitea_headers_and_signatures(sim, demo):
    c = sim.world.add_comment(REPO, 1, MEMBER, "!testme")
    body, headers = sim.signed_delivery(c, "k")
    assert headers["X-Gitea-Event"] == "issue_comment"
    assert headers["X-Gitea-Event-Type"] == "pull_request_comment"
    assert headers["X-Gitea-Signature"] == hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == "sha256=" + headers["X-Gitea-Signature"]
    assert headers["X-Hub-Signature"].startswith("sha1=")
    assert body.startswith(b"{\n  ")  # pretty-printed, as Gitea's MarshalIndent
    payload = json.loads(body)
    assert payload["action"] == "created" and payload["is_pull"] is True
    assert payload["comment"]["id"] == c.id and payload["repository"]["full_name"] == REPO
    assert "pull_request" in payload


def test_a_hook_gets_only_the_comment_events_it_was_registered_for(sim, demo):
    received: list[str] = []

    class Sink(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append(self.headers["X-Gitea-Event-Type"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        sim.world.add_hook(REPO, url, "k", events=("issue_comment",))
        sim.world.add_issue(REPO, MEMBER)  # number 3
        sim.world.add_comment(REPO, 1, MEMBER, "on a PR")
        sim.world.add_comment(REPO, 3, MEMBER, "on an issue")
        wait_for("one delivery", lambda: received, timeout=5, interval=0.01)
        sim.world.add_comment(REPO, 3, MEMBER, "again")
        wait_for("two deliveries", lambda: len(received) == 2, timeout=5, interval=0.01)
        assert received == ["issue_comment", "issue_comment"]
    finally:
        server.shutdown()
        server.server_close()


def test_the_default_branch_its_head_and_the_tags_newest_first(sim, demo):
    w = sim.world
    repo = gitea(sim, demo, "GET", f"/repos/{REPO}").json()
    assert repo["default_branch"] == "main" and repo["full_name"] == REPO
    head = gitea(sim, demo, "GET", f"/repos/{REPO}/branches/main").json()["commit"]["id"]
    assert head == w.repos[REPO].branches["main"] and len(head) == 40
    assert gitea(sim, demo, "GET", f"/repos/{REPO}/branches/nope").status == 404
    assert gitea(sim, demo, "GET", f"/repos/{ORG}/nope").status == 404
    w.add_tag(REPO, "1.0.0+1.0")
    w.advance(1)
    moved = w.push_branch(REPO)
    w.add_tag(REPO, "1.1.0+1.1")
    assert moved != head
    r = gitea(sim, demo, "GET", f"/repos/{REPO}/tags?page=1&limit=50")
    assert [t["name"] for t in r.json()] == ["1.1.0+1.1", "1.0.0+1.0"]
    assert r.json()[0]["commit"]["sha"] == moved and r.headers["x-total-count"] == "2"
    one = gitea(sim, demo, "GET", f"/repos/{REPO}/tags?page=2&limit=1").json()
    assert [t["name"] for t in one] == ["1.0.0+1.0"]
    # statuses can be set on a branch's head, as on a PR's
    status = {"state": "success", "context": "cc-ci/custom-html"}
    assert gitea(sim, demo, "POST", f"/repos/{REPO}/statuses/{moved}", body=status).status == 201
