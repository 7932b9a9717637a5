# The configuration the module tests start from: every part on, the secrets from sops-nix,
# values like the example host's (nix/hosts/cc-ci). Each test adds a module on top.
{
  networking.hostName = "ci-test";
  services.cc-ci = {
    enable = true;
    domain = "ci.example.org";
    gitea = {
      url = "https://git.example.org/";
      org = "recipes";
      botUser = "ci-bot";
    };
    drone = {
      repo = "recipes/cc-ci";
      clientId = "00000000-0000-0000-0000-000000000000";
    };
    bridge = {
      repos = [ "recipes/custom-html" "recipes/keycloak-fork" ];
      recipes."recipes/keycloak-fork" = "keycloak";
    };
    secrets = {
      enable = true;
      # Only hashed and checked to exist (sops-nix validates its sops files at evaluation);
      # nothing is decrypted here, so any file of the repository will do.
      sopsFile = ../../secrets/secrets.template.yaml;
    };
  };
}
