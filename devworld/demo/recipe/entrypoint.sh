#!/bin/sh
# The demo app: serve /data (a volume) over HTTP; write the running version beside it.
set -eu
if [ ! -f /data/index.html ]; then
  printf '<!doctype html><title>cc-ci demo</title><h1>%s from the cc-ci demo app</h1>\n' \
    "$GREETING" >/data/index.html
fi
cp /etc/demo-version /data/app-version.txt
test -s /run/secrets/admin_password
# As PID 1 httpd would ignore SIGTERM: stop promptly when swarm asks.
httpd -f -p 8080 -h /data &
trap 'kill "$!"; exit 0' TERM INT
wait
