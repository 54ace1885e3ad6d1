#!/usr/bin/env bash
# The picture of docs/cli.md: the `-o html` report of the example chart,
# screenshotted by headless Chromium into docs/img/report-insecure-shop.png.
#
#   bash scripts/screenshot-report.sh
#
# Needs a release build (cargo build --release), helm (scripts/fetch-helm.sh)
# and chromium (scripts/setup-chromium.sh). The browser runs as the tests
# run it: in a network namespace of its own (unshare --net, as root), no
# background traffic, no name resolution, a closed local proxy.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
HELM_BIN="${HELM_BIN:-$ROOT/.tools/helm-v4/helm}"
export HELM_BIN
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
target/release/netaudit lint examples/insecure-shop -o html --output-file "$work/report.html" || [ $? = 1 ]
mkdir -p docs/img
unshare --net -- chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-background-networking --disable-component-update --disable-default-apps \
    --disable-extensions --disable-sync --disable-domain-reliability --no-first-run \
    --no-default-browser-check --no-pings --dns-prefetch-disable \
    --host-resolver-rules='MAP * ~NOTFOUND' --proxy-server=127.0.0.1:9 \
    --user-data-dir="$work/profile" --window-size=1400,1100 --virtual-time-budget=3000 \
    --hide-scrollbars --screenshot="$ROOT/docs/img/report-insecure-shop.png" \
    "file://$work/report.html" 2>/dev/null
echo "docs/img/report-insecure-shop.png"
