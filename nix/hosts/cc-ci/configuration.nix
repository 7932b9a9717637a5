# The example cc-ci host. Copy this directory for your own host and change every value
# marked EXAMPLE; docs/install.md walks through each one.
{ lib, ... }:
{
  imports = [ ./hardware.nix ];

  networking.hostName = "cc-ci";

  # drone-runner-exec is under the Polyform licence, which nixpkgs counts as unfree.
  nixpkgs.config.allowUnfreePredicate = pkg: builtins.elem (lib.getName pkg) [ "drone-runner-exec" ];

  services.cc-ci = {
    enable = true;
    domain = "ci.example.org"; # EXAMPLE: the wildcard zone
    gitea = {
      url = "https://git.example.org"; # EXAMPLE
      org = "recipe-maintainers"; # EXAMPLE: its members may trigger runs
      botUser = "ci-bot"; # EXAMPLE: the bot account, a member of the org
    };
    drone = {
      repo = "recipe-maintainers/cc-ci"; # EXAMPLE: this repository on the forge
      clientId = "00000000-0000-0000-0000-000000000000"; # EXAMPLE: the Gitea OAuth2 app
      buildTimeout = 60;
    };
    drone.runner.capacity = 1;
    bridge.repos = [
      "recipe-maintainers/custom-html" # EXAMPLE: the enrolled recipes
    ];
    secrets = {
      enable = true;
      # made by `scripts/secrets fill`; commit it (it is encrypted) so the flake can see it
      sopsFile = ../../../secrets/secrets.yaml;
    };
  };

  services.openssh = {
    enable = true;
    settings.PasswordAuthentication = false;
  };

  nix.settings.experimental-features = [ "nix-command" "flakes" ];

  system.stateVersion = "24.11";
}
