//! Runtime probing: install a chart into a throwaway sandbox, wait until its
//! pods run, and read the sockets they really open.
//!
//! A backend implements [`Sandbox`] (`podman`, `kube`); [`open_sandbox`]
//! chooses one; `session` drives any of them and always cleans up;
//! `procnet` parses `/proc/net/{tcp,udp}*`; `flows` logs the connections
//! the pods make. What a probe observes is the
//! model's runtime vocabulary (`crate::model::runtime`).

pub mod chart_tests;
pub mod exercise;
pub(crate) mod flows;
pub mod kube;
pub mod leftovers;
pub(crate) mod naming;
pub mod podman;
pub(crate) mod procnet;
pub(crate) mod session;

pub use session::CleanupFailed;

use crate::model::secrets::SecretValue;
use crate::model::{Index, OpenSocket, PodSockets, PodStatus};
use crate::source::helm::{Helm, RenderRequest};
use std::time::Duration;

/// What a runtime backend does for one probe. Every method may be called
/// after a failure of another; `cleanup` must be idempotent and must only
/// remove what this sandbox created.
pub trait Sandbox {
    /// The runtime's name, for the report (`podman`, `kube`).
    fn runtime(&self) -> &'static str;
    /// The sandbox's unique name.
    fn name(&self) -> &str;
    /// Where the sandbox lives (a namespace, a pod name prefix), for progress
    /// messages and for `--keep`'s "how to remove it" hint.
    fn describe(&self) -> String;
    /// The command a user runs to remove a kept sandbox.
    fn removal_hint(&self) -> String;
    /// Sockets open on the node before anything is installed: subtracted
    /// from what `hostNetwork` pods show.
    fn host_baseline(&mut self) -> anyhow::Result<Vec<OpenSocket>>;
    /// Install the chart (each backend was built with what it needs).
    fn install(&mut self) -> anyhow::Result<()>;
    /// Wait until every pod is ready or has stopped for good (see
    /// [`PodStatus::stopped`]), or `timeout` passes; `waiting` hears where
    /// the pods stand after every poll.
    fn wait_ready(&mut self, timeout: Duration, waiting: &mut dyn FnMut(&Waiting)) -> anyhow::Result<Vec<PodStatus>>;
    /// Read the open sockets of every ready pod.
    fn probe(&mut self) -> anyhow::Result<Vec<PodSockets>>;
    /// Restart every pod (for the second run).
    fn restart(&mut self) -> anyhow::Result<()>;
    /// What could not be probed as asked (a pod none of whose containers
    /// could be read), one line each, for the report; taken once.
    fn notes(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// The flows the pods made so far, as sampled from their socket
    /// tables; taken once.
    fn flows(&mut self) -> Vec<crate::model::ObservedFlow> {
        Vec::new()
    }
    /// Run a client pod of netaudit's own in the sandbox, on its network
    /// and with its names, until it ends or `timeout` passes; its flows are
    /// logged with its origin. Fails when it cannot be started at all.
    fn run_client(&mut self, client: &exercise::ClientPod, timeout: Duration) -> anyhow::Result<exercise::ClientRun> {
        let _ = timeout;
        anyhow::bail!("the {} sandbox cannot run the client {}", self.runtime(), client.name)
    }
    /// Run the chart's test hooks `hooks`, one after the other and each
    /// to its end (or until `timeout` passes), as `helm test` does; their
    /// flows are logged with origin `test`. What kept a hook from running
    /// is said in the result; only an interrupt is an error.
    fn run_tests(
        &mut self,
        hooks: &[chart_tests::TestHook],
        timeout: Duration,
    ) -> anyhow::Result<crate::model::ChartTests> {
        let _ = (hooks, timeout);
        Ok(crate::model::ChartTests {
            failed: Some(format!("the {} sandbox cannot run test hooks", self.runtime())),
            ran: Vec::new(),
        })
    }
    /// Remove everything the sandbox created.
    fn cleanup(&mut self) -> anyhow::Result<()>;
}

/// Where the pods stand during [`Sandbox::wait_ready`], for progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waiting {
    pub ready: usize,
    /// Pods there are (or, before they exist, are expected).
    pub total: usize,
    /// Pods that will not become ready (stopped for good). Why is said
    /// once per pod when the wait ends, not at every poll.
    pub stopped: usize,
}

/// Where a probe tells the user how it goes.
pub trait Progress {
    /// One line per phase ("installing into …"); `-q` and data reports on
    /// stdout silence them.
    fn line(&self, message: &str);
    /// What must be said whatever the output (a kept sandbox and how to
    /// remove it): on stderr, never silenced.
    fn notice(&self, message: &str);
    /// Where the pods stand, after every readiness poll: a progress bar on a
    /// terminal, else a line when it changes.
    fn waiting(&self, state: &Waiting, elapsed: Duration, timeout: Duration);
}

/// Where a sandbox runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeChoice {
    /// podman: a cluster is used only when asked for by name (`Kube`).
    Auto,
    Kube,
    Podman,
}

/// When the podman runtime pulls images (Kubernetes pulls as each
/// container's `imagePullPolicy` says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    /// Images that are not in local storage.
    Missing,
    /// Every image.
    Always,
    /// None: a missing image is an error.
    Never,
}

/// What either backend needs to build a sandbox for one rendered release.
pub struct SandboxRequest<'r, 'a> {
    /// The release's model (podman plays its workloads).
    pub index: &'r Index<'a>,
    pub release: &'r str,
    /// The namespace the chart was rendered with.
    pub model_namespace: &'r str,
    /// helm and the render request (kube installs the chart with them).
    pub helm: &'r Helm,
    pub render: &'r RenderRequest,
    /// kube: `helm install --timeout`.
    pub install_timeout: Duration,
    /// kube: the ephemeral debug container's image.
    pub probe_image: &'r str,
    /// podman: when to pull the chart's images.
    pub pull: PullPolicy,
    /// kube: arguments appended to `helm install` (`--helm-arg`).
    pub helm_args: &'r [String],
    /// The chart's credentials (see [`session::ProbeOptions::secrets`]):
    /// kube redacts what it shortens with them.
    pub secrets: &'r [SecretValue],
}

/// The one place that knows every backend: build the sandbox `choice` asks
/// for (`Auto`: podman). A cluster is never used unless asked for: the kube
/// sandbox names the context and server it installs into before it does.
pub fn open_sandbox(
    choice: RuntimeChoice,
    request: &SandboxRequest<'_, '_>,
    progress: &dyn Fn(&str),
) -> anyhow::Result<Box<dyn Sandbox>> {
    Ok(match choice {
        RuntimeChoice::Kube => {
            let mut installer = kube::HelmInstaller::from_request(request.helm, request.render);
            installer.extra_args = request.helm_args.iter().map(Into::into).collect();
            let mut options = kube::KubeOptions::new(request.release, request.model_namespace, request.install_timeout);
            options.probe_image = request.probe_image.to_string();
            options.secrets = request.secrets.to_vec();
            options.workloads = request
                .index
                .workloads
                .iter()
                .filter(|w| !w.runs_to_completion() && w.replicas > 0)
                .map(|w| w.reference())
                .collect();
            Box::new(kube::KubeSandbox::connect(installer, options, progress)?)
        }
        RuntimeChoice::Podman | RuntimeChoice::Auto => {
            let mut sandbox = podman::PodmanSandbox::new(request.index, request.release)?;
            sandbox.pull = request.pull;
            Box::new(sandbox)
        }
    })
}
