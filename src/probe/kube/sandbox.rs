//! The kube sandbox: a throwaway namespace, `helm install` into it (our own
//! wait, not helm's `--wait`: one `--timeout` in all, and no waiting for
//! pods that stopped for good),
//! pods restarted by deleting them, and cleanup that deletes only a
//! namespace carrying this sandbox's labels.

use super::exec::{KubeExec, PodExec};
use super::flows::FlowWatch;
use super::installer::{HelmInstaller, InstallOutcome, Installer};
use super::pods::{pod_is_ready, DebugContainers, PodAccess, TrackedPod};
use super::status::{stopped_reason, Stop};
use super::versions::{client_side_apply, server_version, KubeVersionRefused};
use super::{api_failed, block, client_and_target, env_nonempty, is_status, new_runtime, within, DEFAULT_PROBE_IMAGE};
use crate::model::secrets::SecretValue;
use crate::model::{ObservedFlow, OpenSocket, PodSockets, PodStatus, WorkloadRef};
use crate::probe::naming::{owner, sandbox_name, MANAGED_BY, MANAGED_BY_LABEL, OWNER_KEY, RELEASE_KEY, SANDBOX_LABEL};
use crate::probe::{Sandbox, Waiting};
use crate::source::interrupt;
use anyhow::{bail, Context, Result};
use futures::stream::{self, StreamExt};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams};
use kube::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Pods read at once by a probe run: enough to hide the exec round trips,
/// few enough not to crowd the API server.
const CONCURRENT_POD_READS: usize = 8;

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
    /// How long cleanup waits for the namespace (and its pods) to be gone.
    pub cleanup_wait: Duration,
    /// How long a request to the API server may go unanswered before the
    /// step that sent it fails (reading a pod and the restart add their own
    /// waits to it).
    pub api_timeout: Duration,
    /// The workloads that should have pods (not run to completion, not
    /// scaled to 0): run 1 waits until each has one.
    pub workloads: Vec<WorkloadRef>,
    /// The chart's credentials: redacted from what the kubelet and the
    /// containers say before it is shortened (a cut never leaves half of one).
    pub secrets: Vec<SecretValue>,
}

impl KubeOptions {
    pub fn new(release: &str, model_namespace: &str, install_timeout: Duration) -> KubeOptions {
        KubeOptions {
            release: release.to_string(),
            model_namespace: model_namespace.to_string(),
            probe_image: DEFAULT_PROBE_IMAGE.to_string(),
            install_timeout,
            poll_interval: Duration::from_secs(2),
            cleanup_wait: Duration::from_secs(60),
            api_timeout: super::DEFAULT_API_TIMEOUT,
            workloads: Vec::new(),
            secrets: Vec::new(),
        }
    }
}

/// A pod the last `wait_ready` saw.
pub struct KubeSandbox<I: Installer = HelmInstaller, E: PodExec = KubeExec> {
    /// The sandbox namespace (also the value of [`SANDBOX_LABEL`]).
    pub name: String,
    pub(super) options: KubeOptions,
    pub(super) runtime: tokio::runtime::Runtime,
    pub(super) client: Client,
    pub(super) installer: I,
    pub(super) exec: E,
    /// We created the namespace (so cleanup may delete it).
    created: bool,
    /// helm install ran (so cleanup runs helm uninstall).
    install_attempted: bool,
    /// helm's message when waiting for its hooks timed out.
    install_note: Option<String>,
    pods: Vec<TrackedPod>,
    /// Pods per workload in the first run: later runs wait for as many.
    expected: BTreeMap<WorkloadRef, usize>,
    /// Pods deleted by `restart`: never taken for their replacements.
    deleted: BTreeSet<String>,
    /// What could not be probed, for the report.
    pub(super) notes: Vec<String>,
    /// The flows the pods make, streamed from a watch in each pod.
    pub(super) flows: FlowWatch,
    /// The Services could not be read (said once).
    services_unread: bool,
    /// Which cluster it is, for messages: "context `kind-dev`".
    pub(crate) cluster: String,
    /// For the sandbox's whole life (a namespace, a release, helm running):
    /// an interrupt lets cleanup run instead of ending the process.
    _cooperative: interrupt::Cooperative,
}

impl KubeSandbox<HelmInstaller, KubeExec> {
    /// Connect to the current context's cluster. Nothing is created until
    /// [`Sandbox::install`].
    /// The client of the current context; `progress` is told where the
    /// sandbox will be, before anything is made there.
    pub fn connect(installer: HelmInstaller, options: KubeOptions, progress: &dyn Fn(&str)) -> Result<Self> {
        let runtime = new_runtime()?;
        let (client, target) = runtime
            .block_on(client_and_target())
            .map_err(|e| anyhow::anyhow!("{e} (--runtime podman probes locally)"))?;
        let mut sandbox = KubeSandbox::with_parts(runtime, client, installer, KubeExec, options);
        sandbox.cluster = target.cluster();
        progress(&format!(
            "kube runtime: the sandbox namespace {} and release `{}` go into {target}",
            sandbox.name, sandbox.options.release
        ));
        sandbox.adapt_to_versions(progress).map_err(|e| {
            if interrupt::is_interrupt(&e) {
                e
            } else {
                anyhow::anyhow!("{e:#} (--runtime podman probes locally)")
            }
        })?;
        Ok(sandbox)
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
        let name = sandbox_name(&options.release, 40);
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
            notes: Vec::new(),
            flows: FlowWatch::new(),
            services_unread: false,
            cluster: "the current context".into(),
            _cooperative: interrupt::Cooperative::enter(),
        }
    }

    /// Read the API server's version, and make helm install as that
    /// server can: Helm 4 against a server older than 1.22 gets
    /// `--server-side=false` (said in a progress line) unless the user gave
    /// a `--server-side` flag ([`client_side_apply`]). Reads only.
    pub(crate) fn adapt_to_versions(&mut self, progress: &dyn Fn(&str)) -> Result<()> {
        let limit = self.options.api_timeout;
        let server = block(
            &self.runtime,
            within(
                limit,
                "cannot read the API server's version",
                server_version(&self.client),
            ),
        )?;
        let helm_major = self.installer.helm_major();
        if let Some(line) = client_side_apply(helm_major, server.as_ref(), self.installer.extra_args()) {
            self.installer.extra_args().push("--server-side=false".into());
            progress(&line);
        }
        Ok(())
    }

    fn pods_api(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.name)
    }

    #[cfg(test)]
    pub(crate) fn installer_mut(&mut self) -> &mut I {
        &mut self.installer
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

    /// Watch the flows of the pods that run and are not watched yet, and
    /// read the Services again (their addresses name the flows).
    fn watch_flows(&mut self, pods: &[(Pod, WorkloadRef)]) -> Result<()> {
        self.flows.watch_new_pods(&self.runtime, &self.client, &self.exec, pods);
        let limit = self.options.api_timeout;
        let refreshed = block(
            &self.runtime,
            within(
                limit,
                "cannot read the sandbox's Services",
                self.flows.refresh_services(&self.client, &self.name),
            ),
        );
        match refreshed {
            Err(e) if interrupt::is_interrupt(&e) => return Err(e),
            Err(e) if !self.services_unread => {
                self.services_unread = true;
                self.notes
                    .push(format!("flows through Services are named by their address only: {e:#}"));
            }
            _ => {}
        }
        self.flows.drain();
        Ok(())
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
                // For `netaudit cleanup`, after a run that could not clean up.
                annotations: Some(BTreeMap::from([
                    (OWNER_KEY.to_string(), owner()),
                    (RELEASE_KEY.to_string(), self.installer.release().to_string()),
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
            Err(e) => Err(api_failed(
                format!("cannot create the sandbox namespace {}", self.name),
                &e,
            )),
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
                    Err(e) => return Err(api_failed(format!("cannot read pod {}", pod.name), &e)),
                }
            }
            match api.delete(&pod.name, &params).await {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) => {}
                Err(e) => return Err(api_failed(format!("cannot delete pod {}", pod.name), &e)),
            }
            deleted.insert(pod.uid.clone());
        }
        let deadline = Instant::now() + self.options.install_timeout;
        for pod in &self.pods {
            loop {
                interrupt::check()?;
                let gone = match api.get(&pod.name).await {
                    Ok(current) => current.metadata.uid.as_deref() != Some(pod.uid.as_str()),
                    Err(e) if is_status(&e, 404) => true,
                    Err(e) => return Err(api_failed(format!("cannot read pod {}", pod.name), &e)),
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
            api.create(&PostParams::default(), &fresh).await.map_err(|e| {
                api_failed(
                    format!("cannot re-create pod {}", fresh.metadata.name.as_deref().unwrap_or("?")),
                    &e,
                )
            })?;
        }
        Ok(())
    }

    /// Wait, at most `cleanup_wait` (not at all after an interrupt), until
    /// the deleted namespace is gone: its pods shut down within their grace
    /// period first. Whether it is gone.
    async fn namespace_gone(&self) -> bool {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let deadline = Instant::now() + self.options.cleanup_wait;
        loop {
            match namespaces.get(&self.name).await {
                Err(e) if is_status(&e, 404) => return true,
                _ if interrupt::interrupted() || Instant::now() >= deadline => return false,
                _ => tokio::time::sleep(self.options.poll_interval).await,
            }
        }
    }
}

/// Delete sandbox namespace `name`, only if it carries our labels (a
/// namespace already gone or terminating is fine).
pub(super) async fn delete_sandbox_namespace(client: &Client, name: &str) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = match namespaces.get(name).await {
        Ok(ns) => ns,
        Err(e) if is_status(&e, 404) => return Ok(()),
        Err(e) => return Err(api_failed(format!("cannot read namespace {name}"), &e)),
    };
    if !is_ours(&namespace, name) {
        bail!(
            "refusing to delete namespace {name}: it does not carry the labels {MANAGED_BY_LABEL}={MANAGED_BY} and {SANDBOX_LABEL}={name}"
        );
    }
    if namespace.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    match namespaces.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(e) if is_status(&e, 404) => Ok(()),
        Err(e) => Err(api_failed(format!("cannot delete namespace {name}"), &e)),
    }
}

/// Does `namespace` carry the labels of sandbox `name`?
pub fn is_ours(namespace: &Namespace, name: &str) -> bool {
    let labels = namespace.metadata.labels.as_ref();
    let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
    label(MANAGED_BY_LABEL) == Some(MANAGED_BY) && label(SANDBOX_LABEL) == Some(name)
}

impl<I: Installer, E: PodExec> Sandbox for KubeSandbox<I, E> {
    fn runtime(&self) -> &'static str {
        "kube"
    }

    fn name(&self) -> &str {
        &self.name
    }

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
        let limit = self.options.api_timeout;
        let what = format!("cannot create the sandbox namespace {}", self.name);
        block(&self.runtime, within(limit, what, self.create_namespace()))?;
        self.created = true;
        self.install_attempted = true;
        let outcome = self.installer.install(&self.name, self.options.install_timeout);
        let outcome = outcome.map_err(|error| match error.downcast::<KubeVersionRefused>() {
            Ok(refused) => anyhow::anyhow!(
                "{refused} and the cluster of {} runs {}; nothing was installed",
                self.cluster,
                refused.cluster
            ),
            Err(error) => error,
        })?;
        if let InstallOutcome::WaitTimedOut(message) = outcome {
            self.install_note = Some(message);
        }
        Ok(())
    }

    fn wait_ready(&mut self, timeout: Duration, waiting: &mut dyn FnMut(&Waiting)) -> Result<Vec<PodStatus>> {
        let start = Instant::now();
        loop {
            interrupt::check()?;
            let what = format!("cannot list the pods of namespace {}", self.name);
            let access = self.access();
            let poll = within(self.options.api_timeout, what, access.current_pods(&self.deleted));
            let pods = block(&self.runtime, poll)?;
            self.watch_flows(&pods)?;
            let mut counts: BTreeMap<WorkloadRef, usize> = BTreeMap::new();
            for (_, owner) in &pods {
                *counts.entry(owner.clone()).or_default() += 1;
            }
            // Run 1: a pod of every workload; later runs: as many as run 1 had.
            let missing: Vec<&WorkloadRef> = if self.expected.is_empty() {
                self.options
                    .workloads
                    .iter()
                    .filter(|w| !counts.contains_key(*w))
                    .collect()
            } else {
                self.expected
                    .iter()
                    .filter(|(owner, n)| counts.get(*owner).copied().unwrap_or(0) < **n)
                    .map(|(owner, _)| owner)
                    .collect()
            };
            let secrets = &self.options.secrets;
            let stopped: Vec<Option<Stop>> = pods
                .iter()
                .map(|(pod, _)| (!pod_is_ready(pod)).then(|| stopped_reason(pod, secrets))?)
                .collect();
            let ready = pods.iter().filter(|(pod, _)| pod_is_ready(pod)).count();
            waiting(&Waiting {
                ready,
                total: pods.len() + missing.len(),
                stopped: stopped.iter().flatten().count(),
            });
            let settled = pods
                .iter()
                .zip(&stopped)
                .all(|((pod, _), why)| pod_is_ready(pod) || why.is_some());
            if (missing.is_empty() && settled) || start.elapsed() >= timeout {
                let missing: Vec<WorkloadRef> = missing.into_iter().cloned().collect();
                if self.expected.is_empty() {
                    self.expected = counts;
                }
                let mut statuses = Vec::new();
                let mut tracked = Vec::new();
                for ((pod, owner), why) in pods.into_iter().zip(stopped) {
                    let ready = pod_is_ready(&pod);
                    let is_stopped = why.is_some();
                    let detail = if ready {
                        String::new()
                    } else {
                        let note = self.install_note.as_deref();
                        let limit = self.options.api_timeout;
                        block(&self.runtime, async {
                            let access = self.access();
                            // Stopped for good: one short line; else
                            // everything that may say why.
                            let detail = match why {
                                Some(stop) => {
                                    let said = stop.to_string();
                                    let detail = access.stopped_detail(&pod, stop, &self.options.secrets);
                                    tokio::time::timeout(limit, detail).await.unwrap_or(said)
                                }
                                None => tokio::time::timeout(limit, access.not_ready_detail(&pod, note))
                                    .await
                                    .unwrap_or_else(|_| {
                                        format!("not ready (the API server did not say why within {limit:?})")
                                    }),
                            };
                            Ok(detail)
                        })?
                    };
                    let pod = TrackedPod::new(&pod, owner.clone());
                    statuses.push(PodStatus {
                        pod: pod.name.clone(),
                        owner,
                        ready,
                        stopped: is_stopped,
                        detail,
                        notes: Vec::new(),
                    });
                    tracked.push(pod);
                }
                // A workload without a single pod is incomplete too, not a
                // silent "0/0 ready".
                statuses.extend(missing.into_iter().map(|owner| PodStatus {
                    pod: format!("{} (no pod)", owner.name),
                    detail: format!(
                        "no pod of {owner} appeared within --timeout (`kubectl describe {} {} -n {}` says why)",
                        owner.kind.to_lowercase(),
                        owner.name,
                        self.name
                    ),
                    owner,
                    ready: false,
                    stopped: false,
                    notes: Vec::new(),
                }));
                self.pods = tracked;
                return Ok(statuses);
            }
            // On the runtime, so that the flow watches run meanwhile.
            let poll = self.options.poll_interval;
            block(&self.runtime, async move {
                tokio::time::sleep(poll).await;
                Ok(())
            })?;
        }
    }

    fn probe(&mut self) -> Result<Vec<PodSockets>> {
        let mut pods = std::mem::take(&mut self.pods);
        let access = self.access();
        let api_timeout = self.options.api_timeout;
        let result = block(&self.runtime, async {
            // One exec per container, each a round trip through the API
            // server and the kubelet (about 100 ms on the test cluster):
            // several pods at once, in their order.
            let readings: Vec<_> = stream::iter(pods.iter_mut().filter(|p| p.ready).map(|pod| {
                let access = &access;
                async move {
                    let what = format!("{} `{}` (pod {})", pod.owner.kind, pod.owner.name, pod.name);
                    // A debug container may take its --timeout to start; a
                    // pod whose reading hangs beyond that is not probed.
                    let limit = access.debug_timeout + api_timeout;
                    (what, within(limit, "reading its sockets", access.probe_pod(pod)).await)
                }
            }))
            .buffered(CONCURRENT_POD_READS)
            .collect()
            .await;
            let mut result = Vec::new();
            let mut notes = Vec::new();
            let mut processes = Vec::new();
            for (what, reading) in readings {
                match reading {
                    Ok(reading) => {
                        // Containers that could not be read while another
                        // could: their sockets are seen, only not attributed.
                        notes.extend(
                            reading
                                .unread
                                .into_iter()
                                .map(|reason| format!("{what}: sockets not attributed to a container: {reason}")),
                        );
                        processes.push((reading.sockets.pod.clone(), reading.processes));
                        result.push(reading.sockets);
                    }
                    Err(e) if interrupt::is_interrupt(&e) => return Err(e),
                    // No container readable (no shell, and no ephemeral
                    // containers on this cluster): that pod is not probed,
                    // the others are.
                    Err(e) => notes.push(format!("not probed: {what}: {e:#}")),
                }
            }
            Ok((result, notes, processes))
        });
        self.pods = pods;
        let (result, notes, processes) = result?;
        self.notes.extend(notes);
        for (pod, processes) in processes {
            self.flows
                .name_processes(&pod, |inode| Some(processes.get(&inode)?.name.clone()));
        }
        Ok(result)
    }

    fn notes(&mut self) -> Vec<String> {
        let mut notes = std::mem::take(&mut self.notes);
        notes.extend(self.flows.notes());
        notes
    }

    fn flows(&mut self) -> Vec<ObservedFlow> {
        self.flows.take()
    }

    fn run_client(
        &mut self,
        client: &crate::probe::exercise::ClientPod,
        timeout: Duration,
    ) -> Result<crate::probe::exercise::ClientRun> {
        self.run_client_pod(client, timeout)
    }

    fn run_tests(
        &mut self,
        hooks: &[crate::probe::chart_tests::TestHook],
        timeout: Duration,
    ) -> Result<crate::model::ChartTests> {
        self.run_test_hooks(hooks, timeout)
    }

    fn restart(&mut self) -> Result<()> {
        let mut deleted = BTreeSet::new();
        // Its own waits end at --timeout; a request that hangs ends it too.
        let limit = self.options.install_timeout + self.options.api_timeout;
        let outcome = block(
            &self.runtime,
            within(limit, "cannot restart the pods", self.restart_pods(&mut deleted)),
        );
        self.deleted.extend(deleted);
        outcome
    }

    fn cleanup(&mut self) -> Result<()> {
        self.flows.stop();
        if !self.created {
            return Ok(());
        }
        let uninstalled = if self.install_attempted {
            self.installer.uninstall(&self.name)
        } else {
            Ok(())
        };
        self.install_attempted = uninstalled.is_err();
        // Not interruptible: cleanup runs after Ctrl-C too; but bounded.
        let what = format!("cannot delete namespace {}", self.name);
        self.runtime.block_on(within(
            self.options.api_timeout,
            what,
            delete_sandbox_namespace(&self.client, &self.name),
        ))?;
        self.created = false;
        let limit = self.options.cleanup_wait + self.options.api_timeout;
        let gone = self.runtime.block_on(async {
            tokio::time::timeout(limit, self.namespace_gone())
                .await
                .unwrap_or(false)
        });
        if !gone {
            self.notes.push(format!(
                "namespace {} is deleted but still terminating (its pods shut down within their grace period); \
                 Kubernetes removes it on its own",
                self.name
            ));
        }
        uninstalled.with_context(|| {
            format!(
                "namespace {} was deleted, but helm uninstall failed (cluster-scoped objects of the chart may remain)",
                self.name
            )
        })
    }
}
