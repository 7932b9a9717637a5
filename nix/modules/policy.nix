# The compose policy gate's allow-list: which recipes may ask for which kind of host access
# (docs/policy.md). It lives here, in the operator's configuration, never in a recipe; the
# runner module writes it to the file cc-ci-run reads (CCCI_POLICY_FILE).
{ lib, ... }:
let
  inherit (lib) mkOption types;
  ccLib = import ../lib.nix;
in
{
  options.services.cc-ci.policy = {
    allow = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          allow = mkOption {
            type = types.listOf (types.enum ccLib.policyKinds);
            default = [ ];
            description = "Finding kinds let through for this recipe.";
          };
          ports = mkOption {
            type = types.nullOr (types.listOf types.port);
            default = null;
            description = "Only these published ports (needs \"published-port\" in allow); null allows any.";
          };
          bindSources = mkOption {
            type = types.nullOr (types.listOf types.str);
            default = null;
            description = "Only bind mounts of exactly these host paths (needs \"bind-mount\" in allow); null allows any.";
          };
        };
      });
      default = { };
      example = lib.literalExpression ''
        {
          traefik = { allow = [ "bind-mount" "published-port" ]; ports = [ 80 443 ]; bindSources = [ "/var/run/docker.sock" ]; };
          backup-bot-two.allow = [ "bind-mount" ];
        }
      '';
      description = ''
        Per recipe, the compose policy findings a pull request's compose files may have
        without being refused. Recipes not listed are allowed nothing.
      '';
    };
  };
}
