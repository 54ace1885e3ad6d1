//! The kube backend: the chart is installed with `helm install --wait` into a
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
//! - helm is an external process behind [`Installer`]; exec (websockets)
//!   is behind [`PodExec`]. Everything else goes through a `kube::Client`,
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
//!   not ready and reading sockets live in [`PodAccess`], which
//!   `netaudit audit` ([`super::in_place`]) shares to read an installed
//!   release in place (there with debug containers only when allowed).

use super::podman::{dns_label, random_suffix};
use super::procnet;
use super::session::{interrupted, sleep_interruptibly, Interrupted};
use super::{AttributedSocket, OpenSocket, PodSockets, PodStatus, Protocol, Sandbox, WorkloadRef};
use crate::helm::{Helm, RenderRequest};
use anyhow::{anyhow, bail, Context, Result};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Event, Namespace, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, AttachParams, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::future::Future;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The label (and value) that marks a namespace as netaudit's.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "helm-netaudit";
/// Same label as the podman backend: its value is the sandbox's name.
pub const SANDBOX_LABEL: &str = super::podman::SANDBOX_LABEL;
/// The image of the ephemeral debug container for images without a shell.
pub const DEFAULT_PROBE_IMAGE: &str = "busybox:1.36";

/// Kinds whose pods run to completion: nothing to probe.
const RUN_TO_COMPLETION: &[&str] = &["Job", "CronJob"];

/// Markers between the sections of the reader's output.
const MARK: &str = "@@netaudit ";

/// The reader run in each container: the four socket tables, the ephemeral
/// port range, and the fd links of every process in the container's PID
/// namespace. `end` proves the shell ran to completion.
pub const READER_SCRIPT: &str =
    "for f in tcp tcp6 udp udp6; do echo \"@@netaudit $f\"; cat /proc/net/$f 2>/dev/null; done; \
echo '@@netaudit range'; cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null; \
echo '@@netaudit fds'; ls -l /proc/[0-9]*/fd/ 2>/dev/null; echo '@@netaudit end'";

// ---------------------------------------------------------------------------
// helm, behind a trait

/// How `helm install --wait` ended when it did not fail outright.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallOutcome {
    /// Installed, and helm saw every workload ready.
    Ready,
    /// Installed, but helm's `--wait` timed out: the release exists, and
    /// [`Sandbox::wait_ready`] reports the pods that are not ready. The
    /// text is helm's message.
    WaitTimedOut(String),
}

/// Installs and uninstalls the chart into a namespace (helm, or a fake).
pub trait Installer {
    fn install(&mut self, namespace: &str, timeout: Duration) -> Result<InstallOutcome>;
    /// Remove the release; a release that does not exist is not an error.
    fn uninstall(&mut self, namespace: &str) -> Result<()>;
    /// The command a user runs to uninstall by hand.
    fn uninstall_hint(&self, namespace: &str) -> String;
}

/// The real installer: `$HELM_BIN install RELEASE CHART --namespace NS
/// --wait --timeout Ns [user flags]`.
#[derive(Debug, Clone)]
pub struct HelmInstaller {
    pub bin: PathBuf,
    /// The release name (helm template's default `release-name` when the
    /// user gave none, so objects are named as in the rendered model).
    pub release: String,
    /// The chart and the user's flags (values, --set*, --version, --repo).
    pub chart_args: Vec<OsString>,
    /// `--kube-context` for helm (kube-rs uses the same context).
    pub kube_context: Option<String>,
}

impl HelmInstaller {
    /// From the request the chart was rendered with (its `namespace` is the
    /// model's; the install goes to the sandbox namespace instead).
    pub fn from_request(helm: &Helm, request: &RenderRequest) -> HelmInstaller {
        let mut args: Vec<OsString> = vec![request.chart.clone().into()];
        let mut push = |flag: &str, values: Vec<OsString>| {
            for value in values {
                args.push(flag.into());
                args.push(value);
            }
        };
        push(
            "--values",
            request.values.iter().map(|v| v.clone().into_os_string()).collect(),
        );
        push("--set", request.set.iter().map(OsString::from).collect());
        push("--set-string", request.set_string.iter().map(OsString::from).collect());
        push("--set-file", request.set_file.iter().map(OsString::from).collect());
        push("--set-json", request.set_json.iter().map(OsString::from).collect());
        push("--version", request.version.iter().map(OsString::from).collect());
        push("--repo", request.repo.iter().map(OsString::from).collect());
        HelmInstaller {
            bin: helm.bin.clone(),
            release: request.release.clone().unwrap_or_else(|| "release-name".into()),
            chart_args: args,
            kube_context: env_nonempty("HELM_KUBECONTEXT"),
        }
    }

    /// The full `helm install` command line (without the binary).
    pub fn install_args(&self, namespace: &str, timeout: Duration) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["install".into(), self.release.clone().into()];
        args.extend(self.chart_args.iter().cloned());
        args.extend([
            "--namespace".into(),
            namespace.into(),
            "--wait".into(),
            "--timeout".into(),
        ]);
        args.push(format!("{}s", timeout.as_secs().max(1)).into());
        args.extend(self.context_args());
        args
    }

    fn context_args(&self) -> Vec<OsString> {
        match &self.kube_context {
            Some(context) => vec!["--kube-context".into(), context.into()],
            None => Vec::new(),
        }
    }

    fn run(&self, args: &[OsString]) -> Result<std::process::Output> {
        Command::new(&self.bin)
            .args(args)
            // The sandbox namespace is always given with --namespace.
            .env_remove("HELM_NAMESPACE")
            .output()
            .with_context(|| format!("cannot run {}", self.bin.display()))
    }
}

fn stderr_line(output: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        "helm exited with an error and printed nothing".into()
    } else {
        lines.join("; ")
    }
}

impl Installer for HelmInstaller {
    fn install(&mut self, namespace: &str, timeout: Duration) -> Result<InstallOutcome> {
        let output = self.run(&self.install_args(namespace, timeout))?;
        if output.status.success() {
            return Ok(InstallOutcome::Ready);
        }
        let message = stderr_line(&output);
        // `--wait` gave up: the objects exist, readiness is ours to report.
        if message.contains("context deadline exceeded") || message.contains("timed out waiting for the condition") {
            return Ok(InstallOutcome::WaitTimedOut(message));
        }
        bail!(
            "helm install {} into namespace {namespace} failed: {message}",
            self.release
        )
    }

    fn uninstall(&mut self, namespace: &str) -> Result<()> {
        let mut args: Vec<OsString> = vec![
            "uninstall".into(),
            self.release.clone().into(),
            "--namespace".into(),
            namespace.into(),
        ];
        args.extend(self.context_args());
        let output = self.run(&args)?;
        if output.status.success() {
            return Ok(());
        }
        let message = stderr_line(&output);
        if message.contains("not found") {
            return Ok(());
        }
        bail!(
            "helm uninstall {} --namespace {namespace} failed: {message}",
            self.release
        )
    }

    fn uninstall_hint(&self, namespace: &str) -> String {
        let context = match &self.kube_context {
            Some(c) => format!(" --kube-context {c}"),
            None => String::new(),
        };
        format!("helm uninstall {} --namespace {namespace}{context}", self.release)
    }
}

// ---------------------------------------------------------------------------
// exec, behind a trait

/// What a command exec'd in a container printed, and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: String,
    pub success: bool,
    /// The failure message (e.g. "executable file not found"), if any.
    pub message: String,
}

/// Runs a command in a container (kube-rs exec over websockets, or a fake).
pub trait PodExec {
    fn exec(
        &self,
        client: &Client,
        namespace: &str,
        pod: &str,
        container: &str,
        command: &[String],
    ) -> impl Future<Output = Result<ExecOutput>>;
}

/// The real exec: `pods/exec` through kube-rs (`ws` feature).
#[derive(Debug, Clone, Copy, Default)]
pub struct KubeExec;

impl PodExec for KubeExec {
    async fn exec(
        &self,
        client: &Client,
        namespace: &str,
        pod: &str,
        container: &str,
        command: &[String],
    ) -> Result<ExecOutput> {
        use tokio::io::AsyncReadExt;
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let params = AttachParams::default()
            .container(container)
            .stdin(false)
            .stdout(true)
            .stderr(false);
        let mut process = match pods.exec(pod, command.to_vec(), &params).await {
            Ok(process) => process,
            Err(e) => {
                return Ok(ExecOutput {
                    stdout: String::new(),
                    success: false,
                    message: format!("{e}"),
                })
            }
        };
        let mut stdout = String::new();
        if let Some(mut reader) = process.stdout() {
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .await
                .with_context(|| format!("cannot read the output of exec in {pod}/{container}"))?;
            stdout = String::from_utf8_lossy(&bytes).into_owned();
        }
        let status = match process.take_status() {
            Some(status) => status.await,
            None => None,
        };
        let _ = process.join().await;
        let (success, message) = match status {
            Some(s) => (s.status.as_deref() == Some("Success"), s.message.unwrap_or_default()),
            None => (false, "the exec ended without a status".into()),
        };
        Ok(ExecOutput {
            stdout,
            success,
            message,
        })
    }
}

// ---------------------------------------------------------------------------
// the sandbox

#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// The release (for the namespace's name).
    pub release: String,
    /// The namespace the chart was rendered with (`-n`): the namespace of
    /// every [`WorkloadRef`] this backend reports.
    pub model_namespace: String,
    /// The ephemeral debug container's image, for images without a shell.
    pub probe_image: String,
    /// `helm install --timeout`.
    pub install_timeout: Duration,
    /// How often readiness is polled.
    pub poll_interval: Duration,
}

impl KubeOptions {
    pub fn new(release: &str, model_namespace: &str, install_timeout: Duration) -> KubeOptions {
        KubeOptions {
            release: release.to_string(),
            model_namespace: model_namespace.to_string(),
            probe_image: DEFAULT_PROBE_IMAGE.to_string(),
            install_timeout,
            poll_interval: Duration::from_secs(2),
        }
    }
}

/// A pod the last `wait_ready` saw.
pub struct KubeSandbox<I: Installer = HelmInstaller, E: PodExec = KubeExec> {
    /// The sandbox namespace (also the value of [`SANDBOX_LABEL`]).
    pub name: String,
    options: KubeOptions,
    runtime: tokio::runtime::Runtime,
    client: Client,
    installer: I,
    exec: E,
    /// We created the namespace (so cleanup may delete it).
    created: bool,
    /// helm install ran (so cleanup runs helm uninstall).
    install_attempted: bool,
    /// helm's message when its `--wait` timed out.
    install_note: Option<String>,
    pods: Vec<TrackedPod>,
    /// Pods per workload in the first run: later runs wait for as many.
    expected: BTreeMap<WorkloadRef, usize>,
    /// Pods deleted by `restart`: never taken for their replacements.
    deleted: BTreeSet<String>,
}

fn env_nonempty(name: &str) -> Option<String> {
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
    let config = match env_nonempty("HELM_KUBECONTEXT") {
        Some(context) => {
            let options = kube::config::KubeConfigOptions {
                context: Some(context.clone()),
                ..Default::default()
            };
            kube::Config::from_kubeconfig(&options)
                .await
                .with_context(|| format!("cannot load the kubeconfig context {context}"))?
        }
        None => kube::Config::infer()
            .await
            .context("no Kubernetes configuration found (KUBECONFIG, ~/.kube/config, in-cluster)")?,
    };
    Client::try_from(config).context("cannot create the Kubernetes client")
}

fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(response) if response.code == code)
}

impl KubeSandbox<HelmInstaller, KubeExec> {
    /// Connect to the current context's cluster. Nothing is created until
    /// [`Sandbox::install`].
    pub fn connect(installer: HelmInstaller, options: KubeOptions) -> Result<Self> {
        let runtime = new_runtime()?;
        let client = runtime.block_on(client_from_environment())?;
        Ok(KubeSandbox::with_parts(runtime, client, installer, KubeExec, options))
    }
}

impl<I: Installer, E: PodExec> KubeSandbox<I, E> {
    /// From its parts (tests: a client on a mock service, fakes). `client`
    /// must have been created inside `runtime` (its buffer task runs there).
    pub fn with_parts(
        runtime: tokio::runtime::Runtime,
        client: Client,
        installer: I,
        exec: E,
        options: KubeOptions,
    ) -> Self {
        let name = format!("netaudit-{}-{}", dns_label(&options.release, 40), random_suffix());
        KubeSandbox {
            name,
            options,
            runtime,
            client,
            installer,
            exec,
            created: false,
            install_attempted: false,
            install_note: None,
            pods: Vec::new(),
            expected: BTreeMap::new(),
            deleted: BTreeSet::new(),
        }
    }

    fn pods_api(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// Reading the sandbox's pods (debug containers allowed: the sandbox is ours).
    fn access(&self) -> PodAccess<'_, E> {
        PodAccess {
            client: &self.client,
            exec: &self.exec,
            namespace: &self.name,
            model_namespace: &self.options.model_namespace,
            probe_image: &self.options.probe_image,
            debug_containers: DebugContainers::Allowed,
            debug_lifetime: Duration::from_secs(3600),
            debug_timeout: self.options.install_timeout.min(Duration::from_secs(120)),
            poll_interval: self.options.poll_interval,
        }
    }

    async fn create_namespace(&self) -> Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                labels: Some(BTreeMap::from([
                    (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
                    (SANDBOX_LABEL.to_string(), self.name.clone()),
                ])),
                ..Default::default()
            },
            ..Default::default()
        };
        match namespaces.create(&PostParams::default(), &namespace).await {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 409) => {
                bail!(
                    "namespace {} exists already and is not this sandbox's: not touching it",
                    self.name
                )
            }
            Err(e) => Err(e).with_context(|| format!("cannot create the sandbox namespace {}", self.name)),
        }
    }

    /// Delete the pods of the last run; re-create bare pods; wait until the
    /// deleted ones are gone (or replaced: a StatefulSet's keep their names).
    async fn restart_pods(&self, deleted: &mut BTreeSet<String>) -> Result<()> {
        let api = self.pods_api();
        let params = DeleteParams {
            grace_period_seconds: Some(1),
            ..Default::default()
        };
        let mut bare = Vec::new();
        for pod in &self.pods {
            if pod.owner.kind == "Pod" {
                match api.get(&pod.name).await {
                    Ok(spec) => bare.push(spec),
                    Err(e) if is_status(&e, 404) => {}
                    Err(e) => return Err(e).with_context(|| format!("cannot read pod {}", pod.name)),
                }
            }
            match api.delete(&pod.name, &params).await {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) => {}
                Err(e) => return Err(e).with_context(|| format!("cannot delete pod {}", pod.name)),
            }
            deleted.insert(pod.uid.clone());
        }
        let deadline = Instant::now() + self.options.install_timeout;
        for pod in &self.pods {
            loop {
                if interrupted() {
                    return Err(Interrupted.into());
                }
                let gone = match api.get(&pod.name).await {
                    Ok(current) => current.metadata.uid.as_deref() != Some(pod.uid.as_str()),
                    Err(e) if is_status(&e, 404) => true,
                    Err(e) => return Err(e).with_context(|| format!("cannot read pod {}", pod.name)),
                };
                if gone {
                    break;
                }
                if Instant::now() >= deadline {
                    bail!("pod {} was not deleted in time", pod.name);
                }
                tokio::time::sleep(self.options.poll_interval).await;
            }
        }
        for pod in bare {
            let fresh = Pod {
                metadata: ObjectMeta {
                    name: pod.metadata.name.clone(),
                    labels: pod.metadata.labels.clone(),
                    annotations: pod.metadata.annotations.clone(),
                    ..Default::default()
                },
                spec: pod.spec.map(|mut spec| {
                    spec.node_name = None;
                    spec.ephemeral_containers = None;
                    spec
                }),
                status: None,
            };
            api.create(&PostParams::default(), &fresh)
                .await
                .with_context(|| format!("cannot re-create pod {}", fresh.metadata.name.as_deref().unwrap_or("?")))?;
        }
        Ok(())
    }

    /// `helm uninstall`, then delete the namespace if it carries our labels.
    async fn delete_namespace(&self) -> Result<bool> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let namespace = match namespaces.get(&self.name).await {
            Ok(ns) => ns,
            Err(e) if is_status(&e, 404) => return Ok(true),
            Err(e) => return Err(e).with_context(|| format!("cannot read namespace {}", self.name)),
        };
        if !is_ours(&namespace, &self.name) {
            bail!(
                "refusing to delete namespace {}: it does not carry the labels {MANAGED_BY_LABEL}={MANAGED_BY} and {SANDBOX_LABEL}={}",
                self.name,
                self.name
            );
        }
        if namespace.metadata.deletion_timestamp.is_some() {
            return Ok(true);
        }
        match namespaces.delete(&self.name, &DeleteParams::background()).await {
            Ok(_) => Ok(true),
            Err(e) if is_status(&e, 404) => Ok(true),
            Err(e) => Err(e).with_context(|| format!("cannot delete namespace {}", self.name)),
        }
    }
}

// ---------------------------------------------------------------------------
// reading pods: shared by the sandbox and the in-place audit

/// Whether a container without a shell may be read from an ephemeral debug
/// container (which Kubernetes never removes from the pod's spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugContainers {
    Allowed,
    /// The container is left unread (reported, not probed).
    Forbidden,
}

/// A pod to probe, as listed.
#[derive(Debug, Clone)]
pub(crate) struct TrackedPod {
    pub(crate) name: String,
    pub(crate) uid: String,
    pub(crate) owner: WorkloadRef,
    pub(crate) ready: bool,
    pub(crate) host_network: bool,
    /// Other containers' processes are visible: no attribution.
    pub(crate) shared_pids: bool,
    pub(crate) containers: Vec<String>,
    /// Ephemeral containers already running, by their target container.
    pub(crate) debug_containers: BTreeMap<String, String>,
}

impl TrackedPod {
    pub(crate) fn new(pod: &Pod, owner: WorkloadRef) -> TrackedPod {
        let spec = pod.spec.as_ref();
        TrackedPod {
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            owner,
            ready: pod_is_ready(pod),
            host_network: spec.and_then(|s| s.host_network).unwrap_or(false),
            shared_pids: spec.is_some_and(|s| s.share_process_namespace == Some(true) || s.host_pid == Some(true)),
            containers: container_names(pod),
            debug_containers: BTreeMap::new(),
        }
    }
}

/// Read access to the pods of one namespace: list them and map them to
/// their workloads, explain the ones that are not ready, and read their
/// sockets by exec. The only write it can make is adding an ephemeral debug
/// container, and only with [`DebugContainers::Allowed`].
pub(crate) struct PodAccess<'a, E: PodExec> {
    pub(crate) client: &'a Client,
    pub(crate) exec: &'a E,
    /// Where the pods are.
    pub(crate) namespace: &'a str,
    /// The namespace of every [`WorkloadRef`] reported.
    pub(crate) model_namespace: &'a str,
    pub(crate) probe_image: &'a str,
    pub(crate) debug_containers: DebugContainers,
    /// The debug container runs `sleep` this long, then ends.
    pub(crate) debug_lifetime: Duration,
    /// How long to wait for a debug container to run.
    pub(crate) debug_timeout: Duration,
    pub(crate) poll_interval: Duration,
}

impl<E: PodExec> PodAccess<'_, E> {
    fn pods_api(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), self.namespace)
    }

    fn model_ref(&self, kind: &str, name: &str) -> WorkloadRef {
        WorkloadRef {
            kind: kind.to_string(),
            namespace: self.model_namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// The workload owning `pod`, in the model's namespace.
    async fn owner_of(&self, pod: &Pod, cache: &mut BTreeMap<String, WorkloadRef>) -> WorkloadRef {
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let Some(owner) = controller_of(pod.metadata.owner_references.as_deref()) else {
            return self.model_ref("Pod", &pod_name);
        };
        if owner.kind != "ReplicaSet" {
            return self.model_ref(&owner.kind, &owner.name);
        }
        if let Some(found) = cache.get(&owner.name) {
            return found.clone();
        }
        let replica_sets: Api<ReplicaSet> = Api::namespaced(self.client.clone(), self.namespace);
        let resolved = match replica_sets.get(&owner.name).await {
            Ok(rs) => match controller_of(rs.metadata.owner_references.as_deref()) {
                Some(parent) => self.model_ref(&parent.kind, &parent.name),
                None => self.model_ref("ReplicaSet", &owner.name),
            },
            // Not readable: a Deployment's ReplicaSet is `<deployment>-<pod-template-hash>`.
            Err(_) => {
                let hash = pod
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("pod-template-hash"))
                    .map(|h| format!("-{h}"));
                match hash.and_then(|h| owner.name.strip_suffix(&h).map(str::to_string)) {
                    Some(deployment) => self.model_ref("Deployment", &deployment),
                    None => self.model_ref("ReplicaSet", &owner.name),
                }
            }
        };
        cache.insert(owner.name.clone(), resolved.clone());
        resolved
    }

    /// The pods to wait for and probe, with their workloads: not
    /// terminating, not in `skip` (uids), not run-to-completion.
    pub(crate) async fn current_pods(&self, skip: &BTreeSet<String>) -> Result<Vec<(Pod, WorkloadRef)>> {
        let list = self
            .pods_api()
            .list(&ListParams::default())
            .await
            .with_context(|| format!("cannot list the pods of namespace {}", self.namespace))?;
        let mut cache = BTreeMap::new();
        let mut pods = Vec::new();
        for pod in list.items {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            if pod.metadata.deletion_timestamp.is_some() || skip.contains(&uid) {
                continue;
            }
            let owner = self.owner_of(&pod, &mut cache).await;
            if RUN_TO_COMPLETION.contains(&owner.kind.as_str()) {
                continue;
            }
            // An evicted or finished pod of a controller: its replacement counts.
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            if owner.kind != "Pod" && matches!(phase, Some("Succeeded" | "Failed")) {
                continue;
            }
            pods.push((pod, owner));
        }
        pods.sort_by(|a, b| a.0.metadata.name.cmp(&b.0.metadata.name));
        Ok(pods)
    }

    /// Why a pod is not ready: phase, conditions, container states, the
    /// last events and the last log lines (and `note`, when given).
    pub(crate) async fn not_ready_detail(&self, pod: &Pod, note: Option<&str>) -> String {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let mut parts = pod_status_summary(pod);
        let events: Api<Event> = Api::namespaced(self.client.clone(), self.namespace);
        let selector = format!("involvedObject.kind=Pod,involvedObject.name={name}");
        if let Ok(list) = events.list(&ListParams::default().fields(&selector)).await {
            let mut items = list.items;
            items.sort_by_key(event_time);
            let last: Vec<String> = items
                .iter()
                .rev()
                .take(5)
                .rev()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.reason.as_deref().unwrap_or("?"),
                        e.message.as_deref().unwrap_or("").trim()
                    )
                })
                .collect();
            if !last.is_empty() {
                parts.push(format!("last events: {}", last.join("; ")));
            }
        }
        for container in container_names(pod) {
            let params = LogParams {
                container: Some(container.clone()),
                tail_lines: Some(5),
                ..Default::default()
            };
            if let Ok(text) = self.pods_api().logs(&name, &params).await {
                let lines: Vec<&str> = text.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
                if !lines.is_empty() {
                    parts.push(format!("last log lines of {container}: {}", lines.join(" | ")));
                }
            }
        }
        if let Some(note) = note {
            parts.push(format!("helm: {note}"));
        }
        parts.join("; ")
    }

    /// Run the reader in `container`, in an ephemeral debug container when
    /// the container has no shell (and debug containers are allowed).
    async fn read_container(&self, pod: &mut TrackedPod, container: &str) -> Result<ContainerReading> {
        let command: Vec<String> = vec!["sh".into(), "-c".into(), READER_SCRIPT.into()];
        let direct = self
            .exec
            .exec(self.client, self.namespace, &pod.name, container, &command)
            .await?;
        if let Some(reading) = parse_reading(&direct.stdout)? {
            return Ok(reading);
        }
        let why = if direct.message.is_empty() {
            "no output"
        } else {
            &direct.message
        };
        if self.debug_containers == DebugContainers::Forbidden {
            bail!(
                "container {container} of pod {} has no shell to read its sockets with (exec: {why}); not probed \
(--allow-debug-containers reads it from an ephemeral debug container)",
                pod.name
            );
        }
        let debug = self.debug_container(pod, container).await.with_context(|| {
            format!(
                "cannot read the sockets of {}/{container} (exec: {why}), nor start a debug container with {}",
                pod.name, self.probe_image
            )
        })?;
        let output = self
            .exec
            .exec(self.client, self.namespace, &pod.name, &debug, &command)
            .await?;
        parse_reading(&output.stdout)?.ok_or_else(|| {
            anyhow!(
                "the debug container {debug} of pod {} printed no socket tables ({})",
                pod.name,
                output.message
            )
        })
    }

    /// An ephemeral container running `probe_image` that targets `container`
    /// (same PID namespace), started once per pod and container.
    async fn debug_container(&self, pod: &mut TrackedPod, container: &str) -> Result<String> {
        if let Some(name) = pod.debug_containers.get(container) {
            return Ok(name.clone());
        }
        let name = dns_label(&format!("netaudit-probe-{container}"), 63);
        let sleep = self.debug_lifetime.as_secs().max(1).to_string();
        let spec = |ptrace: bool| {
            let mut c = serde_json::json!({
                "name": name,
                "image": self.probe_image,
                "command": ["sleep", sleep],
                "targetContainerName": container,
                "imagePullPolicy": "IfNotPresent",
            });
            if ptrace {
                // Reading another user's /proc/<pid>/fd needs CAP_SYS_PTRACE.
                c["securityContext"] = serde_json::json!({"capabilities": {"add": ["SYS_PTRACE"]}});
            }
            serde_json::json!({"spec": {"ephemeralContainers": [c]}})
        };
        let api = self.pods_api();
        let params = PatchParams::default();
        if let Err(first) = api
            .patch_ephemeral_containers(&pod.name, &params, &Patch::Strategic(spec(true)))
            .await
        {
            // A Pod Security level that forbids the capability: without it,
            // sockets are still read (attribution may be lost).
            api.patch_ephemeral_containers(&pod.name, &params, &Patch::Strategic(spec(false)))
                .await
                .with_context(|| format!("adding an ephemeral container failed ({first})"))?;
        }
        let deadline = Instant::now() + self.debug_timeout;
        loop {
            if interrupted() {
                return Err(Interrupted.into());
            }
            let current = api.get(&pod.name).await?;
            let state = current
                .status
                .as_ref()
                .and_then(|s| s.ephemeral_container_statuses.as_ref())
                .and_then(|list| list.iter().find(|s| s.name == name))
                .and_then(|s| s.state.clone());
            if state.as_ref().is_some_and(|s| s.running.is_some()) {
                break;
            }
            if let Some(terminated) = state.as_ref().and_then(|s| s.terminated.as_ref()) {
                bail!(
                    "the debug container {name} ended ({})",
                    terminated.reason.as_deref().unwrap_or("terminated")
                );
            }
            if Instant::now() >= deadline {
                let waiting = state
                    .and_then(|s| s.waiting)
                    .map(|w| format!("{}: {}", w.reason.unwrap_or_default(), w.message.unwrap_or_default()))
                    .unwrap_or_else(|| "not started".into());
                bail!("the debug container {name} did not start ({waiting})");
            }
            tokio::time::sleep(self.poll_interval).await;
        }
        pod.debug_containers.insert(container.to_string(), name.clone());
        Ok(name)
    }

    /// Read the sockets of a pod. Fails when no container could be read;
    /// otherwise also returns why the others could not (their sockets are
    /// still seen, the network namespace is shared, but not attributed).
    pub(crate) async fn probe_pod(&self, pod: &mut TrackedPod) -> Result<(PodSockets, Vec<String>)> {
        let mut sockets: Vec<OpenSocket> = Vec::new();
        let mut range = None;
        let mut holders: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
        let mut failures = Vec::new();
        let containers = pod.containers.clone();
        for container in &containers {
            if interrupted() {
                return Err(Interrupted.into());
            }
            match self.read_container(pod, container).await {
                Ok(reading) => {
                    sockets.extend(reading.sockets);
                    range = range.or(reading.ephemeral_range);
                    for inode in reading.socket_inodes {
                        holders.entry(inode).or_default().insert(container.clone());
                    }
                }
                Err(e) => failures.push(format!("{e:#}")),
            }
        }
        // All containers share the pod's network namespace: one reading is
        // enough for the sockets; only attribution needs every container.
        if failures.len() == containers.len() && !containers.is_empty() {
            bail!("cannot read the sockets of pod {}: {}", pod.name, failures.join("; "));
        }
        sockets.sort();
        sockets.dedup();
        let sockets = sockets
            .into_iter()
            .map(|socket| {
                let container = match holders.get(&socket.inode) {
                    Some(set) if set.len() == 1 && !pod.shared_pids => set.iter().next().cloned(),
                    _ => None,
                };
                AttributedSocket { socket, container }
            })
            // A host-network pod sees every socket of the node: keep the
            // ones its own containers hold.
            .filter(|s| !pod.host_network || s.container.is_some())
            .collect();
        let reading = PodSockets {
            pod: pod.name.clone(),
            owner: pod.owner.clone(),
            host_network: pod.host_network,
            ephemeral_range: range.unwrap_or((32768, 60999)),
            sockets,
        };
        Ok((reading, failures))
    }
}

/// Does `namespace` carry the labels of sandbox `name`?
pub fn is_ours(namespace: &Namespace, name: &str) -> bool {
    let labels = namespace.metadata.labels.as_ref();
    let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
    label(MANAGED_BY_LABEL) == Some(MANAGED_BY) && label(SANDBOX_LABEL) == Some(name)
}

fn controller_of(owners: Option<&[OwnerReference]>) -> Option<&OwnerReference> {
    let owners = owners?;
    owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or_else(|| owners.first())
}

fn container_names(pod: &Pod) -> Vec<String> {
    pod.spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

fn pod_is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn event_time(event: &Event) -> Option<k8s_openapi::chrono::DateTime<k8s_openapi::chrono::Utc>> {
    event
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| event.event_time.as_ref().map(|t| t.0))
        .or_else(|| event.first_timestamp.as_ref().map(|t| t.0))
}

/// Phase, false conditions and container states of a pod, in words.
fn pod_status_summary(pod: &Pod) -> Vec<String> {
    let mut parts = Vec::new();
    let Some(status) = &pod.status else {
        return vec!["no status yet".into()];
    };
    parts.push(format!("phase {}", status.phase.as_deref().unwrap_or("Unknown")));
    for condition in status.conditions.iter().flatten() {
        if condition.status != "True" {
            let mut text = format!("{}={}", condition.type_, condition.status);
            let why: Vec<&str> = [condition.reason.as_deref(), condition.message.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !why.is_empty() {
                text.push_str(&format!(" ({})", why.join(": ")));
            }
            parts.push(text);
        }
    }
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for container in containers {
        if container.ready {
            continue;
        }
        let mut text = format!("container {}", container.name);
        if let Some(state) = &container.state {
            if let Some(w) = &state.waiting {
                text.push_str(&format!(
                    ": waiting ({}{})",
                    w.reason.as_deref().unwrap_or("?"),
                    w.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
                ));
            } else if let Some(t) = &state.terminated {
                text.push_str(&format!(
                    ": terminated ({}, exit code {})",
                    t.reason.as_deref().unwrap_or("?"),
                    t.exit_code
                ));
            } else if state.running.is_some() {
                text.push_str(": running, not ready");
            }
        }
        if let Some(t) = container.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
            text.push_str(&format!(
                ", last exit: {} (exit code {})",
                t.reason.as_deref().unwrap_or("?"),
                t.exit_code
            ));
        }
        if container.restart_count > 0 {
            text.push_str(&format!(", {} restarts", container.restart_count));
        }
        parts.push(text);
    }
    parts
}

/// What the reader printed in one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerReading {
    pub sockets: Vec<OpenSocket>,
    pub ephemeral_range: Option<(u16, u16)>,
    /// Socket inodes held by the processes the container sees.
    pub socket_inodes: BTreeSet<u64>,
}

/// Parse [`READER_SCRIPT`]'s output; `None` when it did not run to the end
/// (no shell, no `cat`): the caller then tries a debug container.
pub fn parse_reading(output: &str) -> Result<Option<ContainerReading>> {
    let mut sections: BTreeMap<&str, String> = BTreeMap::new();
    let mut current: Option<&str> = None;
    for line in output.lines() {
        if let Some(name) = line.strip_prefix(MARK) {
            let name = name.trim();
            sections.entry(name).or_default();
            current = Some(name);
            continue;
        }
        if let Some(name) = current {
            let text = sections.entry(name).or_default();
            text.push_str(line);
            text.push('\n');
        }
    }
    if !sections.contains_key("end") {
        return Ok(None);
    }
    let mut reading = ContainerReading::default();
    for (name, protocol, v6) in [
        ("tcp", Protocol::Tcp, false),
        ("tcp6", Protocol::Tcp, true),
        ("udp", Protocol::Udp, false),
        ("udp6", Protocol::Udp, true),
    ] {
        let text = sections.get(name).map(String::as_str).unwrap_or("");
        reading
            .sockets
            .extend(procnet::parse(text, protocol, v6).with_context(|| format!("cannot parse /proc/net/{name}"))?);
    }
    if sections.get("tcp").is_none_or(|t| t.trim().is_empty()) {
        // cat printed nothing at all: not a reading.
        return Ok(None);
    }
    reading.sockets.sort();
    reading.sockets.dedup();
    reading.ephemeral_range = sections.get("range").and_then(|t| {
        let mut parts = t.split_whitespace().map(|p| p.parse::<u16>().ok());
        Some((parts.next()??, parts.next()??))
    });
    if let Some(fds) = sections.get("fds") {
        let mut rest = fds.as_str();
        while let Some(start) = rest.find("socket:[") {
            rest = &rest[start + "socket:[".len()..];
            let end = rest.find(']').unwrap_or(0);
            if let Ok(inode) = rest[..end].parse::<u64>() {
                reading.socket_inodes.insert(inode);
            }
            rest = &rest[end..];
        }
    }
    Ok(Some(reading))
}

impl<I: Installer, E: PodExec> Sandbox for KubeSandbox<I, E> {
    fn describe(&self) -> String {
        match env_nonempty("HELM_KUBECONTEXT") {
            Some(context) => format!("kube namespace {} (context {context})", self.name),
            None => format!("kube namespace {}", self.name),
        }
    }

    fn removal_hint(&self) -> String {
        let context = env_nonempty("HELM_KUBECONTEXT")
            .map(|c| format!(" --context {c}"))
            .unwrap_or_default();
        format!(
            "{}; kubectl delete namespace {}{context}",
            self.installer.uninstall_hint(&self.name),
            self.name
        )
    }

    fn host_baseline(&mut self) -> Result<Vec<OpenSocket>> {
        // The node's own sockets cannot be read without a privileged pod;
        // hostNetwork pods keep only the sockets their containers hold.
        Ok(Vec::new())
    }

    fn install(&mut self) -> Result<()> {
        self.runtime.block_on(self.create_namespace())?;
        self.created = true;
        self.install_attempted = true;
        match self.installer.install(&self.name, self.options.install_timeout)? {
            InstallOutcome::Ready => {}
            InstallOutcome::WaitTimedOut(message) => self.install_note = Some(message),
        }
        Ok(())
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<Vec<PodStatus>> {
        let start = Instant::now();
        loop {
            if interrupted() {
                return Err(Interrupted.into());
            }
            let pods = self.runtime.block_on(self.access().current_pods(&self.deleted))?;
            let mut counts: BTreeMap<WorkloadRef, usize> = BTreeMap::new();
            for (_, owner) in &pods {
                *counts.entry(owner.clone()).or_default() += 1;
            }
            let all_there = self
                .expected
                .iter()
                .all(|(owner, n)| counts.get(owner).copied().unwrap_or(0) >= *n);
            let all_ready = pods.iter().all(|(p, _)| pod_is_ready(p));
            if (all_there && all_ready) || start.elapsed() >= timeout {
                if self.expected.is_empty() {
                    self.expected = counts;
                }
                let mut statuses = Vec::new();
                let mut tracked = Vec::new();
                for (pod, owner) in pods {
                    let ready = pod_is_ready(&pod);
                    let detail = if ready {
                        String::new()
                    } else {
                        let note = self.install_note.as_deref();
                        self.runtime.block_on(self.access().not_ready_detail(&pod, note))
                    };
                    let pod = TrackedPod::new(&pod, owner.clone());
                    statuses.push(PodStatus {
                        pod: pod.name.clone(),
                        owner,
                        ready,
                        detail,
                    });
                    tracked.push(pod);
                }
                self.pods = tracked;
                return Ok(statuses);
            }
            sleep_interruptibly(self.options.poll_interval)?;
        }
    }

    fn probe(&mut self) -> Result<Vec<PodSockets>> {
        let mut pods = std::mem::take(&mut self.pods);
        let access = self.access();
        let result = self.runtime.block_on(async {
            let mut result = Vec::new();
            for pod in pods.iter_mut().filter(|p| p.ready) {
                if interrupted() {
                    return Err(Interrupted.into());
                }
                // Containers that could not be read while another could:
                // their sockets are seen, only not attributed to them.
                let (sockets, _unread) = access.probe_pod(pod).await?;
                result.push(sockets);
            }
            Ok(result)
        });
        self.pods = pods;
        result
    }

    fn restart(&mut self) -> Result<()> {
        let mut deleted = BTreeSet::new();
        let outcome = self.runtime.block_on(self.restart_pods(&mut deleted));
        self.deleted.extend(deleted);
        outcome
    }

    fn cleanup(&mut self) -> Result<()> {
        if !self.created {
            return Ok(());
        }
        let uninstalled = if self.install_attempted {
            self.installer.uninstall(&self.name)
        } else {
            Ok(())
        };
        self.install_attempted = uninstalled.is_err();
        self.runtime.block_on(self.delete_namespace())?;
        self.created = false;
        uninstalled.with_context(|| {
            format!(
                "namespace {} was deleted, but helm uninstall failed (cluster-scoped objects of the chart may remain)",
                self.name
            )
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! The backend against an in-memory fake API server (a `tower_test`
    //! mock service), a fake installer and a fake exec: no cluster needed.

    use super::*;
    use http::{Request, Response};
    use kube::client::Body;
    use serde_json::{json, Value};
    use std::sync::{Arc, Mutex};

    const SANDBOX_NS: &str = "netaudit-shop-test";

    /// The cluster's state as the fake API server keeps it.
    #[derive(Default)]
    pub(crate) struct Cluster {
        pub(crate) namespaces: BTreeMap<String, Value>,
        pub(crate) pods: Vec<Value>,
        pub(crate) replica_sets: Vec<Value>,
        pub(crate) events: Vec<Value>,
        /// "METHOD path" of every request.
        pub(crate) log: Vec<String>,
        /// Replacement pods made so far (for unique names).
        generation: usize,
    }

    pub(crate) type Shared = Arc<Mutex<Cluster>>;

    fn status(code: u16, reason: &str) -> (u16, Value) {
        (
            code,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": reason, "reason": reason, "code": code}),
        )
    }

    fn list(kind: &str, items: Vec<Value>) -> (u16, Value) {
        (
            200,
            json!({"apiVersion": "v1", "kind": kind, "metadata": {}, "items": items}),
        )
    }

    fn name_of(object: &Value) -> &str {
        object["metadata"]["name"].as_str().unwrap_or("")
    }

    pub(crate) fn pod(name: &str, owner: Option<(&str, &str)>, ready: bool, containers: &[&str]) -> Value {
        let mut pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": SANDBOX_NS, "uid": format!("uid-{name}"), "labels": {"pod-template-hash": "5d9f"}},
            "spec": {"containers": containers.iter().map(|c| json!({"name": c, "image": "img"})).collect::<Vec<_>>()},
            "status": {
                "phase": if ready { "Running" } else { "Pending" },
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
            },
        });
        if let Some((kind, owner_name)) = owner {
            pod["metadata"]["ownerReferences"] = json!([{
                "apiVersion": "apps/v1", "kind": kind, "name": owner_name, "uid": "u", "controller": true
            }]);
        }
        pod
    }

    impl Cluster {
        fn handle(&mut self, method: &str, path: &str, query: &str, body: &[u8]) -> (u16, Value) {
            self.log.push(format!("{method} {path}"));
            let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
            match (method, segments.as_slice()) {
                ("POST", ["api", "v1", "namespaces"]) => {
                    let namespace: Value = serde_json::from_slice(body).unwrap();
                    let name = name_of(&namespace).to_string();
                    if self.namespaces.contains_key(&name) {
                        return status(409, "AlreadyExists");
                    }
                    self.namespaces.insert(name, namespace.clone());
                    (201, namespace)
                }
                ("GET", ["api", "v1", "namespaces", ns]) => match self.namespaces.get(*ns) {
                    Some(namespace) => (200, namespace.clone()),
                    None => status(404, "NotFound"),
                },
                ("DELETE", ["api", "v1", "namespaces", ns]) => match self.namespaces.remove(*ns) {
                    Some(namespace) => (200, namespace),
                    None => status(404, "NotFound"),
                },
                ("GET", ["api", "v1", "namespaces", _, "pods"]) => list("PodList", self.pods.clone()),
                ("GET", ["api", "v1", "namespaces", _, "pods", name]) => {
                    match self.pods.iter().find(|p| name_of(p) == *name) {
                        Some(pod) => (200, pod.clone()),
                        None => status(404, "NotFound"),
                    }
                }
                ("DELETE", ["api", "v1", "namespaces", _, "pods", name]) => {
                    let Some(index) = self.pods.iter().position(|p| name_of(p) == *name) else {
                        return status(404, "NotFound");
                    };
                    let old = self.pods.remove(index);
                    // The ReplicaSet controller makes a replacement, ready.
                    if old["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet" {
                        self.generation += 1;
                        let rs = old["metadata"]["ownerReferences"][0]["name"].as_str().unwrap();
                        let containers: Vec<&str> = old["spec"]["containers"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|c| c["name"].as_str().unwrap())
                            .collect();
                        let fresh = format!("{rs}-new{}", self.generation);
                        self.pods.push(pod(&fresh, Some(("ReplicaSet", rs)), true, &containers));
                    }
                    (200, old)
                }
                ("POST", ["api", "v1", "namespaces", _, "pods"]) => {
                    let mut created: Value = serde_json::from_slice(body).unwrap();
                    self.generation += 1;
                    created["metadata"]["uid"] = json!(format!("uid-created-{}", self.generation));
                    created["status"] =
                        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]});
                    self.pods.push(created.clone());
                    (201, created)
                }
                ("PATCH", ["api", "v1", "namespaces", _, "pods", name, "ephemeralcontainers"]) => {
                    let patch: Value = serde_json::from_slice(body).unwrap();
                    let Some(pod) = self.pods.iter_mut().find(|p| name_of(p) == *name) else {
                        return status(404, "NotFound");
                    };
                    let added = patch["spec"]["ephemeralContainers"].clone();
                    let statuses: Vec<Value> = added
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false, "restartCount": 0, "state": {"running": {}}}))
                        .collect();
                    pod["spec"]["ephemeralContainers"] = added;
                    pod["status"]["ephemeralContainerStatuses"] = json!(statuses);
                    (200, pod.clone())
                }
                ("GET", ["api", "v1", "namespaces", _, "pods", _, "log"]) => {
                    (200, json!("starting\nboom: port in use\n"))
                }
                ("GET", ["api", "v1", "namespaces", _, "events"]) => {
                    let items = self
                        .events
                        .iter()
                        .filter(|e| {
                            query.contains(&format!(
                                "involvedObject.name%3D{}",
                                e["involvedObject"]["name"].as_str().unwrap()
                            ))
                        })
                        .cloned()
                        .collect();
                    list("EventList", items)
                }
                ("GET", ["apis", "apps", "v1", "namespaces", _, "replicasets", name]) => {
                    match self.replica_sets.iter().find(|r| name_of(r) == *name) {
                        Some(rs) => (200, rs.clone()),
                        None => status(404, "NotFound"),
                    }
                }
                _ => status(405, "MethodNotAllowed"),
            }
        }
    }

    /// The fake API server: answers every request from `cluster`.
    pub(crate) async fn serve(mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>, cluster: Shared) {
        while let Some((request, send)) = handle.next_request().await {
            let method = request.method().to_string();
            let path = request.uri().path().to_string();
            let query = request.uri().query().unwrap_or("").to_string();
            let body = request.into_body().collect_bytes().await.unwrap_or_default();
            let (code, value) = cluster.lock().unwrap().handle(&method, &path, &query, &body);
            // Logs are plain text.
            let bytes = match value {
                Value::String(text) => text.into_bytes(),
                other => serde_json::to_vec(&other).unwrap(),
            };
            send.send_response(Response::builder().status(code).body(Body::from(bytes)).unwrap());
        }
    }

    /// A fake helm: "installs" by adding objects to the cluster.
    struct FakeHelm {
        cluster: Shared,
        objects: fn(&mut Cluster),
        fail: bool,
        calls: Arc<Mutex<Vec<String>>>,
    }

    impl Installer for FakeHelm {
        fn install(&mut self, namespace: &str, _: Duration) -> Result<InstallOutcome> {
            self.calls.lock().unwrap().push(format!("install {namespace}"));
            if self.fail {
                bail!("helm install failed: chart is broken");
            }
            (self.objects)(&mut self.cluster.lock().unwrap());
            Ok(InstallOutcome::Ready)
        }
        fn uninstall(&mut self, namespace: &str) -> Result<()> {
            self.calls.lock().unwrap().push(format!("uninstall {namespace}"));
            Ok(())
        }
        fn uninstall_hint(&self, namespace: &str) -> String {
            format!("helm uninstall shop -n {namespace}")
        }
    }

    /// A fake exec: the captured /proc/net files, and per container the
    /// socket inodes its processes hold. Containers in `no_shell` fail.
    pub(crate) struct FakeExec {
        /// The only namespace exec may be asked for.
        pub(crate) namespace: &'static str,
        pub(crate) fds: BTreeMap<&'static str, Vec<u64>>,
        pub(crate) calls: Arc<Mutex<Vec<String>>>,
    }

    fn captured(name: &str) -> String {
        let path = format!("{}/testdata/procnet/ns/net/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).unwrap()
    }

    fn reader_output(inodes: &[u64]) -> String {
        let mut out = String::new();
        for f in ["tcp", "tcp6", "udp", "udp6"] {
            out.push_str(&format!("@@netaudit {f}\n{}", captured(f)));
        }
        out.push_str("@@netaudit range\n50000\t50999\n@@netaudit fds\n/proc/1/fd/:\ntotal 0\n");
        out.push_str("lrwx------ 1 root root 64 Jan  1 00:00 0 -> /dev/null\n");
        for (i, inode) in inodes.iter().enumerate() {
            out.push_str(&format!(
                "lrwx------ 1 root root 64 Jan  1 00:00 {} -> socket:[{inode}]\n",
                i + 3
            ));
        }
        out.push_str("@@netaudit end\n");
        out
    }

    impl PodExec for FakeExec {
        async fn exec(
            &self,
            _: &Client,
            ns: &str,
            pod: &str,
            container: &str,
            command: &[String],
        ) -> Result<ExecOutput> {
            assert_eq!(ns, self.namespace);
            assert_eq!(command.first().map(String::as_str), Some("sh"));
            self.calls.lock().unwrap().push(format!("{pod}/{container}"));
            Ok(match self.fds.get(container) {
                Some(inodes) => ExecOutput {
                    stdout: reader_output(inodes),
                    success: true,
                    message: String::new(),
                },
                None => ExecOutput {
                    stdout: String::new(),
                    success: false,
                    message: "executable file not found in $PATH".into(),
                },
            })
        }
    }

    struct Harness {
        sandbox: KubeSandbox<FakeHelm, FakeExec>,
        cluster: Shared,
        helm_calls: Arc<Mutex<Vec<String>>>,
        exec_calls: Arc<Mutex<Vec<String>>>,
    }

    fn harness(objects: fn(&mut Cluster), fail_install: bool) -> Harness {
        let runtime = new_runtime().unwrap();
        let cluster: Shared = Arc::default();
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        // The client's buffer task and the fake server run on the sandbox's runtime.
        let client = {
            let _guard = runtime.enter();
            runtime.spawn(serve(handle, cluster.clone()));
            Client::new(service, "default")
        };
        let helm_calls = Arc::new(Mutex::new(Vec::new()));
        let exec_calls = Arc::new(Mutex::new(Vec::new()));
        let installer = FakeHelm {
            cluster: cluster.clone(),
            objects,
            fail: fail_install,
            calls: helm_calls.clone(),
        };
        let exec = FakeExec {
            namespace: SANDBOX_NS,
            fds: BTreeMap::from([
                ("app", vec![105876, 105877, 105882]),
                ("sidecar", vec![105890]),
                // The debug container for `distroless` (busybox has a shell).
                ("netaudit-probe-distroless", vec![105885]),
            ]),
            calls: exec_calls.clone(),
        };
        let mut options = KubeOptions::new("shop", "prod", Duration::from_secs(5));
        options.poll_interval = Duration::from_millis(10);
        let mut sandbox = KubeSandbox::with_parts(runtime, client, installer, exec, options);
        sandbox.name = SANDBOX_NS.into();
        Harness {
            sandbox,
            cluster,
            helm_calls,
            exec_calls,
        }
    }

    fn deployment_objects(cluster: &mut Cluster) {
        cluster.replica_sets.push(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-5d9f", "namespace": SANDBOX_NS, "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d", "controller": true}
            ]},
        }));
        cluster.pods.push(pod(
            "web-5d9f-abcde",
            Some(("ReplicaSet", "web-5d9f")),
            true,
            &["app", "sidecar"],
        ));
        cluster
            .pods
            .push(pod("db-0", Some(("StatefulSet", "db")), true, &["app"]));
        // A finished Job's pod: not waited for, not probed.
        cluster
            .pods
            .push(pod("migrate-x", Some(("Job", "migrate")), false, &["m"]));
    }

    fn web() -> WorkloadRef {
        WorkloadRef {
            kind: "Deployment".into(),
            namespace: "prod".into(),
            name: "web".into(),
        }
    }

    #[test]
    fn happy_path_installs_probes_restarts_and_cleans_up() {
        let mut h = harness(deployment_objects, false);
        h.sandbox.install().unwrap();
        let namespace = h.cluster.lock().unwrap().namespaces[SANDBOX_NS].clone();
        assert_eq!(namespace["metadata"]["labels"][MANAGED_BY_LABEL], MANAGED_BY);
        assert_eq!(namespace["metadata"]["labels"][SANDBOX_LABEL], SANDBOX_NS);
        assert_eq!(*h.helm_calls.lock().unwrap(), [format!("install {SANDBOX_NS}")]);

        let statuses = h.sandbox.wait_ready(Duration::from_secs(5)).unwrap();
        let summary: Vec<(String, WorkloadRef, bool)> = statuses
            .iter()
            .map(|s| (s.pod.clone(), s.owner.clone(), s.ready))
            .collect();
        let db = WorkloadRef {
            kind: "StatefulSet".into(),
            namespace: "prod".into(),
            name: "db".into(),
        };
        assert_eq!(
            summary,
            [
                ("db-0".to_string(), db.clone(), true),
                ("web-5d9f-abcde".to_string(), web(), true)
            ]
        );

        let run = h.sandbox.probe().unwrap();
        assert_eq!(run.len(), 2);
        let web_pod = run.iter().find(|p| p.owner == web()).unwrap();
        assert_eq!(web_pod.pod, "web-5d9f-abcde");
        assert_eq!(web_pod.ephemeral_range, (50000, 50999));
        assert!(!web_pod.host_network);
        let holder = |port: u16, protocol: Protocol| {
            web_pod
                .sockets
                .iter()
                .find(|s| s.socket.port == port && s.socket.protocol == protocol)
                .map(|s| s.container.clone())
        };
        assert_eq!(holder(8081, Protocol::Tcp), Some(Some("app".into())));
        assert_eq!(holder(8082, Protocol::Tcp), Some(Some("app".into())));
        let by_inode = |inode: u64| web_pod.sockets.iter().find(|s| s.socket.inode == inode).unwrap();
        assert_eq!(
            by_inode(105894).container,
            None,
            "udp6 [::]:9001 is held by nobody we saw"
        );
        assert_eq!(holder(8083, Protocol::Tcp), Some(None));
        assert_eq!(
            by_inode(105890).container.as_deref(),
            Some("sidecar"),
            "udp 0.0.0.0:9001"
        );
        // Every open socket of the capture (loopback included), none of the others.
        assert_eq!(web_pod.sockets.len(), 14);
        assert_eq!(
            *h.exec_calls.lock().unwrap(),
            ["db-0/app", "web-5d9f-abcde/app", "web-5d9f-abcde/sidecar"]
        );

        h.sandbox.restart().unwrap();
        let log = h.cluster.lock().unwrap().log.clone();
        assert!(log.contains(&format!("DELETE /api/v1/namespaces/{SANDBOX_NS}/pods/web-5d9f-abcde")));
        assert!(log.contains(&format!("DELETE /api/v1/namespaces/{SANDBOX_NS}/pods/db-0")));
        // (the fake has no StatefulSet controller: put db-0 back by hand,
        // ready, same name, new uid)
        let mut db_again = pod("db-0", Some(("StatefulSet", "db")), true, &["app"]);
        db_again["metadata"]["uid"] = json!("uid-db-0-again");
        h.cluster.lock().unwrap().pods.push(db_again);
        let statuses = h.sandbox.wait_ready(Duration::from_secs(5)).unwrap();
        let pods: Vec<&str> = statuses.iter().map(|s| s.pod.as_str()).collect();
        assert_eq!(pods, ["db-0", "web-5d9f-new1"]);
        assert!(statuses.iter().all(|s| s.ready));
        let run = h.sandbox.probe().unwrap();
        assert!(run.iter().any(|p| p.pod == "web-5d9f-new1" && p.owner == web()));

        h.sandbox.cleanup().unwrap();
        assert_eq!(
            *h.helm_calls.lock().unwrap(),
            [format!("install {SANDBOX_NS}"), format!("uninstall {SANDBOX_NS}")]
        );
        assert!(h.cluster.lock().unwrap().namespaces.is_empty());
        // Idempotent: a second cleanup does nothing.
        let requests = h.cluster.lock().unwrap().log.len();
        h.sandbox.cleanup().unwrap();
        assert_eq!(h.cluster.lock().unwrap().log.len(), requests);
    }

    fn crashing_objects(cluster: &mut Cluster) {
        deployment_objects(cluster);
        let mut broken = pod("api-7c-xyz", Some(("ReplicaSet", "api-7c")), false, &["api"]);
        broken["metadata"]["labels"]["pod-template-hash"] = json!("7c");
        broken["status"]["conditions"][0]["reason"] = json!("ContainersNotReady");
        broken["status"]["containerStatuses"] = json!([{
            "name": "api", "ready": false, "restartCount": 4, "image": "img", "imageID": "",
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
            "lastState": {"terminated": {"reason": "Error", "exitCode": 1}},
        }]);
        cluster.pods.push(broken);
        cluster.events.push(json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "api.1", "namespace": SANDBOX_NS},
            "involvedObject": {"kind": "Pod", "name": "api-7c-xyz"},
            "reason": "BackOff", "message": "Back-off restarting failed container api",
            "lastTimestamp": "2026-01-01T00:00:02Z",
        }));
        cluster.events.push(json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "api.0", "namespace": SANDBOX_NS},
            "involvedObject": {"kind": "Pod", "name": "api-7c-xyz"},
            "reason": "Started", "message": "Started container api",
            "lastTimestamp": "2026-01-01T00:00:01Z",
        }));
    }

    #[test]
    fn a_pod_that_never_gets_ready_is_reported_with_status_events_and_logs() {
        let mut h = harness(crashing_objects, false);
        h.sandbox.install().unwrap();
        let statuses = h.sandbox.wait_ready(Duration::from_millis(100)).unwrap();
        let broken = statuses.iter().find(|s| s.pod == "api-7c-xyz").unwrap();
        assert!(!broken.ready);
        // No readable ReplicaSet: the Deployment comes from pod-template-hash.
        assert_eq!(
            broken.owner,
            WorkloadRef {
                kind: "Deployment".into(),
                namespace: "prod".into(),
                name: "api".into()
            }
        );
        let detail = &broken.detail;
        for part in [
            "phase Pending",
            "Ready=False (ContainersNotReady)",
            "container api: waiting (CrashLoopBackOff: back-off 40s restarting failed container), last exit: Error (exit code 1), 4 restarts",
            "last events: Started: Started container api; BackOff: Back-off restarting failed container api",
            "last log lines of api: starting | boom: port in use",
        ] {
            assert!(detail.contains(part), "{part:?} not in {detail:?}");
        }
        assert_eq!(statuses.iter().filter(|s| s.ready).count(), 2);
        // Only ready pods are probed.
        let run = h.sandbox.probe().unwrap();
        assert!(run.iter().all(|p| p.pod != "api-7c-xyz"));
        h.sandbox.cleanup().unwrap();
    }

    #[test]
    fn a_failing_install_is_an_error_and_cleanup_still_deletes_the_namespace() {
        let mut h = harness(deployment_objects, true);
        let error = h.sandbox.install().unwrap_err();
        assert!(format!("{error:#}").contains("chart is broken"), "{error:#}");
        assert!(h.cluster.lock().unwrap().namespaces.contains_key(SANDBOX_NS));
        h.sandbox.cleanup().unwrap();
        assert!(h.cluster.lock().unwrap().namespaces.is_empty());
        let log = h.cluster.lock().unwrap().log.clone();
        assert!(log.contains(&format!("DELETE /api/v1/namespaces/{SANDBOX_NS}")));
        assert_eq!(
            *h.helm_calls.lock().unwrap(),
            [format!("install {SANDBOX_NS}"), format!("uninstall {SANDBOX_NS}")]
        );
    }

    #[test]
    fn cleanup_refuses_a_namespace_without_our_label() {
        let mut h = harness(deployment_objects, true);
        assert!(h.sandbox.install().is_err());
        // Someone relabelled it (or it is not ours after all).
        h.cluster.lock().unwrap().namespaces.get_mut(SANDBOX_NS).unwrap()["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove(MANAGED_BY_LABEL);
        let error = h.sandbox.cleanup().unwrap_err();
        assert!(
            format!("{error:#}").contains("refusing to delete namespace"),
            "{error:#}"
        );
        assert!(h.cluster.lock().unwrap().namespaces.contains_key(SANDBOX_NS));
        assert!(!h.cluster.lock().unwrap().log.iter().any(|l| l.starts_with("DELETE")));
        assert!(h
            .sandbox
            .removal_hint()
            .contains(&format!("kubectl delete namespace {SANDBOX_NS}")));
    }

    #[test]
    fn a_namespace_that_exists_already_is_never_touched() {
        let mut h = harness(deployment_objects, false);
        h.cluster
            .lock()
            .unwrap()
            .namespaces
            .insert(SANDBOX_NS.into(), json!({"metadata": {"name": SANDBOX_NS}}));
        let error = h.sandbox.install().unwrap_err();
        assert!(format!("{error:#}").contains("exists already"), "{error:#}");
        assert!(h.helm_calls.lock().unwrap().is_empty(), "helm never ran");
        h.sandbox.cleanup().unwrap();
        let log = h.cluster.lock().unwrap().log.clone();
        assert_eq!(log, ["POST /api/v1/namespaces"]);
        assert!(h.cluster.lock().unwrap().namespaces.contains_key(SANDBOX_NS));
    }

    fn distroless_objects(cluster: &mut Cluster) {
        cluster.pods.push(pod("static", None, true, &["distroless"]));
    }

    #[test]
    fn a_container_without_a_shell_is_read_from_an_ephemeral_debug_container() {
        let mut h = harness(distroless_objects, false);
        h.sandbox.install().unwrap();
        let statuses = h.sandbox.wait_ready(Duration::from_secs(5)).unwrap();
        // A bare pod is its own workload.
        assert_eq!(
            statuses[0].owner,
            WorkloadRef {
                kind: "Pod".into(),
                namespace: "prod".into(),
                name: "static".into()
            }
        );
        let run = h.sandbox.probe().unwrap();
        let held: Vec<(u64, Option<String>)> = run[0]
            .sockets
            .iter()
            .filter(|s| s.container.is_some())
            .map(|s| (s.socket.inode, s.container.clone()))
            .collect();
        // Attributed to the target container, not to the debug container.
        assert_eq!(held, [(105885, Some("distroless".to_string()))]);
        assert_eq!(
            *h.exec_calls.lock().unwrap(),
            ["static/distroless", "static/netaudit-probe-distroless"]
        );
        let cluster = h.cluster.lock().unwrap();
        let debug = &cluster.pods[0]["spec"]["ephemeralContainers"][0];
        assert_eq!(debug["image"], DEFAULT_PROBE_IMAGE);
        assert_eq!(debug["targetContainerName"], "distroless");
        assert_eq!(debug["securityContext"]["capabilities"]["add"][0], "SYS_PTRACE");
    }

    #[test]
    fn restart_recreates_a_bare_pod_from_its_spec() {
        let mut h = harness(distroless_objects, false);
        h.sandbox.install().unwrap();
        h.sandbox.wait_ready(Duration::from_secs(5)).unwrap();
        h.sandbox.probe().unwrap();
        h.sandbox.restart().unwrap();
        {
            let cluster = h.cluster.lock().unwrap();
            let path = format!("/api/v1/namespaces/{SANDBOX_NS}/pods");
            let expected = [format!("DELETE {path}/static"), format!("POST {path}")];
            let tail: Vec<&String> = cluster
                .log
                .iter()
                .filter(|l| l.starts_with("DELETE") || l.starts_with("POST /api/v1/namespaces/"))
                .collect();
            assert_eq!(tail, expected.iter().collect::<Vec<_>>());
            let again = &cluster.pods[0];
            assert_eq!(again["metadata"]["name"], "static");
            // The debug container of run one is not carried over.
            assert!(again["spec"].get("ephemeralContainers").is_none());
        }
        let statuses = h.sandbox.wait_ready(Duration::from_secs(5)).unwrap();
        assert_eq!(statuses.len(), 1);
        assert!(statuses[0].ready);
        h.sandbox.cleanup().unwrap();
    }

    #[test]
    fn reader_output_parsing() {
        let reading = parse_reading(&reader_output(&[105877])).unwrap().unwrap();
        assert_eq!(reading.ephemeral_range, Some((50000, 50999)));
        assert_eq!(reading.socket_inodes, BTreeSet::from([105877]));
        assert_eq!(reading.sockets.len(), 14);
        // No shell: nothing, or a partial run, is "no reading" (debug container next).
        assert_eq!(parse_reading("").unwrap(), None);
        assert_eq!(parse_reading("@@netaudit tcp\n").unwrap(), None);
        assert!(parse_reading("@@netaudit tcp\nnot a table\n@@netaudit end\n").is_err());
    }

    #[test]
    fn helm_install_command_line() {
        let helm = Helm { bin: "helm".into() };
        let request = RenderRequest {
            release: Some("shop".into()),
            chart: "./chart".into(),
            namespace: "prod".into(),
            values: vec!["v.yaml".into()],
            set: vec!["a=b".into()],
            kube_version: Some("1.30".into()),
            ..Default::default()
        };
        let mut installer = HelmInstaller::from_request(&helm, &request);
        installer.kube_context = Some("kind".into());
        let args: Vec<String> = installer
            .install_args("netaudit-shop-1", Duration::from_secs(300))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "install shop ./chart --values v.yaml --set a=b --namespace netaudit-shop-1 --wait --timeout 300s --kube-context kind"
        );
        assert_eq!(dns_label("My_Release.v2", 63), "my-release-v2");
    }

    /// Against a real cluster (current context; needs helm and the RBAC in
    /// docs/kube-rbac.md): `NETAUDIT_KUBE_CHART=./chart cargo test --lib
    /// probe::kube::tests::real_cluster -- --ignored`. Not run in CI: there
    /// is no cluster here.
    #[test]
    #[ignore]
    fn real_cluster() {
        let chart = std::env::var("NETAUDIT_KUBE_CHART").expect("set NETAUDIT_KUBE_CHART");
        let helm = Helm::locate().unwrap();
        let request = RenderRequest {
            release: Some("netaudit-e2e".into()),
            chart,
            namespace: "default".into(),
            ..Default::default()
        };
        let installer = HelmInstaller::from_request(&helm, &request);
        let options = KubeOptions::new("netaudit-e2e", "default", Duration::from_secs(300));
        let mut sandbox = KubeSandbox::connect(installer, options).unwrap();
        let probe_options = crate::probe::session::ProbeOptions {
            runs: 2,
            timeout: Duration::from_secs(300),
            settle: Duration::from_secs(2),
            keep: false,
        };
        let observations =
            crate::probe::session::run_probe(&mut sandbox, &probe_options, &|m| eprintln!("{m}")).unwrap();
        assert_eq!(observations.runs.len(), 2);
    }
}
