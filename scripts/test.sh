#!/usr/bin/env bash
# The whole test suite (what CI runs via .ci/run):
#   fetch the pinned helm v3/v4 (scripts/fetch-helm.sh), set up podman
#   (scripts/setup-podman.sh, needs root), build the image of real servers
#   (scripts/build-real-image.sh, about 2 minutes the first time), fmt,
#   clippy, cargo-deny (deny.toml; installed once), build benches/examples,
#   every test but the real cluster's; then
#   the test Kubernetes (scripts/kube-cluster.sh up: about 16 minutes to
#   build the first time, then cached, and 25 s to start) for
#   tests/probe_kube.rs alone, stopped again on exit. The cluster runs only
#   while its tests do: its idle load does not slow the podman probes.
# tests/e2e_plugin.rs installs the plugin into both helms; it finds them through
# NETAUDIT_HELM_V3 / NETAUDIT_HELM_V4, exported here. tests/nca_oracle.rs
# needs IBM's Network Config Analyzer (scripts/setup-nca.sh: a venv under
# ${XDG_CACHE_HOME:-~/.cache}/netaudit-nca, pip-installed once), and
# tests/policy_flavors.rs the CRD validators (scripts/setup-crd-validators.sh:
# ${XDG_CACHE_HOME:-~/.cache}/netaudit-crd, npm-installed and cargo-built once),
# tests/html_report.rs Debian's chromium (scripts/setup-chromium.sh).
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
export CONTAINERS_CONF="$ROOT/podman/containers.conf"

echo "==> scripts/build-real-image.sh (real servers from Debian packages; cached once built)"
bash scripts/build-real-image.sh
# tests/probe_podman.rs fails, instead of skipping, when podman is missing.
export NETAUDIT_REQUIRE_PODMAN=1

echo "==> scripts/setup-nca.sh (IBM's Network Config Analyzer in a venv under ~/.cache; installed once)"
# tests/nca_oracle.rs compares `netaudit reach` with NCA; it finds NCA's
# python through NETAUDIT_NCA and fails, instead of skipping, without it.
NETAUDIT_NCA="$(bash scripts/setup-nca.sh | tail -n1)"
export NETAUDIT_NCA
export NETAUDIT_REQUIRE_NCA=1

echo "==> scripts/setup-crd-validators.sh (Cilium's and Calico's CRD schemas as validators, under ~/.cache; built once)"
# tests/policy_flavors.rs validates the Cilium and Calico policies fix writes;
# it finds the validators through NETAUDIT_CRD and fails without them.
NETAUDIT_CRD="$(bash scripts/setup-crd-validators.sh | tail -n1)"
export NETAUDIT_CRD
export NETAUDIT_REQUIRE_CRD=1

echo "==> scripts/setup-chromium.sh (Debian's chromium, for the -o html report in a real browser)"
# tests/html_report.rs opens the HTML report in headless Chromium; it finds
# it through NETAUDIT_CHROMIUM and fails, instead of skipping, without it.
NETAUDIT_CHROMIUM="$(bash scripts/setup-chromium.sh | tail -n1)"
export NETAUDIT_CHROMIUM
export NETAUDIT_REQUIRE_CHROMIUM=1

echo "==> cargo fmt --all -- --check"
cargo fmt --all -- --check

echo "==> cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

echo "==> cargo deny --offline check licenses bans sources (deny.toml, docs/supply-chain.md)"
if ! command -v cargo-deny >/dev/null 2>&1; then
    echo "    installing cargo-deny 0.20.2 into ~/.cargo/bin (once, a few minutes)"
    cargo install --locked --quiet cargo-deny@0.20.2
fi
# The check runs offline; the crates of every platform it looks at must be
# in cargo's cache first.
cargo fetch --quiet
cargo deny --offline check licenses bans sources

echo "==> cargo build --benches --examples (compile check; benchmarks run with cargo bench)"
cargo build --benches --examples

log="$(mktemp)"
kube_started=0
stop_cluster() {
    if [ "$kube_started" = 1 ]; then
        bash scripts/kube-cluster.sh down >/dev/null 2>&1 || echo "scripts/kube-cluster.sh down failed" >&2
    fi
}
trap 'stop_cluster; rm -f "$log"' EXIT

# Every test target but the real cluster's, then that one with the cluster.
targets=()
for file in tests/*.rs; do
    name="$(basename "$file" .rs)"
    [ "$name" = probe_kube ] || targets+=(--test "$name")
done
status=0
echo "==> cargo test --lib --bins ${targets[*]}"
cargo test --no-fail-fast --lib --bins "${targets[@]}" 2>&1 | tee -a "$log" || status=1

echo "==> scripts/kube-cluster.sh up (a one-node Kubernetes 1.20 on loopback, kube-proxy and a cluster DNS; built once, about 16 minutes, then cached)"
# A cluster that was already up is left up; one started here is stopped on exit.
if ! bash scripts/kube-cluster.sh status >/dev/null 2>&1; then
    kube_started=1
fi
bash scripts/kube-cluster.sh up
export NETAUDIT_TEST_KUBECONFIG="${NETAUDIT_KUBE_DIR:-/var/lib/netaudit-kube}/admin.kubeconfig"
# tests/probe_kube.rs fails, instead of skipping, when the cluster is missing.
export NETAUDIT_REQUIRE_KUBE=1
echo "==> cargo test --test probe_kube"
cargo test --test probe_kube 2>&1 | tee -a "$log" || status=1

# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
