#!/bin/sh
# Write homeserver.yaml from the env and the secrets, make the signing key once (it lives in
# the data volume), then run Synapse.
set -eu
secret() { tr -d '\n' <"/run/secrets/$1"; }
mkdir -p /data/media_store /etc/synapse
cat >/etc/synapse/homeserver.yaml <<YAML
server_name: "${SYNAPSE_SERVER_NAME}"
public_baseurl: "https://${DOMAIN}/"
pid_file: /tmp/homeserver.pid
listeners:
  - port: 8008
    tls: false
    type: http
    x_forwarded: true
    bind_addresses: ["0.0.0.0"]
    resources:
      - names: [client, federation]
        compress: false
database:
  name: psycopg2
  args:
    user: "${POSTGRES_USER}"
    password: "$(secret db_password)"
    database: "${POSTGRES_DB}"
    host: "${POSTGRES_HOST}"
    cp_min: 1
    cp_max: 5
media_store_path: /data/media_store
signing_key_path: /data/signing.key
registration_shared_secret: "$(secret registration)"
macaroon_secret_key: "$(secret macaroon)"
form_secret: "$(secret form)"
report_stats: false
enable_registration: false
trusted_key_servers: []
suppress_key_server_warning: true
YAML
python -m synapse.app.homeserver -c /etc/synapse/homeserver.yaml --generate-keys
exec python -m synapse.app.homeserver -c /etc/synapse/homeserver.yaml
