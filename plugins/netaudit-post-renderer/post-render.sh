#!/bin/sh
# Runs `netaudit post-render "$@"` (stdin: rendered manifests, stdout: the
# same with the generated NetworkPolicies and port declarations). The binary:
# $NETAUDIT_BIN, else bin/netaudit of the checkout this plugin comes from
# (helm symlinks a local plugin directory), else the netaudit plugin's
# bin/netaudit, else `netaudit` on PATH.
set -eu
if [ -n "${NETAUDIT_BIN:-}" ]; then
  exec "$NETAUDIT_BIN" post-render "$@"
fi
here=$(cd -P "$(dirname "$0")" && pwd)
for bin in "$here/../../bin/netaudit" "${HELM_PLUGINS:-/nonexistent}/netaudit/bin/netaudit"; do
  if [ -x "$bin" ]; then
    exec "$bin" post-render "$@"
  fi
done
if command -v netaudit >/dev/null 2>&1; then
  exec netaudit post-render "$@"
fi
echo "netaudit-post-renderer: no netaudit binary (set NETAUDIT_BIN, install the netaudit plugin, or put netaudit on PATH)" >&2
exit 1
