# shellcheck shell=bash
# Settings for running cc-ci-run on this machine (the demo, the end-to-end tests): the test
# zone, its local proxy and CA, the local forge, and which abra to use. Sourced.
export CCCI_STATE_DIR=${CCCI_STATE_DIR:-$HOME/.local/state/cc-ci}
export CCCI_ZONE=${CCCI_ZONE:-ci.test}
export CCCI_RESOLVE_TO=${CCCI_RESOLVE_TO:-127.0.0.1}
export CCCI_CA_FILE=${CCCI_CA_FILE:-$CCCI_STATE_DIR/pki/ca.crt}
export CCCI_FORGE_URL=${CCCI_FORGE_URL:-file://$CCCI_STATE_DIR/forge}
if [ -z "${CCCI_ABRA:-}" ]; then
  if command -v abra >/dev/null 2>&1; then
    CCCI_ABRA=$(command -v abra)
  else
    CCCI_ABRA="$(pwd)/.venv/bin/abra-sim"
    echo "abra is not installed here: using abra-sim, a stand-in for abra's CLI (docs/abra-sim.md)" >&2
  fi
fi
export CCCI_ABRA

# backup-bot-two's image cannot be had here: unless a backupbot already runs on the swarm,
# deploy backupbot-standin (a stand-in for it, docs/backupbot-standin.md) as this script's
# (its owner label) and remove it when the calling script exits, so no backupbot stays on
# the shared swarm; one someone else deployed meanwhile is theirs and left up.
backupbot_for_this_run() {
  if [ -n "$(docker service ls -q --filter label=coop-cloud.backupbot.enabled=true)" ]; then
    return 0
  fi
  echo "backup-bot-two cannot be had here: deploying backupbot-standin, a stand-in for it" \
    "built from its label contract (docs/backupbot-standin.md)" >&2
  backupbot_owner="script:$(basename "$0"):$$"
  trap '.venv/bin/python -m devworld.backupbot down --owner "$backupbot_owner" >&2 || echo "could not remove backupbot-standin: run .venv/bin/python -m devworld.backupbot down" >&2' EXIT
  .venv/bin/python -m devworld.backupbot up --owner "$backupbot_owner" >&2
}
