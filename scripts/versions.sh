# shellcheck shell=bash
# Pinned versions of everything scripts/bootstrap installs. Sourced, not run.
# shellcheck disable=SC2034
DEBIAN_PACKAGES=(
  docker.io chromium nix-bin age git openssl shellcheck yamllint
  busybox-static util-linux ca-certificates debootstrap
)
SOPS_VERSION=v3.13.3
# The newest Traefik whose every dependency the Go module proxy here serves (v3.7.x lacks some).
TRAEFIK_VERSION=v3.6.12
# abra's release tags have no leading "v"; Go accepts such a tag only as a revision query.
ABRA_VERSION=0.13.0-beta
# A real Gitea for the bridge's tests on loopback (its go.mod has replace directives; v1.27.x
# needs modules the Go module proxy here refuses, e.g. gitea.dev/sdk).
GITEA_VERSION=v1.26.0
NIXPKGS_FMT_VERSION=1.3.0
DEADNIX_VERSION=1.3.1
# Third-party sources no registry here serves, from ../shared/vendor beside the clone (checked
# against its SHA256SUMS): the real nixpkgs library and sops-nix's modules, which
# nix/tests/test_nix_modules.py evaluates cc-ci's modules with.
NIX_VENDOR_ARCHIVES=(nixpkgs-lib-07aef7aa.tar.gz sops-nix-56b2406-modules.tar.gz)
# The real Drone for the local world (devworld/world.py), built from ../shared/vendor: the server
# (v2.0.4, with the runner protocol) and its exec runner. Production uses the operator's Drone.
DRONE_SERVER_ARCHIVE=drone-2.0.4-src.tar.gz
DRONE_RUNNER_EXEC_ARCHIVE=drone-runner-exec-1.0.0-beta.10-src.tar.gz
