//! Kube sandboxes left behind: namespaces carrying both our labels (the
//! sandbox label's value being the namespace's own name), and removing
//! one: `helm uninstall` of the release its annotation names (cluster-scoped
//! objects of the chart go too), then the namespace.

use super::installer::{HelmInstaller, Installer};
use super::sandbox::{delete_sandbox_namespace, is_ours};
use super::{api_failed, env_nonempty, within, DEFAULT_API_TIMEOUT as API_TIMEOUT};
use crate::probe::leftovers::Leftover;
use crate::probe::naming::{owner_running, MANAGED_BY, MANAGED_BY_LABEL, OWNER_KEY, RELEASE_KEY, SANDBOX_LABEL};
use crate::source::helm::Helm;
use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use kube::Client;
use std::time::SystemTime;

fn annotation<'n>(namespace: &'n Namespace, key: &str) -> Option<&'n str> {
    namespace.metadata.annotations.as_ref()?.get(key).map(String::as_str)
}

/// Every sandbox namespace of the cluster.
pub async fn find(client: &Client) -> Result<Vec<Leftover>> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let selector = format!("{MANAGED_BY_LABEL}={MANAGED_BY},{SANDBOX_LABEL}");
    let list = within(API_TIMEOUT, "cannot list namespaces", async {
        namespaces
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| api_failed("cannot list namespaces", &e))
    })
    .await?;
    Ok(list
        .items
        .iter()
        .filter_map(|namespace| {
            let name = namespace.metadata.name.clone()?;
            if !is_ours(namespace, &name) {
                return None;
            }
            let owner = annotation(namespace, OWNER_KEY).map(str::to_string);
            let mut contents = match annotation(namespace, RELEASE_KEY) {
                Some(release) => format!("namespace, release {release}"),
                None => "namespace".to_string(),
            };
            if namespace.metadata.deletion_timestamp.is_some() {
                contents.push_str(" (terminating)");
            }
            Some(Leftover {
                runtime: "kube",
                in_use: owner.as_deref().is_some_and(owner_running),
                created: namespace
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|time| SystemTime::from(time.0)),
                owner,
                contents,
                name,
            })
        })
        .collect())
}

/// Remove sandbox namespace `name`: `helm uninstall` of its release when
/// its annotation names one (and helm is there), then the namespace, after
/// checking its labels once more.
pub async fn remove(client: &Client, name: &str) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = within(API_TIMEOUT, format!("cannot read namespace {name}"), async {
        namespaces
            .get_opt(name)
            .await
            .map_err(|e| api_failed(format!("cannot read namespace {name}"), &e))
    })
    .await?;
    let Some(namespace) = namespace else { return Ok(()) };
    if !is_ours(&namespace, name) {
        anyhow::bail!("refusing to remove namespace {name}: it does not carry our labels");
    }
    let uninstalled = match annotation(&namespace, RELEASE_KEY) {
        Some(release) if namespace.metadata.deletion_timestamp.is_none() => {
            Helm::locate().map_err(anyhow::Error::from).and_then(|helm| {
                HelmInstaller {
                    bin: helm.bin,
                    release: release.to_string(),
                    chart: String::new(),
                    chart_args: Vec::new(),
                    kube_context: env_nonempty("HELM_KUBECONTEXT"),
                    extra_args: Vec::new(),
                }
                .uninstall(name)
            })
        }
        _ => Ok(()),
    };
    let what = format!("cannot delete namespace {name}");
    within(API_TIMEOUT, what, delete_sandbox_namespace(client, name)).await?;
    uninstalled.with_context(|| {
        format!(
            "namespace {name} was deleted, but helm uninstall failed (cluster-scoped objects of the chart may remain)"
        )
    })
}
