# shellcheck shell=sh
# Versions of the recipe's swarm configs: bump one whenever its file changes.
export NGINX_DEFAULT_CONF_VERSION={{CONF_VERSION}}
