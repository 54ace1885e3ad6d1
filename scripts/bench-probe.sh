#!/usr/bin/env bash
# Probe overhead beyond readiness: for testdata/charts/probe-clean (1 workload
# of 2 replicas: 1 pod on podman, which runs one pod per workload, 2 on
# Kubernetes) and testdata/charts/probe-ten-pods (10 pods), RUNS times each,
# `netaudit install --probe --settle 0s -o json`, reading the per-phase
# timings the JSON report carries (probe.timings_ms).
#
#   bash scripts/bench-probe.sh                 # podman, RUNS=5 by default
#   RUNTIME=kube bash scripts/bench-probe.sh    # the cluster of scripts/kube-cluster.sh up
#
# Needs root, podman and the test image (bash scripts/setup-podman.sh), and
# helm (HELM_BIN, else .tools/helm-v4/helm). RUNTIME=kube uses KUBECONFIG,
# else the test cluster's kubeconfig.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-5}"
RUNTIME="${RUNTIME:-podman}"
case "$RUNTIME" in
  podman) runtime_args=(--runtime podman --pull never) ;;
  # Helm 4 applies server-side by default, which Kubernetes 1.20 refuses.
  kube) runtime_args=(--runtime kube --helm-arg=--server-side=false)
        export KUBECONFIG="${KUBECONFIG:-${NETAUDIT_KUBE_DIR:-/var/lib/netaudit-kube}/admin.kubeconfig}" ;;
  *) echo "bench-probe: RUNTIME must be podman or kube" >&2; exit 2 ;;
esac
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/podman/containers.conf}"
export HELM_BIN="${HELM_BIN:-$ROOT/.tools/helm-v4/helm}"
cargo build --release -q --bin netaudit
BIN="$ROOT/target/release/netaudit"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for chart in probe-clean probe-ten-pods; do
  for i in $(seq 1 "$RUNS"); do
    start=$(date +%s%N)
    "$BIN" install bench "testdata/charts/$chart" --probe "${runtime_args[@]}" --settle 0s -o json > "$out/$chart-$i.json" || true
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 )) > "$out/$chart-$i.wall"
  done
done

python3 - "$out" "$RUNS" "$RUNTIME" <<'PY'
import json, statistics, sys
out, runs, runtime = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print(f"{'chart':<16}{'pods':>5}{'install':>9}{'wait r1':>9}{'probe r1':>10}{'restart':>9}{'wait r2':>9}{'probe r2':>10}{'cleanup':>9}{'wall':>8}   (medians, ms)")
for chart in ["probe-clean", "probe-ten-pods"]:
    rows = []
    for i in range(1, runs + 1):
        report = json.load(open(f"{out}/{chart}-{i}.json"))
        t = report["probe"]["timings_ms"]
        wall = int(open(f"{out}/{chart}-{i}.wall").read())
        rows.append([t["install"], t["wait"][0], t["probe"][0], t["restart"][0], t["wait"][1], t["probe"][1], t["cleanup"], wall])
    med = [statistics.median(col) for col in zip(*rows)]
    n = {"probe-clean": 1 if runtime == "podman" else 2, "probe-ten-pods": 10}[chart]
    print(f"{chart:<16}{n:>5}" + "".join(f"{v:>9.0f}" if k not in (2, 5) else f"{v:>10.0f}" for k, v in enumerate(med)) )
PY
