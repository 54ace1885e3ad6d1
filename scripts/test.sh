#!/usr/bin/env bash
# The whole test suite (what CI runs via .ci/run):
#   fetch the pinned helm v3/v4 (scripts/fetch-helm.sh), then fmt, clippy, tests.
# tests/e2e_plugin.rs installs the plugin into both helms; it finds them through
# NETAUDIT_HELM_V3 / NETAUDIT_HELM_V4, exported here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

echo "==> scripts/fetch-helm.sh"
bash scripts/fetch-helm.sh >/dev/null
export NETAUDIT_HELM_V4="$ROOT/.tools/helm-v4/helm"
export NETAUDIT_HELM_V3="$ROOT/.tools/helm-v3/helm"

echo "==> cargo fmt --all -- --check"
cargo fmt --all -- --check

echo "==> cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

echo "==> cargo test --all-targets"
cargo test --all-targets
