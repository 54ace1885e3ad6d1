#!/usr/bin/env bash
# How much does `netaudit lint CHART` add to a bare `helm template CHART`?
#
#   bash scripts/bench-lint-overhead.sh            # hyperfine if installed, else a loop
#   RUNS=100 bash scripts/bench-lint-overhead.sh
#   NO_HYPERFINE=1 bash scripts/bench-lint-overhead.sh   # force the plain loop
#
# Charts measured (we only have the sources of our own charts; the corpus in
# ../shared/corpus holds rendered output, not chart sources):
#   - examples/insecure-shop
#   - the testdata/charts/* chart with the largest rendered output
#   - "rook-ceph-static": a throw-away chart whose only template emits the
#     rendered corpus file cncf/rook-ceph.yaml (2 MB, the largest) verbatim
#     through .Files.Get. helm still renders, splits and parses all of it, so
#     its time is a real LOWER bound for `helm template` of a chart of that
#     size (the real chart adds template logic on top), and the overhead
#     measured on it is an upper bound. Skipped when the corpus is absent.
#
# Helm: $HELM_BIN, else .tools/helm-v4/helm,
# else helm on PATH. netaudit runs helm itself (HELM_BIN is exported for it).
# Results: a table on stdout, and the hyperfine exports in $OUT (default
# target/bench-lint-overhead/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-50}"
OUT="${OUT:-$ROOT/target/bench-lint-overhead}"
CORPUS="${NETAUDIT_CORPUS:-$ROOT/../shared/corpus}"
NS=bench
mkdir -p "$OUT"

if [[ -n "${HELM_BIN:-}" ]]; then
  HELM="$HELM_BIN"
elif [[ -x .tools/helm-v4/helm ]]; then
  HELM="$ROOT/.tools/helm-v4/helm"
elif [[ -x /tmp/helmdl/x33/layer/helm/helm ]]; then
  HELM=/tmp/helmdl/x33/layer/helm/helm
elif command -v helm >/dev/null; then
  HELM="$(command -v helm)"
else
  echo "no helm found: set HELM_BIN or run scripts/fetch-helm.sh" >&2
  exit 2
fi
export HELM_BIN="$HELM"
# A private helm home, so the user's repositories and plugins play no part.
export HELM_CACHE_HOME="$OUT/helm-home/cache" HELM_CONFIG_HOME="$OUT/helm-home/config" HELM_DATA_HOME="$OUT/helm-home/data"

echo "==> cargo build --release"
cargo build --release --quiet
NETAUDIT="$ROOT/target/release/netaudit"

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "helm:    $HELM ($("$HELM" version --short 2>/dev/null || echo '?'))"
echo "netaudit: $("$NETAUDIT" --version 2>/dev/null || echo '?')"
echo "runs:    $RUNS per command"

# The testdata chart with the largest rendered output.
biggest="" biggest_size=0
for dir in testdata/charts/*/; do
  [[ -f "$dir/Chart.yaml" ]] || continue
  size=$("$HELM" template bench "$dir" --namespace "$NS" 2>/dev/null | wc -c || echo 0)
  if (( size > biggest_size )); then biggest="${dir%/}" biggest_size=$size; fi
done

charts=("examples/insecure-shop")
[[ -n "$biggest" ]] && charts+=("$biggest")

# The static 2 MB chart built from the largest corpus file.
STATIC_SRC="$CORPUS/rendered/cncf/rook-ceph.yaml"
if [[ -f "$STATIC_SRC" ]]; then
  static="$OUT/rook-ceph-static"
  rm -rf "$static"
  mkdir -p "$static/templates" "$static/files"
  printf 'apiVersion: v2\nname: rook-ceph-static\nversion: 0.1.0\n' >"$static/Chart.yaml"
  : >"$static/values.yaml"
  cp "$STATIC_SRC" "$static/files/manifests.yaml"
  printf '{{ .Files.Get "files/manifests.yaml" }}\n' >"$static/templates/all.yaml"
  charts+=("$static")
else
  echo "(corpus not found at $CORPUS: skipping the rook-ceph-static chart)"
fi

# mean seconds of a command, by hyperfine or by a plain loop
have_hyperfine=0
[[ -z "${NO_HYPERFINE:-}" ]] && command -v hyperfine >/dev/null && have_hyperfine=1
[[ $have_hyperfine == 1 ]] || echo "(hyperfine not available or NO_HYPERFINE set: timing a loop of $RUNS runs with date; apt-get install -y hyperfine for better numbers)"

loop_mean() { # command... -> mean seconds over RUNS runs (the fallback reports means, not medians)
  local start end
  "$@" >/dev/null 2>&1 || true
  start=$(date +%s%N)
  for ((i = 0; i < RUNS; i++)); do "$@" >/dev/null 2>&1 || true; done
  end=$(date +%s%N)
  awk -v ns=$((end - start)) -v n="$RUNS" 'BEGIN { printf "%.6f", ns / n / 1e9 }'
}

printf '\n%-32s %10s %10s %10s %14s %10s %10s\n' chart "bytes" "helm (ms)" "lint (ms)" "analysis (ms)" "measured" "estimated"
for chart in "${charts[@]}"; do
  name="$(basename "$chart")"
  rendered="$OUT/$name.rendered.yaml"
  "$HELM" template bench "$chart" --namespace "$NS" >"$rendered"
  bytes=$(wc -c <"$rendered")
  helm_cmd=("$HELM" template bench "$chart" --namespace "$NS")
  lint_cmd=("$NETAUDIT" lint bench "$chart" --namespace "$NS" -o json --fail-on never)
  manifests_cmd=("$NETAUDIT" lint --manifests "$rendered" --namespace "$NS" -o json --fail-on never)
  if [[ $have_hyperfine == 1 ]]; then
    hyperfine --style none --warmup 3 --runs "$RUNS" -N \
      --export-json "$OUT/$name.json" --export-markdown "$OUT/$name.md" \
      -n helm-template "${helm_cmd[*]}" \
      -n netaudit-lint "${lint_cmd[*]}" \
      -n netaudit-manifests "${manifests_cmd[*]}" >"$OUT/$name.hyperfine.log" 2>&1
    read -r h l m < <(python3 -c '
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
print(*(r[k]["median"] for k in ("helm-template", "netaudit-lint", "netaudit-manifests")))' "$OUT/$name.json")
  else
    h=$(loop_mean "${helm_cmd[@]}")
    l=$(loop_mean "${lint_cmd[@]}")
    m=$(loop_mean "${manifests_cmd[@]}")
  fi
  awk -v c="$name" -v b="$bytes" -v h="$h" -v l="$l" -v m="$m" \
    'BEGIN { printf "%-32s %10d %10.1f %10.1f %14.1f %9.1f%% %9.1f%%\n", c, b, h * 1e3, l * 1e3, m * 1e3, (l / h - 1) * 100, m / h * 100 }'
done
cat <<'EOF'

times are medians (hyperfine) or means (fallback loop)
helm (ms):     helm template alone
lint (ms):     netaudit lint CHART (runs helm template, reads values.yaml, analyses, writes JSON)
analysis (ms): netaudit lint --manifests RENDERED (no helm: process start + read + analysis + JSON)
measured:      lint / helm - 1; on a 2-core machine helm's own run-to-run noise (several ms)
               is larger than the difference for small charts, so this column can even be negative
estimated:     analysis / helm: what lint adds on top of helm (target: under 5%)
EOF
[[ $have_hyperfine == 1 ]] && echo "hyperfine details (mean ± σ, min, max): $OUT/*.md"
