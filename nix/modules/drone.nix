# The Drone server, the Co-op Cloud recipe, deployed by abra with Gitea OAuth; and the
# repository's build timeout, kept at the configured value.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  ccLib = import ../lib.nix;
  top = config.services.cc-ci;
  cfg = top.drone;
  domain = (ccLib.appDomains top.domain).drone;
  reconcile = import ../reconcile { inherit lib pkgs; abra = top.abraPackage; inherit (top) abraDir; };

  settings = pkgs.writeShellApplication {
    name = "cc-ci-drone-settings";
    runtimeInputs = [ pkgs.coreutils pkgs.curl pkgs.jq ];
    text = ''
      want=${toString cfg.buildTimeout}
      api=https://${domain}/api/repos/${cfg.repo}
      hdr=$RUNTIME_DIRECTORY/auth
      printf 'Authorization: Bearer %s\n' "$(cat "$CREDENTIALS_DIRECTORY/drone-token")" >"$hdr"
      call() { curl -fsS --max-time 30 --resolve ${domain}:443:127.0.0.1 -H @"$hdr" "$@"; }
      if ! repo=$(call "$api"); then
        echo "${cfg.repo} is not active in Drone yet: log in to https://${domain} as ${top.gitea.botUser} and activate it (docs/install.md)" >&2
        exit 1
      fi
      have=$(jq -r .timeout <<<"$repo")
      if [ "$have" = "$want" ]; then
        echo "build timeout already ''${want}m"
        exit 0
      fi
      got=$(call -X PATCH -H 'Content-Type: application/json' -d "{\"timeout\": $want}" "$api" | jq -r .timeout)
      if [ "$got" != "$want" ]; then
        echo "Drone kept the timeout at ''${got}m: the token's user must be a Drone admin" >&2
        exit 1
      fi
      echo "build timeout set from ''${have}m to ''${want}m"
    '';
  };
in
{
  options.services.cc-ci.drone = {
    enable = mkEnableOption "the Drone server recipe with Gitea OAuth" // {
      default = top.enable;
      defaultText = lib.literalExpression "config.services.cc-ci.enable";
    };
    repo = mkOption {
      type = types.str;
      example = "recipe-maintainers/cc-ci";
      description = "The cc-ci repository (owner/name) Drone builds; the bridge creates its custom builds.";
    };
    branch = mkOption {
      type = types.str;
      default = "main";
      description = "Branch of the cc-ci repository builds run from.";
    };
    clientId = mkOption {
      type = types.str;
      description = "Client ID of the Gitea OAuth2 application for Drone (redirect URI https://drone.<domain>/login).";
    };
    clientSecretFile = mkOption {
      type = types.path;
      description = "File holding that application's client secret.";
    };
    rpcSecretFile = mkOption {
      type = types.path;
      description = "File holding the secret the Drone server and the exec runner share.";
    };
    tokenFile = mkOption {
      type = types.path;
      description = "File holding the bot's Drone API token (a Drone admin): used by the bridge and to set the build timeout.";
    };
    buildTimeout = mkOption {
      type = types.ints.positive;
      default = 60;
      description = "Minutes before Drone cancels a build, freeing its runner slot; the next run's janitor reaps what it left.";
    };
    version = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Recipe version for the first `abra app new`; null takes the latest release.";
    };
    extraEnv = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "More KEY=VALUE settings for the Drone app's .env (override the defaults).";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = ccLib.isRepo cfg.repo;
        message = "services.cc-ci.drone.repo must be owner/name.";
      }
      {
        assertion = ccLib.overlongSecrets domain [ "rpc_secret" "client_secret" ] == [ ];
        message = "services.cc-ci.domain is too long: Drone's swarm secret names would pass 64 characters.";
      }
    ];

    # The host reaches its own Drone through its own Traefik, not round the gateway.
    networking.hosts."127.0.0.1" = [ domain ];

    systemd.services.cc-ci-drone = reconcile.service {
      description = "cc-ci: reconcile the Drone server app (Gitea OAuth)";
      recipe = "drone";
      inherit domain;
      inherit (cfg) version;
      after = [ "cc-ci-proxy.service" ];
      env = ccLib.droneEnv
        {
          giteaUrl = top.gitea.url;
          inherit (cfg) clientId;
          adminUser = top.gitea.botUser;
        } // cfg.extraEnv;
      secrets = [
        { name = "rpc_secret"; envKey = "SECRET_RPC_SECRET_VERSION"; file = cfg.rpcSecretFile; }
        { name = "client_secret"; envKey = "SECRET_CLIENT_SECRET_VERSION"; file = cfg.clientSecretFile; }
      ];
    };

    # Needs the repository activated in Drone (a one-time login), so it runs on a timer
    # rather than blocking a switch; it fails visibly until then.
    systemd.services.cc-ci-drone-settings = {
      description = "cc-ci: keep the Drone repository's build timeout";
      after = [ "cc-ci-drone.service" ];
      wants = [ "network-online.target" ];
      serviceConfig = {
        Type = "oneshot";
        ExecStart = lib.getExe settings;
        LoadCredential = [ "drone-token:${cfg.tokenFile}" ];
        RuntimeDirectory = "cc-ci-drone-settings";
        DynamicUser = lib.mkDefault true;
        ProtectSystem = lib.mkDefault "strict";
        PrivateTmp = lib.mkDefault true;
        NoNewPrivileges = lib.mkDefault true;
        RestrictAddressFamilies = lib.mkDefault [ "AF_INET" "AF_INET6" ];
        UMask = lib.mkDefault "0077";
      };
    };
    systemd.timers.cc-ci-drone-settings = {
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnActiveSec = "2min";
        OnUnitActiveSec = "30min";
      };
    };
  };
}
