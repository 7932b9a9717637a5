# Every cc-ci module; options live under services.cc-ci.*. `services.cc-ci.enable` turns on
# every part, and each part has its own `enable` to leave it out.
{
  imports = [
    ./common.nix
    ./swarm.nix
    ./proxy.nix
    ./drone.nix
    ./drone-runner.nix
    ./harness.nix
    ./policy.nix
    ./backupbot.nix
    ./bridge.nix
    ./dashboard.nix
    ./ingress.nix
    ./secrets.nix
  ];
}
