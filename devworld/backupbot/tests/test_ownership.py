"""Who may remove the stand-in (devworld/backupbot, "Ownership"): its users share one, and
no user's `down` takes away a stand-in another one deployed. Pure rules, then `up`/`down`
over a fake `docker` that keeps the swarm's services (no swarm)."""

from __future__ import annotations

import pytest
import yaml

import devworld.backupbot as bb

REAL = "backup-bot-two_app"


def test_up_deploys_when_no_backupbot_runs_and_uses_another_owners_stand_in():
    assert bb.decide_up({}, "world:/w") == "deploy"
    assert bb.decide_up({bb.SERVICE: "world:/w"}, "world:/w") == "refresh"
    assert bb.decide_up({bb.SERVICE: "world:/w"}, "pid:7") == "use"
    assert bb.decide_up({bb.SERVICE: None}, "pid:7") == "use"
    with pytest.raises(bb.BackupbotError, match=f"a backupbot already runs on this swarm: {REAL}"):
        bb.decide_up({REAL: None}, "pid:7")


def test_down_removes_only_its_owners_stand_in_or_any_when_asked_by_hand():
    mine = {bb.SERVICE: "world:/w"}
    assert bb.decide_down(mine, "world:/w")
    assert not bb.decide_down(mine, "world:/other")
    assert not bb.decide_down(mine, "pid:7")
    assert bb.decide_down(mine, None)
    assert not bb.decide_down({}, None)
    assert not bb.decide_down({REAL: None}, None)  # never a real backup-bot-two


def test_the_compose_file_labels_the_service_with_its_owner():
    text = bb.COMPOSE.format(
        image="img:1",
        bot_label=bb.BOT_LABEL,
        standin_label=bb.STANDIN_LABEL,
        owner_label='"cc-ci.standin.owner=world:/tmp/a b"',
        secret=bb.SECRET,
    )
    labels = yaml.safe_load(text)["services"]["app"]["deploy"]["labels"]
    assert labels == [bb.BOT_LABEL, bb.STANDIN_LABEL, "cc-ci.standin.owner=world:/tmp/a b"]


class Swarm:
    """The few docker calls up and down make, over a dict of services and their owners."""

    def __init__(self, services: dict[str, str | None]):
        self.services = dict(services)
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str, **_kw) -> str:
        self.calls.append(args)
        match args:
            case ("service", "ls", "--filter", f, "--format", _) if f == f"label={bb.BOT_LABEL}":
                return "\n".join(self.services)
            case ("service", "inspect", name, "--format", _):
                return self.services.get(name) or ""
            case ("stack", "deploy", *_):
                self.services[bb.SERVICE] = self.deployed_as
                return ""
            case ("stack", "rm", _):
                self.services.pop(bb.SERVICE, None)
                return ""
        return ""  # ps, secret, volume, network: nothing left


@pytest.fixture
def swarm(monkeypatch):
    def make(services):
        s = Swarm(services)
        monkeypatch.setattr(bb, "docker", s)
        monkeypatch.setattr(bb, "_ready", lambda: True)

        def deploy(me):
            s.deployed_as = me
            s("stack", "deploy", "-c", "compose.yml", bb.STACK)

        monkeypatch.setattr(bb, "_deploy", deploy)
        return s

    return make


def test_a_world_and_a_test_module_sharing_the_stand_in_never_remove_each_others(swarm):
    s = swarm({})
    assert bb.up(owner="world:/w") == bb.SERVICE
    assert s.services == {bb.SERVICE: "world:/w"}
    # a test module's stand-in while the world's runs: used, and left up after its block
    with bb.deployed() as service:
        assert service == bb.SERVICE
    assert s.services == {bb.SERVICE: "world:/w"}
    assert not [c for c in s.calls if c[:2] == ("stack", "rm")]
    assert bb.down(owner="world:/w") is True
    assert s.services == {}

    # the other way round: the world comes up on a test's stand-in and goes down without it
    with bb.deployed(owner="pytest:backup-e2e"):
        bb.up(owner="world:/w")
        assert bb.owner() == "pytest:backup-e2e"
        assert bb.down(owner="world:/w") is False
        assert bb.SERVICE in s.services
    assert s.services == {}


def test_down_by_hand_removes_whoevers_stand_in(swarm):
    s = swarm({bb.SERVICE: "world:/w"})
    assert bb.down() is True and s.services == {}
    assert bb.down() is False  # nothing runs: only what a stopped one left is cleared
