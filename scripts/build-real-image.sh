#!/usr/bin/env bash
# Build localhost/netaudit-real:latest: real server software from Debian's own
# packages, for the runtime tests on real servers (issue: runtime findings on
# real software). Nothing can be pulled here, so the image is made locally:
#
#   bash scripts/build-real-image.sh            # build unless the image exists
#   bash scripts/build-real-image.sh --rebuild  # build again
#
# Root only (debootstrap, chroot, rootful podman). It:
#   1. installs debootstrap with apt-get when it is missing;
#   2. runs `debootstrap --variant=minbase bookworm` into target/real-rootfs,
#      from the Debian mirror of this machine's own apt sources (read at run
#      time; it is never written into the repository, and the rootfs's apt
#      sources and lists are removed before the import);
#   3. installs the servers with `apt-get install --no-install-recommends`
#      inside the chroot, with a policy-rc.d that starts nothing;
#   4. imports the rootfs with `podman import` and removes the staging tree.
# Every podman call uses the project's containers.conf.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

IMAGE="localhost/netaudit-real:latest"
# Bump when the package list or the image's layout changes.
IMAGE_LAYOUT="3"
SUITE="bookworm"
SERVERS=(zookeeper rabbitmq-server redis-server memcached postgresql)
TOOLS=(iproute2 procps netcat-openbsd amqp-tools)
STAGE="$ROOT/target/real-rootfs"
export CONTAINERS_CONF="$ROOT/podman/containers.conf"

rebuild=0
for arg in "$@"; do
    case "$arg" in
        --rebuild) rebuild=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-real-image: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

say() { echo "build-real-image: $*"; }
die() { echo "build-real-image: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, rootful podman)"

if [ "$rebuild" = 0 ] && podman image exists "$IMAGE" \
    && [ "$(podman image inspect --format '{{index .Labels "netaudit.layout"}}' "$IMAGE" 2>/dev/null)" = "$IMAGE_LAYOUT" ]; then
    say "$IMAGE exists (layout $IMAGE_LAYOUT): nothing to do (--rebuild to build it again)"
    exit 0
fi

if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/dev/null \
        || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/dev/null; } \
        || die "cannot install debootstrap with apt-get"
fi

# The machine's own Debian mirror: the first URI of a source that serves the
# main suite (deb822 `.sources` files, or one-line `sources.list` entries).
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    mirror="$(awk -v suite="$SUITE" '
        /^URIs:/ { uri = $2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) found = uri }
        /^$/ { if (found) { print found; exit } uri = "" }
        END { if (found) print found }' "$f" | head -n 1)"
    [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror="$(awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }' /etc/apt/sources.list)"
fi
[ -n "$mirror" ] || die "no $SUITE source in this machine's apt sources: cannot tell which mirror to use"

cleanup() {
    for m in proc sys dev/pts dev; do
        mountpoint -q "$STAGE/$m" 2>/dev/null && umount -l "$STAGE/$m" || true
    done
    rm -rf "$STAGE"
}
trap cleanup EXIT
cleanup

started=$(date +%s)
say "debootstrap --variant=minbase $SUITE (this machine's mirror)"
debootstrap --variant=minbase "$SUITE" "$STAGE" "$mirror" >"$ROOT/target/real-debootstrap.log" 2>&1 \
    || die "debootstrap failed: see target/real-debootstrap.log"

# Nothing starts inside the chroot: packages' maintainer scripts call
# invoke-rc.d, which asks policy-rc.d.
printf '#!/bin/sh\nexit 101\n' >"$STAGE/usr/sbin/policy-rc.d"
chmod 755 "$STAGE/usr/sbin/policy-rc.d"
mount -t proc proc "$STAGE/proc"
mount --bind /dev "$STAGE/dev"
mount --bind /dev/pts "$STAGE/dev/pts"

say "apt-get install ${SERVERS[*]} ${TOOLS[*]}"
chroot "$STAGE" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get update && apt-get install -y --no-install-recommends $(printf '%s ' "${SERVERS[@]}" "${TOOLS[@]}")" \
    >"$ROOT/target/real-apt.log" 2>&1 || die "apt-get install failed in the chroot: see target/real-apt.log"

for m in dev/pts dev proc; do umount "$STAGE/$m"; done
# No trace of the mirror in the image: apt sources and lists go.
rm -rf "$STAGE"/var/lib/apt/lists/* "$STAGE"/var/cache/apt/*.bin "$STAGE"/var/cache/apt/archives/*.deb
rm -f "$STAGE/etc/apt/sources.list" "$STAGE"/etc/apt/sources.list.d/*
if grep -rqs "${mirror#*://}" "$STAGE/etc/apt"; then
    die "the mirror is still named under etc/apt of the rootfs"
fi

say "podman import $IMAGE"
podman image rm -f "$IMAGE" >/dev/null 2>&1 || true
tar -C "$STAGE" -c . | podman import \
    --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL netaudit.layout=$IMAGE_LAYOUT" \
    - "$IMAGE" >/dev/null 2>&1
say "built $IMAGE in $(( $(date +%s) - started )) s: $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
