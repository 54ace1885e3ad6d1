#!/bin/sh
# Runs `netaudit post-render "$@"` (stdin: rendered manifests, stdout: the
# same with the generated NetworkPolicies and port declarations). The binary:
# $NETAUDIT_BIN, else bin/netaudit of the checkout this plugin comes from
# (helm symlinks a local plugin directory), else the netaudit plugin's
# bin/netaudit, else `netaudit` on PATH.
set -eu
# Helm 4 names this plugin in HELM_PLUGIN_NAME, but it is no helm command:
# netaudit's hints would say `helm netaudit-post-renderer …`.
unset HELM_PLUGIN_NAME
if [ -n "${NETAUDIT_BIN:-}" ]; then
  exec "$NETAUDIT_BIN" post-render "$@"
fi
here=$(cd -P "$(dirname "$0")" && pwd)
if [ -x "$here/../../bin/netaudit" ]; then
  exec "$here/../../bin/netaudit" post-render "$@"
fi
# HELM_PLUGINS is a list (a Helm 4 that also reads the directory of this
# plugin, see docs/helm-plugin.md): look for the netaudit plugin in each.
old_ifs=$IFS
IFS=:
for dir in ${HELM_PLUGINS:-}; do
  if [ -x "$dir/netaudit/bin/netaudit" ]; then
    IFS=$old_ifs
    exec "$dir/netaudit/bin/netaudit" post-render "$@"
  fi
done
IFS=$old_ifs
if command -v netaudit >/dev/null 2>&1; then
  exec netaudit post-render "$@"
fi
echo "netaudit-post-renderer: no netaudit binary (set NETAUDIT_BIN, install the netaudit plugin, or put netaudit on PATH)" >&2
exit 1
