#!/usr/bin/env bash
# The cost of observing flows: the wall time of `install --probe --runs 1`
# (and of its wait and probe phases) with two netaudit binaries, one that
# samples flows and one built before it did, on the same charts.
#
#   bash scripts/bench-observe.sh RUNTIME OLD_BINARY NEW_BINARY [N] [SET]
#
# SET is `fixtures` (default: the busybox charts) or `real`: the real
# servers that talk to each other (docs/real-software.md, the image of
# scripts/build-real-image.sh; on kube imported by scripts/kube-cluster.sh).
#
# RUNTIME is podman or kube (kube: KUBECONFIG must name the test cluster,
# scripts/kube-cluster.sh up). Prints one line per chart and binary: the
# median of N runs (default 5) of the wall time, the wait and the probe,
# in seconds (the wall time includes the cleanup: on kube, the namespace's
# deletion, which varies by seconds). HELM_BIN must name a helm
# (scripts/fetch-helm.sh).
set -euo pipefail
runtime=${1:?runtime: podman or kube}
old=${2:?the binary without flow sampling}
new=${3:?the binary with it}
n=${4:-5}
set_name=${5:-fixtures}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/podman/containers.conf}
# name:chart:values (insecure-shop's busybox is the local test image here;
# its CronJob is batch/v1, which the test cluster's Kubernetes 1.20 lacks).
case "$set_name" in
  fixtures)
    charts=("probe-services:$root/testdata/charts/probe-services:")
    if [ "$runtime" = podman ]; then
      charts+=("insecure-shop:$root/examples/insecure-shop:image.repository=localhost/netaudit-test,image.tag=latest")
    else
      charts+=("probe-misconfigured:$root/testdata/charts/probe-misconfigured:")
    fi
    ;;
  real)
    # A podman binary from before the flows runs one pod per StatefulSet:
    # the ensembles are compared on kube; on podman, one member each.
    charts=("real-redis:$root/testdata/charts/real-redis:")
    if [ "$runtime" = kube ]; then
      charts+=("zookeeper-ensemble:$root/testdata/charts/real-zookeeper:ensemble=true,jmx=false")
      charts+=("rabbitmq-cluster:$root/testdata/charts/real-rabbitmq:cluster=true")
    else
      charts+=("zookeeper:$root/testdata/charts/real-zookeeper:jmx=false")
      charts+=("rabbitmq:$root/testdata/charts/real-rabbitmq:")
    fi
    ;;
  *) echo "bench-observe: unknown set $set_name (fixtures or real)" >&2; exit 2 ;;
esac

median() { sort -n | awk '{a[NR]=$1} END {m=(NR+1)/2; printf "%.2f", (a[int(m)]+a[int(m+0.5)])/2}'; }

for entry in "${charts[@]}"; do
  IFS=: read -r name chart values <<<"$entry"
  set_values=()
  [ -n "$values" ] && set_values=(--set "$values")
  for binary in "$old" "$new"; do
    walls=() waits=() probes=()
    for ((i = 0; i < n; i++)); do
      start=$(date +%s.%N)
      json=$("$binary" install bench "$chart" "${set_values[@]}" --probe --runtime "$runtime" --runs 1 \
        --timeout 240s --fail-on never -q -o json)
      end=$(date +%s.%N)
      walls+=("$(echo "$end - $start" | bc)")
      waits+=("$(jq '.probe.timings_ms.wait[0] / 1000' <<<"$json")")
      probes+=("$(jq '.probe.timings_ms.probe[0] / 1000' <<<"$json")")
    done
    printf '%-14s %-40s wall %s s  wait %s s  probe %s s  (median of %d)\n' "$name" "$(basename "$binary")" \
      "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${waits[@]}" | median)" \
      "$(printf '%s\n' "${probes[@]}" | median)" "$n"
  done
done
