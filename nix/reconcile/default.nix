# A systemd oneshot that converges one abra app (nix/reconcile/abra-app-reconcile.sh) on
# every boot and switch: inspect, converge, and do nothing when it is already right.
{ lib, pkgs, abra, abraDir }:
let
  ccLib = import ../lib.nix;

  # A secret given as a Nix path would be copied into the world-readable store: refuse it.
  credential = s:
    if builtins.isPath s.file || lib.hasPrefix builtins.storeDir (toString s.file)
    then throw "cc-ci: the ${s.name} file must be a runtime path such as /run/secrets/…, not a file in the Nix store"
    else "${s.name}:${s.file}";

  script = pkgs.writeShellApplication {
    name = "abra-app-reconcile";
    runtimeInputs = [ abra pkgs.coreutils pkgs.docker pkgs.gawk pkgs.gnugrep pkgs.gnused ];
    text = builtins.readFile ./abra-app-reconcile.sh;
  };
in
{
  inherit script;

  # secrets: [ { name; envKey; file; } ], each loaded as the credential `name`.
  service =
    { description
    , recipe
    , domain
    , env
    , version ? null
    , secrets ? [ ]
    , generate ? [ ]
    , after ? [ ]
    }:
    {
      inherit description;
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      requires = [ "docker.service" "cc-ci-swarm-init.service" ];
      after = [ "network-online.target" "docker.service" "cc-ci-swarm-init.service" ] ++ after;
      environment = {
        ABRA_DIR = abraDir;
        HOME = "/root";
      };
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        LoadCredential = map credential secrets;
        ExecStart = lib.escapeShellArgs ([
          (lib.getExe script)
          "--recipe"
          recipe
          "--domain"
          domain
          "--env"
          (pkgs.writeText "${domain}.env" (ccLib.envFile env))
        ]
        ++ lib.optionals (version != null) [ "--version" version ]
        ++ lib.concatMap (s: [ "--secret" "${s.name}:${s.envKey}" ]) secrets
        ++ lib.concatMap (name: [ "--generate" name ]) generate);
      };
    };
}
