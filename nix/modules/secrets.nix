# sops-nix wiring: decrypt secrets/secrets.yaml at activation with the host's age identity
# and point every *File option at the decrypted files. Without it, set the *File options to
# files provisioned some other way.
{ config, lib, ... }:
let
  inherit (lib) mkDefault mkEnableOption mkIf mkOption types;
  top = config.services.cc-ci;
  cfg = top.secrets;

  # the secrets of secrets/secrets.template.yaml that this configuration reads
  wanted =
    lib.optionals top.proxy.enable [ "wildcard_cert" "wildcard_key" ]
    ++ lib.optionals top.drone.enable [ "drone_client_secret" ]
    ++ lib.optionals (top.drone.enable || top.drone.runner.enable) [ "drone_rpc_secret" ]
    ++ lib.optionals top.bridge.enable [ "gitea_token" ]
    ++ lib.optionals (top.bridge.enable || top.drone.enable) [ "drone_token" ]
    ++ lib.optionals (top.bridge.enable && top.bridge.webhook.enable) [ "webhook_secret" ]
    ++ lib.optionals (top.drone.runner.enable && cfg.runnerGitToken) [ "runner_git_token" ];

  path = name: config.sops.secrets.${name}.path;
  has = name: builtins.elem name wanted;
in
{
  options.services.cc-ci.secrets = {
    enable = mkEnableOption "cc-ci's secrets from a sops file (sops-nix)";
    sopsFile = mkOption {
      type = types.path;
      example = lib.literalExpression "./secrets/secrets.yaml";
      description = "The sops-encrypted file made by `scripts/secrets fill` (committed; encrypted).";
    };
    ageKeyFile = mkOption {
      type = types.str;
      default = "/var/lib/sops-nix/key.txt";
      description = "The host's age identity (`scripts/secrets identity`): the one secret not in git.";
    };
    runnerGitToken = mkOption {
      type = types.bool;
      default = false;
      description = "Whether the secrets file holds runner_git_token, for private recipe repositories.";
    };
  };

  config = mkIf cfg.enable {
    sops = {
      defaultSopsFile = cfg.sopsFile;
      age.keyFile = cfg.ageKeyFile;
      # root-only files under /run/secrets; services get them through LoadCredential
      secrets = lib.genAttrs wanted (_: { });
    };

    services.cc-ci = {
      proxy = mkIf (has "wildcard_cert") {
        certificateFile = mkDefault (path "wildcard_cert");
        keyFile = mkDefault (path "wildcard_key");
      };
      drone = {
        clientSecretFile = mkIf (has "drone_client_secret") (mkDefault (path "drone_client_secret"));
        rpcSecretFile = mkIf (has "drone_rpc_secret") (mkDefault (path "drone_rpc_secret"));
        tokenFile = mkIf (has "drone_token") (mkDefault (path "drone_token"));
      };
      gitea.tokenFile = mkIf (has "gitea_token") (mkDefault (path "gitea_token"));
      bridge.webhook.secretFile = mkIf (has "webhook_secret") (mkDefault (path "webhook_secret"));
      harness.gitTokenFile = mkIf (has "runner_git_token") (mkDefault (path "runner_git_token"));
    };
  };
}
