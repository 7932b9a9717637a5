# Drone's exec runner as a host service (services.cc-ci.drone.runner): pipeline steps run on
# this host, where cc-ci-run drives docker and abra. Its capacity is the most test apps live
# at once; Drone queues the rest of the builds. What cc-ci-run in those steps is told is
# services.cc-ci.harness (harness.nix); this module hands it to every step.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkDefault mkEnableOption mkIf mkOption mkPackageOption types;
  ccLib = import ../lib.nix;
  top = config.services.cc-ci;
  cfg = top.drone.runner;
  unit = "cc-ci-drone-runner";

  # Every pipeline step gets these (DRONE_RUNNER_ENVFILE). Build parameters come on top.
  stepEnv = pkgs.writeText "cc-ci-runner.env" (ccLib.envFile top.harness.environment);

  # The old services.cc-ci.runner.* names of these options (renamed: they are Drone's runner's).
  renamed = name: lib.mkRenamedOptionModule [ "services" "cc-ci" "runner" name ] [ "services" "cc-ci" "drone" "runner" name ];

  start = pkgs.writeShellApplication {
    name = "cc-ci-drone-runner";
    runtimeInputs = [ cfg.package ];
    text = ''
      DRONE_RPC_SECRET=$(cat "$CREDENTIALS_DIRECTORY/rpc-secret")
      export DRONE_RPC_SECRET
      exec drone-runner-exec daemon
    '';
  };
in
{
  imports = map renamed [ "enable" "package" "capacity" "extraPackages" ];

  options.services.cc-ci.drone.runner = {
    enable = mkEnableOption "Drone's exec runner on this host" // {
      default = top.enable;
      defaultText = lib.literalExpression "config.services.cc-ci.enable";
    };
    package = mkPackageOption pkgs "drone-runner-exec" { };
    capacity = mkOption {
      type = types.ints.positive;
      default = 1;
      description = ''
        Builds run at once, which is the most test apps live at once (.drone.yml sets no
        concurrency limit of its own). Runs at once do not touch each other (each its own
        app, ABRA_DIR, work dir and tests network); raise it only on a host with room for
        that many apps and their tests (docs/runbook.md, "Sizing the runner's capacity").
      '';
    };
    environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = { DRONE_DEBUG = "true"; };
      description = ''
        More variables for the runner daemon itself (drone-runner-exec's DRONE_* settings),
        over the module's. Pipeline steps do not see them: cc-ci-run's settings are
        services.cc-ci.harness.environment.
      '';
    };
    extraPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "More programs on the pipeline steps' PATH.";
    };
  };

  config = mkIf cfg.enable {
    assertions = [{
      assertion = config.virtualisation.docker.enable;
      message = "services.cc-ci.drone.runner needs Docker: enable services.cc-ci.swarm (or virtualisation.docker).";
    }];

    systemd.tmpfiles.settings."10-cc-ci-runner" = {
      "${top.stateDir}/runner".d = { mode = "0700"; user = "root"; group = "root"; };
      "${top.stateDir}/tools".d = { mode = "0700"; user = "root"; group = "root"; };
    };

    # Runs as root, like the swarm it drives (docker access is root access). Only builds of
    # the cc-ci repository are accepted (DRONE_LIMIT_REPOS), so only its .drone.yml runs here.
    systemd.services.${unit} = {
      description = "cc-ci: Drone exec runner";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      requires = [ "docker.service" ];
      after = [ "network-online.target" "docker.service" "cc-ci-drone.service" ];
      # The daemon's PATH is the steps' PATH.
      path = [
        top.package
        top.abraPackage
        pkgs.bash
        pkgs.coreutils
        pkgs.debootstrap # the recipe-tests image (cc_ci/harness/sandbox/image.py)
        pkgs.docker
        pkgs.git
        pkgs.gnugrep
        pkgs.openssl
        pkgs.util-linux
      ] ++ cfg.extraPackages;
      environment = {
        DRONE_RPC_PROTO = "https";
        DRONE_RPC_HOST = (ccLib.appDomains top.domain).drone;
        DRONE_RUNNER_CAPACITY = toString cfg.capacity;
        DRONE_RUNNER_NAME = config.networking.hostName;
        DRONE_RUNNER_ENVFILE = "${stepEnv}";
        DRONE_LIMIT_REPOS = top.drone.repo;
        DRONE_HTTP_BIND = "127.0.0.1:3000";
        HOME = "${top.stateDir}/runner";
      } // cfg.environment;
      serviceConfig = {
        ExecStart = lib.getExe start;
        LoadCredential = [ "rpc-secret:${top.drone.rpcSecretFile}" ]
          ++ lib.optional (top.harness.gitTokenFile != null) "git-token:${top.harness.gitTokenFile}";
        Restart = "always";
        RestartSec = 10;
        # A build's processes belong to the runner: stopping it stops them (the next run's
        # janitor removes what they deployed).
        KillMode = "control-group";
        PrivateTmp = mkDefault true;
        ProtectHome = mkDefault true;
        UMask = mkDefault "0022";
      };
    };
  };
}
