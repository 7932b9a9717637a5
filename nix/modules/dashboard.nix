# The dashboard: a read-only web view of the run records in the results directory.
{ config, lib, ... }:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  ccLib = import ../lib.nix;
  hardening = import ./hardening.nix { inherit lib; };
  top = config.services.cc-ci;
  cfg = top.dashboard;
in
{
  options.services.cc-ci.dashboard = {
    enable = mkEnableOption "the dashboard" // {
      default = top.enable;
      defaultText = lib.literalExpression "config.services.cc-ci.enable";
    };
    listen = mkOption {
      type = types.str;
      default = "0.0.0.0:8470";
      description = "host:port the dashboard listens on (the firewall opens it only to the swarm's bridge).";
    };
    host = mkOption {
      type = types.str;
      default = top.domain;
      defaultText = lib.literalExpression "config.services.cc-ci.domain";
      description = "Public host name of the dashboard, routed by Traefik (services.cc-ci.ingress).";
    };
    publicUrl = mkOption {
      type = types.str;
      default = "https://${cfg.host}";
      defaultText = lib.literalExpression ''"https://''${config.services.cc-ci.dashboard.host}"'';
      description = "The dashboard's URL as visitors see it: badge snippets name it (never a request's Host header).";
    };
  };

  config = mkIf cfg.enable {
    networking.firewall.interfaces.docker_gwbridge.allowedTCPPorts = [ (ccLib.portOf cfg.listen) ];

    systemd.services.cc-ci-dashboard = {
      description = "cc-ci: dashboard";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" "systemd-tmpfiles-setup.service" ];
      serviceConfig = hardening // {
        ExecStart = lib.escapeShellArgs [
          (lib.getExe' top.package "cc-ci-dashboard")
          "--results-dir"
          top.resultsDir
          "--listen"
          cfg.listen
          "--public-url"
          cfg.publicUrl
        ];
        Restart = "on-failure";
        RestartSec = 5;
      };
    };
  };
}
