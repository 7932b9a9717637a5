# cc-ci's modules evaluated for real: `lib.evalModules` with the real nixpkgs library, the
# real sops-nix module, cc-ci's modules (nix/modules), declared stand-ins for the NixOS
# options they set (nixos-stubs.nix) and a stand-in `pkgs` whose packages are fake
# derivations (stand-in-pkgs.nix). scripts/bootstrap unpacks the first two from
# ../shared/vendor. nix/tests/test_nix_modules.py calls
#   import nix/tests/eval-modules.nix { nixpkgsLib = …/lib; sopsModule = …/modules/sops; modules = [ … ]; }
# and reads what it asserts about from the result.
{ nixpkgsLib, sopsModule, modules ? [ ] }:
let
  lib = import nixpkgsLib;
  pkgs = import ./stand-in-pkgs.nix { inherit lib; };
  eval = lib.evalModules {
    modules = [
      ./nixos-stubs.nix
      sopsModule
      ../modules
      {
        _module.args.pkgs = pkgs;
        # sops-install-secrets is a Go program built from sops-nix's pkgs/, which the vendored
        # archive (its modules/ alone) does not hold; sops-nix's default for this option
        # imports it from there. A fake derivation stands in.
        sops.package = pkgs.sops-install-secrets;
      }
    ] ++ modules;
  };
in
{
  inherit (eval) config options;
  inherit lib pkgs;
  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) eval.config.assertions);
  inherit (eval.config) warnings;
}
