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
