# Pure helpers for the cc-ci NixOS modules: names, env files and the bridge's settings.
#
# Only builtins: no nixpkgs, so nix/tests/lib-test.nix evaluates every function here
# with a plain `nix-instantiate --eval --strict`. The modules import this file; anything
# that can be decided without a package belongs here, where it is tested.
let
  inherit (builtins)
    all
    attrNames
    concatStringsSep
    elem
    elemAt
    filter
    isBool
    isInt
    isString
    length
    match
    replaceStrings
    stringLength
    throw
    ;

  # Docker swarm refuses config and secret names longer than this (moby/swarmkit#2918).
  swarmNameMax = 64;

  policyKinds = [
    "bind-mount"
    "cap-add"
    "devices"
    "external-volume"
    "host-file"
    "host-ipc"
    "host-network"
    "host-pid"
    "host-userns"
    "privileged"
    "published-port"
    "security-opt"
  ];

  # The reconcile script versions a file-backed swarm secret by its content:
  # "v" + the first 8 hex digits of its sha256. Renaming on change is what rotates it.
  contentVersionLength = 9;

  isDomain = d:
    isString d
    && stringLength d <= 253
    && match "([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?[.])+[a-z][a-z0-9-]{0,61}[a-z0-9]" d != null;

  isEnvKey = k: match "[A-Za-z_][A-Za-z0-9_]*" k != null;

  isRepo = r: isString r && match "[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+" r != null;

  # abra names a stack after its app's domain with the dots replaced (hyphens are kept).
  stackName = domain: replaceStrings [ "." ] [ "_" ] domain;

  secretName = { domain, secret, version }: "${stackName domain}_${secret}_${version}";

  envValue = key: v:
    let
      s =
        if isString v then v
        else if isBool v then (if v then "true" else "false")
        else if isInt v then toString v
        else throw "env ${key}: a string, integer or boolean is needed";
    in
    if match ".*[\n\r].*" s != null then throw "env ${key}: a value must be one line"
    else if match "[ \t].*|.*[ \t]" s != null then throw "env ${key}: leading or trailing whitespace would be lost"
    else s;

  # KEY=VALUE lines sorted by key, every line newline-terminated (so appending after the
  # file never glues two settings together: the set_env newline bug of the first server).
  envFile = attrs:
    let
      keys = attrNames attrs;
      bad = filter (k: !isEnvKey k) keys;
      line = k: "${k}=${envValue k attrs.${k}}\n";
    in
    if bad != [ ] then throw "env keys must match [A-Za-z_][A-Za-z0-9_]*: ${concatStringsSep ", " bad}"
    else builtins.concatStringsSep "" (map line keys);

  hostOf = url:
    let m = match "[a-z][a-z0-9+.-]*://([^/:?#]+)(:[0-9]+)?([/?#].*)?" url;
    in if m == null then throw "not an absolute URL: ${url}" else elemAt m 0;

  stripSlash = url:
    let m = match "(.*[^/])/+" url;
    in if m == null then url else elemAt m 0;
in
{
  inherit
    swarmNameMax
    contentVersionLength
    isDomain
    isEnvKey
    isRepo
    stackName
    secretName
    envFile
    hostOf
    stripSlash
    ;

  # The abra apps cc-ci runs for itself, under the wildcard zone. None of them matches the
  # harness's per-run pattern <recipe[:4]>-<6 hex>, so the janitor never reaps them.
  appDomains = domain: {
    proxy = "traefik.${domain}";
    drone = "drone.${domain}";
    backupbot = "backups.${domain}";
  };

  # The swarm secret names of `secrets` (a list of names) that would exceed the 64-character
  # limit for this app domain at the longest version the reconcile script writes.
  overlongSecrets = domain: secrets:
    let version = "v" + builtins.substring 0 (contentVersionLength - 1) "ffffffffffff";
    in filter (secret: stringLength (secretName { inherit domain secret version; }) > swarmNameMax) secrets;

  # Every secret the modules read: the source of secrets/secrets.template.yaml.
  # kind: required (the operator supplies it), generate (scripts/secrets makes a random one),
  # optional (only read when the feature that needs it is on).
  secrets = {
    wildcard_cert = { kind = "required"; for = "proxy"; };
    wildcard_key = { kind = "required"; for = "proxy"; };
    drone_client_secret = { kind = "required"; for = "drone"; };
    drone_rpc_secret = { kind = "generate"; for = "drone drone-runner"; };
    gitea_token = { kind = "required"; for = "bridge"; };
    drone_token = { kind = "required"; for = "bridge drone-settings"; };
    webhook_secret = { kind = "generate"; for = "bridge"; };
    runner_git_token = { kind = "optional"; for = "drone-runner"; };
  };

  proxyEnv = {
    COMPOSE_FILE = "compose.yml:compose.wildcard.yml";
    LETS_ENCRYPT_ENV = "";
    WILDCARDS_ENABLED = "1";
  };

  droneEnv = { giteaUrl, clientId, adminUser }: {
    COMPOSE_FILE = "compose.yml:compose.gitea.yml";
    DRONE_USER_CREATE = "username:${adminUser},admin:true";
    GITEA_CLIENT_ID = clientId;
    GITEA_DOMAIN = hostOf giteaUrl;
    LETS_ENCRYPT_ENV = "";
  };

  backupbotEnv = {
    LETS_ENCRYPT_ENV = "";
    RESTIC_REPOSITORY = "/backups/restic";
  };

  # cc-ci-run's environment in every pipeline step: what it reads to find its zone, forge,
  # state and results. nix/modules/harness.nix fills services.cc-ci.harness.environment with
  # it (from the harness.* options); the exec runner hands it to each step (DRONE_RUNNER_ENVFILE).
  runnerEnv =
    { zone
    , resultsDir
    , stateDir
    , toolsDir
    , forgeUrl
    , resolveTo
    , httpsPort
    , caFile ? null
    , gitTokenFile ? null
    , policyFile ? null
    , proxyService ? null
    , maxDeployments ? 2
    }:
    {
      CCCI_FORGE_URL = stripSlash forgeUrl;
      CCCI_HTTPS_PORT = httpsPort;
      # a run's deployments at once (cc_ci/harness/chains.py); 1: one after the other
      CCCI_MAX_DEPLOYMENTS = maxDeployments;
      CCCI_RESOLVE_TO = resolveTo;
      CCCI_RESULTS_DIR = resultsDir;
      CCCI_STATE_DIR = stateDir;
      CCCI_TOOLS = toolsDir;
      CCCI_ZONE = zone;
    }
    // (if caFile == null then { } else { CCCI_CA_FILE = caFile; })
    // (if gitTokenFile == null then { } else { CCCI_GIT_TOKEN_FILE = gitTokenFile; })
    // (if policyFile == null then { } else { CCCI_POLICY_FILE = policyFile; })
    // (if proxyService == null then { } else { CCCI_PROXY_SERVICE = proxyService; });

  # The compose policy gate's finding kinds an operator may allow (cc_ci/harness/policy/rules.py
  # ALLOWABLE; nix/tests/test_nix_lib.py keeps the two in step).
  inherit policyKinds;

  # The operator's allow-list (services.cc-ci.policy.allow) as the TOML file cc-ci-run reads
  # from CCCI_POLICY_FILE (cc_ci/harness/policy/allowlist.py). `allow` is
  #   { <recipe> = { allow = [ kind … ]; ports = null or [ port … ]; bindSources = null or [ path … ]; }; }
  # Checked here, so a typo fails `nixos-rebuild`, not the next run.
  policyToml = allow:
    let
      names = attrNames allow;
      badNames = filter (n: match "[a-z0-9][a-z0-9-]{0,62}" n == null) names;
      list = xs: "[" + concatStringsSep ", " (map builtins.toJSON xs) + "]";
      table = name:
        let
          e = { ports = null; bindSources = null; } // allow.${name};
          kinds = e.allow or [ ];
          bad = filter (k: !elem k policyKinds) kinds;
          unknown = filter (k: !elem k [ "allow" "ports" "bindSources" ]) (attrNames allow.${name});
          where = "services.cc-ci.policy.allow.${name}";
        in
        if unknown != [ ] then throw "${where}: unknown key(s) ${concatStringsSep ", " unknown}; known: allow, ports, bindSources"
        else if bad != [ ] then throw "${where}.allow: ${concatStringsSep ", " bad} cannot be allowed; allowable: ${concatStringsSep ", " policyKinds}"
        else if e.ports != null && !elem "published-port" kinds then throw "${where}.ports needs \"published-port\" in allow"
        else if e.ports != null && !(all (p: isInt p && p > 0 && p < 65536) e.ports) then throw "${where}.ports: port numbers 1-65535"
        else if e.bindSources != null && !elem "bind-mount" kinds then throw "${where}.bindSources needs \"bind-mount\" in allow"
        else if e.bindSources != null && !(all (s: isString s && match "/.*" s != null && match ".*[\n\r].*" s == null) e.bindSources) then throw "${where}.bindSources: absolute paths"
        else
          "[recipes.${name}]\nallow = ${list kinds}\n"
          + (if e.ports == null then "" else "ports = ${list e.ports}\n")
          + (if e.bindSources == null then "" else "bind_sources = ${list e.bindSources}\n");
    in
    if badNames != [ ] then throw "services.cc-ci.policy.allow: not recipe names: ${concatStringsSep ", " badNames}"
    else concatStringsSep "\n" (map table names);

  # The bridge's TOML (docs/bridge.md, Configuration) as an attribute set; optional sections are
  # left out entirely, because the bridge rejects keys it does not know.
  bridgeSettings =
    { giteaUrl
    , giteaTokenFile
    , droneUrl
    , droneTokenFile
    , droneRepo
    , droneBranch
    , command
    , org
    , allow
    , repos
    , pollInterval
    , recipes
    , statePath
    , webhook ? null
    , dashboardUrl ? null
    , resultsDir ? null
      # { interval; tags; tagPollInterval; }: the default-branch runs (docs/bridge.md)
    , schedule ? null
    }:
    let
      badRepos = filter (r: !isRepo r) ([ droneRepo ] ++ repos ++ attrNames recipes);
      unmapped = filter (r: !elem r repos) (attrNames recipes);
    in
    if badRepos != [ ] then throw "not an owner/name repository: ${concatStringsSep ", " badRepos}"
    else if unmapped != [ ] then throw "[recipes] names repositories that are not enrolled: ${concatStringsSep ", " unmapped}"
    else if pollInterval == 0 && webhook == null then throw "poll interval 0 turns polling off; then the webhook is required"
    else if !(all isString allow) then throw "allow must be a list of logins"
    else if schedule != null && schedule.interval != 0 && schedule.interval < 60 then throw "the schedule's interval must be 0 (off) or at least 60 seconds"
    else if schedule != null && schedule.tagPollInterval < 10 then throw "the schedule's tag poll interval must be at least 10 seconds"
    else
      {
        gitea = { url = stripSlash giteaUrl; token_file = giteaTokenFile; };
        drone = { url = stripSlash droneUrl; token_file = droneTokenFile; repo = droneRepo; branch = droneBranch; };
        trigger = { inherit command org allow repos; poll_interval = pollInterval; };
        state = { path = statePath; };
      }
      // (if recipes == { } then { } else { inherit recipes; })
      // (if schedule == null then { } else { schedule = { inherit (schedule) interval tags; tag_poll_interval = schedule.tagPollInterval; }; })
      // (if webhook == null then { } else { webhook = { inherit (webhook) listen; secret_file = webhook.secretFile; }; })
      // (
        let
          report =
            (if dashboardUrl == null then { } else { dashboard_url = dashboardUrl; })
            // (if resultsDir == null then { } else { results_dir = resultsDir; });
        in
        if report == { } then { } else { inherit report; }
      );

  # "host:port" for a listen option; the port is what the firewall and the ingress need.
  portOf = listen:
    let m = match ".*:([0-9]+)" listen;
    in if m == null then throw "listen address needs a port: ${listen}" else builtins.fromJSON (elemAt m 0);

  # True when the list has no duplicates (used for the enrolled repositories).
  unique = xs: length xs == length (builtins.attrNames (builtins.listToAttrs (map (x: { name = x; value = true; }) xs)));
}
