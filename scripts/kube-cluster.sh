#!/bin/bash
# A real one-node Kubernetes on this machine, from Debian packages only, for
# the kube runtime's tests (the cluster issue).
#
#   bash scripts/kube-cluster.sh build     # fetch Debian bookworm's `kubernetes` source, build once, cache
#
# (`up` and `down`, which start and stop the cluster, come next. This script
# only builds: it starts nothing. When `up` starts the kubelet, it must run it
# with AWS_EC2_METADATA_DISABLED=true, since kubelet 1.20's AWS credential
# provider otherwise dials the cloud metadata address once, and every server
# must bind 127.0.0.1: no traffic may leave loopback.)
#
# build: Debian bookworm's `kubernetes` source package (1.20.2, its Go
# dependencies vendored) builds kube-apiserver, kube-controller-manager,
# kube-scheduler and kubelet with Debian's Go 1.19, offline (GOPROXY=off).
# About 14 minutes on 2 cores, so the binaries are cached outside the clone,
# keyed by the source package's version:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/netaudit-kube/<version>/bin/
# and a cache that is there is used as it is. `apt-get source` needs a
# deb-src entry: one is added for bookworm with the URI of the machine's own
# `deb` entry, and removed again on every exit. Needs root (apt).
set -euo pipefail

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/netaudit-kube
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
deb_src=/etc/apt/sources.list.d/netaudit-kube-src.sources

say() { echo "kube-cluster: $*" >&2; }
die() { echo "kube-cluster: error: $*" >&2; exit 2; }

# The URI of the machine's own bookworm `deb` entry (deb822 or one-line format).
debian_uri() {
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [ -z "$uri" ]; then
    uri=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  fi
  [ -n "$uri" ] || die "no bookworm deb entry in /etc/apt/sources.list(.d): cannot add a deb-src entry"
  echo "$uri"
}

remove_deb_src() {
  if [ -e "$deb_src" ]; then
    rm -f "$deb_src"
    apt-get update -qq >/dev/null 2>&1 || true
  fi
}

build() {
  # The version of the source package, from a binary package built from it
  # (no deb-src entry needed to know whether the cache is there).
  local version
  version=$(apt-cache show kubernetes-client 2>/dev/null | awk '/^Version:/ {print $2; exit}')
  [ -n "$version" ] || die "apt knows no package kubernetes-client (Debian bookworm's kubernetes)"
  local dir="$cache_root/$version"
  if [ -x "$dir/bin/kubelet" ] && [ -x "$dir/bin/kube-apiserver" ]; then
    say "cached: $dir/bin (kubernetes $version)"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "build needs root (apt-get)"
  say "installing the build tools (golang-1.19-go, rsync, dpkg-dev)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-1.19-go rsync dpkg-dev make >/dev/null
  trap remove_deb_src EXIT
  printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$(debian_uri)" > "$deb_src"
  apt-get update -qq >/dev/null
  mkdir -p "$dir/src"
  say "fetching the source of kubernetes $version"
  (cd "$dir/src" && apt-get source -qq --download-only "kubernetes=$version" >/dev/null \
    && dpkg-source -x --no-check ./*.dsc tree >/dev/null)
  remove_deb_src
  trap - EXIT
  say "building ${components[*]} (about 14 minutes on 2 cores)"
  local what
  what=$(printf 'cmd/%s ' "${components[@]}")
  (
    cd "$dir/src/tree"
    export PATH=/usr/lib/go-1.19/bin:$PATH GOPROXY=off GOFLAGS=-mod=vendor GO111MODULE=on GOCACHE="$dir/go-cache"
    make WHAT="$what" >"$dir/build.log" 2>&1
  ) || die "the build failed; see $dir/build.log"
  mkdir -p "$dir/bin"
  for component in "${components[@]}"; do
    cp "$dir/src/tree/_output/local/bin/linux/amd64/$component" "$dir/bin/" \
      || die "$component was not built; see $dir/build.log"
  done
  say "built: $dir/bin (kubernetes $version)"
}

case "${1:-}" in
  build) build ;;
  *) echo "usage: bash scripts/kube-cluster.sh build" >&2; exit 2 ;;
esac
