//! The kube backend: the chart is installed with `helm install` into a
//! throwaway namespace of the current cluster (kube-rs against the current
//! context: `KUBECONFIG`, `HELM_KUBECONTEXT`), and the pods' sockets are read
//! by exec'ing a small reader of `/proc/net/{tcp,tcp6,udp,udp6}` in each of
//! their containers.
//!
//! - The namespace is `netaudit-<release>-<random>`, labelled
//!   `app.kubernetes.io/managed-by=helm-netaudit` and
//!   `netaudit.io/sandbox=<namespace>`. Cleanup runs `helm uninstall` and
//!   deletes the namespace, and only after checking both labels: netaudit
//!   never deletes a namespace it did not create.
//! - helm is an external process behind [`installer::Installer`]; exec
//!   (websockets) is behind [`exec::PodExec`]. Everything else goes through a `kube::Client`,
//!   which the tests build on a mock service (no cluster needed).
//! - Readiness is the pod's `Ready` condition. A pod that never gets there
//!   is reported with its phase, conditions, container states, last events
//!   and last log lines.
//! - The reader is `sh -c` (cat + ls); when a container has no shell it runs
//!   in an ephemeral debug container (`--probe-image`, busybox by default)
//!   that targets the container, so it sees the same network and PID
//!   namespaces.
//! - Sockets are attributed to a container when one of the processes in its
//!   PID namespace holds them (`/proc/[0-9]*/fd` links to `socket:[inode]`).
//!   Pods with `shareProcessNamespace` or `hostPID` see other processes too:
//!   their sockets are left unattributed.
//! - The run-two restart deletes the pods (1 s grace); controllers recreate
//!   them; bare pods are re-created from their own spec.
//! - Pods are mapped to the workload that owns them (Pod -> ReplicaSet ->
//!   Deployment, StatefulSet, DaemonSet), reported in the *model's*
//!   namespace (the `-n` the chart was rendered with), not the sandbox's.
//! - Listing pods, mapping them to workloads, explaining the ones that are
//!   not ready and reading sockets live in [`pods::PodAccess`], which
//!   `netaudit audit` ([`in_place`]) shares to read an installed
//!   release in place (there with debug containers only when allowed).
//!
//! Files: `sandbox` (the namespace's lifecycle), `installer` (helm),
//! `exec`, `pods` (listing, owners, reading sockets), `status` (why a pod
//! is not ready), `reader` (the script run in containers and its parser),
//! `in_place` (`netaudit audit`), `testing` (the mocked API server).

pub(crate) mod exec;
pub(crate) mod in_place;
pub(crate) mod installer;
pub(crate) mod pods;
pub(crate) mod reader;
pub(crate) mod sandbox;
mod status;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

pub use installer::HelmInstaller;
pub use sandbox::{KubeOptions, KubeSandbox};

use crate::source::interrupt::{self, Interrupted};
use anyhow::{Context, Result};
use kube::Client;
use std::future::Future;
use std::time::Duration;

/// The image of the ephemeral debug container for images without a shell.
pub const DEFAULT_PROBE_IMAGE: &str = "busybox:1.36";

pub(crate) fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub(crate) fn new_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Does the current context answer (within `timeout`)? `install --probe`
/// uses the kube runtime by default when it does, podman otherwise.
pub fn cluster_reachable(timeout: Duration) -> bool {
    let Ok(runtime) = new_runtime() else { return false };
    runtime.block_on(async {
        tokio::time::timeout(timeout, async {
            let client = client_from_environment().await?;
            client.apiserver_version().await.map_err(anyhow::Error::from)
        })
        .await
        .map(|answer| answer.is_ok())
        .unwrap_or(false)
    })
}

/// A client for the current context: `KUBECONFIG` (or ~/.kube/config),
/// `HELM_KUBECONTEXT` when set, else the in-cluster config.
pub(crate) async fn client_from_environment() -> Result<Client> {
    if let Some(missing) = missing_kubeconfig() {
        anyhow::bail!("no Kubernetes cluster configured: {missing} (--runtime podman probes locally)");
    }
    // kube-rs chains every attempt and repeats the OS error at each level:
    // one line, with the innermost cause, is what a user can act on.
    let config = match env_nonempty("HELM_KUBECONTEXT") {
        Some(context) => {
            let options = kube::config::KubeConfigOptions {
                context: Some(context.clone()),
                ..Default::default()
            };
            kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|e| anyhow::anyhow!("cannot load the kubeconfig context {context}: {}", innermost(&e)))?
        }
        None => kube::Config::infer().await.map_err(|e| {
            let from = match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
                Some(list) => format!("KUBECONFIG={}", list.to_string_lossy()),
                None => "~/.kube/config".to_string(),
            };
            anyhow::anyhow!("cannot load the Kubernetes configuration ({from}): {}", innermost(&e))
        })?,
    };
    Client::try_from(config).map_err(|e| anyhow::anyhow!("cannot create the Kubernetes client: {}", innermost(&e)))
}

/// Why there is no kubeconfig to read, when there is none: KUBECONFIG names
/// only files that do not exist, or it is unset, `~/.kube/config` does not
/// exist and this is not a pod of a cluster.
fn missing_kubeconfig() -> Option<String> {
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return None;
    }
    match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(list) => {
            let paths: Vec<std::path::PathBuf> = std::env::split_paths(&list).collect();
            paths.iter().all(|p| !p.exists()).then(|| {
                let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                format!("KUBECONFIG names {}, which does not exist", shown.join(", "))
            })
        }
        None => {
            let default = std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".kube/config"))?;
            (!default.exists()).then(|| format!("{} does not exist and KUBECONFIG is not set", default.display()))
        }
    }
}

/// The deepest cause of an error: the one that says what is wrong.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

pub(crate) fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(response) if response.code == code)
}

/// Run `future` to completion on `runtime`, or until Ctrl-C: an API call
/// that hangs (an unresponsive server) never keeps an interrupt waiting.
pub(crate) fn block<T>(runtime: &tokio::runtime::Runtime, future: impl Future<Output = Result<T>>) -> Result<T> {
    runtime.block_on(async {
        tokio::select! {
            result = future => result,
            () = until_interrupted() => Err(Interrupted.into()),
        }
    })
}

async fn until_interrupted() {
    while !interrupt::interrupted() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
