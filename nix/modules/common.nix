# Settings every part shares: the zone, the forge, the packages and the state directories.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkEnableOption mkIf mkOption mkPackageOption types;
  ccLib = import ../lib.nix;
  cfg = config.services.cc-ci;
in
{
  options.services.cc-ci = {
    enable = mkEnableOption "cc-ci, continuous integration for Co-op Cloud recipes (every part)";

    package = mkPackageOption pkgs "cc-ci" { };

    abraPackage = mkPackageOption pkgs "abra" { };

    domain = mkOption {
      type = types.str;
      example = "ci.example.org";
      description = ''
        The wildcard zone. Test apps are deployed as `<name>.<domain>`, cc-ci's own apps as
        `traefik.`, `drone.` and `backups.<domain>`, and the dashboard answers on the domain
        itself. DNS for `*.<domain>` and `<domain>` must reach this host's port 443, and the
        certificate (services.cc-ci.proxy) must cover both.
      '';
    };

    gitea = {
      url = mkOption {
        type = types.str;
        example = "https://git.example.org";
        description = "Base URL of the Gitea forge that hosts the recipes and cc-ci itself.";
      };
      org = mkOption {
        type = types.str;
        example = "recipe-maintainers";
        description = "The organisation whose members may trigger runs with a PR comment.";
      };
      botUser = mkOption {
        type = types.str;
        example = "ci-bot";
        description = "Login of the bot account: a member of the org, and Drone's admin.";
      };
      tokenFile = mkOption {
        type = types.path;
        description = "File holding the bot's Gitea API token (read by the bridge).";
      };
    };

    stateDir = mkOption {
      type = types.path;
      default = "/var/lib/cc-ci";
      description = "Where cc-ci keeps its state: results, the runner's work, tools.";
    };

    resultsDir = mkOption {
      type = types.path;
      default = "${cfg.stateDir}/results";
      defaultText = lib.literalExpression ''"''${config.services.cc-ci.stateDir}/results"'';
      description = "Run records (`<run-id>/run.json` and logs): written by the runner, read by the dashboard.";
    };

    abraDir = mkOption {
      type = types.path;
      default = "/root/.abra";
      description = ''
        abra's state (ABRA_DIR) for cc-ci's own apps. The default is where root's abra looks,
        so `abra app ls` in a root shell shows them. Test runs use their own per-run ABRA_DIR.
      '';
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = ccLib.isDomain cfg.domain;
        message = "services.cc-ci.domain must be a lowercase DNS name such as ci.example.org, not `${cfg.domain}`.";
      }
      {
        assertion = builtins.match "https?://.+" cfg.gitea.url != null;
        message = "services.cc-ci.gitea.url must be an http(s) URL.";
      }
    ];

    systemd.tmpfiles.settings."10-cc-ci" = {
      ${cfg.stateDir}.d = { mode = "0755"; user = "root"; group = "root"; };
      ${cfg.resultsDir}.d = { mode = "0755"; user = "root"; group = "root"; };
      ${cfg.abraDir}.d = { mode = "0700"; user = "root"; group = "root"; };
    };

    environment.systemPackages = [ cfg.abraPackage cfg.package ];
  };
}
