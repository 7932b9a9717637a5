# shellcheck shell=sh
# Versions of the recipe's swarm configs: bump one whenever its file changes.
export ENTRYPOINT_VERSION=v1
export NGINX_CONF_VERSION=v1
export PG_BACKUP_VERSION=v1
