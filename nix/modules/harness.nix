# cc-ci's harness (cc-ci-run) on this host: what every pipeline step the exec runner starts
# is told, as the environment file Drone hands each step (DRONE_RUNNER_ENVFILE): the zone,
# the forge, where state and results go, how test apps are reached. Drone's exec runner
# itself is services.cc-ci.drone.runner (drone-runner.nix), which writes that file.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkDefault mkIf mkOption types;
  ccLib = import ../lib.nix;
  top = config.services.cc-ci;
  cfg = top.harness;

  # The operator's allow-list for the compose policy gate (nix/modules/policy.nix).
  policyFile = pkgs.writeText "cc-ci-policy.toml" (ccLib.policyToml top.policy.allow);

  # The old services.cc-ci.runner.* names of these options (renamed: the runner is Drone's).
  renamed = name: lib.mkRenamedOptionModule [ "services" "cc-ci" "runner" name ] [ "services" "cc-ci" "harness" name ];
in
{
  imports = map renamed [ "gitTokenFile" "resolveTo" "httpsPort" "caFile" "environment" ];

  options.services.cc-ci.harness = {
    gitTokenFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "File holding a read token for private recipe repositories (CCCI_GIT_TOKEN_FILE); null for public ones.";
    };
    resolveTo = mkOption {
      type = types.str;
      default = "127.0.0.1";
      description = "Address test apps' domains are reached at from this host (its own Traefik).";
    };
    httpsPort = mkOption {
      type = types.port;
      default = 443;
      description = "Port of that address's HTTPS.";
    };
    caFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "CA that signed the wildcard certificate, when it is not publicly trusted.";
    };
    maxDeployments = mkOption {
      type = types.ints.positive;
      default = 2;
      description = ''
        How many deployments one run has at once (CCCI_MAX_DEPLOYMENTS): a full run's PR head
        and its upgrade from the previous release side by side (2), or one after the other
        (1). Live test apps at most: drone.runner.capacity × this (docs/runbook.md).
      '';
    };
    environment = mkOption {
      type = types.attrsOf (types.oneOf [ types.str types.int types.bool ]);
      default = { };
      example = { CCCI_DEPLOY_TIMEOUT = "900"; };
      description = ''
        Every pipeline step's environment: the CCCI_* settings cc-ci-run reads. The module
        fills it from the options above and services.cc-ci.* at `lib.mkDefault` priority, so
        a key set here adds a setting or replaces one and keeps the rest.
      '';
    };
  };

  config = mkIf top.drone.runner.enable {
    services.cc-ci.harness.environment = lib.mapAttrs (_: mkDefault) (ccLib.runnerEnv {
      zone = top.domain;
      inherit (top) resultsDir;
      stateDir = "${top.stateDir}/runner";
      toolsDir = "${top.stateDir}/tools";
      forgeUrl = top.gitea.url;
      inherit (cfg) resolveTo httpsPort caFile maxDeployments;
      # the exec runner loads the token as a credential of its unit (drone-runner.nix)
      gitTokenFile = if cfg.gitTokenFile == null then null else "/run/credentials/cc-ci-drone-runner.service/git-token";
      policyFile = "${policyFile}";
      # recipe-local tests reach the app through this Traefik (cc_ci/harness/sandbox/container.py)
      proxyService = "${ccLib.stackName (ccLib.appDomains top.domain).proxy}_app";
    });
  };
}
