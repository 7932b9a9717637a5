"""The replicas' shape, without Docker: each is a recipe template with a README, the volumes
its test of the tests drops exist, and dropping them changes exactly those volumes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from devworld.forge import Release
from devworld.replicas.build import ROOT, ReplicaError, drop_volumes, find, no_op_head, replicas

COMPOSE = """\
services:
  app:
    image: x:1
    volumes:
      - content:/usr/share/nginx/html
      - type: volume
        source: content
        target: /mnt
      - other:/other
volumes:
  content:
  other: {}
"""


def test_drop_volumes_renames_the_named_volume_and_nothing_else():
    out = yaml.safe_load(drop_volumes(COMPOSE, ["content"]))
    vols = out["services"]["app"]["volumes"]
    assert vols[0] == "content_lost:/usr/share/nginx/html"
    assert vols[1]["source"] == "content_lost"
    assert vols[2] == "other:/other"
    assert set(out["volumes"]) == {"content_lost", "other"}


def test_the_four_runnable_replicas_are_listed():
    assert [r.recipe for r in replicas()] == ["custom-html", "keycloak", "matrix-synapse", "n8n"]


def test_an_unknown_replica_is_named_in_the_error():
    with pytest.raises(ReplicaError, match="cryptpad"):
        find("cryptpad")


@pytest.mark.parametrize("recipe", [r.recipe for r in replicas()])
def test_a_replica_is_a_recipe_template_that_declares_its_data_volumes(recipe):
    r = find(recipe)
    assert (r.folder / "README.md").is_file()
    assert (r.template / ".env.sample").read_text().startswith(f"TYPE={recipe}\n")
    compose = yaml.safe_load(
        (r.template / "compose.yml").read_text().replace("{{", "x").replace("}}", "x")
    )
    assert "app" in compose["services"]
    for vol in r.module().DATA_VOLUMES:
        assert vol in compose["volumes"], f"{recipe}: DATA_VOLUMES names {vol}, compose has none"


def test_replicas_are_not_mistaken_for_recipe_suites():
    suites = Path(ROOT).parents[1] / "tests"
    for r in replicas():
        assert (suites / r.recipe / "recipe_meta.py").is_file(), f"no suite for {r.recipe}"
        assert not (r.folder / "recipe_meta.py").exists()


def test_a_no_op_head_is_the_previous_release_again_untagged():
    history = [Release("1.0.0+1", "one", {"V": "1"}), Release("1.1.0+2", "two", {"V": "2"})]
    out = no_op_head(history)
    assert out[0] == history[0]
    assert (out[1].tag, dict(out[1].values)) == (None, {"V": "1"})
    assert "1.0.0+1" in out[1].message
