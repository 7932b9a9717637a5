# Traefik, the Co-op Cloud recipe, deployed by abra in wildcard mode: the pre-issued
# certificate is served from its file provider and ACME never runs.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  ccLib = import ../lib.nix;
  top = config.services.cc-ci;
  cfg = top.proxy;
  reconcile = import ../reconcile { inherit lib pkgs; abra = top.abraPackage; inherit (top) abraDir; };
in
{
  options.services.cc-ci.proxy = {
    enable = mkEnableOption "the Traefik recipe with the wildcard certificate" // {
      default = top.enable;
      defaultText = lib.literalExpression "config.services.cc-ci.enable";
    };
    certificateFile = mkOption {
      type = types.path;
      description = "PEM certificate chain for `*.<domain>` and `<domain>` (a runtime path, e.g. a sops secret).";
    };
    keyFile = mkOption {
      type = types.path;
      description = "PEM private key of the certificate (a runtime path).";
    };
    version = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "3.1.0+v3.3.5";
      description = "Recipe version for the first `abra app new`; null takes the latest release.";
    };
    extraEnv = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "More KEY=VALUE settings for the Traefik app's .env (override the defaults).";
    };
  };

  config = mkIf cfg.enable {
    assertions = [{
      assertion = ccLib.overlongSecrets (ccLib.appDomains top.domain).proxy [ "ssl_cert" "ssl_key" ] == [ ];
      message = "services.cc-ci.domain is too long: Traefik's swarm secret names would pass 64 characters.";
    }];

    systemd.services.cc-ci-proxy = reconcile.service {
      description = "cc-ci: reconcile the Traefik app (wildcard certificate, no ACME)";
      recipe = "traefik";
      domain = (ccLib.appDomains top.domain).proxy;
      inherit (cfg) version;
      env = ccLib.proxyEnv // cfg.extraEnv;
      secrets = [
        { name = "ssl_cert"; envKey = "SECRET_WILDCARD_CERT_VERSION"; file = cfg.certificateFile; }
        { name = "ssl_key"; envKey = "SECRET_WILDCARD_KEY_VERSION"; file = cfg.keyFile; }
      ];
    };
  };
}
