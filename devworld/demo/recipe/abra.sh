# shellcheck shell=sh
# Versions of the recipe's swarm configs: bump one whenever its file changes.
export ENTRYPOINT_VERSION={{ENTRYPOINT_VERSION}}
