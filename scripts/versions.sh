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
