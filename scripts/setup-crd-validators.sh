#!/usr/bin/env bash
# Install the schema validators of the policy CRDs that `fix --flavor`
# writes, for tests/policy_flavors.rs, into a directory outside the clone:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/netaudit-crd
#
# npm installs the pinned @kubernetes-models/cilium (MIT; validators
# generated from Cilium's CRD schemas by the kubernetes-models-ts project)
# from the registry npm is configured with (nothing here names one), next
# to scripts/crd/validate.mjs. Idempotent: a directory that already has the
# pinned version is kept (no network access). Prints the directory on
# stdout (the last line), which the test reads from NETAUDIT_CRD:
#
#   export NETAUDIT_CRD="$(bash scripts/setup-crd-validators.sh | tail -n1)"
set -euo pipefail

CILIUM="4.0.0"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/netaudit-crd"

log() { echo "setup-crd-validators: $*" >&2; }

installed() {
    [ -f "$DIR/node_modules/@kubernetes-models/cilium/package.json" ] &&
        grep -q "\"version\": \"$CILIUM\"" "$DIR/node_modules/@kubernetes-models/cilium/package.json"
}

command -v node >/dev/null || { log "error: node is needed (Debian: nodejs)"; exit 1; }
if ! installed; then
    command -v npm >/dev/null || { log "error: npm is needed (Debian: npm)"; exit 1; }
    log "installing @kubernetes-models/cilium@$CILIUM into $DIR (once, a few seconds)"
    mkdir -p "$DIR"
    printf '{"name": "netaudit-crd-validators", "private": true, "type": "module"}\n' >"$DIR/package.json"
    (cd "$DIR" && npm install --silent --no-audit --no-fund --save-exact "@kubernetes-models/cilium@$CILIUM" >&2)
    installed || { log "error: @kubernetes-models/cilium $CILIUM is not installed in $DIR"; exit 1; }
fi
# The validator runs from the directory whose node_modules it imports.
cp "$HERE/crd/validate.mjs" "$DIR/validate.mjs"
echo "$DIR"
