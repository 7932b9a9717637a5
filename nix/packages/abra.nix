# abra, the Co-op Cloud command line, built from source.
#
# The flake passes `src` from its `abra-src` input (a release tarball whose content hash
# flake.lock records) and `version`; without the flake, pass any fetcher, e.g.
#   fetchFromGitea { domain = "git.coopcloud.tech"; owner = "toolshed"; repo = "abra";
#                    rev = version; hash = "sha256-…"; }
# abra commits its vendor/ directory (vendorHash = null), as nixpkgs' own abra package
# relies on; if a release stops doing so, set vendorHash (docs/install.md, "Updating abra").
{ lib
, buildGoModule
, src
, version
, vendorHash ? null
}:

buildGoModule {
  pname = "abra";
  inherit version src vendorHash;

  subPackages = [ "cmd/abra" ];

  ldflags = [
    "-s"
    "-w"
    "-X main.Version=${version}"
  ];

  # abra's tests need a Docker daemon and the network.
  doCheck = false;

  meta = {
    description = "The Co-op Cloud command line, pinned for cc-ci";
    homepage = "https://docs.coopcloud.tech/abra";
    license = lib.licenses.gpl3Plus;
    mainProgram = "abra";
  };
}
