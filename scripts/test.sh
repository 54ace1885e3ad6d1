#!/usr/bin/env bash
# The whole test suite (what CI runs via .ci/run):
#   fetch the pinned helm v3/v4 (scripts/fetch-helm.sh), set up podman
#   (scripts/setup-podman.sh, needs root), build the image of real servers
#   (scripts/build-real-image.sh, about 2 minutes the first time), start the
#   test Kubernetes (scripts/kube-cluster.sh up: about 14 minutes to build
#   the first time, then cached, and 25 s to start), then fmt, clippy, build
#   benches/examples, tests; the cluster is stopped again on exit.
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

echo "==> scripts/kube-cluster.sh up (a one-node Kubernetes 1.20 on loopback; built once, about 14 minutes, then cached)"
# tests/probe_kube.rs runs the kube runtime and audit against it. A cluster
# that was already up is left up; one started here is stopped on exit.
kube_started=0
if ! bash scripts/kube-cluster.sh status >/dev/null 2>&1; then
    kube_started=1
fi
stop_cluster() {
    if [ "$kube_started" = 1 ]; then
        bash scripts/kube-cluster.sh down >/dev/null 2>&1 || echo "scripts/kube-cluster.sh down failed" >&2
    fi
}
log=""
trap 'stop_cluster; [ -z "$log" ] || rm -f "$log"' EXIT
bash scripts/kube-cluster.sh up
export NETAUDIT_TEST_KUBECONFIG="${NETAUDIT_KUBE_DIR:-/var/lib/netaudit-kube}/admin.kubeconfig"
# tests/probe_kube.rs fails, instead of skipping, when the cluster is missing.
export NETAUDIT_REQUIRE_KUBE=1

echo "==> cargo fmt --all -- --check"
cargo fmt --all -- --check

echo "==> cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

echo "==> cargo build --benches --examples (compile check; benchmarks run with cargo bench)"
cargo build --benches --examples

echo "==> cargo test --lib --bins --tests"
log="$(mktemp)"
cargo test --lib --bins --tests 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
