#!/usr/bin/env bash
# The whole test suite (what CI runs via .ci/run):
#   fetch the pinned helm v3/v4 (scripts/fetch-helm.sh), set up podman
#   (scripts/setup-podman.sh, needs root), build the image of real servers
#   (scripts/build-real-image.sh, about 2 minutes the first time), then fmt,
#   clippy, build benches/examples, tests.
# tests/e2e_plugin.rs installs the plugin into both helms; it finds them through
# NETAUDIT_HELM_V3 / NETAUDIT_HELM_V4, exported here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

echo "==> scripts/fetch-helm.sh"
bash scripts/fetch-helm.sh >/dev/null
export NETAUDIT_HELM_V4="$ROOT/.tools/helm-v4/helm"
export NETAUDIT_HELM_V3="$ROOT/.tools/helm-v3/helm"
# Tests that need helm fail, instead of skipping, when it is missing.
export NETAUDIT_REQUIRE_HELM=1

echo "==> scripts/setup-podman.sh (podman, runc and the local test image for the probe tests)"
bash scripts/setup-podman.sh
export CONTAINERS_CONF="$ROOT/testdata/podman/containers.conf"

echo "==> scripts/build-real-image.sh (real servers from Debian packages; cached once built)"
bash scripts/build-real-image.sh
# tests/probe_podman.rs fails, instead of skipping, when podman is missing.
export NETAUDIT_REQUIRE_PODMAN=1

echo "==> cargo fmt --all -- --check"
cargo fmt --all -- --check

echo "==> cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

echo "==> cargo build --benches --examples (compile check; benchmarks run with cargo bench)"
cargo build --benches --examples

echo "==> cargo test --lib --bins --tests"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --lib --bins --tests 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
