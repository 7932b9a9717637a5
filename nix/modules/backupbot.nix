# backup-bot-two, the Co-op Cloud backup recipe, deployed by abra: `abra app backup` and
# `abra app restore` (the runner's backup stage) drive it.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  ccLib = import ../lib.nix;
  top = config.services.cc-ci;
  cfg = top.backupbot;
  reconcile = import ../reconcile { inherit lib pkgs; abra = top.abraPackage; inherit (top) abraDir; };
in
{
  options.services.cc-ci.backupbot = {
    enable = mkEnableOption "the backup-bot-two recipe" // {
      default = top.enable;
      defaultText = lib.literalExpression "config.services.cc-ci.enable";
    };
    version = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Recipe version for the first `abra app new`; null takes the latest release.";
    };
    extraEnv = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "More KEY=VALUE settings for the backup-bot-two app's .env.";
    };
  };

  config = mkIf cfg.enable {
    systemd.services.cc-ci-backupbot = reconcile.service {
      description = "cc-ci: reconcile the backup-bot-two app";
      recipe = "backup-bot-two";
      domain = (ccLib.appDomains top.domain).backupbot;
      inherit (cfg) version;
      # one abra at a time on the shared ABRA_DIR
      after = [ "cc-ci-proxy.service" "cc-ci-drone.service" ];
      env = ccLib.backupbotEnv // cfg.extraEnv;
      generate = [ "restic_password" ];
    };
  };
}
