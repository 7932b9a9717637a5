#!/bin/sh
# Secrets into Keycloak's env, then start the prebuilt (kc.sh build) server.
set -eu
KC_DB_PASSWORD=$(tr -d '\n' </run/secrets/db_password)
KC_BOOTSTRAP_ADMIN_PASSWORD=$(tr -d '\n' </run/secrets/admin_password)
export KC_DB_PASSWORD KC_BOOTSTRAP_ADMIN_PASSWORD
exec /opt/keycloak/bin/kc.sh start --optimized
