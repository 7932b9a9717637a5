# The comment bridge: polls the enrolled repositories for `!testme`, creates Drone builds and
# reports back. A hardened service; its TOML is rendered from these options.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkDefault mkEnableOption mkIf mkOption types;
  ccLib = import ../lib.nix;
  hardening = import ./hardening.nix { inherit lib; };
  top = config.services.cc-ci;
  cfg = top.bridge;
  toml = pkgs.formats.toml { };
  creds = "/run/credentials/cc-ci-bridge.service";

  # The bridge's TOML from the options below. It is defined into `settings` at mkDefault
  # priority key by key, so an operator's `settings.<section>.<key>` replaces that key alone.
  generated = ccLib.bridgeSettings
    {
      giteaUrl = top.gitea.url;
      giteaTokenFile = "${creds}/gitea-token";
      droneUrl = "https://${(ccLib.appDomains top.domain).drone}";
      droneTokenFile = "${creds}/drone-token";
      droneRepo = top.drone.repo;
      droneBranch = top.drone.branch;
      inherit (cfg) command allow repos pollInterval recipes schedule;
      inherit (top.gitea) org;
      statePath = "/var/lib/cc-ci-bridge/state.sqlite";
      webhook = if cfg.webhook.enable then { inherit (cfg.webhook) listen; secretFile = "${creds}/webhook-secret"; } else null;
      dashboardUrl = if top.dashboard.enable then "https://${top.dashboard.host}" else null;
      # Run records are read from the files cc-ci-run writes, never over the network.
      inherit (top) resultsDir;
    };
in
{
  options.services.cc-ci.bridge = {
    enable = mkEnableOption "the comment bridge" // {
      default = top.enable;
      defaultText = lib.literalExpression "config.services.cc-ci.enable";
    };
    repos = mkOption {
      type = types.listOf types.str;
      example = [ "recipe-maintainers/custom-html" ];
      description = "Enrolled recipe repositories (owner/name) whose PRs are watched.";
    };
    recipes = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = { "recipe-maintainers/keycloak-fork" = "keycloak"; };
      description = "Recipe name of a repository whose name is not the recipe's.";
    };
    allow = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Logins allowed to trigger besides the org's members.";
    };
    command = mkOption {
      type = types.str;
      default = "!testme";
      description = "The comment that starts a run (optionally followed by stage names).";
    };
    pollInterval = mkOption {
      type = types.ints.unsigned;
      default = 30;
      description = "Seconds between polls of each repository; 0 turns polling off (then the webhook is required).";
    };
    schedule = {
      interval = mkOption {
        type = types.ints.unsigned;
        default = 86400;
        example = 21600;
        description = ''
          Seconds between two runs of each enrolled recipe's default branch (periods count
          from the Unix epoch: the default, a day, starts at 00:00 UTC). These runs are what
          the README badges and the level show. 0: none on a schedule; otherwise at least 60.
        '';
      };
      tags = mkOption {
        type = types.bool;
        default = true;
        description = "Also run a recipe's default branch when a new release tag appears in its repository.";
      };
      tagPollInterval = mkOption {
        type = types.ints.unsigned;
        default = 300;
        description = "Seconds between two looks at each enrolled repository's tags (at least 10).";
      };
    };
    webhook = {
      enable = mkEnableOption "the optional signed Gitea webhook endpoint (POST /hook)";
      listen = mkOption {
        type = types.str;
        default = "0.0.0.0:8471";
        description = "host:port the webhook endpoint listens on (reached through services.cc-ci.ingress).";
      };
      secretFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        description = "File holding the webhook's HMAC secret.";
      };
    };
    settings = mkOption {
      type = types.submodule { freeformType = toml.type; };
      default = { };
      example = { trigger.poll_interval = 5; };
      description = ''
        The bridge's configuration file (`--config`, TOML), section by section. The module
        fills every key from the options above at `lib.mkDefault` priority, so setting one
        key (`settings.trigger.poll_interval = 5;`) replaces that key and keeps every other;
        a list set here replaces the module's list. A whole section is replaced with
        `lib.mkForce`. The bridge refuses to start on a key it does not know.
      '';
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.repos != [ ] && ccLib.unique cfg.repos;
        message = "services.cc-ci.bridge.repos must list each enrolled repository once.";
      }
      {
        assertion = !cfg.webhook.enable || cfg.webhook.secretFile != null;
        message = "services.cc-ci.bridge.webhook.enable needs webhook.secretFile.";
      }
    ];

    services.cc-ci.bridge.settings = lib.mapAttrsRecursive (_: mkDefault) generated;

    networking.firewall.interfaces.docker_gwbridge.allowedTCPPorts =
      lib.optional cfg.webhook.enable (ccLib.portOf cfg.webhook.listen);

    systemd.services.cc-ci-bridge = {
      description = "cc-ci: comment bridge";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" "cc-ci-drone.service" ];
      serviceConfig = hardening // {
        ExecStart = "${lib.getExe' top.package "cc-ci-bridge"} --config ${toml.generate "cc-ci-bridge.toml" cfg.settings}";
        LoadCredential = [
          "gitea-token:${top.gitea.tokenFile}"
          "drone-token:${top.drone.tokenFile}"
        ] ++ lib.optional cfg.webhook.enable "webhook-secret:${cfg.webhook.secretFile}";
        Restart = "on-failure";
        RestartSec = 10;
        StateDirectory = "cc-ci-bridge";
        StateDirectoryMode = "0700";
      };
    };
  };
}
