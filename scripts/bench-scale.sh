#!/bin/bash
# Scale benchmark: `netaudit lint` and `netaudit reach` of synthetic cluster
# dumps (examples/synthetic.rs): 1k, 10k and 100k Deployments with a Service
# each, some label collisions, in four shapes:
#   selected     100 namespaces, a policy each, every workload selected
#   unprotected  50 namespaces, a seventh of the workloads selected (most get
#                M6 and an exposure to any pod, as in real clusters)
#   policies     a policy per 10 workloads (10k policies at 100k): Kubernetes,
#                Calico and Cilium, on namespace labels (Namespace objects),
#                roles, named ports, ipBlocks; some egress
#   namespaces   1,000 labelled namespaces, a policy each allowing ingress by
#                namespaceSelector on those labels
# Each command `--manifests DUMP --max-input-size 1GiB -o json`, on one core
# (taskset -c 0), wall time and peak RSS (/usr/bin/time), median of RUNS.
# docs/performance.md quotes the output.
#
#   bash scripts/bench-scale.sh [RUNS] [SHAPE...]     (default: 3, all four shapes)
#
# Environment:
#   SIZES="1000 10000 100000"  the workload counts
#   COMMANDS="lint reach"      what to time; COMMANDS=lint skips reach
#   REACH_MAX=N                run reach only up to N workloads (larger: `-`)
#   TIME_LIMIT=120             seconds a run may take; a run over it is killed
#                              and its cell says >120 (the other runs of that
#                              command and size are skipped: they would too)
#   MEM_LIMIT_MIB=8192         address space a run may take (ulimit -v); a run
#                              that fails for lack of it says `oom`
set -eu
runs=${1:-3}
shift || true
shapes=${*:-selected unprotected policies namespaces}
sizes=${SIZES:-1000 10000 100000}
commands=${COMMANDS:-lint reach}
reach_max=${REACH_MAX:-}
limit=${TIME_LIMIT:-120}
mem_limit=${MEM_LIMIT_MIB:-8192}
case "$runs" in '' | *[!0-9]* | 0)
  echo "usage: bench-scale.sh [RUNS] [selected|unprotected|policies|namespaces]..." >&2
  exit 2 ;;
esac
for shape in $shapes; do
  case "$shape" in selected | unprotected | policies | namespaces) ;;
  *) echo "bench-scale.sh: unknown shape \`$shape\`" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin netaudit --example synthetic
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The median of the numbers in a file, one per line.
median() {
  sort -n "$1" | sed -n "$(( ($(wc -l < "$1") + 1) / 2 ))p"
}

# Time COMMAND on the dump RUNS times; prints "SECONDS MIB" (medians), or
# ">LIMIT >MIB" when a run went over the time limit, "oom -" when it ran
# out of address space, "failed -" otherwise.
measure() {
  local command=$1 i=0 rc
  : > "$tmp/wall"
  : > "$tmp/rss"
  while [ "$i" -lt "$runs" ]; do
    rc=0
    # Exit 1 from lint: the dump has findings (collisions), as it should.
    # SIGKILL at the limit, as a busy netaudit polls its SIGTERM flag only
    # between steps (timeout then exits 137, not 124).
    (
      ulimit -v $((mem_limit * 1024))
      exec /usr/bin/time -f "%e %M" -o "$tmp/one" timeout --foreground -s KILL "$limit" \
        taskset -c 0 ./target/release/netaudit "$command" \
        --manifests "$tmp/cluster.yaml" --max-input-size 1GiB -o json
    ) > /dev/null 2> "$tmp/stderr" || rc=$?
    local wall rss
    read -r wall rss < <(tail -n 1 "$tmp/one")
    if [ "$rc" -gt 1 ] && awk -v w="$wall" -v l="$limit" 'BEGIN { exit !(w >= l) }'; then
      echo ">$limit >$((rss / 1024))"
      return
    fi
    case "$rc" in
      0 | 1) ;;
      *)
        if grep -qi "memory allocation.*failed\|out of memory" "$tmp/stderr"; then
          echo "oom -"
        else
          echo "bench-scale.sh: $command exited with $rc: $(tail -n 3 "$tmp/stderr")" >&2
          echo "failed -"
        fi
        return ;;
    esac
    echo "$wall" >> "$tmp/wall"
    echo "$rss" >> "$tmp/rss"
    i=$((i + 1))
  done
  echo "$(median "$tmp/wall") $(( $(median "$tmp/rss") / 1024 ))"
}

echo "| shape | workloads | input MiB | lint s | lint MiB | reach s | reach MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for shape in $shapes; do
  for n in $sizes; do
    ./target/release/examples/synthetic "$n" "$shape" > "$tmp/cluster.yaml"
    size=$(du -m "$tmp/cluster.yaml" | cut -f1)
    row="| $shape | $n | $size"
    for command in lint reach; do
      cells="- -"
      case " $commands " in *" $command "*)
        if [ "$command" != reach ] || [ -z "$reach_max" ] || [ "$n" -le "$reach_max" ]; then
          cells=$(measure "$command")
        fi ;;
      esac
      set -- $cells
      row="$row | $1 | $2"
    done
    echo "$row |"
  done
done
