"""`scripts/demo --keep` then `scripts/demo --down` (devworld/demo/play.py), once, on the
whole system: the world comes up, the maintainer's `!testme` on the demo PR ends with a
passed verdict on it, the stage table and the three URLs are printed and answer, and `--down`
leaves no world process, no world dir and no app of the run. Deploys on the shared swarm:
run it under /tmp/cc-ci-swarm.lock.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from cc_ci.contract.names import stack_name
from cc_ci.harness.deploy import docker as dk
from devworld import backupbot
from devworld import world as w
from devworld.demo import play
from devworld.needs import needs

pytestmark = pytest.mark.e2e


def test_the_demo_keeps_a_world_with_a_verdict_on_its_pr_and_down_removes_all(tmp_path, capsys):
    for part in ("gitea", "drone-server", "drone-runner-exec", "traefik", "chromium"):
        needs(part)
    for part in ("playwright", "nix-instantiate", "nix-vendor"):
        needs(part)
    d = tmp_path / "w"
    # every stage, as `scripts/demo` asks: the backup stage on backupbot-standin
    opts = play.Options("keep", (), tmp_path / "results")
    try:
        code = play.run(opts, d)
        out = capsys.readouterr().out
        assert code == 0, out[-3000:]
        assert "✅ cc-ci passed: demo at" in out
        for stage in ("install", "upgrade from 1.1.0+1.1", "backup", "recipe-local"):
            assert re.search(rf"^  {re.escape(stage)} +✅ passed", out, re.M), stage
        found = dict(re.findall(r"^  (Gitea PR|Drone build|dashboard run) +(http\S+)", out, re.M))
        assert set(found) == {"Gitea PR", "Drone build", "dashboard run"}, out[-2000:]
        info = w.Info.load(d)
        assert found["Gitea PR"].startswith(f"{info.gitea_url}/{w.DEMO_REPO}/pulls/")
        for url in found.values():
            with urllib.request.urlopen(url, timeout=30) as resp:
                assert resp.status == 200, url
        run_id = found["dashboard run"].rsplit("/", 1)[1]
        record = json.loads((d / "results" / run_id / "run.json").read_text())
        assert record["status"] == "passed" and record["teardown"]["status"] == "clean"
        apps = {stack_name(dep["domain"]) for dep in record["timings"]["deployments"]}
        assert apps, "the record names the apps the run deployed"
        assert "scripts/demo --down" in out
        # kept: every process of the world still runs
        assert set(info.pids.values()) <= set(w.world_processes(d))
        stood_in = backupbot.owner() == w.backupbot_owner(d)  # the world deployed its own
    finally:
        assert play.run(play.Options("down", (), tmp_path / "results"), d) == 0
    assert w.world_processes(d) == [], "a process of the world outlived --down"
    assert not d.exists()
    stacks = dk.docker("stack", "ls", "--format", "{{.Name}}").split()
    assert not apps & set(stacks), "an app of the run outlived --down"
    if stood_in:
        assert backupbot.running_container() is None, "the demo's backupbot-standin outlived it"
