#!/bin/sh
# Make netaudit's Helm 4 post-renderer plugin available to Helm 4 without
# breaking Helm 3 in the same helm home.
#
#   sh scripts/install-helm4-post-renderer.sh [HELM4]     (default: $HELM_BIN, else helm)
#
# Helm 3 (3.17) refuses *every* plugin as soon as one plugin.yaml in its
# plugin directory has Helm 4's format ("unknown field apiVersion"), and
# Helm 4's --post-renderer only takes a plugin of that format. Both read
# $HELM_PLUGINS (default $HELM_DATA_HOME/plugins). So the post-renderer goes
# into a directory of its own, $HELM_DATA_HOME/plugins-helm4, which only
# Helm 4 is told to read (HELM_PLUGINS is a list). `helm plugin install`
# cannot do this: Helm 4.1 installs into $HELM_DATA_HOME/plugins whatever
# HELM_PLUGINS says. See docs/helm-plugin.md.
set -eu
helm=${1:-${HELM_BIN:-helm}}
version=$("$helm" version --template '{{.Version}}' 2>/dev/null) || {
  echo "error: cannot run $helm (give the Helm 4 binary as the argument)" >&2
  exit 2
}
case $version in
  v4.*) ;;
  *) echo "error: $helm is helm $version, not Helm 4 (give the Helm 4 binary as the argument)" >&2; exit 2 ;;
esac
data=$("$helm" env HELM_DATA_HOME)
plugins=$("$helm" env HELM_PLUGINS)
dir="$data/plugins-helm4"
here=$(cd -P "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
ln -sfn "$here/plugins/netaudit-post-renderer" "$dir/netaudit-post-renderer"
old_ifs=$IFS
IFS=:
for shared in $plugins; do
  if [ "$shared" != "$dir" ] && [ -e "$shared/netaudit-post-renderer" ]; then
    echo "warning: $shared/netaudit-post-renderer makes Helm 3 refuse every plugin of that directory;" \
      "remove it: HELM_PLUGINS=$shared $helm plugin uninstall netaudit-post-renderer" >&2
  fi
done
IFS=$old_ifs
case ":$plugins:" in
  *":$dir:"*) ;;
  *) plugins="$plugins:$dir" ;;
esac
echo "netaudit-post-renderer is in $dir, which Helm 3 does not read."
echo "Run Helm 4 (only Helm 4) with HELM_PLUGINS=\"$plugins\", for example:"
echo "  alias helm4='HELM_PLUGINS=\"$plugins\" $helm'"
echo "  helm4 install shop ./chart --post-renderer netaudit-post-renderer --post-renderer-args=--from-report=report.json"
