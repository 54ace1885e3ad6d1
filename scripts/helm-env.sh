# shellcheck shell=bash
# Source me (bash or zsh): `. scripts/helm-env.sh`
# Fetches the pinned helm binaries if needed (scripts/fetch-helm.sh) and exports
#   HELM_V4 / NETAUDIT_HELM_V4  -> <repo>/.tools/helm-v4/helm  (helm v4.1.4)
#   HELM_V3 / NETAUDIT_HELM_V3  -> <repo>/.tools/helm-v3/helm  (helm v3.17.2)
# NETAUDIT_HELM_V3/V4 are what tests/e2e_plugin.rs reads.
_netaudit_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
if bash "$_netaudit_root/scripts/fetch-helm.sh" >/dev/null; then
  export HELM_V4="$_netaudit_root/.tools/helm-v4/helm"
  export HELM_V3="$_netaudit_root/.tools/helm-v3/helm"
  export NETAUDIT_HELM_V4="$HELM_V4"
  export NETAUDIT_HELM_V3="$HELM_V3"
else
  echo "helm-env: scripts/fetch-helm.sh failed; HELM_V3/HELM_V4 not set" >&2
fi
unset _netaudit_root
