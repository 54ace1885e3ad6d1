#!/usr/bin/env bash
# Make headless Chromium available for tests/html_report.rs, which opens the
# `-o html` report in a real browser. Installs Debian's `chromium` package
# with apt-get when it is missing (apt-get update first when apt knows no
# candidate); meant for root, as CI runs. Prints the browser's path on
# stdout (the last line), which the test reads from NETAUDIT_CHROMIUM:
#
#   export NETAUDIT_CHROMIUM="$(bash scripts/setup-chromium.sh | tail -n1)"
#
# The tests run it in a network namespace of its own (unshare --net) with
# its background traffic off, host names resolving to nothing and a closed
# local port as its proxy (tests/common/browser.rs).
set -euo pipefail

log() { echo "setup-chromium: $*" >&2; }

if ! command -v chromium >/dev/null 2>&1; then
    command -v apt-get >/dev/null || { log "error: chromium is missing and there is no apt-get to install it"; exit 1; }
    log "installing Debian's chromium (once, a few minutes)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null; } \
        || { log "error: apt-get cannot install chromium"; exit 1; }
fi
command -v chromium
