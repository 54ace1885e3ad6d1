#!/usr/bin/env bash
# Make podman usable for helm-netaudit's podman probe backend and its tests.
#
#   bash scripts/setup-podman.sh            # install what is missing, build the test image
#   bash scripts/setup-podman.sh --rebuild  # also rebuild the test image
#
# Idempotent; meant for root (CI runs as root). It:
#   1. installs podman, runc, busybox-static, catatonit, iptables and
#      dnsmasq-base (the sandbox's DNS server: the binary only, no service)
#      with apt-get when one is missing (apt-get update first when apt knows
#      no candidate for one of them);
#   2. builds localhost/netaudit-test:latest with `podman import` of a rootfs
#      made of testdata/podman/rootfs/ plus the busybox-static binary and one
#      symlink per applet, unless an image of the current layout exists;
#   3. runs one throwaway container to prove that podman works here.
# Every podman call uses the project's containers.conf (runc, cgroupfs, file
# events, explicit nofile/nproc ulimits): export the same for your own calls:
#   export CONTAINERS_CONF="$PWD/podman/containers.conf"
# It writes nothing outside the repository except what apt-get and podman
# write themselves (/var/lib/containers, /run/containers, ...); the rootfs is
# staged under target/ and removed afterwards.
# See docs/podman-notes.md for how the backend drives podman.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

IMAGE="localhost/netaudit-test:latest"
# Bump when the image's layout (rootfs/, applets, CMD, ENV) changes: an image
# with another value is rebuilt.
IMAGE_LAYOUT="1"
PACKAGES=(podman runc busybox-static catatonit iptables dnsmasq-base)
export CONTAINERS_CONF="$ROOT/podman/containers.conf"

rebuild=0
for arg in "$@"; do
    case "$arg" in
        --rebuild) rebuild=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup-podman: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

say() { echo "setup-podman: $*"; }

if [ "$(id -u)" != 0 ]; then
    echo "setup-podman: must run as root (apt-get, and rootful podman: the probe reads /proc of the pods' processes)" >&2
    exit 1
fi

# --- 1. packages -------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -eq 0 ]; then
    say "packages already installed: ${PACKAGES[*]}"
else
    if ! command -v apt-get >/dev/null; then
        echo "setup-podman: missing ${missing[*]} and no apt-get (Debian/Ubuntu only)" >&2
        exit 1
    fi
    need_update=0
    for p in "${missing[@]}"; do
        cand="$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
        if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then need_update=1; fi
    done
    if [ "$need_update" = 1 ]; then
        say "apt-get update (no candidate known for some of: ${missing[*]})"
        apt-get update -qq
    fi
    say "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    say "installed: ${missing[*]}"
fi
say "$(podman --version), $(runc --version | head -n1)"

# --- 2. test image -----------------------------------------------------------
have_layout="$(podman image inspect --format '{{ index .Labels "netaudit.io/image-layout" }}' "$IMAGE" 2>/dev/null || true)"
if [ "$rebuild" = 0 ] && [ "$have_layout" = "$IMAGE_LAYOUT" ]; then
    say "image $IMAGE exists (layout $IMAGE_LAYOUT): not rebuilt"
else
    busybox="$(command -v busybox || true)"
    if [ -z "$busybox" ] || LC_ALL=C ldd "$busybox" 2>&1 | grep -q '=>'; then
        echo "setup-podman: no static busybox on PATH (package busybox-static)" >&2
        exit 1
    fi
    stage="$ROOT/target/podman-test-rootfs"
    trap 'rm -rf "$stage"' EXIT
    rm -rf "$stage"
    mkdir -p "$stage"
    cp -a testdata/podman/rootfs/. "$stage/"
    mkdir -p "$stage/bin" "$stage/usr" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/run" \
        "$stage/root" "$stage/tmp" "$stage/var/tmp" "$stage/var/www"
    chmod 1777 "$stage/tmp" "$stage/var/tmp"
    ln -s bin "$stage/sbin"
    ln -s ../bin "$stage/usr/bin"
    ln -s ../bin "$stage/usr/sbin"
    cp "$busybox" "$stage/bin/busybox"
    n=0
    for applet in $("$busybox" --list); do
        [ "$applet" = busybox ] && continue
        ln -s busybox "$stage/bin/$applet"
        n=$((n + 1))
    done
    old_id="$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
    [ -n "$old_id" ] && say "replacing $IMAGE (layout ${have_layout:-none} -> $IMAGE_LAYOUT)"
    # podman import wants Dockerfile syntax in --change ("CMD [...]"): the
    # "CMD=[...]" form is split at the first space and refused.
    if ! log="$(tar -C "$stage" --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -cf - . |
        podman import \
            --change 'ENV PATH=/bin' \
            --change 'WORKDIR /' \
            --change "LABEL netaudit.io/image-layout=$IMAGE_LAYOUT" \
            --change 'CMD ["sh","-c","trap '"'exit 0'"' TERM; sleep inf & wait"]' \
            --message "helm-netaudit test image: busybox-static" \
            - "$IMAGE" 2>&1)"; then
        echo "setup-podman: podman import failed:" >&2
        echo "$log" >&2
        exit 1
    fi
    rm -rf "$stage"
    # The replaced image is left untagged: remove it (fails harmlessly while a
    # container still uses it).
    if [ -n "$old_id" ] && [ "$old_id" != "$(podman image inspect --format '{{.Id}}' "$IMAGE")" ]; then
        podman rmi "$old_id" >/dev/null 2>&1 || true
    fi
    say "built $IMAGE: $("$busybox" | head -n1 | cut -d' ' -f1-2) with $n applet links ($(podman image inspect --format '{{.Size}}' "$IMAGE") bytes)"
fi

# --- 3. smoke test -----------------------------------------------------------
out="$(podman run --rm --network none "$IMAGE" sh -c 'echo "ok nofile=$(ulimit -n) nproc=$(ulimit -u)"' 2>&1)" || {
    echo "setup-podman: podman cannot run a container here:" >&2
    echo "$out" >&2
    exit 1
}
say "podman run works ($out)"
say "use: export CONTAINERS_CONF=$CONTAINERS_CONF"
