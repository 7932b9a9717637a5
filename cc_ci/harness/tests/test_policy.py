"""The compose policy gate: hostile recipes are refused, clean ones pass. No Docker."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from cc_ci.contract.redact import Redactor
from cc_ci.harness.meta import load_meta
from cc_ci.harness.policy.allowlist import (
    Allowlist,
    PolicyConfigError,
    load_allowlist,
    parse_allowlist,
)
from cc_ci.harness.policy.env import compose_file_list, interpolate, parse_env
from cc_ci.harness.policy.gate import (
    ALLOWABLE,
    ComposeFileRefused,
    FindingKind,
    Severity,
    check,
    compose_files,
    gate,
    sample_env,
)
from cc_ci.harness.run import PolicyRefused, Run, RunRequest
from cc_ci.harness.runlog import FileLog
from cc_ci.harness.settings import Settings

HOSTILE = Path(__file__).parent / "hostile"
ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "devworld" / "demo" / "recipe"
REPLICAS = sorted(ROOT.glob("devworld/replicas/*/recipe"))
DOMAIN = "reci-abc123.ci.test"  # the run's app domain, as the harness names it
STACK = "reci-abc123_ci_test"
NO_ALLOW = Allowlist()

# What each hostile recipe must be refused with: the whole line, naming file, service and key.
# A folder is named after its finding kind, or `<kind>-<case>` when one kind has several.
EXPECTED = {
    "bind-mount": "compose.socket.yml: service app: volumes[0]: bind mount of host path "
    "/var/run/docker.sock (the Docker socket: root on the host)",
    "privileged": "compose.yml: service worker: privileged: runs privileged: every capability, "
    "every device",
    "cap-add": "compose.yml: service app: cap_add[1]: adds the capability SYS_ADMIN",
    "devices": "compose.yml: service app: devices[0]: passes the host device /dev/sda:/dev/sda "
    "through",
    "host-network": "compose.yml: service app: networks[1]: attaches to the host network (outside)",
    "host-pid": "compose.yml: service app: pid: shares the host's process namespace",
    "host-ipc": "compose.yml: service app: ipc: shares the host's IPC namespace",
    "host-userns": "compose.yml: service app: userns_mode: shares the host's user namespace",
    "security-opt": "compose.yml: service app: security_opt[1]: security_opt seccomp=unconfined "
    "turns off the seccomp filter",
    "published-port": "compose.yml: service app: ports[0]: publishes container port 22 on port "
    "2222 (host mode)",
    "host-file": "compose.yml: secrets.token.file: reads /var/lib/cc-ci/git-token from the host",
    "external-volume": "compose.yml: volumes.certs: uses the existing volume traefik_letsencrypt, "
    "not its own",
    "unresolved-variable": "compose.yml: service app: volumes[0]: depends on variables the app "
    "env does not set: DATA_DIR",
    "unparseable": "compose.yml: line 8: invalid YAML: duplicate key 'privileged'",
    "path-escape": "../bind-mount/compose.socket.yml: COMPOSE_FILE: names a file outside the "
    "recipe directory",
    "privileged-surrogate": "compose.yml: service app\\udfff: privileged: runs privileged: "
    "every capability, every device",
    "routing": f"compose.yml: service app: deploy.labels[2]: traefik.http.routers.{STACK}.rule="
    f"Host(`ci.test`): routes ci.test, not this app's domain ({DOMAIN})",
    "routing-other-run": f"compose.yml: service app: deploy.labels[1]: traefik.http.routers.{STACK}"
    f".rule=Host(`{DOMAIN}`) || Host(`cust-0a1b2c.ci.test`): routes cust-0a1b2c.ci.test, not "
    f"this app's domain ({DOMAIN})",
    "routing-host-regexp": f"compose.yml: service app: deploy.labels[1]: traefik.http.routers."
    f"{STACK}.rule=HostRegexp(`^.+\\.ci\\.test$`): HostRegexp matches hosts by pattern",
    "routing-no-host": f"compose.yml: service app: deploy.labels[1]: traefik.http.routers.{STACK}"
    ".rule=PathPrefix(`/hook`): matches requests for every host",
    "routing-tcp": f"compose.yml: service app: deploy.labels[1]: traefik.tcp.routers.{STACK}.rule="
    "HostSNI(`*`): TCP routing goes by port or TLS name (HostSNI), past the app's domain",
    "routing-entrypoint": f"compose.yml: service app: deploy.labels[2]: traefik.http.routers."
    f"{STACK}.entrypoints=web-secure,traefik: puts the router on the entrypoint traefik",
    "routing-priority": f"compose.yml: service app: deploy.labels[3]: traefik.http.routers.{STACK}"
    ".priority=2147482000: is above Traefik's default priority (27, its rule's length)",
    "routing-internal": f"compose.yml: service app: deploy.labels[3]: traefik.http.routers.{STACK}"
    ".service=api@internal: uses api@internal, Traefik's own service",
    "routing-middleware": f"compose.yml: service app: deploy.labels[3]: traefik.http.routers."
    f"{STACK}.middlewares=admin-auth@file,error-pages-middleware@docker: uses admin-auth@file, a "
    "middleware of the file provider, not this recipe's; uses the middleware "
    "error-pages-middleware@docker, which this recipe does not define",
    "routing-name": "compose.yml: service app: deploy.labels[1]: traefik.http.routers."
    "cc-ci-dashboard.rule=Host(`reci-abc123.ci.test`): names the router cc-ci-dashboard, which "
    f"does not start with the app's stack name ({STACK})",
    "routing-server-url": f"compose.yml: service app: deploy.labels[4]: traefik.http.services."
    f"{STACK}.loadbalancer.server.url=http://127.0.0.1:8080: points the service at an address",
    "harness-env": "abra.sh: export DOMAIN: sets DOMAIN='ci.test', which only the harness sets",
    "routing-overlay": f"compose.alias.yml: service app: labels[0]: traefik.http.routers.{STACK}"
    f"-alias.rule=Host(`drone.ci.test`): routes drone.ci.test, not this app's domain ({DOMAIN})",
}
REFUSAL_KINDS = {str(k) for k in FindingKind} - {"unpinned-image"}


def kind_of(folder: str) -> str:
    """The finding kind a hostile recipe's folder is named after."""
    return next(k for k in REFUSAL_KINDS if folder == k or folder.startswith(f"{k}-"))


def app_env(recipe_dir: Path, **extra: str) -> dict[str, str]:
    """The env abra would give an app of this recipe: its .env.sample, plus the harness's."""
    sample = recipe_dir / ".env.sample"
    env = parse_env(sample.read_text()) if sample.exists() else {}
    return {**env, "STACK_NAME": STACK, "DOMAIN": DOMAIN, **extra}


def verdict_of(yml: str, env: dict[str, str] | None = None, allow: Allowlist = NO_ALLOW):
    return check({"compose.yml": textwrap.dedent(yml)}, "demo", allow, env or {}, domains=[DOMAIN])


def service(body: str, top: str = "") -> str:
    """A one-service compose file with `body` under the service and `top` at the top level."""
    indented = textwrap.indent(textwrap.dedent(body), "    ")
    return f"services:\n  app:\n    image: nginx:1.27.3\n{indented}\n{textwrap.dedent(top)}"


def kinds(verdict) -> list[str]:
    return [str(f.kind) for f in verdict.errors]


# -- one hostile recipe per refusal kind -----------------------------------------------------


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_hostile_recipe_is_refused_naming_the_file_service_and_key(case):
    recipe = HOSTILE / case
    verdict = gate(recipe, app_env(recipe), case, NO_ALLOW, domains=(DOMAIN,))
    assert verdict.refused
    assert kind_of(case) in kinds(verdict)
    assert any(line.startswith(EXPECTED[case]) for line in verdict.lines()), verdict.lines()


def test_every_refusal_kind_has_a_hostile_recipe():
    cases = {p.name for p in HOSTILE.iterdir() if p.is_dir()}
    assert cases == set(EXPECTED)
    assert {kind_of(c) for c in cases} == REFUSAL_KINDS


def test_the_env_before_app_new_is_the_sample_with_the_harness_values_on_top():
    env = sample_env(HOSTILE / "bind-mount", {"DOMAIN": "bind-abc123.ci.test"})
    assert env["COMPOSE_FILE"] == "compose.yml:compose.socket.yml"
    assert env["DOMAIN"] == "bind-abc123.ci.test"
    assert sample_env(HOSTILE / "privileged", {"STACK_NAME": STACK}) == {"STACK_NAME": STACK}


def test_a_hostile_overlay_is_reached_only_through_compose_file():
    recipe = HOSTILE / "bind-mount"
    assert not gate(recipe, {"STACK_NAME": STACK}, "bind-mount", NO_ALLOW).refused
    assert [p.name for p in compose_files(recipe, app_env(recipe))] == [
        "compose.yml",
        "compose.socket.yml",
    ]


# -- the forms each refusal takes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("volumes", "top", "source"),
    [
        ('- "/var/run/docker.sock:/var/run/docker.sock:ro"', "", "/var/run/docker.sock"),
        ("- /:/host", "", "/"),
        ("- ./data:/data", "", "./data"),
        ("- ~/x:/x", "", "~/x"),
        ("- {type: bind, source: /etc, target: /etc}", "", "/etc"),
        ("- {type: volume, source: /srv, target: /srv}", "", "/srv"),
        (
            "- data:/data",
            "volumes:\n  data:\n    driver: local\n    driver_opts: {type: none, o: bind, device: /srv}",
            "/srv",
        ),
    ],
)
def test_every_form_of_bind_mount_is_refused(volumes, top, source):
    verdict = verdict_of(service(f"volumes:\n  {volumes}", top))
    assert kinds(verdict) == ["bind-mount"]
    assert f"bind mount of host path {source}" in verdict.lines()[0]


def test_volume_driver_options_that_mount_the_host_are_refused_and_nfs_is_not():
    yml = """
    volumes:
      overlay:
        driver_opts: {type: overlay, device: overlay, o: "lowerdir=/etc,upperdir=/u,workdir=/w"}
      share:
        driver_opts: {type: nfs, device: ":/export", o: "addr=10.0.0.1,rw"}
    """
    assert verdict_of(yml).lines() == [
        "compose.yml: volumes.overlay.driver_opts: mounts overlay as overlay with "
        "o='lowerdir=/etc,upperdir=/u,workdir=/w': a host mount"
    ]


def test_a_windows_drive_path_is_a_bind_mount():
    assert kinds(verdict_of(service("volumes: ['C:/data:/data']"))) == ["bind-mount"]


def test_devices_by_cgroup_rule_and_volumes_of_another_container_are_refused():
    yml = service("device_cgroup_rules: ['c 1:3 mr']\nvolumes_from: ['container:traefik']")
    assert kinds(verdict_of(yml)) == ["devices", "external-volume"]


def test_a_port_written_as_yaml_base_60_is_read_as_compose_reads_it(allow):
    verdict = check({"compose.yml": service("ports: [80:80]")}, "traefik", allow)
    assert not verdict.refused
    assert "publishes container port 80 on port 80" in verdict.lines()[0]


def test_named_volumes_tmpfs_and_anonymous_volumes_pass():
    yml = service(
        "volumes:\n  - data:/data\n  - /cache\n  - {type: tmpfs, target: /tmp}\n"
        "  - {type: volume, source: data, target: /d2}",
        "volumes:\n  data:",
    )
    assert not verdict_of(yml).findings


@pytest.mark.parametrize(
    "opt",
    [
        "seccomp:unconfined",
        "seccomp=unconfined",
        "apparmor:unconfined",
        "apparmor=unconfined",
        "label:disable",
        "label=disable",
        "no-new-privileges:false",
        "systempaths=unconfined",
        "seccomp=/etc/my-profile.json",
    ],
)
def test_security_opts_that_loosen_confinement_are_refused(opt):
    assert kinds(verdict_of(service(f"security_opt: ['{opt}']"))) == ["security-opt"]


def test_no_new_privileges_tightens_and_passes():
    yml = service("security_opt: [no-new-privileges, 'no-new-privileges=true']")
    assert not verdict_of(yml).findings


@pytest.mark.parametrize(
    ("body", "top"),
    [
        ("network_mode: host", ""),
        ("network_mode: container:traefik", ""),
        ("networks: [host]", ""),
        ("networks: {hostnet: {}}", "networks:\n  hostnet: {external: true, name: host}"),
        ("networks: [hostnet]", "networks:\n  hostnet: {external: {name: host}}"),
    ],
)
def test_every_way_onto_the_host_network_is_refused(body, top):
    assert "host-network" in kinds(verdict_of(service(body, top)))


@pytest.mark.parametrize(
    "port",
    ["'80:80'", "'8080:80/udp'", "'127.0.0.1:8080:80'", "80", "{target: 80, published: 8080}"],
)
def test_any_published_port_is_refused(port):
    assert kinds(verdict_of(service(f"ports:\n  - {port}"))) == ["published-port"]


def test_privileged_spelled_as_a_yaml_string_is_still_privileged():
    assert kinds(verdict_of(service("privileged: 'yes'"))) == ["privileged"]
    assert not verdict_of(service("privileged: false")).findings


def test_an_env_file_or_config_from_outside_the_recipe_is_a_host_file():
    yml = service(
        "env_file: [/etc/cc-ci/bridge.env, ./app.env]",
        "configs:\n  c: {file: ../../secrets.yml}\n  d: {file: ./ok.conf}",
    )
    lines = verdict_of(yml).lines()
    assert lines == [
        "compose.yml: service app: env_file[0]: reads env file /etc/cc-ci/bridge.env from "
        "outside the recipe",
        "compose.yml: configs.c.file: reads ../../secrets.yml from the host",
    ]


def test_a_config_that_is_a_symlink_out_of_the_recipe_is_a_host_file(tmp_path):
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    (recipe / "entrypoint.sh").symlink_to("/etc/hostname")
    (recipe / "compose.yml").write_text(service("", "configs:\n  e: {file: entrypoint.sh}"))
    assert kinds(gate(recipe, {}, "demo", NO_ALLOW)) == ["path-escape", "host-file"]


# -- routing: Traefik labels stay inside the run's own domains --------------------------------

SANDBOX = "sb" + DOMAIN  # a second domain cc-ci's suite gives the app (cryptpad's)
RUN_ENV = {"STACK_NAME": STACK, "DOMAIN": DOMAIN, "SANDBOX_DOMAIN": SANDBOX, "LETS_ENCRYPT_ENV": ""}
ROUTER = "traefik.http.routers.${STACK_NAME}"
OWN = f"{ROUTER}.rule=Host(`${{DOMAIN}}`)"


def routes(labels: list | dict, domains=(DOMAIN,), container: bool = False, more=None):
    """The verdict on a recipe whose `app` has these labels (its `deploy.labels`, or its
    container `labels`), beside the services in `more`, in the harness's app env."""
    spec: dict = {"image": "nginx:1.27.3"}
    if container:
        spec["labels"] = labels
    else:
        spec["deploy"] = {"labels": labels}
    doc = {"services": {"app": spec, **(more or {})}}
    return check({"compose.yml": doc}, "demo", NO_ALLOW, RUN_ENV, domains=domains)


def refused_labels(verdict) -> list[str]:
    """The routing findings' details, one per offending label."""
    assert all(f.kind is FindingKind.ROUTING for f in verdict.errors), verdict.lines()
    return [f.detail for f in verdict.errors]


@pytest.mark.parametrize(
    ("rule", "host"),
    [
        ("Host(`ci.test`)", "ci.test"),  # the bare zone: the dashboard
        ("Host(`ci.test`) && PathPrefix(`/hook`)", "ci.test"),  # the bridge's webhook
        ("Host(`drone.ci.test`)", "drone.ci.test"),  # cc-ci's Drone
        ("Host(`cust-0a1b2c.ci.test`)", "cust-0a1b2c.ci.test"),  # another run's app
        ("Host(`${DOMAIN}`, `traefik.ci.test`)", "traefik.ci.test"),  # v2: several hosts
        ("Host(`${DOMAIN}`) || Host(`backups.ci.test`)", "backups.ci.test"),  # v3: `||`
        ("HostHeader(`ci.test`)", "ci.test"),  # v2's alias of Host
        ("host(`ci.test`)", "ci.test"),  # v2 also takes matcher names in lower case
        ("Host(`${DOMAIN}`) && !Host(`ci.test`)", "ci.test"),
        ("Host(`*.ci.test`)", "*.ci.test"),
        ("Host(`${DOMAIN}.`)", f"{DOMAIN}."),
        ("Host(`${DOMAIN}:443`)", f"{DOMAIN}:443"),
        ('Host("ci.test")', "ci.test"),
    ],
)
def test_a_host_rule_naming_any_host_but_the_apps_own_is_refused(rule, host):
    (detail,) = refused_labels(routes([f"{ROUTER}.rule={rule}"]))
    assert f"routes {host}, not this app's domain ({DOMAIN})" in detail
    assert detail.startswith(f"traefik.http.routers.{STACK}.rule=")


def test_a_host_rule_with_an_unset_variable_is_judged_as_compose_deploys_it():
    (detail,) = refused_labels(routes([f"{ROUTER}.rule=Host(`${{APP_HOST}}`)"]))
    assert "routes an empty host name" in detail


@pytest.mark.parametrize(
    "rule",
    [
        "Host(`${DOMAIN}`)",
        "Host(`${DOMAIN}`${EXTRA_DOMAINS})",  # EXTRA_DOMAINS unset: as compose deploys it
        "Host(`${DOMAIN}`, `${SANDBOX_DOMAIN}`)",
        "Host(`${DOMAIN}`) || Host(`${SANDBOX_DOMAIN}`)",
        f"Host(`{DOMAIN.upper()}`)",
        "Host(`${DOMAIN}`) && (PathPrefix(`/api`) || PathPrefix(`/admin`))",
        "(Host(`${DOMAIN}`) || Host(`${SANDBOX_DOMAIN}`)) && !PathPrefix(`/internal`)",
        "PathPrefix(`/.well-known`) && Host(`${DOMAIN}`)",
        "  Host(`${DOMAIN}`)\t&&\nMethod(`GET`)  ",
    ],
)
def test_rules_that_route_only_the_apps_own_domains_pass(rule):
    verdict = routes([f"{ROUTER}.rule={rule}"], domains=(DOMAIN, SANDBOX))
    assert verdict.lines() == []


@pytest.mark.parametrize(
    "rule",
    [
        "HostRegexp(`^.+\\.ci\\.test$`)",
        "HostRegexp(`{sub:[a-z]+}.ci.test`)",  # v2's form
        "Host(`${DOMAIN}`) || HostRegexp(`.*`)",
        "Host(`${DOMAIN}`) && HostRegexp(`^reci`)",  # even where it narrows a Host()
    ],
)
def test_host_regexp_of_any_kind_is_refused(rule):
    (detail,) = refused_labels(routes([f"{ROUTER}.rule={rule}"]))
    assert "HostRegexp matches hosts by pattern" in detail


@pytest.mark.parametrize(
    "rule",
    [
        "PathPrefix(`/`)",
        "Path(`/hook`)",
        "Host(`${DOMAIN}`) || PathPrefix(`/`)",
        "!Host(`${DOMAIN}`)",
        "Header(`Host`, `ci.test`)",
        "Method(`GET`) || (Host(`${DOMAIN}`) && Path(`/`))",
        "ClientIP(`0.0.0.0/0`)",
    ],
)
def test_a_rule_that_matches_requests_for_other_hosts_is_refused(rule):
    (detail,) = refused_labels(routes([f"{ROUTER}.rule={rule}"]))
    assert "matches requests for every host" in detail


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        ("", "the rule is empty"),
        ("Host(`${DOMAIN}`", "expected ')'"),
        ("Host('x')", "unexpected"),
        ('Host("reci\\x2dabc123.ci.test")', "unexpected"),  # escapes are not decoded
        ("Host(`${DOMAIN}`) /* */ || PathPrefix(`/`)", "unexpected"),
        ("Host(`${DOMAIN}`) Host(`x`)", "after the rule"),
        ("(" * 60 + "Host(`${DOMAIN}`)" + ")" * 60, "nested deeper than 50"),
    ],
)
def test_a_rule_the_gate_cannot_read_is_refused(rule, why):
    (detail,) = refused_labels(routes([f"{ROUTER}.rule={rule}"]))
    assert "cannot be read as a Traefik rule" in detail
    assert why in detail


def test_tcp_and_udp_routing_is_refused_label_by_label():
    verdict = routes(
        [
            "traefik.enable=true",
            "traefik.tcp.routers.${STACK_NAME}.rule=HostSNI(`${DOMAIN}`)",
            "traefik.tcp.routers.${STACK_NAME}.entrypoints=web-secure",
            "traefik.udp.routers.${STACK_NAME}.entrypoints=dns",
            "traefik.udp.services.${STACK_NAME}.loadbalancer.server.port=53",
        ]
    )
    assert [f.key for f in verdict.errors] == [f"deploy.labels[{i}]" for i in (1, 2, 3, 4)]
    assert "TCP routing goes by port or TLS name" in verdict.errors[0].detail
    assert "UDP routing" in verdict.errors[3].detail


@pytest.mark.parametrize(
    ("entrypoints", "refused"),
    [
        ("web-secure", None),
        ("web", None),
        ("web,web-secure", None),
        ("traefik", "traefik"),  # Traefik's own: API, dashboard, ping
        ("web-secure, metrics", "metrics"),
        ("gitea-ssh", "gitea-ssh"),  # a TCP port the traefik recipe can open
        ("", "names no entrypoint"),
    ],
)
def test_entrypoints_other_than_the_web_ones_are_refused(entrypoints, refused):
    verdict = routes([OWN, f"{ROUTER}.entrypoints={entrypoints}"])
    if refused is None:
        assert verdict.lines() == []
    else:
        (detail,) = refused_labels(verdict)
        assert refused in detail


@pytest.mark.parametrize(
    ("priority", "refused"),
    [
        ("1", False),  # lower than the default: the router only gives way
        ("-5", False),
        ("0", False),  # Traefik's "unset"
        (str(len(f"Host(`{DOMAIN}`)")), False),  # the default itself
        (str(len(f"Host(`{DOMAIN}`)") + 1), True),
        ("2147483647", True),
        ("high", True),
    ],
)
def test_a_router_priority_above_traefiks_default_is_refused(priority, refused):
    verdict = routes([OWN, f"{ROUTER}.priority={priority}"])
    assert bool(verdict.errors) is refused, verdict.lines()
    if refused:
        assert verdict.errors[0].detail.startswith(f"traefik.http.routers.{STACK}.priority=")


def test_a_priority_is_measured_against_the_rule_the_router_ends_up_with():
    base = f"services:\n  app:\n    image: x:1\n    deploy:\n      labels: ['{OWN}']\n"
    overlay = (
        "services:\n  app:\n    deploy:\n      labels:\n"
        f"        - '{ROUTER}.rule=Host(`${{DOMAIN}}`) && PathPrefix(`/a-much-longer-rule`)'\n"
        f"        - '{ROUTER}.priority=50'\n"
    )
    files = {"compose.yml": base, "compose.long.yml": overlay}
    assert check(files, "demo", NO_ALLOW, RUN_ENV, domains=[DOMAIN]).lines() == []
    (detail,) = refused_labels(routes([f"{ROUTER}.priority=50"]))  # no rule: default 0
    assert "the router has no rule" in detail


@pytest.mark.parametrize(
    ("label", "why"),
    [
        (f"{ROUTER}.middlewares=admin-auth@file", "uses admin-auth@file, a middleware of the file"),
        (f"{ROUTER}.middlewares=dashboard-auth@internal", "Traefik's own middleware"),
        (f"{ROUTER}.middlewares=error-pages-middleware", "does not define"),
        (f"{ROUTER}.middlewares=cc-ci-auth@docker", "does not define"),  # another stack's
        (f"{ROUTER}.middlewares=${{STACK_NAME}}-auth@swarm", "does not define"),
        (f"{ROUTER}.service=api@internal", "uses api@internal, Traefik's own service"),
        (f"{ROUTER}.service=dashboard@internal", "Traefik's own service"),
        (f"{ROUTER}.service=noop@internal", "Traefik's own service"),
        (f"{ROUTER}.service=gitea@file", "a service of the file provider"),
        (f"{ROUTER}.service=cc-ci-dashboard", "does not define"),
        (
            "traefik.http.middlewares.${STACK_NAME}-all.chain.middlewares=x@file",
            "uses x@file, a middleware of the file provider",
        ),
        (
            "traefik.http.middlewares.${STACK_NAME}-err.errors.service=api@internal",
            "Traefik's own service",
        ),
    ],
)
def test_middlewares_and_services_from_elsewhere_are_refused(label, why):
    (detail,) = refused_labels(routes([OWN, label]))
    assert why in detail


def test_middlewares_and_services_the_recipe_defines_pass_wherever_it_defines_them():
    worker = {
        "image": "nginx:1.27.3",
        "deploy": {
            "labels": [
                "traefik.http.middlewares.${STACK_NAME}-auth.basicauth.users=ci:$$apr1$$x",
                "traefik.http.services.${STACK_NAME}-api.loadbalancer.server.port=8000",
            ]
        },
    }
    verdict = routes(
        [
            OWN,
            f"{ROUTER}.middlewares=${{STACK_NAME}}-redirect,${{STACK_NAME}}-auth@docker",
            f"{ROUTER}-api.rule=Host(`${{DOMAIN}}`) && PathPrefix(`/api`)",
            f"{ROUTER}-api.service=${{STACK_NAME}}-api@swarm",
            f"{ROUTER}-api.middlewares=${{STACK_NAME}}-all",
            "traefik.http.middlewares.${STACK_NAME}-all.chain.middlewares=${STACK_NAME}-auth",
            "traefik.http.middlewares.${STACK_NAME}-redirect.redirectregex.regex=^https://(.*)",
            "traefik.http.middlewares.${STACK_NAME}-redirect.redirectregex.replacement="
            "https://${DOMAIN}",
        ],
        more={"worker": worker},
    )
    assert verdict.lines() == []


@pytest.mark.parametrize(
    ("label", "why"),
    [
        (
            "traefik.http.services.${STACK_NAME}.loadbalancer.server.url=http://127.0.0.1:8080",
            "points the service at an address of its own choosing",
        ),
        (
            "traefik.http.services.${STACK_NAME}.loadbalancer.servers[0].url=http://10.0.0.1",
            "points the service at an address of its own choosing",
        ),
        (
            "traefik.http.services.${STACK_NAME}.weighted.services[0].name=api@internal",
            "defines a weighted service",
        ),
        (
            "traefik.http.services.${STACK_NAME}.mirroring.service=gitea@file",
            "defines a mirroring service",
        ),
    ],
)
def test_a_service_that_points_past_the_apps_containers_is_refused(label, why):
    (detail,) = refused_labels(routes([OWN, label]))
    assert why in detail


@pytest.mark.parametrize(
    "name", ["cc-ci-dashboard", "cc-ci-webhook", "traefik", "reci-abc123", f"{STACK}x"]
)
def test_router_service_and_middleware_names_must_start_with_the_stack_name(name):
    verdict = routes(
        [
            f"traefik.http.routers.{name}.rule=Host(`${{DOMAIN}}`)",
            f"traefik.http.services.{name}.loadbalancer.server.port=80",
            f"traefik.http.middlewares.{name}.headers.sslredirect=true",
        ]
    )
    details = refused_labels(verdict)
    assert len(details) == 3
    for detail, kind in zip(details, ("router", "service", "middleware"), strict=True):
        assert f"names the {kind} {name}, which does not start with the app's stack name" in detail
    ok = [f"traefik.http.routers.{STACK}{sep}web.rule=Host(`${{DOMAIN}}`)" for sep in "-_"]
    assert routes(ok).lines() == []


def test_each_offending_label_is_one_finding_naming_the_label_and_every_problem():
    verdict = routes(
        [
            "traefik.enable=true",
            "traefik.http.routers.steal.rule=HostRegexp(`.*`) || Host(`ci.test`)",
        ]
    )
    (finding,) = verdict.errors
    assert finding.kind is FindingKind.ROUTING and finding.severity is Severity.ERROR
    assert finding.key == "deploy.labels[1]"
    assert finding.line() == (
        "compose.yml: service app: deploy.labels[1]: traefik.http.routers.steal.rule="
        "HostRegexp(`.*`) || Host(`ci.test`): names the router steal, which does not start "
        f"with the app's stack name ({STACK}): it could replace another app's; HostRegexp "
        f"matches hosts by pattern: name the app's domain with Host(); routes ci.test, not "
        f"this app's domain ({DOMAIN})"
    )


def test_labels_are_read_in_mapping_form_in_any_case_and_as_container_labels():
    mapping = routes(
        {"traefik.enable": True, f"traefik.http.routers.{STACK}.rule": "Host(`ci.test`)"}
    )
    assert [f.key for f in mapping.errors] == ["deploy.labels"]
    shouting = routes([f"Traefik.HTTP.Routers.{STACK}.Rule=Host(`ci.test`)"])
    assert kinds(shouting) == ["routing"]
    container = routes([f"{ROUTER}.rule=Host(`ci.test`)"], container=True)
    assert [f.key for f in container.errors] == ["labels[0]"]


def test_a_mapping_key_is_not_interpolated_so_its_stack_name_is_not_the_apps():
    (detail,) = refused_labels(routes({f"{ROUTER}.rule": "Host(`${DOMAIN}`)"}))
    assert "names the router ${STACK_NAME}, which does not start" in detail


@pytest.mark.parametrize(
    ("label", "refused"),
    [
        (f"{ROUTER}.tls.domains[0].main=${{DOMAIN}}", None),
        (f"{ROUTER}.tls.domains[0].sans=${{DOMAIN}}, ${{SANDBOX_DOMAIN}}", None),
        (f"{ROUTER}.tls.domains[0].main=ci.test", "ci.test"),
        (f"{ROUTER}.tls.domains[1].sans=${{DOMAIN}},*.ci.test", "*.ci.test"),
    ],
)
def test_a_router_asks_for_certificates_of_the_apps_own_domains_only(label, refused):
    verdict = routes([OWN, label], domains=(DOMAIN, SANDBOX))
    if refused is None:
        assert verdict.lines() == []
    else:
        (detail,) = refused_labels(verdict)
        assert f"asks for a certificate for {refused}, not this app's domain" in detail


def test_the_refusals_docs_policy_shows_are_the_hostile_recipes_own():
    doc = (ROOT / "docs" / "policy.md").read_text()
    shown = doc.split("The gate refuses these", 1)[1].split("```", 2)[1].strip().splitlines()
    found = {
        line
        for case in EXPECTED
        if case.startswith("routing")
        for line in gate(HOSTILE / case, app_env(HOSTILE / case), case, NO_ALLOW, [DOMAIN]).lines()
    }
    assert shown and set(shown) <= found


def test_labels_of_the_wrong_shape_are_unparseable():
    assert kinds(routes("traefik.enable=true")) == ["unparseable"]  # type: ignore[arg-type]
    assert kinds(routes([{"traefik.enable": "true"}])) == ["unparseable"]
    yml = service("deploy: [labels]")
    assert verdict_of(yml).lines() == [
        "compose.yml: service app: deploy: expected a mapping, found ['labels']"
    ]


def test_a_long_label_value_is_quoted_in_part():
    (detail,) = refused_labels(routes([f"{ROUTER}.rule=Host(`ci.test`)" + " && Path(`/x`)" * 50]))
    assert "…: routes ci.test" in detail and len(detail) < 300


def test_without_domains_every_route_is_refused():
    (detail,) = refused_labels(routes([OWN], domains=()))
    assert f"routes {DOMAIN}, not this app's domain (none: the gate was given no domain)" in detail


def test_a_route_is_never_allowed_by_the_operators_allow_list(tmp_path):
    assert FindingKind.ROUTING not in ALLOWABLE
    path = tmp_path / "policy.toml"
    path.write_text('[recipes.demo]\nallow = ["routing"]\n')
    with pytest.raises(PolicyConfigError, match="cannot be allowed"):
        load_allowlist(path)


def test_the_domains_a_run_gives_its_app_are_its_own_and_its_suites_in_the_zone(tmp_path):
    assert load_meta(ROOT / "tests" / "demo").domains_for(DOMAIN, "ci.test") == (DOMAIN,)
    cryptpad = load_meta(ROOT / "tests" / "cryptpad")
    assert cryptpad.domains_for(DOMAIN, "ci.test") == (DOMAIN, SANDBOX)
    (tmp_path / "recipe_meta.py").write_text(
        'EXTRA_ENV = {"A": "elsewhere.example.org", "B": "ci.test", "C": "x.ci.test", "D": "1"}\n'
    )
    assert load_meta(tmp_path).domains_for(DOMAIN, "ci.test") == (DOMAIN, "x.ci.test")


# -- clean recipes and warnings ---------------------------------------------------------------

CLEAN = """
version: "3.8"
services:
  app:
    image: nginx:1.27.3
    networks: [proxy, internal]
    volumes: [content:/data]
    secrets: [db_password]
    configs:
      - source: nginx_conf
        target: /etc/nginx/nginx.conf
    deploy:
      labels:
        - "traefik.enable=true"
        - "traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`${EXTRA_DOMAINS})"
        - "traefik.http.routers.${STACK_NAME}.tls.certresolver=${LETS_ENCRYPT_ENV}"
  db:
    image: postgres:16@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    networks: [internal]
    volumes: ["postgres:/var/lib/postgresql/data"]
volumes:
  content:
  postgres:
networks:
  proxy:
    external: true
  internal:
secrets:
  db_password:
    external: true
    name: ${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}
configs:
  nginx_conf:
    name: ${STACK_NAME}_nginx_conf_${NGINX_CONF_VERSION}
    file: nginx.conf
"""


def test_a_clean_recipe_passes_without_findings(tmp_path):
    (tmp_path / "compose.yml").write_text(CLEAN)
    (tmp_path / "nginx.conf").write_text("events {}\n")
    env = {"STACK_NAME": STACK, "DOMAIN": DOMAIN}
    verdict = gate(tmp_path, env, "clean", NO_ALLOW, domains=[DOMAIN])
    assert not verdict.refused
    assert verdict.lines() == []


@pytest.mark.parametrize(
    "image", ["nginx", "nginx:latest", "localhost:5000/app", "ghcr.io/x/app:latest"]
)
def test_an_image_pinned_to_nothing_is_a_warning_and_passes(image):
    verdict = verdict_of(f"services:\n  app:\n    image: {image}\n")
    assert not verdict.refused
    assert [f.severity for f in verdict.findings] == [Severity.WARNING]
    assert verdict.lines() == [
        f"warning: compose.yml: service app: image: {image} is pinned to no version"
    ]


@pytest.mark.parametrize("image", ["nginx:1.27", "localhost:5000/app:2", "nginx@sha256:ab12"])
def test_a_tag_or_digest_pins_an_image(image):
    assert not verdict_of(f"services:\n  app:\n    image: {image}\n").findings


def test_the_demo_recipe_passes():
    text = (DEMO / "compose.yml").read_text()
    text = text.replace("{{APP_VERSION}}", "1.1").replace("{{RELEASE}}", "1.1.0+1.1")
    env = app_env(DEMO, LETS_ENCRYPT_ENV="", ENTRYPOINT_VERSION="v1")
    verdict = check({"compose.yml": text}, "demo", NO_ALLOW, env, domains=[DOMAIN])
    assert verdict.lines() == []
    assert [p.name for p in compose_files(DEMO, env)] == ["compose.yml"]


def filled(text: str) -> str:
    """A replica's compose template with its per-release {{KEY}}s filled in."""
    return re.sub(
        r"\{\{(\w+)\}\}",
        lambda m: "replica/app:1.0" if m.group(1).endswith("IMAGE") else "1.0",
        text,
    )


@pytest.mark.parametrize("recipe", REPLICAS, ids=lambda p: p.parent.name)
def test_every_replica_recipe_passes(recipe):
    env = app_env(recipe, LETS_ENCRYPT_ENV="")
    files = {p.name: filled(p.read_text()) for p in compose_files(recipe, env)}
    verdict = check(files, recipe.parent.name, NO_ALLOW, env, domains=[DOMAIN])
    assert verdict.lines() == []


# The Traefik labels of the six enrolled recipes, in the shapes Co-op Cloud recipes write
# them (docs/policy.md, "Routing"): the router named after the stack, Host() of the app's
# domain(s), web-secure, the certresolver from LETS_ENCRYPT_ENV, middlewares and services
# defined in the same stack. Shapes, not copies: the recipes live on the forge.
LB = "traefik.http.services.${STACK_NAME}"
ENROLLED_LABELS = {
    "custom-html": {
        "app": [
            "traefik.enable=true",
            f"{LB}.loadbalancer.server.port=80",
            f"{ROUTER}.rule=Host(`${{DOMAIN}}`${{EXTRA_DOMAINS}})",
            f"{ROUTER}.entrypoints=web-secure",
            f"{ROUTER}.tls.certresolver=${{LETS_ENCRYPT_ENV}}",
            f"{ROUTER}.middlewares=${{STACK_NAME}}-redirect",
            "traefik.http.middlewares.${STACK_NAME}-redirect.redirectregex.regex=^https://(.*)",
            "traefik.http.middlewares.${STACK_NAME}-redirect.redirectregex.replacement="
            "https://${DOMAIN}",
            "traefik.http.middlewares.${STACK_NAME}-redirect.redirectregex.permanent=true",
            "coop-cloud.${STACK_NAME}.version=1.7.1+1.27.2",
            "backupbot.backup=${ENABLE_BACKUPS:-true}",
        ]
    },
    "keycloak": {
        "app": [
            "traefik.enable=true",
            f"{LB}.loadbalancer.server.port=8080",
            f"{ROUTER}.rule=Host(`${{DOMAIN}}`)",
            f"{ROUTER}.entrypoints=web-secure",
            f"{ROUTER}.tls.certresolver=${{LETS_ENCRYPT_ENV}}",
            f"{ROUTER}.middlewares=${{STACK_NAME}}-frameancestors",
            "traefik.http.middlewares.${STACK_NAME}-frameancestors.headers"
            ".contentSecurityPolicy=frame-ancestors 'self'",
            "coop-cloud.${STACK_NAME}.version=10.0.0+26.0.5",
        ]
    },
    "matrix-synapse": {
        "web": [
            "traefik.enable=true",
            f"{LB}.loadbalancer.server.port=80",
            f"{ROUTER}.rule=Host(`${{DOMAIN}}`)",
            f"{ROUTER}.entrypoints=web-secure",
            f"{ROUTER}.tls.certresolver=${{LETS_ENCRYPT_ENV}}",
            f"{ROUTER}-well-known.rule=Host(`${{DOMAIN}}`) && PathPrefix(`/.well-known/matrix`)",
            f"{ROUTER}-well-known.entrypoints=web-secure",
            f"{ROUTER}-well-known.service=${{STACK_NAME}}",
        ],
        "db": ["backupbot.backup=${ENABLE_BACKUPS:-true}"],
    },
    "n8n": {
        "app": [
            "traefik.enable=true",
            f"{LB}.loadbalancer.server.port=5678",
            f"{ROUTER}.rule=Host(`${{DOMAIN}}`)",
            f"{ROUTER}.entrypoints=web-secure",
            f"{ROUTER}.tls.certresolver=${{LETS_ENCRYPT_ENV}}",
        ]
    },
    "cryptpad": {
        "app": [
            "traefik.enable=true",
            f"{LB}.loadbalancer.server.port=80",
            f"{ROUTER}.rule=Host(`${{DOMAIN}}`, `${{SANDBOX_DOMAIN}}`)",
            f"{ROUTER}.entrypoints=web-secure",
            f"{ROUTER}.tls.certresolver=${{LETS_ENCRYPT_ENV}}",
        ]
    },
    "lasuite-docs": {
        "frontend": [
            "traefik.enable=true",
            f"{LB}-frontend.loadbalancer.server.port=3000",
            f"{ROUTER}-frontend.rule=Host(`${{DOMAIN}}`)",
            f"{ROUTER}-frontend.entrypoints=web-secure",
            f"{ROUTER}-frontend.tls.certresolver=${{LETS_ENCRYPT_ENV}}",
            f"{ROUTER}-frontend.service=${{STACK_NAME}}-frontend",
        ],
        "backend": [
            "traefik.enable=true",
            f"{LB}-backend.loadbalancer.server.port=8000",
            f"{ROUTER}-backend.rule=Host(`${{DOMAIN}}`) && "
            "(PathPrefix(`/api`) || PathPrefix(`/admin`) || PathPrefix(`/static`))",
            f"{ROUTER}-backend.entrypoints=web-secure",
            f"{ROUTER}-backend.tls.certresolver=${{LETS_ENCRYPT_ENV}}",
            f"{ROUTER}-backend.service=${{STACK_NAME}}-backend",
        ],
        "y-provider": [
            "traefik.enable=true",
            f"{LB}-collab.loadbalancer.server.port=4444",
            f"{ROUTER}-collab.rule=Host(`${{DOMAIN}}`) && PathPrefix(`/collaboration/ws/`)",
            f"{ROUTER}-collab.entrypoints=web-secure",
            f"{ROUTER}-collab.service=${{STACK_NAME}}-collab",
        ],
        "minio": [
            "traefik.enable=true",
            f"{LB}-media.loadbalancer.server.port=9000",
            f"{ROUTER}-media.rule=Host(`${{DOMAIN}}`) && PathPrefix(`/media`)",
            f"{ROUTER}-media.entrypoints=web-secure",
            f"{ROUTER}-media.middlewares=${{STACK_NAME}}-media-auth",
            "traefik.http.middlewares.${STACK_NAME}-media-auth.forwardauth.address="
            "http://backend:8000/api/v1.0/documents/media-auth/",
            f"{ROUTER}-media.service=${{STACK_NAME}}-media",
        ],
    },
}


def test_the_enrolled_recipes_are_the_ones_whose_label_shapes_are_checked():
    suites = {p.name for p in (ROOT / "tests").iterdir() if (p / "recipe_meta.py").exists()}
    assert suites - {"demo"} == set(ENROLLED_LABELS)


@pytest.mark.parametrize("recipe", sorted(ENROLLED_LABELS))
def test_the_label_shapes_of_the_enrolled_recipes_pass(recipe):
    meta = load_meta(ROOT / "tests" / recipe)
    env = {"STACK_NAME": STACK, "DOMAIN": DOMAIN, "LETS_ENCRYPT_ENV": "", **meta.env_for(DOMAIN)}
    services = {
        name: {"image": "nginx:1.27.3", "networks": ["proxy"], "deploy": {"labels": labels}}
        for name, labels in ENROLLED_LABELS[recipe].items()
    }
    doc = {"services": services, "networks": {"proxy": {"external": True}}}
    domains = meta.domains_for(DOMAIN, "ci.test")
    assert check({"compose.yml": doc}, recipe, NO_ALLOW, env, domains=domains).lines() == []


def test_yaml_anchors_aliases_and_merge_keys_are_read_through():
    yml = """
    x-base: &base
      image: nginx:1.27.3
      privileged: false
    services:
      app:
        <<: *base
        privileged: true
    """
    assert kinds(verdict_of(yml)) == ["privileged"]


# -- the allow-list --------------------------------------------------------------------------

ALLOW_TOML = """
[recipes.traefik]
allow = ["bind-mount", "published-port"]
bind_sources = ["/var/run/docker.sock"]
ports = [80, 443]

[recipes.backup-bot-two]
allow = ["bind-mount"]
"""


@pytest.fixture
def allow(tmp_path) -> Allowlist:
    path = tmp_path / "policy.toml"
    path.write_text(ALLOW_TOML)
    return load_allowlist(path)


SOCKET_AND_PORT = service(
    "volumes: ['/var/run/docker.sock:/var/run/docker.sock']\nports: ['443:443']"
)


def test_the_allow_list_lets_exactly_the_listed_findings_through_for_that_recipe(allow):
    text = {"compose.yml": SOCKET_AND_PORT}
    assert not check(text, "traefik", allow).refused
    assert len(check(text, "traefik", allow).allowed) == 2
    bot = check(text, "backup-bot-two", allow)
    assert kinds(bot) == ["published-port"]
    assert bot.lines()[-1].endswith("(allowed by the operator's policy)")
    assert kinds(check(text, "wordpress", allow)) == ["bind-mount", "published-port"]


def test_the_allow_list_never_lets_another_kind_through(allow):
    yml = service("privileged: true\nvolumes: ['/srv:/srv']")
    assert kinds(check({"compose.yml": yml}, "backup-bot-two", allow)) == ["privileged"]


def test_bind_sources_and_ports_narrow_what_the_allow_list_lets_through(allow):
    yml = service("volumes: ['/etc:/etc', '/var/run/docker.sock:/s']\nports: ['8080:80']")
    verdict = check({"compose.yml": yml}, "traefik", allow)
    assert [f.key for f in verdict.errors] == ["volumes[0]", "ports[0]"]
    assert [f.key for f in verdict.allowed] == ["volumes[1]"]


def test_a_missing_policy_setting_allows_nothing(tmp_path):
    assert load_allowlist(None) == Allowlist()
    assert load_allowlist(Settings.from_env({}).policy_file) == Allowlist()
    assert load_allowlist(Settings.from_env({"CCCI_POLICY_FILE": " "}).policy_file) == Allowlist()
    (tmp_path / "p.toml").write_text(ALLOW_TOML)
    env = {"CCCI_POLICY_FILE": str(tmp_path / "p.toml")}
    assert "traefik" in load_allowlist(Settings.from_env(env).policy_file).recipes


@pytest.mark.parametrize(
    ("toml", "names"),
    [
        ('[recipes.x]\nallow = ["bind-mounts"]', "bind-mounts"),
        ('[recipes.x]\nallow = ["unparseable"]', "unparseable"),
        ('[recipes.x]\nallow = ["bind-mount"]\nsources = ["/x"]', "sources"),
        ('[recipe.x]\nallow = ["bind-mount"]', "recipe"),
        ("[recipes.x]\nports = [80]", "published-port"),
        ('[recipes.x]\nallow = ["published-port"]\nports = ["80"]', "ports"),
        ('[recipes.x]\nallow = ["bind-mount"]\nbind_sources = ["run/docker.sock"]', "run/docker"),
        ('[recipes.x]\nallow = "bind-mount"', "allow"),
        ('[recipes."Not A Recipe"]\nallow = []', "Not A Recipe"),
        ("[recipes.x\n", "not valid TOML"),
    ],
)
def test_a_malformed_allow_list_is_an_error_naming_the_bad_entry(tmp_path, toml, names):
    path = tmp_path / "policy.toml"
    path.write_text(toml)
    with pytest.raises(PolicyConfigError, match=names.replace(".", r"\.")):
        load_allowlist(path)


def test_a_policy_file_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(PolicyConfigError, match="no such file"):
        load_allowlist(tmp_path / "absent.toml")


def test_every_allowable_kind_can_be_named_in_the_allow_list():
    parsed = parse_allowlist({"recipes": {"x": {"allow": sorted(str(k) for k in ALLOWABLE)}}})
    assert parsed.recipes["x"].allow == ALLOWABLE


# -- COMPOSE_FILE and the app env -------------------------------------------------------------


def test_compose_file_lines_are_evaluated_in_order_like_abra():
    sample = textwrap.dedent(
        """\
        TYPE=bonfire
        COMPOSE_FILE="compose.yml"
        COMPOSE_FILE="$COMPOSE_FILE:compose.postgres.yml"
        #COMPOSE_FILE="$COMPOSE_FILE:compose.mail.yml"
        COMPOSE_FILE=${COMPOSE_FILE}:compose.meili.yml # search
        """
    )
    assert compose_file_list(sample) == ["compose.yml", "compose.postgres.yml", "compose.meili.yml"]
    assert compose_file_list("TYPE=x\n") == ["compose.yml"]
    assert parse_env("A='$B:x'\n")["A"] == "$B:x"


@pytest.mark.parametrize("entry", ["/etc/compose.yml", "../x/compose.yml", "a/../../compose.yml"])
def test_a_compose_file_outside_the_recipe_is_refused(tmp_path, entry):
    with pytest.raises(ComposeFileRefused, match="outside the recipe"):
        compose_files(tmp_path, {"COMPOSE_FILE": f"compose.yml:{entry}"})
    verdict = gate(tmp_path, {"COMPOSE_FILE": entry}, "demo", NO_ALLOW)
    assert kinds(verdict) == ["path-escape"]


def test_a_compose_file_that_is_a_symlink_out_of_the_recipe_is_refused(tmp_path):
    outside = tmp_path / "outside.yml"
    outside.write_text("services: {app: {image: 'x:1', privileged: true}}\n")
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    (recipe / "compose.yml").symlink_to(outside)
    assert kinds(gate(recipe, {}, "demo", NO_ALLOW)) == ["path-escape"]
    (recipe / "compose.inner.yml").symlink_to("compose.yml")  # inside, but compose.yml is not
    (recipe / "compose.yml").unlink()
    (recipe / "compose.yml").write_text("services: {app: {image: 'x:1'}}\n")
    assert compose_files(recipe, {"COMPOSE_FILE": "compose.inner.yml"})


def test_any_symlink_out_of_the_recipe_is_refused_and_never_read(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("COMPOSE_FILE=/etc/leak.yml\n")
    recipe = tmp_path / "recipe"
    (recipe / "tests").mkdir(parents=True)
    (recipe / "compose.yml").write_text("services: {app: {image: 'x:1'}}\n")
    (recipe / ".env.sample").symlink_to(secret)
    (recipe / "tests" / "data.txt").symlink_to(secret)
    (recipe / "README.md").symlink_to("compose.yml")  # inside: fine
    env = sample_env(recipe, {})
    assert "COMPOSE_FILE" not in env
    assert gate(recipe, env, "demo", NO_ALLOW).lines() == [
        f".env.sample: is a symlink to {secret}, outside the recipe directory",
        f"tests/data.txt: is a symlink to {secret}, outside the recipe directory",
    ]


def test_a_huge_compose_file_is_not_read(tmp_path):
    (tmp_path / "compose.yml").write_text("# padding\n" * 200_000)
    assert gate(tmp_path, {}, "demo", NO_ALLOW).lines() == [
        "compose.yml: the file is larger than 1000000 bytes"
    ]


def test_a_compose_file_that_does_not_exist_is_unparseable(tmp_path):
    (tmp_path / "compose.yml").write_text("services: {}\n")
    verdict = gate(tmp_path, {"COMPOSE_FILE": "compose.yml:compose.nope.yml"}, "d", NO_ALLOW)
    assert verdict.lines() == ["compose.nope.yml: the file does not exist (COMPOSE_FILE names it)"]


# -- interpolation ---------------------------------------------------------------------------


def test_an_unresolvable_variable_in_a_security_relevant_value_is_refused():
    verdict = verdict_of(service("privileged: ${PRIVILEGED}\nnetwork_mode: ${MODE}"))
    assert verdict.lines() == [
        "compose.yml: service app: privileged: depends on variables the app env does not set: "
        "PRIVILEGED",
        "compose.yml: service app: network_mode: depends on variables the app env does not "
        "set: MODE",
    ]


def test_variables_are_resolved_from_the_app_env_before_checking():
    yml = service("volumes: ['${DATA:-data}:/data']", "volumes:\n  data:")
    assert not verdict_of(yml).findings
    assert kinds(verdict_of(yml, {"DATA": "/srv"})) == ["bind-mount"]
    assert kinds(verdict_of(service("pid: $PID"), {"PID": "host"})) == ["host-pid"]


def test_an_unresolvable_variable_in_a_label_or_a_resource_name_is_fine():
    yml = service(
        "deploy:\n  labels:\n"
        "    - 'traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`${EXTRA_DOMAINS})'\n"
        "    - 'backupbot.backup=${ENABLE_BACKUPS}'",
        "secrets:\n  s: {external: true, name: '${STACK_NAME}_s_${SECRET_S_VERSION}'}",
    )
    assert not verdict_of(yml, {"STACK_NAME": STACK, "DOMAIN": DOMAIN}).findings


def test_an_unpinned_image_from_an_unset_variable_is_a_warning():
    verdict = verdict_of("services:\n  app:\n    image: nginx:${VERSION}\n")
    assert [(f.kind, f.severity) for f in verdict.findings] == [
        (FindingKind.UNPINNED_IMAGE, Severity.WARNING)
    ]


@pytest.mark.parametrize(
    ("text", "env", "result", "missing"),
    [
        ("$$HOME/${A}", {"A": "a"}, "$HOME/a", ()),
        ("${A:-${B:-b}}", {}, "b", ()),
        ("${A-x}|${A:-y}", {"A": ""}, "|y", ()),
        ("${A:+set}${B+set}", {"A": "1"}, "set", ()),
        ("${A:?must be set}", {}, "", ("A",)),
        ("$A/${B}", {}, "/", ("A", "B")),
        ("${A", {}, "", ("unterminated '${A'",)),
    ],
)
def test_interpolation_follows_compose(text, env, result, missing):
    assert interpolate(text, env) == (result, missing)


# -- what cannot be parsed -------------------------------------------------------------------

# "Billion laughs": nine levels of ten aliases each would be 10**9 values to walk.
ALIAS_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("services: [app\n", "invalid YAML"),
        ("- services\n", "the file is a list, not a mapping"),
        ("", "the file is empty"),
        ("services: [app]\n", "services: expected a mapping"),
        ("services:\n  app: nginx\n", "service app: expected a mapping"),
        ("services:\n  app:\n    ports: [[80]]\n", "ports[0]: expected a int or string or mapping"),
        ("services:\n  app: !reset {}\n", "invalid YAML"),
        ("services: {}\n---\nservices: {}\n", "invalid YAML"),
        ("volumes:\n  v: {driver_opts: [bind]}\n", "volumes.v.driver_opts: expected a mapping"),
        ("x: &x [*x]\n", "a YAML alias refers to a value that contains it"),
        (ALIAS_BOMB, "more than 100000 values once YAML aliases are expanded"),
    ],
)
def test_what_the_gate_cannot_parse_is_refused(text, detail):
    verdict = check({"compose.yml": text}, "demo", NO_ALLOW)
    assert kinds(verdict) == ["unparseable"]
    assert detail in verdict.lines()[0]
    assert verdict.lines()[0].startswith("compose.yml: ")


def test_a_verdict_serialises_for_the_run_record():
    data = verdict_of(service("privileged: true")).to_json()
    assert data["refused"] is True
    assert data["findings"][0] == {
        "kind": "privileged",
        "severity": "error",
        "file": "compose.yml",
        "service": "app",
        "key": "privileged",
        "detail": "runs privileged: every capability, every device",
        "line": "compose.yml: service app: privileged: runs privileged: every capability, "
        "every device",
    }


# -- what no file can encode ------------------------------------------------------------------


def test_a_refusal_naming_a_character_no_file_can_hold_is_logged_and_recorded_escaped(tmp_path):
    recipe = HOSTILE / "privileged-surrogate"
    settings = Settings(
        zone="ci.test",
        resolve_to="127.0.0.1",
        https_port=443,
        ca_file=None,
        forge_url="http://forge.invalid",
        git_token_file=None,
        state_dir=tmp_path / "state",
        suites_dir=ROOT / "tests",
        abra="abra",
        abra_server="default",
        deploy_timeout=1.0,
        stage_timeout=1.0,
        results_dir=tmp_path / "results",
        tools_dir=tmp_path / "tools",
        policy_file=None,
    )
    req = RunRequest("demo", "cc-ci/demo", "main", ("install",), "run-1", tmp_path / "results")
    run = Run(req, settings)
    with pytest.raises(PolicyRefused, match=r"service app\\udfff: privileged"):
        run._gate(app_env(recipe), "fresh deployment", run.log("install"), (DOMAIN,), recipe)
    log = (run.run_dir / "install.log").read_text(encoding="utf-8")
    assert "policy: compose.yml: service app\\udfff: privileged: runs privileged" in log
    record = json.loads((run.run_dir / "run.json").read_text(encoding="utf-8"))
    (policy,) = record["policy"]
    assert policy["refused"] is True
    assert policy["findings"][0]["service"] == "app\\udfff"
    json.dumps(record, ensure_ascii=False).encode("utf-8")  # every string in it encodes


def test_a_log_line_no_file_can_hold_is_written_escaped(tmp_path):
    FileLog(tmp_path / "x.log", Redactor()).write("service app\udfff: refused\n")
    assert (tmp_path / "x.log").read_text(encoding="utf-8") == "service app\\udfff: refused\n"


# -- abra.sh: its exports count as abra counts them ----------------------------------------------


def test_an_overlay_abra_sh_selects_is_gated_as_abra_would_deploy_it(tmp_path):
    (tmp_path / "compose.yml").write_text(service(""))
    (tmp_path / "compose.evil.yml").write_text("services:\n  app:\n    privileged: true\n")
    (tmp_path / "abra.sh").write_text('export COMPOSE_FILE="compose.yml:compose.evil.yml"\n')
    verdict = gate(tmp_path, {"STACK_NAME": STACK, "DOMAIN": DOMAIN}, "demo", NO_ALLOW, [DOMAIN])
    assert kinds(verdict) == ["privileged"]


def test_the_harness_keys_abra_sh_exports_are_refused_whatever_the_allow_list_says(tmp_path):
    (tmp_path / "compose.yml").write_text(service(""))
    (tmp_path / "abra.sh").write_text(
        "export STACK_NAME=cc-ci-proxy\nexport LETS_ENCRYPT_ENV=production\n"
    )
    allow = parse_allowlist({"recipes": {"demo": {"allow": sorted(str(k) for k in ALLOWABLE)}}})
    verdict = gate(tmp_path, {"STACK_NAME": STACK, "DOMAIN": DOMAIN}, "demo", allow, [DOMAIN])
    assert kinds(verdict) == ["harness-env", "harness-env"]
    assert "harness-env" not in ALLOWABLE
