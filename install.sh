#!/bin/sh
# Helm plugin install/update hook (plugin.yaml `hooks`): builds bin/netaudit.
#
# Helm runs this with HELM_PLUGIN_DIR set to the installed plugin directory
# (for `helm plugin install <local dir>`, a symlink to that dir, on Helm 3.17
# and Helm 4.1) but in the *caller's* working directory, so cd first.
# Needs a Rust toolchain (cargo); see README.md.
set -eu

dir="${HELM_PLUGIN_DIR:-}"
if [ -z "$dir" ]; then
  dir="$(dirname "$0")"
fi
cd "$dir"

if ! command -v cargo >/dev/null 2>&1; then
  echo "netaudit install: error: cargo not found on PATH; install Rust (https://rustup.rs), then run: sh '$(pwd -P)/install.sh'" >&2
  exit 1
fi

if [ -f Cargo.lock ]; then
  locked="--locked"
else
  locked=""
fi

echo "netaudit install: building with cargo build --release $locked (first build takes a few minutes)" >&2
# shellcheck disable=SC2086 # $locked is empty or one word
cargo build --release $locked --bin netaudit

target="${CARGO_TARGET_DIR:-target}"
mkdir -p bin
cp -f "$target/release/netaudit" bin/netaudit.tmp
mv -f bin/netaudit.tmp bin/netaudit
echo "netaudit install: installed $(pwd -P)/bin/netaudit" >&2
