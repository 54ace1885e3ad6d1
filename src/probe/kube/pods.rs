//! Reading pods, shared by the sandbox and the in-place audit: list them,
//! map them to their workloads, explain the ones that are not ready, and
//! read their sockets by exec (in an ephemeral debug container when a
//! container has no shell and that is allowed).

use super::exec::PodExec;
use super::reader::{parse_reading, ContainerReading, READER_SCRIPT};
use super::status::{event_time, last_line, pod_status_summary, short_message, Stop};
use super::{api_failed, is_status};
use crate::model::secrets::{redact_text, SecretValue};
use crate::model::{AttributedSocket, OpenSocket, PodSockets, ProcessName, WorkloadRef};
use crate::probe::naming::dns_label;
use crate::source::interrupt;
use anyhow::{anyhow, bail, Context, Result};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, ListParams, LogParams, Patch, PatchParams};
use kube::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

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
            .map_err(|e| api_failed(format!("cannot list the pods of namespace {}", self.namespace), &e))?;
        let mut cache = BTreeMap::new();
        let mut pods = Vec::new();
        for pod in list.items {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            if pod.metadata.deletion_timestamp.is_some() || skip.contains(&uid) {
                continue;
            }
            let owner = self.owner_of(&pod, &mut cache).await;
            if owner.runs_to_completion() {
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

    /// Why a pod stopped for good, in one short line: `stop`, with the pull
    /// error a back-off no longer says (the pod's last `Failed` event about
    /// the image), and the last log line of a container that crashed or
    /// exited. Not the phase, conditions and events of
    /// [`Self::not_ready_detail`]: they would say the same error again.
    pub(super) async fn stopped_detail(&self, pod: &Pod, mut stop: Stop, secrets: &[SecretValue]) -> String {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if let Some(image) = stop.pull_image().map(str::to_string) {
            let events: Api<Event> = Api::namespaced(self.client.clone(), self.namespace);
            let selector = format!("involvedObject.kind=Pod,involvedObject.name={name}");
            if let Ok(list) = events.list(&ListParams::default().fields(&selector)).await {
                let mut items = list.items;
                items.sort_by_key(event_time);
                let cause = items
                    .iter()
                    .rev()
                    .filter(|e| e.reason.as_deref() == Some("Failed"))
                    .filter_map(|e| e.message.as_deref())
                    .filter(|message| message.contains(&image))
                    .map(|message| short_message(&redact_text(message, secrets), &image))
                    .find(|cause| !cause.is_empty());
                if let Some(cause) = cause {
                    stop.set_pull_cause(cause);
                }
            }
        }
        let mut line = stop.to_string();
        if let Some(container) = stop.crashed_container() {
            let params = LogParams {
                container: Some(container.to_string()),
                tail_lines: Some(5),
                ..Default::default()
            };
            if let Some(last) = self
                .pods_api()
                .logs(&name, &params)
                .await
                .ok()
                .and_then(|text| last_line(&text, secrets))
            {
                line.push_str(&format!("; last log line: {last}"));
            }
        }
        line
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
        let why = exec_failure(&direct.message);
        if self.debug_containers == DebugContainers::Forbidden {
            bail!(
                "container {container}: {why}; not probed (--allow-debug-containers reads it from an ephemeral \
debug container)"
            );
        }
        let debug = self.debug_container(pod, container).await.with_context(|| {
            format!(
                "container {container}: {why}, and no debug container with {} could be added",
                self.probe_image
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
            if is_status(&first, 404) && api.get(&pod.name).await.is_ok() {
                bail!(
                    "this cluster does not serve ephemeral containers (the API answers 404 to \
pods/ephemeralcontainers; Kubernetes has them on by default from 1.23)"
                );
            }
            // A Pod Security level that forbids the capability: without it,
            // sockets are still read (attribution may be lost).
            api.patch_ephemeral_containers(&pod.name, &params, &Patch::Strategic(spec(false)))
                .await
                .with_context(|| format!("adding an ephemeral container failed ({first})"))?;
        }
        let deadline = Instant::now() + self.debug_timeout;
        loop {
            interrupt::check()?;
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
    pub(crate) async fn probe_pod(&self, pod: &mut TrackedPod) -> Result<PodReading> {
        let mut sockets: Vec<OpenSocket> = Vec::new();
        let mut range = None;
        let mut holders: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
        let mut processes: BTreeMap<u64, ProcessName> = BTreeMap::new();
        let mut failures = Vec::new();
        let containers = pod.containers.clone();
        for container in &containers {
            interrupt::check()?;
            match self.read_container(pod, container).await {
                Ok(reading) => {
                    sockets.extend(reading.sockets);
                    range = range.or(reading.ephemeral_range);
                    for inode in reading.socket_inodes {
                        holders.entry(inode).or_default().insert(container.clone());
                    }
                    for (inode, process) in reading.socket_processes {
                        processes.entry(inode).or_insert(process);
                    }
                }
                Err(e) => failures.push(format!("{e:#}")),
            }
        }
        // All containers share the pod's network namespace: one reading is
        // enough for the sockets; only attribution needs every container.
        if failures.len() == containers.len() && !containers.is_empty() {
            bail!("{}", failures.join("; "));
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
                AttributedSocket {
                    process: processes.get(&socket.inode).cloned(),
                    socket,
                    container,
                }
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
        Ok(PodReading {
            sockets: reading,
            unread: failures,
            processes,
        })
    }
}

/// What [`PodAccess::probe_pod`] read of one pod.
pub(crate) struct PodReading {
    pub(crate) sockets: PodSockets,
    /// Why some containers could not be read.
    pub(crate) unread: Vec<String>,
    /// The process holding each socket inode the containers hold.
    pub(crate) processes: BTreeMap<u64, ProcessName>,
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

pub(super) fn pod_is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Why exec'ing the reader failed, in a few words: a missing shell is the
/// usual case (distroless and scratch images) and the runtime's message
/// for it is a long OCI error.
pub(super) fn exec_failure(message: &str) -> String {
    if message.is_empty() {
        "the reader printed nothing".into()
    } else if message.contains("executable file not found") || message.contains("no such file or directory") {
        "its image has no shell (`sh` not found)".into()
    } else {
        format!("exec failed: {message}")
    }
}
