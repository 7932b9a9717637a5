# A stand-in for `pkgs`, built from the real nixpkgs library alone, for
# nix/tests/eval-modules.nix. Full nixpkgs cannot be had here, so nothing in it builds: every
# package and every file writer returns a FAKE derivation, an attribute set that looks
# enough like one for the module system and the modules (`type = "derivation"`, a
# made-up `outPath` under the store, `meta.mainProgram` for lib.getExe). What a writer was
# given is kept on it (`text`, `value`, `runtimeInputs`, …), so tests can read what a real
# build would have written. Only what the modules (and sops-nix's) ask for is here: a
# missing attribute fails evaluation and names it.
{ lib }:
let
  # The fake store path hashes the name and whatever content the writer was given, so two
  # different files never share a path (and an unchanged one keeps it).
  fake = name: attrs:
    let
      hash = builtins.substring 0 32 (builtins.hashString "sha256" (builtins.toJSON {
        inherit name;
        content = attrs.text or attrs.value or null;
      }));
    in
    attrs // {
      type = "derivation";
      inherit name;
      outPath = "${builtins.storeDir}/${hash}-${name}";
      meta = { mainProgram = name; } // attrs.meta or { };
      fakeDerivation = true;
    };

  package = name: fake name { };

  pkgs = lib.genAttrs
    [
      "abra"
      "age"
      "bash"
      "cc-ci"
      "coreutils"
      "curl"
      "debootstrap"
      "docker"
      "drone-runner-exec"
      "gawk"
      "git"
      "gnugrep"
      "gnupg"
      "gnused"
      "jq"
      "openssl"
      "sops-install-secrets"
      "socat"
      "util-linux"
    ]
    package
  // {
    callPackage = lib.callPackageWith (pkgs // { inherit lib; });

    stdenv = rec {
      hostPlatform = { system = "x86_64-linux"; };
      buildPlatform = hostPlatform;
    };

    writeText = name: text: fake name { inherit text; };

    writeTextFile = { name, ... }@args: fake name args;

    writeShellApplication = { name, text, runtimeInputs ? [ ], ... }@args:
      fake name (args // { inherit text runtimeInputs; });

    dockerTools.buildLayeredImage = { name, ... }@args:
      fake "docker-image-${name}.tar.gz" (args // { imageName = name; imageTag = "fake"; });

    # The value type is the one nixpkgs' `formats.toml` declares (null, booleans, numbers,
    # strings, paths, and attribute sets and lists of those); the real `generate` runs
    # json2toml in a build, this one keeps the value it would have written.
    formats.toml = {}: {
      type =
        let
          valueType = lib.types.nullOr
            (lib.types.oneOf [
              lib.types.bool
              lib.types.int
              lib.types.float
              lib.types.str
              lib.types.path
              (lib.types.attrsOf valueType)
              (lib.types.listOf valueType)
            ]) // { description = "TOML value"; };
        in
        valueType;
      generate = name: value: fake name { inherit value; };
    };
  };
in
pkgs
