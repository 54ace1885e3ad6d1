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
//! - Before installing, the sandbox reads the API server's version and
//!   helm's: Helm 4 against a server older than 1.22 installs with
//!   `--server-side=false` (said in a progress line), and helm's refusal of
//!   a chart whose `kubeVersion` excludes the cluster's is one line naming
//!   both versions (`versions`).
//! - The wait ends at once for pods stopped for good (an image that cannot
//!   be pulled, a container that cannot be created or keeps crashing, an
//!   unschedulable pod), each said in one short line (`status::Stop`).
//!
//! Files: `sandbox` (the namespace's lifecycle), `installer` (helm),
//! `versions` (server and helm versions), `exec`, `pods` (listing, owners,
//! reading sockets), `status` (why a pod is not ready), `reader` (the
//! script run in containers and its parser), `in_place` (`netaudit
//! audit`), `testing` (the mocked API server).

mod client;
pub(crate) mod exec;
mod flows;
mod hooks;
pub(crate) mod in_place;
pub(crate) mod installer;
pub mod leftovers;
pub(crate) mod pods;
pub(crate) mod reader;
pub mod reports;
pub(crate) mod sandbox;
mod status;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
pub(crate) mod versions;

pub use installer::HelmInstaller;
pub use sandbox::{KubeOptions, KubeSandbox};

pub(crate) use crate::source::kube_client::{
    api_failed, block, client_and_target, client_from_environment, env_nonempty, is_status, kube_message, new_runtime,
    within,
};
use std::time::Duration;

/// How long a request to the API server may go unanswered (the sandbox's
/// steps and `netaudit cleanup` alike).
pub const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(30);

/// The image of the ephemeral debug container for images without a shell.
pub const DEFAULT_PROBE_IMAGE: &str = "busybox:1.36";

/// Does the current context answer (within `timeout`)? `netaudit cleanup
/// --runtime auto` looks for kube sandboxes only when it does.
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
