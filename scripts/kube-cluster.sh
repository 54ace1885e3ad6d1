#!/bin/bash
# A real one-node Kubernetes on this machine, from Debian packages only, for
# the kube runtime's tests and for trying `--runtime kube` and `audit` by hand.
#
#   bash scripts/kube-cluster.sh build    # fetch Debian bookworm's `kubernetes` source, build once, cache
#   bash scripts/kube-cluster.sh up       # build if needed, start the cluster, write its kubeconfig
#   bash scripts/kube-cluster.sh status   # is it up? (exit 0 when the node is Ready)
#   bash scripts/kube-cluster.sh down     # stop exactly what `up` started and remove what it made
#
# After `up`:  export KUBECONFIG=/var/lib/netaudit-kube/admin.kubeconfig
# Root only (apt-get, containerd, the kubelet). State, logs and certificates
# live in $NETAUDIT_KUBE_DIR (default /var/lib/netaudit-kube): logs/<server>.log.
#
# build: Debian bookworm's `kubernetes` source package (1.20.2, its Go
# dependencies vendored) builds kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet and kube-proxy with Debian's Go 1.19, offline
# (GOPROXY=off). About 16 minutes on 2 cores, so the binaries are cached
# outside the clone, keyed by the source package's version:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/netaudit-kube/<version>/bin/
# and a cache that is there is used as it is (a component missing from it
# is built from the cached source tree). One vendored module is replaced
# before the build: github.com/modern-go/reflect2 1.0.1 crashes Go 1.18+
# programs when they iterate maps through it (json-iterator: the API server
# dies with "fatal error: fault" on the first write of a custom resource);
# Debian's golang-github-modern-go-reflect2-dev 1.0.2 is the fixed release.
# A cache built before that (no bin/.reflect2-1.0.2) is rebuilt. `apt-get source` needs a
# deb-src entry: one is added for bookworm with the URI of the machine's own
# `deb` entry, and removed again on every exit.
#
# up: installs etcd-server, containerd, dnsmasq-base, jq and conntrack with
# apt-get when missing (and kubernetes-client when there is no kubectl), then
# starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# containerd, a kubelet, kube-proxy and a cluster DNS (dnsmasq, fed by
# `dns-sync`: Services and headless Services' endpoints by name). No
# traffic leaves loopback:
#   - every server listens on 127.0.0.1 only (etcd 12379/12380, API server
#     16443, kubelet 10250/10248, controller-manager 10257, scheduler 10259,
#     kube-proxy 10249/10256, NodePorts; the insecure ports are off) or on a
#     unix socket (containerd), but for the cluster DNS, on the pods' bridge
#     (10.217.0.1:53) with no upstream server: it answers cluster.local
#     names it knows, NXDOMAIN for the others, and refuses the rest;
#   - the kubelet runs with AWS_EC2_METADATA_DISABLED=true: kubelet 1.20's AWS
#     credential provider otherwise dials the cloud metadata address once;
#   - pods sit on a bridge of their own (netaudit0, 10.217.0.0/24) with no
#     default route and no masquerading, so they reach each other, the
#     host's bridge address (the kubelet's probes, the DNS) and the service
#     range (10.218.0.0/24, routed to the bridge address, where kube-proxy's
#     rules send it on to pods) and nothing else;
#   - images are never pulled: the pause image is built from the source's
#     build/pause with gcc, and podman's local test images
#     (scripts/setup-podman.sh) are copied into containerd with `ctr import`.
# What 1.20 on this machine needs: containerd's CRI with
# restrict_oom_score_adj (root lacks CAP_SYS_RESOURCE here); the kubelet
# refuses a loopback node IP, so it is `--hostname-override=localhost` and
# the API server reaches it by Hostname; --make-iptables-util-chains=false.
# The kubelet sets vm.overcommit_memory, kernel.panic and
# kernel.panic_on_oops, kube-proxy net.ipv4.conf.all.route_localnet, and
# Service addresses need net.ipv4.ip_forward and bridge netfilter: `up`
# records their values (and conntrack's) and `down` restores them.
#
# down: stops the servers `up` recorded (by PID, and the pods' processes
# under the kubelet's cgroups), unmounts what is mounted under the state
# directory, removes the pods' network namespaces (cni-*, only those that
# were not there before `up`), the bridge, CNI's cached results of the
# network, the kubepods cgroups, any KUBE-*/CNI-* iptables chain that was not
# there before `up` (and the built-in chains' jumps to it), the shared directories /run/containerd, /var/lib/cni and
# /run/netns when `up` made them (emptied ones only, but for containerd's),
# and the state directory. It never stops or removes anything `up` did not
# start or make.
set -euo pipefail

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/netaudit-kube
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
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
  local dir="$cache_root/$version" component missing=()
  if [ -d "$dir/bin" ] && [ ! -e "$dir/bin/.reflect2-1.0.2" ]; then
    say "the cached binaries were built with reflect2 1.0.1 (custom resources crash the API server): rebuilding"
    rm -rf "$dir/bin"
  fi
  for component in "${components[@]}"; do
    [ -x "$dir/bin/$component" ] || missing+=("$component")
  done
  if [ ${#missing[@]} = 0 ]; then
    say "cached: $dir/bin (kubernetes $version)"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "build needs root (apt-get)"
  say "installing the build tools (golang-1.19-go, rsync, dpkg-dev, reflect2 1.0.2)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-1.19-go rsync dpkg-dev make \
    golang-github-modern-go-reflect2-dev >/dev/null
  # A cache made before a component was added keeps its source tree: only
  # the missing components are built.
  if [ ! -d "$dir/src/tree" ]; then
    trap remove_deb_src EXIT
    printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$(debian_uri)" > "$deb_src"
    apt-get update -qq >/dev/null
    rm -rf "$dir/src"
    mkdir -p "$dir/src"
    say "fetching the source of kubernetes $version"
    (cd "$dir/src" && apt-get source -qq --download-only "kubernetes=$version" >/dev/null \
      && dpkg-source -x --no-check ./*.dsc tree >/dev/null)
    remove_deb_src
    trap - EXIT
  fi
  local reflect2=/usr/share/gocode/src/github.com/modern-go/reflect2
  [ -f "$reflect2/reflect2.go" ] || die "golang-github-modern-go-reflect2-dev left no source in $reflect2"
  rsync -a --delete --exclude='*_test.go' --exclude=go.mod --exclude=go.sum --exclude='.*' \
    "$reflect2/" "$dir/src/tree/vendor/github.com/modern-go/reflect2/"
  say "building ${missing[*]} (about 16 minutes on 2 cores for all five)"
  local what
  what=$(printf 'cmd/%s ' "${missing[@]}")
  (
    cd "$dir/src/tree"
    export PATH=/usr/lib/go-1.19/bin:$PATH GOPROXY=off GOFLAGS=-mod=vendor GO111MODULE=on GOCACHE="$dir/go-cache"
    make WHAT="$what" >"$dir/build.log" 2>&1
  ) || die "the build failed; see $dir/build.log"
  mkdir -p "$dir/bin"
  for component in "${missing[@]}"; do
    cp "$dir/src/tree/_output/local/bin/linux/amd64/$component" "$dir/bin/" \
      || die "$component was not built; see $dir/build.log"
  done
  touch "$dir/bin/.reflect2-1.0.2"
  say "built: $dir/bin (kubernetes $version)"
}


state=${NETAUDIT_KUBE_DIR:-/var/lib/netaudit-kube}
bridge=netaudit0
pod_subnet=10.217.0.0/24
bridge_address=10.217.0.1/24
service_range=10.218.0.0/24
api_port=16443
etcd_client=http://127.0.0.1:12379
etcd_peer=http://127.0.0.1:12380
pause_image=localhost/netaudit-pause:3.4
# Local podman images copied into containerd (those that exist): the test
# image, and the real servers of scripts/build-real-image.sh (about 25 s).
podman_images=(localhost/netaudit-test:latest localhost/netaudit-real:latest)
# What the kubelet and kube-proxy set, and what Service addresses need:
# recorded by `up`, restored by `down`.
kernel_tunables=(vm.overcommit_memory kernel.panic kernel.panic_on_oops
  net.ipv4.conf.all.route_localnet net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables
  net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait)
dns_address=10.217.0.1
shared_dirs=(/run/containerd /var/lib/cni /run/netns)

cached_bin() {
  local version
  version=$(apt-cache show kubernetes-client 2>/dev/null | awk '/^Version:/ {print $2; exit}')
  echo "$cache_root/$version/bin"
}

install_packages() {
  local missing=() p
  for p in etcd-server containerd runc containernetworking-plugins iptables iproute2 openssl curl gcc \
    dnsmasq-base jq conntrack; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # Any kubectl will do (another package may own /usr/bin/kubectl already).
  command -v kubectl >/dev/null || missing+=(kubernetes-client)
  [ "${#missing[@]}" = 0 ] && return 0
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } \
    || die "cannot install ${missing[*]} with apt-get"
}

# A certificate signed by the cluster's CA: name, subject, extended key usage, SANs.
certificate() {
  local name=$1 subject=$2 usage=$3 sans=${4:-}
  local ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$usage"
  [ -n "$sans" ] && ext="$ext
subjectAltName=$sans"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subject" \
    -keyout "$state/pki/$name.key" -out "$state/pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$state/pki/$name.csr" -CA "$state/pki/ca.crt" -CAkey "$state/pki/ca.key" \
    -CAcreateserial -days 3650 -extfile <(echo "$ext") -out "$state/pki/$name.crt" 2>/dev/null
  rm -f "$state/pki/$name.csr"
}

kubeconfig() {
  local name=$1
  cat > "$state/$name.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: netaudit-kube
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $state/pki/ca.crt
users:
- name: $name
  user:
    client-certificate: $state/pki/$name.crt
    client-key: $state/pki/$name.key
contexts:
- name: netaudit-kube
  context: {cluster: netaudit-kube, user: $name}
current-context: netaudit-kube
YAML
}

make_pki() {
  mkdir -p "$state/pki"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj /CN=netaudit-kube-ca -keyout "$state/pki/ca.key" -out "$state/pki/ca.crt" 2>/dev/null
  certificate apiserver /CN=kube-apiserver serverAuth \
    "IP:127.0.0.1,IP:10.218.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  certificate kubelet /CN=localhost serverAuth "DNS:localhost,IP:127.0.0.1"
  certificate apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  certificate admin "/O=system:masters/CN=netaudit-admin" clientAuth
  certificate node "/O=system:nodes/CN=system:node:localhost" clientAuth
  certificate controller-manager /CN=system:kube-controller-manager clientAuth
  certificate scheduler /CN=system:kube-scheduler clientAuth
  certificate proxy /CN=system:kube-proxy clientAuth
  openssl genrsa -out "$state/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$state/pki/sa.key" -pubout -out "$state/pki/sa.pub" 2>/dev/null
  kubeconfig admin
  kubeconfig node
  kubeconfig controller-manager
  kubeconfig scheduler
  kubeconfig proxy
}

write_configs() {
  mkdir -p "$state/cni" "$state/containerd" "$state/kubelet"
  # The API server's audit log (logs/audit.log) records what the tests'
  # ServiceAccounts (namespace ci) ask for: tests/probe_kube.rs proves from
  # it that the read-only modes send no write request.
  cat > "$state/audit-policy.yaml" <<YAML
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts:ci"]
  - level: None
YAML
  cat > "$state/cni/10-netaudit.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "netaudit",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$state/cni-ipam",
        "ranges": [[{"subnet": "$pod_subnet", "rangeStart": "10.217.0.10", "gateway": "10.217.0.1"}]],
        "routes": [{"dst": "$service_range", "gw": "10.217.0.1"}]
      }
    }
  ]
}
JSON
  cat > "$state/containerd/config.toml" <<TOML
version = 2
root = "$state/containerd/root"
state = "$state/containerd/state"
[grpc]
  address = "$state/containerd.sock"
[ttrpc]
  address = "$state/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$state/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_tls_streaming = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$state/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni"
TOML
  # Default-policy pods resolve names against their own loopback: nothing
  # to dial outside. ClusterFirst pods ask the cluster DNS.
  echo "nameserver 127.0.0.1" > "$state/resolv.conf"
  mkdir -p "$state/dns"
  : > "$state/dns/hosts"
  cat > "$state/proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $state/proxy.kubeconfig}
mode: iptables
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
hostnameOverride: localhost
clusterCIDR: $pod_subnet
# NodePorts open on loopback only.
nodePortAddresses: [127.0.0.0/8]
# The machine's conntrack limits and timeouts are left as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {masqueradeAll: false, syncPeriod: 30s, minSyncPeriod: 0s}
YAML
  cat > "$state/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $state/pki/kubelet.crt
tlsPrivateKeyFile: $state/pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $state/pki/ca.crt}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
failSwapOn: false
makeIPTablesUtilChains: false
resolvConf: $state/resolv.conf
# The cluster DNS: dnsmasq on the bridge's address (dns_sync feeds it).
clusterDNS: [$dns_address]
clusterDomain: cluster.local
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
YAML
}

# Start a server in the background, in a session of its own, and record its PID.
start() {
  local name=$1
  shift
  setsid "$@" >"$state/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$state/pids/$name"
}

# Wait up to $2 seconds for the command $3... to succeed; name is $1.
await() {
  local name=$1 seconds=$2
  shift 2
  local i
  for ((i = 0; i < seconds * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    local pid
    pid=$(cat "$state/pids/$name" 2>/dev/null || true)
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      tail -n 5 "$state/logs/$name.log" >&2 || true
      die "$name exited; see $state/logs/$name.log"
    fi
    sleep 0.5
  done
  tail -n 5 "$state/logs/$name.log" >&2 || true
  die "$name not ready after ${seconds}s; see $state/logs/$name.log"
}

api() {
  curl -sf --cacert "$state/pki/ca.crt" --cert "$state/pki/admin.crt" --key "$state/pki/admin.key" \
    "https://127.0.0.1:$api_port$1"
}

kubectl_admin() { kubectl --kubeconfig "$state/admin.kubeconfig" "$@"; }

# A tiny image of the pause binary (docker-archive layout, which `ctr import` reads).
import_pause_image() {
  local source=$1 work
  work=$(mktemp -d)
  gcc -Os -Wall -static -DVERSION=v3.4-netaudit -o "$work/pause" "$source/build/pause/linux/pause.c" \
    || die "cannot build the pause binary from $source/build/pause"
  mkdir -p "$work/rootfs" "$work/archive"
  cp "$work/pause" "$work/rootfs/pause"
  tar -C "$work/rootfs" --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -cf "$work/archive/layer.tar" pause
  local diff_id
  diff_id=sha256:$(sha256sum "$work/archive/layer.tar" | cut -d' ' -f1)
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
    "$diff_id" > "$work/archive/config.json"
  printf '[{"Config":"config.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$pause_image" > "$work/archive/manifest.json"
  tar -C "$work/archive" -cf "$work/pause.tar" manifest.json config.json layer.tar
  ctr --address "$state/containerd.sock" -n k8s.io images import "$work/pause.tar" >/dev/null \
    || die "ctr cannot import the pause image"
  rm -rf "$work"
}

import_podman_images() {
  local image
  for image in "${podman_images[@]}"; do
    if ! command -v podman >/dev/null || ! podman image exists "$image" 2>/dev/null; then
      say "no podman image $image (scripts/setup-podman.sh builds it): not imported"
      continue
    fi
    podman save --format docker-archive "$image" 2>/dev/null \
      | ctr --address "$state/containerd.sock" -n k8s.io images import - >/dev/null \
      || die "ctr cannot import $image"
  done
}

# The names of the iptables chains that exist now (all tables).
iptables_chains() {
  iptables-save 2>/dev/null | awk '/^\*/ {table = substr($1, 2)} /^:/ {print table ":" substr($1, 2)}' | sort -u
}

up() {
  [ "$(id -u)" = 0 ] || die "up needs root (apt-get, containerd, the kubelet)"
  if [ -e "$state/pids" ]; then
    if status >/dev/null 2>&1; then
      say "already up: export KUBECONFIG=$state/admin.kubeconfig"
      return 0
    fi
    say "a cluster state from an earlier run is there: removing it first"
    down
  fi
  build
  install_packages
  local bin version_dir
  bin=$(cached_bin)
  version_dir=$(dirname "$bin")
  local started=$SECONDS
  mkdir -p "$state/logs" "$state/pids"
  # A start that fails or is interrupted stops what it started; its logs
  # are copied to /tmp first.
  trap 'up_failed' EXIT
  # What was there before, so that `down` removes only what `up` made.
  ip netns list 2>/dev/null | awk '{print $1}' | sort -u > "$state/netns.before"
  # Directories shared with the machine that containerd, CNI and ip-netns make
  # when missing (shim sockets, CNI results, netns mounts): removed again by
  # `down` only when `up` is the one that made them.
  local shared
  for shared in "${shared_dirs[@]}"; do
    [ -e "$shared" ] || echo "$shared"
  done > "$state/dirs.created"
  iptables_chains > "$state/iptables.before"
  local tunable value
  for tunable in "${kernel_tunables[@]}"; do
    value=$(sysctl -n "$tunable" 2>/dev/null) && echo "$tunable=$value"
  done > "$state/sysctl.before"
  make_pki
  write_configs

  start etcd etcd --name netaudit --data-dir "$state/etcd" \
    --listen-client-urls "$etcd_client" --advertise-client-urls "$etcd_client" \
    --listen-peer-urls "$etcd_peer" --initial-advertise-peer-urls "$etcd_peer" \
    --initial-cluster "netaudit=$etcd_peer"
  await etcd 30 curl -sf "$etcd_client/health"

  start kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers="$etcd_client" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$api_port" --insecure-port=0 --endpoint-reconciler-type=none \
    --client-ca-file="$state/pki/ca.crt" \
    --tls-cert-file="$state/pki/apiserver.crt" --tls-private-key-file="$state/pki/apiserver.key" \
    --kubelet-certificate-authority="$state/pki/ca.crt" \
    --kubelet-client-certificate="$state/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$state/pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=Hostname \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$state/pki/sa.pub" \
    --service-account-signing-key-file="$state/pki/sa.key" \
    --service-cluster-ip-range="$service_range" \
    --authorization-mode=Node,RBAC --allow-privileged=true --profiling=false \
    --audit-policy-file="$state/audit-policy.yaml" --audit-log-path="$state/logs/audit.log"
  await kube-apiserver 90 api /readyz

  start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig="$state/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$state/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$state/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10257 --port=0 --leader-elect=false \
    --service-account-private-key-file="$state/pki/sa.key" --root-ca-file="$state/pki/ca.crt" \
    --use-service-account-credentials=true --profiling=false
  start kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig="$state/scheduler.kubeconfig" \
    --authentication-kubeconfig="$state/scheduler.kubeconfig" \
    --authorization-kubeconfig="$state/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10259 --port=0 --leader-elect=false --profiling=false

  # Service addresses: the pods' packets to the service range reach the
  # host through the bridge (the CNI route), kube-proxy's rules send them on
  # to a pod, and the replies cross the bridge through conntrack.
  sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
    || die "cannot enable forwarding and bridge netfilter (modprobe br_netfilter)"
  ip link add "$bridge" type bridge 2>/dev/null || true
  ip addr replace "$bridge_address" dev "$bridge"
  ip link set "$bridge" up
  start containerd containerd --config "$state/containerd/config.toml"
  await containerd 30 ctr --address "$state/containerd.sock" version
  import_pause_image "$version_dir/src/tree"
  import_podman_images

  start kubelet env AWS_EC2_METADATA_DISABLED=true "$bin/kubelet" \
    --config="$state/kubelet/config.yaml" --kubeconfig="$state/node.kubeconfig" \
    --container-runtime=remote --container-runtime-endpoint="unix://$state/containerd.sock" \
    --hostname-override=localhost --root-dir="$state/kubelet/root" \
    --pod-infra-container-image="$pause_image"
  await kubelet 120 node_ready
  # Service accounts come from the controller-manager: a namespace is usable once
  # `default` has its account.
  await kube-controller-manager 60 kubectl_admin -n default get serviceaccount default
  start kube-proxy "$bin/kube-proxy" --config="$state/proxy.yaml"
  await kube-proxy 60 curl -sf http://127.0.0.1:10256/healthz
  start_dns
  trap - EXIT
  say "up in $((SECONDS - started)) s: export KUBECONFIG=$state/admin.kubeconfig"
}

# The cluster DNS: dnsmasq on the bridge's address, answering
# SERVICE.NAMESPACE.svc.cluster.local (and, through the pods' search path,
# the short forms) from a hosts file that dns_sync rewrites on every change
# to a Service or Endpoints object; NXDOMAIN for any other cluster.local
# name and no upstream server at all, so no query leaves the machine.
start_dns() {
  start dnsmasq dnsmasq --keep-in-foreground --log-facility=- --conf-file=/dev/null --pid-file= \
    --no-resolv --no-hosts --bind-interfaces --listen-address="$dns_address" \
    --local=/cluster.local/ --local=/217.10.in-addr.arpa/ --domain-needed --bogus-priv \
    --addn-hosts="$state/dns/hosts"
  await dnsmasq 10 dns_listening
  start dns-sync bash "$0" dns-sync
  await dns-sync 30 grep -q ' kubernetes.default.svc.cluster.local$' "$state/dns/hosts"
}

dns_listening() { [ -n "$(ss -Hlun "src $dns_address:53")" ]; }

# The records of every Service: its ClusterIP, or for a headless one the
# address of each endpoint, with the endpoint's own name when it has a
# hostname (StatefulSet pods: POD.SERVICE.NAMESPACE.svc.cluster.local).
dns_records() {
  kubectl_admin get services,endpoints -A -o json | jq -r '
    (.items | map(select(.kind == "Service" and .spec.clusterIP == "None")
      | "\(.metadata.namespace)/\(.metadata.name)")) as $headless
    | .items[] | . as $o | "\($o.metadata.name).\($o.metadata.namespace).svc.cluster.local" as $name
    | if .kind == "Service" then
        select(.spec.clusterIP != null and .spec.clusterIP != "None" and .spec.clusterIP != "")
        | "\(.spec.clusterIP) \($name)"
      else
        select(("\($o.metadata.namespace)/\($o.metadata.name)") as $k | $headless | index($k))
        | (.subsets // [])[] | (.addresses // [])[]
        | "\(.ip) \($name)" + (if .hostname then " \(.hostname).\($name)" else "" end)
      end'
}

# Every change to a Service or an Endpoints object prints a line; each
# burst of lines rewrites the records once and tells dnsmasq to reread them.
dns_sync() {
  local hosts=$state/dns/hosts dnsmasq
  dnsmasq=$(cat "$state/pids/dnsmasq")
  {
    watch_names services &
    watch_names endpoints &
    wait
  } | while read -r _; do
    while read -r -t 0.2 _; do :; done
    if dns_records > "$hosts.new"; then
      chmod 644 "$hosts.new"
      mv "$hosts.new" "$hosts"
      kill -HUP "$dnsmasq" || true
    fi
  done
}

watch_names() {
  while :; do
    kubectl_admin get "$1" -A --watch -o name 2>/dev/null || true
    sleep 1
  done
}

up_failed() {
  local logs
  logs=$(mktemp -d /tmp/netaudit-kube-logs.XXXXXX)
  cp -r "$state/logs/." "$logs/" 2>/dev/null || true
  say "up failed: stopping what it started (its logs: $logs)"
  down >/dev/null 2>&1 || true
}

node_ready() {
  [ "$(kubectl_admin get node localhost -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

status() {
  [ -e "$state/admin.kubeconfig" ] || { echo "down"; return 1; }
  if node_ready; then
    echo "up: export KUBECONFIG=$state/admin.kubeconfig"
  else
    echo "not ready (see $state/logs)"
    return 1
  fi
}

# Kill a process and wait (up to 10 s) for it to be gone.
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# The PIDs of every process in the kubelet's pod cgroups (any hierarchy).
pod_processes() {
  local root
  for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$root" ] && find "$root" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -u
}

# containerd's shims for this cluster (they outlive containerd by design).
shim_processes() {
  local pid
  for pid in $(pgrep -f containerd-shim 2>/dev/null || true); do
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$state/containerd.sock" && echo "$pid"
  done
}

down() {
  [ "$(id -u)" = 0 ] || die "down needs root"
  [ -d "$state" ] || { say "nothing to stop ($state does not exist)"; return 0; }
  local name pid
  # The DNS feed (its whole process group: the watches) and kube-proxy;
  # the kubelet, so that it restarts nothing; then the pods' processes and
  # the shims; then the servers.
  pid=$(cat "$state/pids/dns-sync" 2>/dev/null || true)
  [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null || true
  for name in dnsmasq kube-proxy kubelet kube-scheduler kube-controller-manager; do
    pid=$(cat "$state/pids/$name" 2>/dev/null || true)
    [ -n "$pid" ] && stop_pid "$pid"
  done
  for pid in $(pod_processes); do kill -KILL "$pid" 2>/dev/null || true; done
  pid=$(cat "$state/pids/containerd" 2>/dev/null || true)
  [ -n "$pid" ] && stop_pid "$pid"
  for pid in $(shim_processes); do kill -KILL "$pid" 2>/dev/null || true; done
  for name in kube-apiserver etcd; do
    pid=$(cat "$state/pids/$name" 2>/dev/null || true)
    [ -n "$pid" ] && stop_pid "$pid"
  done
  # Mounts under the state directory, deepest first.
  awk -v prefix="$state/" 'index($2, prefix) == 1 {print $2}' /proc/mounts | sort -r | while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done
  local netns
  for netns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ {print $1}'); do
    grep -qxF "$netns" "$state/netns.before" 2>/dev/null || ip netns delete "$netns" 2>/dev/null || true
  done
  ip link delete "$bridge" 2>/dev/null || true
  # CNI's cached results of this network and of containerd's loopback network.
  rm -f /var/lib/cni/results/netaudit-* /var/lib/cni/results/cni-loopback-* 2>/dev/null || true
  local dir
  while read -r dir; do
    if [ "$dir" = /run/containerd ]; then
      rm -rf "$dir"
    elif [ "$dir" = /run/netns ]; then
      # `ip netns` bind-mounts the directory onto itself; another user's
      # namespaces keep it.
      if [ -z "$(ls -A "$dir" 2>/dev/null)" ]; then
        umount "$dir" 2>/dev/null || true
        rmdir "$dir" 2>/dev/null || true
      fi
    else
      find "$dir" -depth -type d -empty -delete 2>/dev/null || true
    fi
  done < <(cat "$state/dirs.created" 2>/dev/null || true)
  # The kubelet's cgroups (cgroupfs driver): leaves first.
  local root
  for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$root" ] && find "$root" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  local chain table
  if [ -e "$state/iptables.before" ]; then
    # The rules of the built-in chains that jump to a chain `up` made
    # (kube-proxy's KUBE-SERVICES, KUBE-FORWARD, ...), then those chains.
    local new_chains rule
    new_chains=$(iptables_chains | grep -E ':(KUBE|CNI)-' | grep -vxFf "$state/iptables.before" || true)
    for table in filter nat mangle; do
      while read -r rule; do
        chain=$(sed -E 's/.*-j ((KUBE|CNI)-[^ ]+).*/\1/' <<<"$rule")
        grep -qxF "$table:$chain" <<<"$new_chains" || continue
        eval "iptables -t $table -D ${rule#-A }" 2>/dev/null || true
      done < <(iptables-save -t "$table" 2>/dev/null \
        | grep -E '^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) .*-j (KUBE|CNI)-' || true)
    done
    for chain in $(iptables_chains | grep -E ':(KUBE|CNI)-' | grep -vxFf "$state/iptables.before" || true); do
      table=${chain%%:*}
      iptables -t "$table" -F "${chain#*:}" 2>/dev/null || true
    done
    for chain in $(iptables_chains | grep -E ':(KUBE|CNI)-' | grep -vxFf "$state/iptables.before" || true); do
      table=${chain%%:*}
      iptables -t "$table" -X "${chain#*:}" 2>/dev/null || true
    done
  fi
  if [ -e "$state/sysctl.before" ]; then
    local line
    while read -r line; do sysctl -q -w "$line" >/dev/null 2>&1 || true; done < "$state/sysctl.before"
  fi
  rm -rf "$state"
  say "down"
}

case "${1:-}" in
  build) build ;;
  # Internal: the loop that feeds the cluster DNS (started by `up`).
  dns-sync) dns_sync ;;
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: bash scripts/kube-cluster.sh build|up|status|down" >&2; exit 2 ;;
esac
