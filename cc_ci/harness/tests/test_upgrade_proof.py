"""The upgrade proof: reading service specs and tasks, what compose asks for, the comparison."""

from __future__ import annotations

import copy

from cc_ci.contract.record import StageStatus
from cc_ci.harness.deploy.spec import abra_sh_exports, deploy_env, wanted_services
from cc_ci.harness.deploy.swarm import normalize_image, runs_spec, service_spec, task_spec
from cc_ci.harness.upgrade import Change, mismatches, proof_outcome, prove, versionless

ST = "cust-1a2b3c_ci_test"


def inspected(image="replica/nginx:1.22.1-abc", conf="v6", secret="v1", env=None, **more):
    """One object as `docker service inspect` prints it (the parts the proof reads)."""
    container = {
        "Image": image,
        "Env": env if env is not None else ["DOMAIN=cust-1a2b3c.ci.test"],
        "Configs": [{"ConfigName": f"{ST}_nginx_default_conf_{conf}", "File": {"Name": "/c"}}],
        "Secrets": [{"SecretName": f"{ST}_db_password_{secret}"}],
        "Labels": {"com.docker.stack.namespace": ST},
        **more,
    }
    return {
        "ID": "svc1",
        "Version": {"Index": 12},
        "Spec": {
            "Name": f"{ST}_app",
            "Labels": {
                "com.docker.stack.namespace": ST,
                "com.docker.stack.image": image,
                f"coop-cloud.{ST}.version": "1.0.0+1.22.1",
                f"coop-cloud.{ST}.chaos-version": "deadbeef",
                "traefik.enable": "true",
            },
            "TaskTemplate": {"ContainerSpec": container, "ForceUpdate": 0},
            "Mode": {"Replicated": {"Replicas": 1}},
        },
    }


def test_a_service_spec_reads_image_configs_secrets_and_env_without_the_deploy_stamps():
    s = service_spec(inspected(image="replica/nginx:1.22.1-abc@sha256:" + "0" * 64), ST)
    assert s.service == "app"
    assert s.image == "replica/nginx:1.22.1-abc"
    assert s.configs == (f"{ST}_nginx_default_conf_v6",)
    assert s.secrets == (f"{ST}_db_password_v1",)
    assert s.env == {"DOMAIN": "cust-1a2b3c.ci.test"}
    assert f"coop-cloud.{ST}.version" not in s.rest["Labels"]
    assert "com.docker.stack.image" not in s.rest["Labels"] and "traefik.enable" in s.rest["Labels"]
    assert "TaskTemplate.ForceUpdate" not in s.rest


def test_image_references_are_compared_as_compose_names_them():
    assert normalize_image("docker.io/library/nginx:1.27@sha256:" + "a" * 64) == "nginx:1.27"
    assert normalize_image("nginx") == "nginx:latest"
    assert normalize_image("localhost:5000/x/y") == "localhost:5000/x/y:latest"
    assert normalize_image("docker.io/bitnami/pg:15") == "bitnami/pg:15"


def test_a_redeploy_of_the_same_release_is_no_upgrade_whatever_abra_stamps():
    before = {"app": service_spec(inspected(), ST)}
    again = inspected()
    again["Spec"]["Labels"][f"coop-cloud.{ST}.version"] = "0a1b2c3d"
    again["Spec"]["TaskTemplate"]["ForceUpdate"] = 3
    after = {"app": service_spec(again, ST)}
    proof = prove(before=before, after=after, wanted=want(), tasks=[], stack=ST,
                  from_release="1.0.0+1.22.1", from_repo="replica/custom-html", to="f" * 40)  # fmt: skip
    assert proof.noop and not proof.proved
    assert proof.message() == (
        "the head deploys exactly what 1.0.0+1.22.1 did: nothing was upgraded"
    )
    outcome = proof_outcome(proof)
    assert outcome is not None and outcome.status is StageStatus.FAILED
    assert outcome.message.startswith("upgrade from 1.0.0+1.22.1: the head deploys exactly")


def want(image="replica/nginx:1.22.1-abc", conf="v6", secret="v1"):
    config = {
        "services": {
            "app": {
                "image": image,
                "configs": [{"source": "nginx_default_conf", "target": "/c"}],
                "secrets": [{"source": "db_password"}],
                "environment": {"DOMAIN": "cust-1a2b3c.ci.test"},
            }
        },
        "configs": {"nginx_default_conf": {"name": f"{ST}_nginx_default_conf_{conf}"}},
        "secrets": {"db_password": {"name": f"{ST}_db_password_{secret}", "external": True}},
    }
    return wanted_services(config, ST)


def test_an_upgrade_lists_each_change_from_to_and_is_proved_when_the_swarm_runs_the_head():
    before = {"app": service_spec(inspected(), ST)}
    new = inspected(image="replica/nginx:1.26.3-def", conf="v7", env=["DOMAIN=x", "GZIP=on"])
    after = {"app": service_spec(new, ST)}
    asked = want(image="replica/nginx:1.26.3-def", conf="v7")
    proof = prove(before=before, after=after, wanted=asked, tasks=[], stack=ST,
                  from_release="1.0.0", from_repo="o/r", to="f" * 40)  # fmt: skip
    assert proof.changes["app"] == (
        Change("image", "", "replica/nginx:1.22.1-abc", "replica/nginx:1.26.3-def"),
        Change(
            "config",
            "nginx_default_conf",
            f"{ST}_nginx_default_conf_v6",
            f"{ST}_nginx_default_conf_v7",
        ),  # fmt: skip
        Change("env", "DOMAIN", "set", "set"),
        Change("env", "GZIP", None, "set"),
    )
    # the env is not what was asked: named, without its values
    assert proof.mismatches == ("app: env DOMAIN, GZIP not as the head asks",)
    details = proof.to_details()
    assert details["from"] == "1.0.0" and details["from_repo"] == "o/r"
    assert details["services"][0]["changes"][0] == {
        "kind": "image", "name": "", "from": "replica/nginx:1.22.1-abc",
        "to": "replica/nginx:1.26.3-def",
    }  # fmt: skip
    assert (
        "cust-1a2b3c.ci.test" not in repr(details)
        and "on" not in details["services"][0]["changes"][3].values()
    )


def test_a_proved_upgrade_has_no_message_and_no_outcome():
    before = {"app": service_spec(inspected(), ST)}
    after = {"app": service_spec(inspected(image="replica/nginx:1.26.3-def", conf="v7"), ST)}
    proof = prove(before=before, after=after, wanted=want("replica/nginx:1.26.3-def", "v7"),
                  tasks=[], stack=ST, from_release="1.0.0", from_repo=None, to="f" * 40)  # fmt: skip
    assert proof.proved and proof.message() == "" and proof_outcome(proof) is None
    assert any(
        "image: replica/nginx:1.22.1-abc → replica/nginx:1.26.3-def" in x for x in proof.lines()
    )


def test_a_swarm_that_still_runs_the_old_release_is_named_service_by_service():
    old = {"app": service_spec(inspected(), ST)}
    extra = {**old, "cron": service_spec({**inspected(), "Spec": {**inspected()["Spec"], "Name": f"{ST}_cron"}}, ST)}  # fmt: skip
    found = mismatches(extra, want("replica/nginx:1.26.3-def", "v7", "v2"))
    assert found == [
        "app: runs image replica/nginx:1.22.1-abc, the head asks for replica/nginx:1.26.3-def",
        f"app: runs configs {ST}_nginx_default_conf_v6, the head asks for {ST}_nginx_default_conf_v7",
        f"app: runs secrets {ST}_db_password_v1, the head asks for {ST}_db_password_v2",
        "cron: still runs, the head defines no such service",
    ]
    assert mismatches({}, want()) == ["app: the head defines it, the swarm runs no such service"]


def task(image, state="running", conf="v6"):
    return {
        "ID": "t" * 25,
        "DesiredState": "shutdown" if state != "running" else "running",
        "Status": {"State": state},
        "Spec": {"ContainerSpec": copy.deepcopy(inspected(image=image, conf=conf))["Spec"][
            "TaskTemplate"]["ContainerSpec"]},
    }  # fmt: skip


def test_a_live_task_of_the_old_spec_fails_the_proof_and_a_stopped_one_does_not():
    before = {"app": service_spec(inspected(), ST)}
    new = inspected(image="replica/nginx:1.26.3-def", conf="v7")
    after = {"app": service_spec(new, ST)}
    old_live = task_spec(task("replica/nginx:1.22.1-abc"), f"{ST}_app")
    old_done = task_spec(task("replica/nginx:1.22.1-abc", "shutdown"), f"{ST}_app")
    new_live = task_spec(task("replica/nginx:1.26.3-def", conf="v7"), f"{ST}_app")
    assert runs_spec(new_live, after["app"]) and not runs_spec(old_live, after["app"])
    args = {"before": before, "after": after, "wanted": want("replica/nginx:1.26.3-def", "v7"),
            "stack": ST, "from_release": "1.0.0", "from_repo": None, "to": "f" * 40}  # fmt: skip
    assert prove(**args, tasks=[old_done, new_live]).proved
    bad = prove(**args, tasks=[old_live, new_live])
    assert not bad.proved
    assert bad.stale == ("app: task tttttttttttt (running) still runs the old spec "
                         "(replica/nginx:1.22.1-abc)",)  # fmt: skip


def test_what_compose_asks_for_names_configs_and_secrets_as_swarm_will():
    config = {
        "services": {"app": {"image": "nginx", "configs": ["a"], "secrets": ["ext", "plain"],
                             "environment": ["K=V", "BARE"]}},
        "configs": {"a": {}},
        "secrets": {"ext": {"external": True}, "plain": {"file": "x"}},
    }  # fmt: skip
    w = wanted_services(config, ST)["app"]
    assert w.image == "nginx:latest"
    assert w.configs == (f"{ST}_a",)
    assert w.secrets == (f"{ST}_plain", "ext")
    assert w.env == {"K": "V", "BARE": None}


def test_the_deploy_env_puts_abra_sh_exports_over_the_env_file_and_sets_the_stack():
    sh = "export CONF_VERSION=v7\nfunction x() { export NOT=read; }\n# export NO=1\n"
    assert abra_sh_exports(sh) == {"CONF_VERSION": "v7"}
    env = deploy_env("CONF_VERSION=v1\nDOMAIN=d\nSTACK_NAME=evil\n", sh, ST)
    assert env == {"CONF_VERSION": "v7", "DOMAIN": "d", "STACK_NAME": ST}


def test_versions_are_paired_by_the_name_before_the_last_underscore():
    assert versionless(f"{ST}_nginx_default_conf_v7") == f"{ST}_nginx_default_conf"
    assert versionless("plain") == "plain"
