{
  description = "cc-ci: continuous integration for Co-op Cloud recipes, one NixOS flake";

  inputs = {
    # NixOS 24.11 at the revision the first cc-ci server ran (nixos-24.11, 2025-06-30).
    # Bump deliberately: change the revision here, then `nix flake lock`.
    nixpkgs.url = "github:NixOS/nixpkgs/50ab793786d9de88ee30ec4e4c24fb4236fc2674";

    # sops-nix of 2025-06-17: later revisions need Go 1.25, which nixpkgs 24.11 lacks.
    sops-nix = {
      url = "github:Mic92/sops-nix/77c423a03b9b2b79709ea2cb63336312e78b72e2";
      inputs.nixpkgs.follows = "nixpkgs";
    };

    # abra's source at its release tag. flake.lock records its content hash, so a moved tag
    # fails the build instead of changing it. To update: change the tag, `nix flake lock
    # --update-input abra-src`, and `version` in overlays.default below.
    abra-src = {
      url = "https://git.coopcloud.tech/toolshed/abra/archive/0.13.0-beta.tar.gz";
      flake = false;
    };
  };

  outputs = { self, nixpkgs, sops-nix, abra-src }:
    let
      inherit (nixpkgs) lib;

      systems = [ "x86_64-linux" "aarch64-linux" ];

      # drone-runner-exec is under the Polyform licence, which nixpkgs counts as unfree.
      unfree = [ "drone-runner-exec" ];

      forAllSystems = f: lib.genAttrs systems (system: f (import nixpkgs {
        inherit system;
        overlays = [ self.overlays.default ];
        config.allowUnfreePredicate = pkg: builtins.elem (lib.getName pkg) unfree;
      }));

      ccLib = import ./nix/lib.nix;

      libFacts = import ./nix/tests/lib-test.nix { lib = ccLib; };
    in
    {
      lib = ccLib;

      overlays.default = final: prev: {
        # abra 0.13 wants a newer Go than 24.11's default where one is available.
        abra = final.callPackage ./nix/packages/abra.nix {
          buildGoModule = prev.buildGo124Module or prev.buildGoModule;
          src = abra-src;
          version = "0.13.0-beta";
        };
        cc-ci = final.callPackage ./nix/packages/cc-ci.nix { };
      };

      nixosModules.default = {
        imports = [
          sops-nix.nixosModules.sops
          ./nix/modules
        ];
        nixpkgs.overlays = [ self.overlays.default ];
      };

      nixosConfigurations.cc-ci = nixpkgs.lib.nixosSystem {
        modules = [
          self.nixosModules.default
          ./nix/hosts/cc-ci/configuration.nix
        ];
      };

      packages = forAllSystems (pkgs: {
        inherit (pkgs) abra cc-ci;
        default = pkgs.cc-ci;
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            (pkgs.python3.withPackages (ps: [ ps.pytest ps.playwright ps.pyyaml ]))
            pkgs.abra
            pkgs.age
            pkgs.deadnix
            pkgs.docker-client
            pkgs.git
            pkgs.nixpkgs-fmt
            pkgs.shellcheck
            pkgs.shfmt
            pkgs.sops
            pkgs.yamllint
          ];
          PLAYWRIGHT_BROWSERS_PATH = "${pkgs.playwright-driver.browsers}";
        };
      });

      checks = forAllSystems (pkgs: {
        package = pkgs.cc-ci;

        lib-facts =
          if libFacts.failed == [ ]
          then pkgs.runCommand "cc-ci-lib-facts" { } "echo ${toString (builtins.length libFacts.cases)} > $out"
          else throw "nix/lib.nix: ${builtins.toJSON libFacts.failed}";

        lint = pkgs.runCommand "cc-ci-lint"
          {
            nativeBuildInputs = [ pkgs.deadnix pkgs.nixpkgs-fmt pkgs.shellcheck pkgs.shfmt pkgs.yamllint ];
          } ''
          cd ${self}
          nixpkgs-fmt --check flake.nix $(find nix -name '*.nix')
          deadnix --fail flake.nix nix
          shellcheck scripts/secrets nix/reconcile/*.sh
          shfmt -i 2 -ci -d scripts/secrets nix/reconcile/*.sh
          yamllint --strict .drone.yml
          touch $out
        '';
      });

      formatter = forAllSystems (pkgs: pkgs.nixpkgs-fmt);
    };
}
