# shellcheck shell=bash
# Puts cc-ci's tools on PATH. Sourced by scripts/test, scripts/demo and friends.
CCCI_TOOLS=${CCCI_TOOLS:-$HOME/.cache/cc-ci}
export CCCI_TOOLS
export PATH="$CCCI_TOOLS/bin:$CCCI_TOOLS/cargo/bin:$PATH"
