# Routes the dashboard and the bridge's webhook, which run on the host, through Traefik:
# a small swarm stack of forwarders on the `proxy` network that carry each route to the
# host's end of the swarm bridge (docker_gwbridge). The image is built by Nix and loaded,
# so nothing is pulled from a registry.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkEnableOption mkIf;
  ccLib = import ../lib.nix;
  top = config.services.cc-ci;
  cfg = top.ingress;
  stack = "cc-ci-ingress";

  image = pkgs.dockerTools.buildLayeredImage {
    name = "cc-ci-forward";
    contents = [ pkgs.socat ];
    config.Entrypoint = [ (lib.getExe pkgs.socat) ];
  };
  imageRef = "${image.imageName}:${image.imageTag}";

  # name -> { rule; port; } for each host service Traefik should reach
  routes =
    lib.optionalAttrs top.dashboard.enable
      {
        dashboard = { rule = "Host(`${top.dashboard.host}`)"; port = ccLib.portOf top.dashboard.listen; };
      }
    // lib.optionalAttrs (top.bridge.enable && top.bridge.webhook.enable) {
      webhook = {
        rule = "Host(`${top.dashboard.host}`) && PathPrefix(`/hook`)";
        port = ccLib.portOf top.bridge.webhook.listen;
      };
    };

  forwarder = name: route: {
    image = imageRef;
    # CCCI_HOST_GATEWAY is filled in by `docker stack deploy` from the reconcile script.
    command = [ "TCP-LISTEN:8080,fork,reuseaddr" "TCP:\${CCCI_HOST_GATEWAY}:${toString route.port}" ];
    networks = [ "proxy" ];
    deploy.labels = [
      "traefik.enable=true"
      "traefik.docker.network=proxy"
      "traefik.http.routers.cc-ci-${name}.rule=${route.rule}"
      "traefik.http.routers.cc-ci-${name}.entrypoints=web-secure"
      "traefik.http.routers.cc-ci-${name}.tls=true"
      "traefik.http.services.cc-ci-${name}.loadbalancer.server.port=8080"
    ];
  };

  compose = pkgs.writeText "cc-ci-ingress.json" (builtins.toJSON {
    version = "3.8";
    services = lib.mapAttrs forwarder routes;
    networks.proxy.external = true;
  });

  reconcile = pkgs.writeShellApplication {
    name = "cc-ci-ingress";
    runtimeInputs = [ pkgs.docker ];
    text = ''
      gateway=$(docker network inspect docker_gwbridge --format '{{(index .IPAM.Config 0).Gateway}}')
      if [ -z "$gateway" ]; then
        echo "docker_gwbridge has no gateway address: is the swarm initialised?" >&2
        exit 1
      fi
      if ! docker image inspect ${lib.escapeShellArg imageRef} >/dev/null 2>&1; then
        docker load --input ${image}
      fi
      # stack deploy is declarative: an unchanged stack is left running as it is
      CCCI_HOST_GATEWAY=$gateway docker stack deploy --prune --compose-file ${compose} ${stack}
    '';
  };
in
{
  options.services.cc-ci.ingress = {
    enable = mkEnableOption "Traefik routes to the host's dashboard and webhook" // {
      default = top.dashboard.enable || (top.bridge.enable && top.bridge.webhook.enable);
      defaultText = lib.literalExpression "config.services.cc-ci.dashboard.enable";
    };
  };

  config = mkIf (cfg.enable && routes != { }) {
    systemd.services.cc-ci-ingress = {
      description = "cc-ci: Traefik routes to the dashboard and the webhook";
      wantedBy = [ "multi-user.target" ];
      requires = [ "docker.service" "cc-ci-swarm-init.service" ];
      after = [ "docker.service" "cc-ci-swarm-init.service" "cc-ci-proxy.service" "cc-ci-backupbot.service" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = lib.getExe reconcile;
      };
    };
  };
}
