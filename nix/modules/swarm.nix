# Docker, a single-node swarm and the attachable `proxy` overlay every recipe joins.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkDefault mkEnableOption mkIf mkOption types;
  cfg = config.services.cc-ci.swarm;

  swarmInit = pkgs.writeShellApplication {
    name = "cc-ci-swarm-init";
    runtimeInputs = [ pkgs.docker ];
    text = ''
      state=$(docker info --format '{{.Swarm.LocalNodeState}}')
      if [ "$state" != active ]; then
        echo "swarm is $state: initialising"
        docker swarm init --advertise-addr ${lib.escapeShellArg cfg.advertiseAddress}
      fi
      if ! docker network inspect proxy >/dev/null 2>&1; then
        echo "creating the proxy overlay network"
        docker network create --driver overlay --attachable proxy
      fi
      shape=$(docker network inspect proxy --format '{{.Driver}} {{.Attachable}} {{.Scope}}')
      if [ "$shape" != "overlay true swarm" ]; then
        echo "network proxy exists but is '$shape', not an attachable swarm overlay: remove it" >&2
        exit 1
      fi
      echo "swarm active, proxy network ready"
    '';
  };
in
{
  options.services.cc-ci.swarm = {
    enable = mkEnableOption "Docker and the single-node swarm" // {
      default = config.services.cc-ci.enable;
      defaultText = lib.literalExpression "config.services.cc-ci.enable";
    };
    advertiseAddress = mkOption {
      type = types.str;
      default = "127.0.0.1";
      description = "Address the single swarm manager advertises; a one-node swarm needs no other.";
    };
  };

  config = mkIf cfg.enable {
    virtualisation.docker = {
      enable = true;
      # Not --all: evicting cached recipe images forces re-pulls and hits registry rate limits.
      autoPrune = {
        enable = mkDefault true;
        dates = mkDefault "daily";
        flags = mkDefault [ "--filter" "until=168h" ];
      };
    };

    environment.systemPackages = [ pkgs.docker ];

    networking.firewall.allowedTCPPorts = [ 80 443 ];

    systemd.services.cc-ci-swarm-init = {
      description = "cc-ci: single-node docker swarm and the proxy network";
      wantedBy = [ "multi-user.target" ];
      requires = [ "docker.service" ];
      after = [ "docker.service" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = lib.getExe swarmInit;
      };
    };
  };
}
