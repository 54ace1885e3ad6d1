#!/usr/bin/env bash
# Probe overhead beyond readiness, with the podman backend: for a 1-pod chart
# (testdata/charts/probe-clean) and a 10-pod chart (testdata/charts/probe-ten-pods),
# RUNS times each, `netaudit install --probe --settle 0s -o json`, reading the
# per-phase timings the JSON report carries (probe.timings_ms).
#
#   bash scripts/bench-probe.sh            # RUNS=5 by default
#
# Needs root, podman and the test image (bash scripts/setup-podman.sh), and
# helm (HELM_BIN, else .tools/helm-v4/helm).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-5}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/testdata/podman/containers.conf}"
export HELM_BIN="${HELM_BIN:-$ROOT/.tools/helm-v4/helm}"
cargo build --release -q --bin netaudit
BIN="$ROOT/target/release/netaudit"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for chart in probe-clean probe-ten-pods; do
  for i in $(seq 1 "$RUNS"); do
    start=$(date +%s%N)
    "$BIN" install bench "testdata/charts/$chart" --probe --pull never --settle 0s -o json > "$out/$chart-$i.json" || true
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 )) > "$out/$chart-$i.wall"
  done
done

python3 - "$out" "$RUNS" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
print(f"{'chart':<16}{'pods':>5}{'install':>9}{'wait r1':>9}{'probe r1':>10}{'restart':>9}{'wait r2':>9}{'probe r2':>10}{'cleanup':>9}{'wall':>8}   (medians, ms)")
for chart in ["probe-clean", "probe-ten-pods"]:
    rows = []
    for i in range(1, runs + 1):
        report = json.load(open(f"{out}/{chart}-{i}.json"))
        t = report["probe"]["timings_ms"]
        wall = int(open(f"{out}/{chart}-{i}.wall").read())
        pods = len(report["summary"]["rows"]) and sum(1 for _ in report["probe"]["incomplete"])
        rows.append([t["install"], t["wait"][0], t["probe"][0], t["restart"][0], t["wait"][1], t["probe"][1], t["cleanup"], wall])
    med = [statistics.median(col) for col in zip(*rows)]
    n = 1 if chart == "probe-clean" else 10
    print(f"{chart:<16}{n:>5}" + "".join(f"{v:>9.0f}" if k not in (2, 5) else f"{v:>10.0f}" for k, v in enumerate(med)) )
PY
