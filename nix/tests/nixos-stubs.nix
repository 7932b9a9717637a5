# Declared stand-ins for the NixOS options cc-ci's modules (and sops-nix's) set or read, so
# that nix/tests/eval-modules.nix can run `lib.evalModules` without NixOS itself: full
# nixpkgs cannot be had on the machines these tests run on (docs/development.md).
#
# Each option is declared with the type NixOS gives it where that type is simple, and with
# the same merge behaviour where it is not (systemd's unit options, below), so merging,
# priorities (mkDefault, mkForce) and type errors behave as on a host. Nothing here is
# freeform: an option a module sets that is not declared fails evaluation, as on NixOS.
# What these stand-ins do NOT do: build anything, generate unit files, or check systemd's own
# rules for the values; `nix flake check` on a real host evaluates the real NixOS modules.
{ lib, ... }:
let
  inherit (lib) mkOption types;

  # systemd's unit settings (serviceConfig, unitConfig, timerConfig) as NixOS merges them
  # (nixos/lib/systemd-unit-options.nix, `unitOption`): the highest-priority definitions
  # win; of those, lists are concatenated and anything else must be equal.
  unitOption = types.mkOptionType {
    name = "systemd option (stand-in)";
    merge = loc: defs:
      if lib.any (def: builtins.isList def.value) defs
      then lib.concatMap (def: lib.toList def.value) defs
      else lib.mergeEqualOption loc defs;
  };

  unitSettings = mkOption { type = types.attrsOf unitOption; default = { }; };
  names = mkOption { type = types.listOf types.str; default = [ ]; };

  service = types.submodule {
    options = {
      description = mkOption { type = types.str; default = ""; };
      wantedBy = names;
      requiredBy = names;
      wants = names;
      requires = names;
      after = names;
      before = names;
      path = mkOption { type = types.listOf (types.either types.package types.str); default = [ ]; };
      environment = mkOption {
        type = types.attrsOf (types.nullOr (types.oneOf [ types.str types.path types.package ]));
        default = { };
      };
      serviceConfig = unitSettings;
      unitConfig = unitSettings;
    };
  };

  timer = types.submodule {
    options = {
      wantedBy = names;
      timerConfig = unitSettings;
    };
  };

  # systemd.tmpfiles.settings.<name>.<path>.<type> = { mode; user; group; age; argument; }
  tmpfilesRule = types.submodule {
    options = lib.genAttrs [ "mode" "user" "group" "age" "argument" ] (_: mkOption { type = types.str; default = "-"; });
  };

  ports = mkOption { type = types.listOf types.port; default = [ ]; };
in
{
  options = {
    # nixos/modules/misc/assertions.nix
    assertions = mkOption { type = types.listOf types.unspecified; default = [ ]; };
    warnings = mkOption { type = types.listOf types.str; default = [ ]; };

    systemd.services = mkOption { type = types.attrsOf service; default = { }; };
    systemd.timers = mkOption { type = types.attrsOf timer; default = { }; };
    systemd.tmpfiles.settings = mkOption {
      type = types.attrsOf (types.attrsOf (types.attrsOf tmpfilesRule));
      default = { };
    };

    networking = {
      hostName = mkOption { type = types.str; default = "nixos"; };
      hosts = mkOption { type = types.attrsOf (types.listOf types.str); default = { }; };
      firewall.allowedTCPPorts = ports;
      firewall.interfaces = mkOption {
        type = types.attrsOf (types.submodule { options.allowedTCPPorts = ports; });
        default = { };
      };
    };

    virtualisation.docker = {
      enable = mkOption { type = types.bool; default = false; };
      autoPrune = {
        enable = mkOption { type = types.bool; default = false; };
        dates = mkOption { type = types.str; default = "weekly"; };
        flags = mkOption { type = types.listOf types.str; default = [ ]; };
      };
    };

    environment.systemPackages = mkOption { type = types.listOf types.package; default = [ ]; };

    # Read by sops-nix: the owner's group of a secret, and the SSH host keys it imports.
    users.users = mkOption { type = types.attrsOf (types.attrsOf types.anything); default = { }; };
    services.openssh = {
      enable = mkOption { type = types.bool; default = false; };
      hostKeys = mkOption { type = types.listOf (types.attrsOf types.str); default = [ ]; };
    };

    # Set by sops-nix: the activation script that decrypts, and the manifest it reads.
    system.activationScripts = mkOption { type = types.attrsOf types.unspecified; default = { }; };
    system.build = mkOption { type = types.lazyAttrsOf types.unspecified; default = { }; };

    # Only the example host (nix/hosts/cc-ci) sets these; nothing in nix/modules reads them.
    boot.loader.grub = mkOption { type = types.attrsOf types.anything; default = { }; };
    fileSystems = mkOption { type = types.attrsOf (types.attrsOf types.anything); default = { }; };
    networking.useDHCP = mkOption { type = types.bool; default = true; };
    nixpkgs.hostPlatform = mkOption { type = types.str; default = "x86_64-linux"; };
    nixpkgs.config = mkOption { type = types.attrsOf types.anything; default = { }; };
    nix.settings = mkOption { type = types.attrsOf types.anything; default = { }; };
    services.openssh.settings = mkOption { type = types.attrsOf types.anything; default = { }; };
    system.stateVersion = mkOption { type = types.str; };
  };
}
