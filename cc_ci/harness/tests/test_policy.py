"""The compose policy gate: hostile recipes are refused, clean ones pass. No Docker."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

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
from cc_ci.harness.settings import Settings

HOSTILE = Path(__file__).parent / "hostile"
DEMO = Path(__file__).resolve().parents[3] / "devworld" / "demo" / "recipe"
STACK = "reci-abc123_ci_test"
NO_ALLOW = Allowlist()

# What each hostile recipe must be refused with: the whole line, naming file, service and key.
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
}


def app_env(recipe_dir: Path, **extra: str) -> dict[str, str]:
    """The env abra would give an app of this recipe: its .env.sample, plus the harness's."""
    sample = recipe_dir / ".env.sample"
    env = parse_env(sample.read_text()) if sample.exists() else {}
    return {**env, "STACK_NAME": STACK, "DOMAIN": "reci-abc123.ci.test", **extra}


def verdict_of(yml: str, env: dict[str, str] | None = None, allow: Allowlist = NO_ALLOW):
    return check({"compose.yml": textwrap.dedent(yml)}, "demo", allow, env or {})


def service(body: str, top: str = "") -> str:
    """A one-service compose file with `body` under the service and `top` at the top level."""
    indented = textwrap.indent(textwrap.dedent(body), "    ")
    return f"services:\n  app:\n    image: nginx:1.27.3\n{indented}\n{textwrap.dedent(top)}"


def kinds(verdict) -> list[str]:
    return [str(f.kind) for f in verdict.errors]


# -- one hostile recipe per refusal kind -----------------------------------------------------


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_hostile_recipe_is_refused_naming_the_file_service_and_key(kind):
    recipe = HOSTILE / kind
    verdict = gate(recipe, app_env(recipe), kind, NO_ALLOW)
    assert verdict.refused
    assert kind in kinds(verdict)
    assert any(line.startswith(EXPECTED[kind]) for line in verdict.lines()), verdict.lines()


def test_every_refusal_kind_has_a_hostile_recipe():
    refusals = {str(k) for k in FindingKind} - {"unpinned-image"}
    assert {p.name for p in HOSTILE.iterdir() if p.is_dir()} == refusals == set(EXPECTED)


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
    verdict = gate(tmp_path, {"STACK_NAME": STACK}, "clean", NO_ALLOW)
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
    verdict = check({"compose.yml": text}, "demo", NO_ALLOW, env)
    assert verdict.lines() == []
    assert [p.name for p in compose_files(DEMO, env)] == ["compose.yml"]


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
        "deploy:\n  labels: ['traefik.http.routers.x.rule=Host(`${DOMAIN}`)']",
        "secrets:\n  s: {external: true, name: '${STACK_NAME}_s_${SECRET_S_VERSION}'}",
    )
    assert not verdict_of(yml).findings


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
