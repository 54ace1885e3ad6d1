#!/usr/bin/env bash
# Install IBM np-guard's Network Config Analyzer (NCA), the independent
# oracle of tests/nca_oracle.rs, into a virtual environment outside the clone:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/netaudit-nca/venv
#
# pip installs the pinned network-config-analyzer from the package index
# pip is configured with (nothing here names one). Idempotent: a venv that
# already has the pinned version is kept as it is (no network access).
# Prints the venv's python on stdout (the last line), which the test reads
# from NETAUDIT_NCA:
#
#   export NETAUDIT_NCA="$(bash scripts/setup-nca.sh | tail -n1)"
set -euo pipefail

VERSION="2.1.0"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/netaudit-nca"
VENV="$CACHE/venv"
PYTHON="$VENV/bin/python"

log() { echo "setup-nca: $*" >&2; }

installed() {
    [ -x "$PYTHON" ] &&
        [ "$("$PYTHON" -m pip show network-config-analyzer 2>/dev/null | sed -n 's/^Version: //p')" = "$VERSION" ]
}

if ! installed; then
    command -v python3 >/dev/null || { log "error: python3 is needed"; exit 1; }
    log "installing network-config-analyzer==$VERSION into $VENV (once, about 15 seconds)"
    mkdir -p "$CACHE"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$PYTHON" -m pip install --quiet "network-config-analyzer==$VERSION" >&2
    installed || { log "error: network-config-analyzer $VERSION is not installed in $VENV"; exit 1; }
fi
echo "$PYTHON"
