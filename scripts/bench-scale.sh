#!/bin/sh
# Scale benchmark: `netaudit lint` of synthetic cluster dumps
# (examples/synthetic.rs): 1k, 10k and 100k Deployments with a Service each,
# a policy per namespace, some label collisions, in two shapes:
#   selected     100 namespaces, every workload selected by a policy
#   unprotected  50 namespaces, a seventh of the workloads selected (most get
#                M6 and an exposure to any pod, as in real clusters)
# One core (taskset), wall time and peak memory (/usr/bin/time), median of
# RUNS. docs/performance.md quotes the output.
#
#   bash scripts/bench-scale.sh [RUNS]      (default 3)
set -eu
runs=${1:-3}
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin netaudit --example synthetic
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| shape | workloads | input | wall s (median of $runs) | peak RSS MiB (median) |"
echo "|---|---:|---:|---:|---:|"
for shape in selected unprotected; do
  for n in 1000 10000 100000; do
    ./target/release/examples/synthetic "$n" "$shape" > "$tmp/cluster.yaml"
    size=$(du -m "$tmp/cluster.yaml" | cut -f1)
    : > "$tmp/times"
    i=0
    while [ "$i" -lt "$runs" ]; do
      # Exit 1: the dump has findings (collisions), as it should.
      /usr/bin/time -f "%e %M" -o "$tmp/one" taskset -c 0 ./target/release/netaudit lint \
        --manifests "$tmp/cluster.yaml" --max-input-size 1GiB -o json > /dev/null || true
      tail -n 1 "$tmp/one" >> "$tmp/times"
      i=$((i + 1))
    done
    wall=$(cut -d' ' -f1 "$tmp/times" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    rss=$(cut -d' ' -f2 "$tmp/times" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    echo "| $shape | $n | ${size} MiB | $wall | $((rss / 1024)) |"
  done
done
