"""The simulated Drone keeps the quirks of the reference's checklist (§5)."""

from __future__ import annotations

from devworld.forgesim.demo import CI_REPO
from devworld.forgesim.tests.conftest import call

BUILDS = f"/api/repos/{CI_REPO}/builds"


def drone(sim, demo, method, target, **kw):
    headers = {"Authorization": f"Bearer {demo.drone_token}"} | kw.pop("headers", {})
    return call(sim.drone_url, method, target, headers=headers, **kw)


def test_create_is_200_with_a_pending_build_whose_params_are_the_query(sim, demo):
    r = drone(sim, demo, "POST", f"{BUILDS}?branch=main&RECIPE=custom-html&PR=7&message=hi")
    assert r.status == 200
    b = r.json()
    assert b["status"] == "pending" and b["event"] == "custom" and "stages" not in b
    assert b["params"] == {"RECIPE": "custom-html", "PR": "7", "message": "hi"}
    assert b["message"] == "hi"
    assert b["created"] == 1_800_000_000 and isinstance(b["created"], int)


def test_create_without_a_matching_pipeline_is_a_literal_null(sim, demo):
    sim.world.drone_repos[CI_REPO].branches.clear()
    r = drone(sim, demo, "POST", f"{BUILDS}?branch=main")
    assert (r.status, r.body) == (200, b"null")


def test_a_missing_permission_is_404_and_a_guest_is_401(sim, demo):
    sim.world.add_drone_token("reader-token", "reader")
    sim.world.drone_repos[CI_REPO].readers.add("reader")
    as_reader = {"Authorization": "Bearer reader-token"}
    assert call(sim.drone_url, "POST", BUILDS, headers=as_reader).status == 404
    assert call(sim.drone_url, "GET", BUILDS, headers=as_reader).status == 200
    assert call(sim.drone_url, "POST", BUILDS).status == 401


def test_only_an_exact_bearer_prefix_authenticates(sim, demo):
    for header in (f"bearer {demo.drone_token}", f"Bearer  {demo.drone_token}", demo.drone_token):
        assert call(sim.drone_url, "POST", BUILDS, headers={"Authorization": header}).status == 401


def test_a_build_has_stages_and_steps_and_logs_are_pos_out_time(sim, demo):
    drone(sim, demo, "POST", BUILDS)
    b = drone(sim, demo, "GET", f"{BUILDS}/1").json()
    assert b["stages"][0]["name"] == "recipe-ci"
    assert [s["name"] for s in b["stages"][0]["steps"]] == ["checkout", "test"]
    assert drone(sim, demo, "GET", f"{BUILDS}/x").status == 400
    assert drone(sim, demo, "GET", f"{BUILDS}/9").status == 404
    assert drone(sim, demo, "GET", f"{BUILDS}/1/logs/1/2").status == 404
    sim.world.finish_build(CI_REPO, 1, "failure")
    (line,) = drone(sim, demo, "GET", f"{BUILDS}/1/logs/1/2").json()
    assert set(line) == {"pos", "out", "time"}


def test_cancel_kills_what_runs_and_leaves_a_finished_build_alone(sim, demo):
    drone(sim, demo, "POST", BUILDS)
    sim.world.start_build(CI_REPO, 1)
    killed = drone(sim, demo, "DELETE", f"{BUILDS}/1").json()
    assert killed["status"] == "killed" and killed["finished"] > 0
    assert {s["exit_code"] for s in killed["stages"][0]["steps"]} == {130}
    drone(sim, demo, "POST", BUILDS)
    sim.world.finish_build(CI_REPO, 2, "success")
    again = drone(sim, demo, "DELETE", f"{BUILDS}/2")
    assert again.status == 200 and again.json()["status"] == "success"


def test_restart_copies_the_build_and_the_old_params_win(sim, demo):
    drone(sim, demo, "POST", f"{BUILDS}?RECIPE=a&PR=1")
    r = drone(sim, demo, "POST", f"{BUILDS}/1?RECIPE=b&EXTRA=x").json()
    assert r["number"] == 2 and r["parent"] == 1
    assert r["params"] == {"RECIPE": "a", "PR": "1", "EXTRA": "x"}


def test_the_build_list_is_newest_first_with_per_page_bounds(sim, demo):
    for _ in range(30):
        drone(sim, demo, "POST", BUILDS)
    listed = drone(sim, demo, "GET", f"{BUILDS}?per_page=500").json()
    assert len(listed) == 25 and listed[0]["number"] == 30
    assert [
        b["number"] for b in drone(sim, demo, "GET", f"{BUILDS}?page=2&per_page=20").json()
    ] == list(range(10, 0, -1))


def test_the_queue_is_every_pending_or_running_stage_by_id_for_admins_only(sim, demo):
    for _ in range(3):
        drone(sim, demo, "POST", BUILDS)
    sim.world.start_build(CI_REPO, 1)
    sim.world.finish_build(CI_REPO, 3, "success")
    r = drone(sim, demo, "GET", "/api/queue")
    assert r.status == 200
    items = r.json()
    builds = {b["id"]: b["number"] for b in drone(sim, demo, "GET", BUILDS).json()}
    assert [(builds[i["build_id"]], i["status"]) for i in items] == [(1, "running"), (2, "pending")]
    assert [i["id"] for i in items] == sorted(i["id"] for i in items)
    assert {i["name"] for i in items} == {"recipe-ci"} and all("steps" not in i for i in items)
    assert len({i["repo_id"] for i in items}) == 1
    sim.world.add_drone_token("writer-token", "writer")
    sim.world.drone_repos[CI_REPO].writers.add("writer")
    assert call(sim.drone_url, "GET", "/api/queue").status == 401
    as_writer = {"Authorization": "Bearer writer-token"}
    assert call(sim.drone_url, "GET", "/api/queue", headers=as_writer).status == 403
    sim.world.drone_queue_api = False
    assert drone(sim, demo, "GET", "/api/queue").status == 501


def test_a_reset_drone_numbers_builds_from_1_again_and_keeps_the_run_records(sim, demo):
    drone(sim, demo, "POST", f"{BUILDS}?CCCI_COMMAND=1007")
    drone(sim, demo, "POST", BUILDS)
    sim.world.finish_build(CI_REPO, 1, "success", "demo")
    assert set(sim.world.records) == {"drone-1-c1007"}
    sim.world.reset_drone()
    assert drone(sim, demo, "GET", f"{BUILDS}/1").status == 404
    again = drone(sim, demo, "POST", f"{BUILDS}?CCCI_COMMAND=1012").json()
    assert again["number"] == 1
    sim.world.finish_build(CI_REPO, 1, "success", "demo")
    assert set(sim.world.records) == {"drone-1-c1007", "drone-1-c1012"}
