#!/usr/bin/env bash
# Install the schema validators of the policy CRDs that `fix --flavor`
# writes, for tests/policy_flavors.rs, into a directory outside the clone:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/netaudit-crd
#
# - Cilium: npm installs the pinned @kubernetes-models/cilium (MIT;
#   validators generated from Cilium's CRD schemas by the kubernetes-models-ts
#   project), next to scripts/crd/validate.mjs.
# - Cilium and Calico: cargo builds scripts/crd/typed (a copy, with its
#   Cargo.lock) as `crd-validate`, on the pinned kcr_cilium_io and
#   kcr_crd_projectcalico_org (0BSD; typed bindings kopium generates from the
#   projects' CRDs), which also refuses fields the schemas do not have.
# Both from the registries npm and cargo are configured with (nothing here
# names one). Idempotent: what is already there at the pinned versions and
# the same sources is kept (no network access). Prints the directory on
# stdout (the last line), which the tests read from NETAUDIT_CRD:
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

# The typed validator, rebuilt when its sources change.
command -v cargo >/dev/null || { log "error: cargo is needed"; exit 1; }
SOURCES="$(cd "$HERE/crd/typed" && cat Cargo.toml Cargo.lock src/main.rs | sha256sum | cut -d' ' -f1)"
if [ ! -x "$DIR/crd-validate" ] || [ "$(cat "$DIR/typed/sources" 2>/dev/null)" != "$SOURCES" ]; then
    log "building the typed CRD validator into $DIR (once, about a minute)"
    rm -f "$DIR/crd-validate"
    mkdir -p "$DIR/typed/src"
    cp "$HERE/crd/typed/Cargo.toml" "$HERE/crd/typed/Cargo.lock" "$DIR/typed/"
    cp "$HERE/crd/typed/src/main.rs" "$DIR/typed/src/"
    # Its own target directory: nothing of the clone's build is touched.
    (cd "$DIR/typed" && cargo build --quiet --release --locked --target-dir "$DIR/typed/target" >&2)
    cp "$DIR/typed/target/release/netaudit-crd-validate" "$DIR/crd-validate"
    echo "$SOURCES" >"$DIR/typed/sources"
fi
echo "$DIR"
