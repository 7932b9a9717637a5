# Facts about nix/lib.nix, evaluated with builtins only:
#   nix-instantiate --eval --strict --json nix/tests/lib-test.nix
# gives { cases = [ names ]; failed = [ { name; got; want; } ]; }; nix/tests/test_nix_lib.py
# runs it and requires `failed` to be empty.
{ lib ? import ../lib.nix }:
let
  throws = v: !(builtins.tryEval (builtins.deepSeq v v)).success;

  runnerArgs = {
    zone = "ci.example.org";
    resultsDir = "/var/lib/cc-ci/results";
    stateDir = "/var/lib/cc-ci/runner";
    toolsDir = "/var/lib/cc-ci/tools";
    forgeUrl = "https://git.example.org/";
    resolveTo = "127.0.0.1";
    httpsPort = 443;
  };

  bridgeArgs = {
    giteaUrl = "https://git.example.org/";
    giteaTokenFile = "/run/credentials/cc-ci-bridge.service/gitea-token";
    droneUrl = "https://drone.ci.example.org";
    droneTokenFile = "/run/credentials/cc-ci-bridge.service/drone-token";
    droneRepo = "ops/cc-ci";
    droneBranch = "main";
    command = "!testme";
    org = "recipes";
    allow = [ ];
    repos = [ "recipes/custom-html" "recipes/keycloak-fork" ];
    pollInterval = 30;
    recipes = { "recipes/keycloak-fork" = "keycloak"; };
    statePath = "/var/lib/cc-ci-bridge/state.sqlite";
  };

  cases = {
    env_file_is_sorted_and_newline_terminated = {
      got = lib.envFile { WILDCARDS_ENABLED = "1"; COMPOSE_FILE = "compose.yml:compose.wildcard.yml"; LETS_ENCRYPT_ENV = ""; };
      want = "COMPOSE_FILE=compose.yml:compose.wildcard.yml\nLETS_ENCRYPT_ENV=\nWILDCARDS_ENABLED=1\n";
    };
    env_file_renders_integers_and_booleans = {
      got = lib.envFile { A = 3; B = false; };
      want = "A=3\nB=false\n";
    };
    env_file_of_nothing_is_empty = { got = lib.envFile { }; want = ""; };
    env_file_refuses_a_multiline_value = { got = throws (lib.envFile { A = "x\ny"; }); want = true; };
    env_file_refuses_a_bad_key = { got = throws (lib.envFile { "A-B" = "x"; }); want = true; };
    env_file_refuses_surrounding_spaces = { got = throws (lib.envFile { A = " x"; }); want = true; };
    env_file_refuses_a_list = { got = throws (lib.envFile { A = [ "x" ]; }); want = true; };

    stack_name_replaces_dots_and_keeps_hyphens = { got = lib.stackName "drone.ci.ex-ample.org"; want = "drone_ci_ex-ample_org"; };
    secret_name_is_stack_secret_version = {
      got = lib.secretName { domain = "traefik.ci.example.org"; secret = "ssl_cert"; version = "v1a2b3c4d"; };
      want = "traefik_ci_example_org_ssl_cert_v1a2b3c4d";
    };
    app_domains_sit_under_the_zone = {
      got = lib.appDomains "ci.example.org";
      want = { proxy = "traefik.ci.example.org"; drone = "drone.ci.example.org"; backupbot = "backups.ci.example.org"; };
    };
    short_zone_secrets_fit_the_swarm_limit = {
      got = lib.overlongSecrets "traefik.ci.example.org" [ "ssl_cert" "ssl_key" ];
      want = [ ];
    };
    long_zone_secrets_are_reported = {
      got = lib.overlongSecrets "drone.a-long-continuous-integration.example.org" [ "rpc_secret" "x" ];
      want = [ "rpc_secret" ];
    };

    domain_accepts_a_zone = { got = lib.isDomain "ci.example.org"; want = true; };
    domain_refuses_uppercase = { got = lib.isDomain "CI.example.org"; want = false; };
    domain_refuses_a_single_label = { got = lib.isDomain "localhost"; want = false; };
    domain_refuses_a_trailing_dot = { got = lib.isDomain "ci.example.org."; want = false; };

    host_of_a_url = { got = lib.hostOf "https://git.example.org:3000/path?q"; want = "git.example.org"; };
    host_of_a_bare_url = { got = lib.hostOf "https://git.example.org"; want = "git.example.org"; };
    host_of_garbage_throws = { got = throws (lib.hostOf "git.example.org"); want = true; };
    strip_slash = { got = map lib.stripSlash [ "https://x.org/" "https://x.org" "https://x.org/a//" ]; want = [ "https://x.org" "https://x.org" "https://x.org/a" ]; };
    port_of_listen = { got = lib.portOf "127.0.0.1:8470"; want = 8470; };
    port_of_ipv6_listen = { got = lib.portOf "[::1]:9000"; want = 9000; };
    port_is_required = { got = throws (lib.portOf "localhost"); want = true; };
    unique_spots_duplicates = { got = map lib.unique [ [ "a" "b" ] [ "a" "a" ] [ ] ]; want = [ true false true ]; };

    drone_env_takes_the_gitea_host = {
      got = lib.droneEnv { giteaUrl = "https://git.example.org/"; clientId = "abc"; adminUser = "ci-bot"; };
      want = {
        COMPOSE_FILE = "compose.yml:compose.gitea.yml";
        DRONE_USER_CREATE = "username:ci-bot,admin:true";
        GITEA_CLIENT_ID = "abc";
        GITEA_DOMAIN = "git.example.org";
        LETS_ENCRYPT_ENV = "";
      };
    };
    proxy_env_is_wildcard_without_acme = {
      got = [ lib.proxyEnv.WILDCARDS_ENABLED lib.proxyEnv.LETS_ENCRYPT_ENV lib.proxyEnv.COMPOSE_FILE ];
      want = [ "1" "" "compose.yml:compose.wildcard.yml" ];
    };

    runner_env_leaves_out_unset_files = {
      got = builtins.attrNames (lib.runnerEnv runnerArgs);
      want = [ "CCCI_FORGE_URL" "CCCI_HTTPS_PORT" "CCCI_MAX_DEPLOYMENTS" "CCCI_RESOLVE_TO" "CCCI_RESULTS_DIR" "CCCI_STATE_DIR" "CCCI_TOOLS" "CCCI_ZONE" ];
    };
    runner_env_passes_token_file_and_strips_the_forge_slash = {
      got =
        let
          e = lib.runnerEnv (runnerArgs // { gitTokenFile = "/run/credentials/x/git-token"; });
        in
        [ e.CCCI_GIT_TOKEN_FILE e.CCCI_FORGE_URL ];
      want = [ "/run/credentials/x/git-token" "https://git.example.org" ];
    };

    bridge_settings_have_the_contract_sections = {
      got = builtins.attrNames (lib.bridgeSettings bridgeArgs);
      want = [ "drone" "gitea" "recipes" "state" "trigger" ];
    };
    bridge_settings_use_contract_key_names = {
      got =
        let s = lib.bridgeSettings bridgeArgs;
        in [ s.gitea.url s.gitea.token_file s.drone.repo s.trigger.poll_interval s.state.path ];
      want = [ "https://git.example.org" "/run/credentials/cc-ci-bridge.service/gitea-token" "ops/cc-ci" 30 "/var/lib/cc-ci-bridge/state.sqlite" ];
    };
    bridge_settings_add_webhook_and_report_only_when_given = {
      got = builtins.attrNames (lib.bridgeSettings (bridgeArgs // {
        recipes = { };
        webhook = { listen = "0.0.0.0:8471"; secretFile = "/run/credentials/b/webhook-secret"; };
        dashboardUrl = "https://ci.example.org";
      }));
      want = [ "drone" "gitea" "report" "state" "trigger" "webhook" ];
    };
    bridge_settings_render_the_schedule_with_the_bridges_key_names = {
      got = (lib.bridgeSettings (bridgeArgs // { schedule = { interval = 21600; tags = false; tagPollInterval = 120; }; })).schedule;
      want = { interval = 21600; tags = false; tag_poll_interval = 120; };
    };
    bridge_settings_leave_the_schedule_out_when_not_given = {
      got = (lib.bridgeSettings bridgeArgs) ? schedule;
      want = false;
    };
    bridge_settings_take_a_schedule_of_zero_as_off = {
      got = (lib.bridgeSettings (bridgeArgs // { schedule = { interval = 0; tags = true; tagPollInterval = 300; }; })).schedule.interval;
      want = 0;
    };
    bridge_settings_refuse_a_schedule_under_a_minute = { got = throws (lib.bridgeSettings (bridgeArgs // { schedule = { interval = 30; tags = true; tagPollInterval = 300; }; })); want = true; };
    bridge_settings_refuse_a_tag_poll_under_ten_seconds = { got = throws (lib.bridgeSettings (bridgeArgs // { schedule = { interval = 86400; tags = true; tagPollInterval = 1; }; })); want = true; };
    bridge_settings_read_records_from_the_results_dir = {
      got = (lib.bridgeSettings (bridgeArgs // { recipes = { }; resultsDir = "/var/lib/cc-ci/results"; })).report;
      want = { results_dir = "/var/lib/cc-ci/results"; };
    };
    bridge_settings_refuse_a_bad_repository = { got = throws (lib.bridgeSettings (bridgeArgs // { repos = [ "no-owner" ]; recipes = { }; })); want = true; };
    bridge_settings_refuse_a_recipe_for_an_unenrolled_repo = { got = throws (lib.bridgeSettings (bridgeArgs // { recipes = { "x/y" = "y"; }; })); want = true; };
    bridge_settings_refuse_no_polling_without_webhook = { got = throws (lib.bridgeSettings (bridgeArgs // { pollInterval = 0; })); want = true; };

    policy_toml_of_nothing_is_empty = { got = lib.policyToml { }; want = ""; };
    policy_toml_renders_one_table_per_recipe = {
      got = lib.policyToml {
        traefik = { allow = [ "bind-mount" "published-port" ]; ports = [ 80 443 ]; bindSources = [ "/var/run/docker.sock" ]; };
        backup-bot-two = { allow = [ "bind-mount" ]; ports = null; bindSources = null; };
      };
      want = "[recipes.backup-bot-two]\nallow = [\"bind-mount\"]\n\n[recipes.traefik]\nallow = [\"bind-mount\", \"published-port\"]\nports = [80, 443]\nbind_sources = [\"/var/run/docker.sock\"]\n";
    };
    policy_toml_refuses_a_kind_the_gate_never_allows = { got = throws (lib.policyToml { x.allow = [ "unparseable" ]; }); want = true; };
    policy_toml_refuses_ports_without_published_port = { got = throws (lib.policyToml { x = { allow = [ "bind-mount" ]; ports = [ 80 ]; }; }); want = true; };
    policy_toml_refuses_relative_bind_sources = { got = throws (lib.policyToml { x = { allow = [ "bind-mount" ]; bindSources = [ "./data" ]; }; }); want = true; };
    policy_toml_refuses_a_misspelt_key = { got = throws (lib.policyToml { x = { allow = [ "bind-mount" ]; bind_sources = [ "/x" ]; }; }); want = true; };
    policy_toml_refuses_a_bad_recipe_name = { got = throws (lib.policyToml { Traefik.allow = [ ]; }); want = true; };
    runner_env_names_the_policy_file_and_the_proxy = {
      got =
        let
          e = lib.runnerEnv (runnerArgs // {
            policyFile = "/nix/store/x-cc-ci-policy.toml";
            proxyService = "traefik_ci_example_org_app";
          });
        in
        [ e.CCCI_POLICY_FILE e.CCCI_PROXY_SERVICE ];
      want = [ "/nix/store/x-cc-ci-policy.toml" "traefik_ci_example_org_app" ];
    };

    every_secret_has_a_known_kind = {
      got = builtins.all (n: builtins.elem lib.secrets.${n}.kind [ "required" "generate" "optional" ]) (builtins.attrNames lib.secrets);
      want = true;
    };
  };

  names = builtins.attrNames cases;
in
{
  cases = names;
  failed = map (n: { name = n; inherit (cases.${n}) got want; })
    (builtins.filter (n: cases.${n}.got != cases.${n}.want) names);
}
