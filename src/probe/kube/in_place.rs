//! `netaudit audit RELEASE`: probe a release that is already installed, in
//! place and read-only.
//!
//! This is not a [`Sandbox`](super::Sandbox): nothing is installed,
//! restarted or cleaned up, so there is one pass over the pods as they are
//! (no waiting for readiness) and one probe run. It uses the kube backend's
//! pod reading ([`PodAccess`]): list the pods of the namespaces the release's
//! workloads live in, map them to their workloads through ownerReferences
//! (Pod -> ReplicaSet -> Deployment, StatefulSet, DaemonSet), keep those of
//! the release's workloads, and read the sockets of the ready ones by exec
//! (`sh -c` running [`READER_SCRIPT`](super::reader::READER_SCRIPT)).
//!
//! The API requests are reads (list pods, get ReplicaSets, list events, get
//! logs) and exec. The one exception is a container without a shell when
//! the user allowed debug containers: then an ephemeral debug container is
//! added to its pod (`PATCH pods/<pod>/ephemeralcontainers`), which
//! Kubernetes never removes from the pod's spec. Without that permission the
//! container is not read and the report says so.
//!
//! It takes no [`Cooperative`](crate::source::interrupt::Cooperative)
//! section: there is nothing to clean up (an ephemeral container cannot be
//! removed), so an interrupt ends the process at once.

use super::exec::{KubeExec, PodExec};
use super::pods::{DebugContainers, PodAccess, TrackedPod};
use super::status::stopped_reason;
use super::{block, client_from_environment, new_runtime};
use crate::model::secrets::{redact_owned, SecretValue};
use crate::model::{Evidence, Observations, PodStatus, ProbeReport, ProbeTimings, WorkloadRef};
use crate::source::interrupt::{self, check as check_interrupt};
use anyhow::Result;
use kube::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct InPlaceOptions {
    /// Read containers without a shell from an ephemeral debug container.
    pub allow_debug_containers: bool,
    /// The debug container's image.
    pub probe_image: String,
    /// How long the debug container lives (`sleep`) after it is added.
    pub debug_lifetime: Duration,
    /// How long to wait for a debug container to run.
    pub debug_timeout: Duration,
    /// How often a starting debug container is polled.
    pub poll_interval: Duration,
}

impl Default for InPlaceOptions {
    fn default() -> Self {
        InPlaceOptions {
            allow_debug_containers: false,
            probe_image: super::DEFAULT_PROBE_IMAGE.to_string(),
            debug_lifetime: Duration::from_secs(300),
            debug_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_secs(2),
        }
    }
}

/// What one in-place probe saw.
#[derive(Debug, Clone, Default)]
pub struct InPlaceOutcome {
    /// One run; `statuses` has every pod of the release (ready or not).
    pub observations: Observations,
    /// What was not probed, and why (a pod or container that could not be
    /// read, a workload without pods): one line each, for the report's
    /// warnings.
    pub notes: Vec<String>,
}

impl InPlaceOutcome {
    /// The evidence for the report: one run, taken as found, with the
    /// release's credentials (`secrets`) redacted from what its pods logged.
    pub fn into_evidence(mut self, not_probed: Vec<WorkloadRef>, where_: String, secrets: &[SecretValue]) -> Evidence {
        let texts = self
            .notes
            .iter_mut()
            .chain(self.observations.statuses.iter_mut().map(|s| &mut s.detail));
        texts.for_each(|text| redact_owned(text, secrets));
        let probe = ProbeReport {
            exercise: None,
            tests: None,
            runtime: "kube (in place)".into(),
            sandbox: where_,
            runs: 1,
            incomplete: self.observations.not_ready().cloned().collect(),
            waited_for_readiness: false,
            not_probed,
            timings: self.observations.timings.clone(),
            kept: None,
            flows: Vec::new(),
        };
        Evidence {
            observations: self.observations,
            probe,
            notes: self.notes,
        }
    }
}

/// Connection to the cluster for reading a release's pods.
pub struct InPlaceProbe<E: PodExec = KubeExec> {
    runtime: tokio::runtime::Runtime,
    client: Client,
    exec: E,
    options: InPlaceOptions,
}

impl InPlaceProbe<KubeExec> {
    /// Connect to the current context (`HELM_KUBECONTEXT`, `KUBECONFIG`).
    pub fn connect(options: InPlaceOptions) -> Result<Self> {
        let runtime = new_runtime()?;
        let client = runtime.block_on(client_from_environment())?;
        Ok(InPlaceProbe::with_parts(runtime, client, KubeExec, options))
    }
}

impl<E: PodExec> InPlaceProbe<E> {
    /// From its parts (tests: a client on a mock service, a fake exec).
    /// `client` must have been created inside `runtime`.
    pub fn with_parts(runtime: tokio::runtime::Runtime, client: Client, exec: E, options: InPlaceOptions) -> Self {
        InPlaceProbe {
            runtime,
            client,
            exec,
            options,
        }
    }

    fn access<'a>(&'a self, namespace: &'a str) -> PodAccess<'a, E> {
        PodAccess {
            client: &self.client,
            exec: &self.exec,
            namespace,
            model_namespace: namespace,
            probe_image: &self.options.probe_image,
            debug_containers: if self.options.allow_debug_containers {
                DebugContainers::Allowed
            } else {
                DebugContainers::Forbidden
            },
            debug_lifetime: self.options.debug_lifetime,
            debug_timeout: self.options.debug_timeout,
            poll_interval: self.options.poll_interval,
        }
    }

    /// Probe the pods of `workloads` (the release's long-running workloads,
    /// in their own namespaces) as they are now.
    pub fn probe(&self, workloads: &[WorkloadRef], progress: &dyn Fn(&str)) -> Result<InPlaceOutcome> {
        let mut by_namespace: BTreeMap<&str, BTreeSet<&WorkloadRef>> = BTreeMap::new();
        for workload in workloads {
            by_namespace.entry(&workload.namespace).or_default().insert(workload);
        }
        let mut outcome = InPlaceOutcome::default();
        let mut run = Vec::new();
        let mut listing = Duration::ZERO;
        let mut probing = Duration::ZERO;
        let mut seen: BTreeSet<WorkloadRef> = BTreeSet::new();
        for (namespace, wanted) in &by_namespace {
            check_interrupt()?;
            progress(&format!("listing the pods of namespace {namespace}"));
            let access = self.access(namespace);
            let started = Instant::now();
            let pods = block(&self.runtime, access.current_pods(&BTreeSet::new()))?;
            let pods: Vec<_> = pods.into_iter().filter(|(_, owner)| wanted.contains(owner)).collect();
            let mut ready = Vec::new();
            for (pod, owner) in pods {
                seen.insert(owner.clone());
                let tracked = TrackedPod::new(&pod, owner.clone());
                let is_ready = tracked.ready;
                let detail = if is_ready {
                    ready.push(tracked);
                    String::new()
                } else {
                    // Taken as it is: no waiting.
                    block(&self.runtime, async { Ok(access.not_ready_detail(&pod, None).await) })?
                };
                outcome.observations.statuses.push(PodStatus {
                    pod: pod.metadata.name.clone().unwrap_or_default(),
                    owner,
                    ready: is_ready,
                    stopped: !is_ready && stopped_reason(&pod, &[]).is_some(),
                    detail,
                    notes: Vec::new(),
                });
            }
            listing += started.elapsed();
            let started = Instant::now();
            for mut pod in ready {
                check_interrupt()?;
                progress(&format!("reading the sockets of pod {}", pod.name));
                let what = format!("{} `{}` (pod {})", pod.owner.kind, pod.owner.name, pod.name);
                match block(&self.runtime, access.probe_pod(&mut pod)) {
                    Ok(reading) => {
                        run.push(reading.sockets);
                        for reason in reading.unread {
                            outcome
                                .notes
                                .push(format!("{what}: sockets not attributed to a container: {reason}"));
                        }
                    }
                    Err(e) if interrupt::is_interrupt(&e) => return Err(e),
                    Err(e) => outcome.notes.push(format!("not probed: {what}: {e:#}")),
                }
            }
            probing += started.elapsed();
        }
        for workload in workloads.iter().filter(|w| !seen.contains(*w)) {
            outcome.notes.push(format!(
                "not probed: {} `{}` has no pods in namespace {}",
                workload.kind, workload.name, workload.namespace
            ));
        }
        outcome.observations.runs.push(run);
        outcome.observations.timings = ProbeTimings {
            wait: vec![listing],
            probe: vec![probing],
            ..ProbeTimings::default()
        };
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    //! Against the kube backend's fake API server and fake exec: no cluster.

    use super::*;
    use crate::probe::kube::testing::{fake_exec, mock_client, pod, Cluster, FakeExec, Shared};
    use serde_json::{json, Value};
    use std::sync::{Arc, Mutex};

    const NS: &str = "prod";

    struct Harness {
        probe: InPlaceProbe<FakeExec>,
        cluster: Shared,
        exec_calls: Arc<Mutex<Vec<String>>>,
    }

    fn harness(objects: fn(&mut Cluster), allow_debug_containers: bool) -> Harness {
        let runtime = new_runtime().unwrap();
        let cluster: Shared = Arc::default();
        objects(&mut cluster.lock().unwrap());
        let client = mock_client(&runtime, &cluster);
        let (exec, exec_calls) = fake_exec(NS);
        let options = InPlaceOptions {
            allow_debug_containers,
            poll_interval: Duration::from_millis(10),
            debug_timeout: Duration::from_secs(5),
            ..InPlaceOptions::default()
        };
        Harness {
            probe: InPlaceProbe::with_parts(runtime, client, exec, options),
            cluster,
            exec_calls,
        }
    }

    fn in_prod(mut pod: Value) -> Value {
        pod["metadata"]["namespace"] = json!(NS);
        pod
    }

    /// The release's pods (web, db, a crashing api), and a bystander of
    /// another release in the same namespace.
    fn release_objects(cluster: &mut Cluster) {
        for (rs, deployment) in [("web-5d9f", "web"), ("other-5d9f", "other")] {
            cluster.replica_sets.push(json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs, "namespace": NS, "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment, "uid": "d", "controller": true}
                ]},
            }));
        }
        cluster.pods.push(in_prod(pod(
            "web-5d9f-abcde",
            Some(("ReplicaSet", "web-5d9f")),
            true,
            &["app", "sidecar"],
        )));
        cluster
            .pods
            .push(in_prod(pod("db-0", Some(("StatefulSet", "db")), true, &["app"])));
        cluster.pods.push(in_prod(pod(
            "other-5d9f-zzzzz",
            Some(("ReplicaSet", "other-5d9f")),
            true,
            &["app"],
        )));
        // Crash-looping; its ReplicaSet is not readable: the Deployment
        // comes from pod-template-hash.
        let mut api = in_prod(pod("api-7c-xyz", Some(("ReplicaSet", "api-7c")), false, &["api"]));
        api["metadata"]["labels"]["pod-template-hash"] = json!("7c");
        api["status"]["containerStatuses"] = json!([{
            "name": "api", "ready": false, "restartCount": 3, "image": "img", "imageID": "",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        }]);
        cluster.pods.push(api);
    }

    fn workload(kind: &str, name: &str) -> WorkloadRef {
        WorkloadRef {
            kind: kind.into(),
            namespace: NS.into(),
            name: name.into(),
        }
    }

    fn release_workloads() -> Vec<WorkloadRef> {
        vec![
            workload("Deployment", "web"),
            workload("StatefulSet", "db"),
            workload("Deployment", "api"),
            workload("Deployment", "idle"),
        ]
    }

    fn writes(cluster: &Shared) -> Vec<String> {
        cluster
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|l| !l.starts_with("GET "))
            .cloned()
            .collect()
    }

    #[test]
    fn finds_the_release_pods_through_owner_references_and_reads_them_without_writing() {
        let h = harness(release_objects, false);
        let outcome = h.probe.probe(&release_workloads(), &|_| {}).unwrap();
        let statuses: Vec<(&str, &WorkloadRef, bool)> = outcome
            .observations
            .statuses
            .iter()
            .map(|s| (s.pod.as_str(), &s.owner, s.ready))
            .collect();
        assert_eq!(
            statuses,
            [
                ("api-7c-xyz", &workload("Deployment", "api"), false),
                ("db-0", &workload("StatefulSet", "db"), true),
                ("web-5d9f-abcde", &workload("Deployment", "web"), true),
            ],
            "the other release's pod is ignored"
        );
        let api = &outcome.observations.statuses[0];
        assert!(
            api.detail.contains("container api: waiting (CrashLoopBackOff)"),
            "{}",
            api.detail
        );
        assert_eq!(outcome.observations.runs.len(), 1);
        let probed: Vec<&str> = outcome.observations.runs[0].iter().map(|p| p.pod.as_str()).collect();
        assert_eq!(probed, ["db-0", "web-5d9f-abcde"]);
        let web = &outcome.observations.runs[0][1];
        assert_eq!(web.owner, workload("Deployment", "web"));
        assert_eq!(web.ephemeral_range, (50000, 50999));
        assert!(web
            .sockets
            .iter()
            .any(|s| s.socket.port == 8081 && s.container.as_deref() == Some("app")));
        assert_eq!(
            *h.exec_calls.lock().unwrap(),
            ["db-0/app", "web-5d9f-abcde/app", "web-5d9f-abcde/sidecar"],
            "neither the other release's pod nor the not-ready pod is exec'd"
        );
        assert_eq!(
            outcome.notes,
            ["not probed: Deployment `idle` has no pods in namespace prod"]
        );
        assert_eq!(writes(&h.cluster), Vec::<String>::new(), "no write request at all");
    }

    fn distroless_objects(cluster: &mut Cluster) {
        cluster.pods.push(in_prod(pod("static", None, true, &["distroless"])));
    }

    #[test]
    fn a_container_without_a_shell_is_not_probed_without_the_flag() {
        let h = harness(distroless_objects, false);
        let outcome = h.probe.probe(&[workload("Pod", "static")], &|_| {}).unwrap();
        assert!(outcome.observations.runs[0].is_empty());
        assert!(outcome.observations.statuses[0].ready);
        assert_eq!(outcome.notes.len(), 1);
        let note = &outcome.notes[0];
        assert!(
            note.starts_with("not probed: Pod `static` (pod static): ")
                && note.contains("no shell")
                && note.contains("--allow-debug-containers"),
            "{note}"
        );
        assert_eq!(*h.exec_calls.lock().unwrap(), ["static/distroless"]);
        assert_eq!(writes(&h.cluster), Vec::<String>::new());
    }

    #[test]
    fn with_the_flag_a_debug_container_is_the_only_write() {
        let h = harness(distroless_objects, true);
        let outcome = h.probe.probe(&[workload("Pod", "static")], &|_| {}).unwrap();
        assert!(outcome.notes.is_empty(), "{:?}", outcome.notes);
        let held: Vec<(u64, Option<String>)> = outcome.observations.runs[0][0]
            .sockets
            .iter()
            .filter(|s| s.container.is_some())
            .map(|s| (s.socket.inode, s.container.clone()))
            .collect();
        assert_eq!(held, [(105885, Some("distroless".to_string()))]);
        assert_eq!(
            writes(&h.cluster),
            ["PATCH /api/v1/namespaces/prod/pods/static/ephemeralcontainers"]
        );
        let cluster = h.cluster.lock().unwrap();
        let debug = &cluster.pods[0]["spec"]["ephemeralContainers"][0];
        assert_eq!(debug["targetContainerName"], "distroless");
        assert_eq!(debug["command"], json!(["sleep", "300"]));
    }

    /// The release's manifests as `helm get manifest` gives them.
    const RELEASE: &str = include_str!("../../../testdata/runtime/in-place-release.yaml");

    #[test]
    fn a_pod_that_is_not_ready_gets_no_m3_and_a_ready_one_does() {
        let h = harness(release_objects, false);
        let outcome = h
            .probe
            .probe(&[workload("Deployment", "web"), workload("Deployment", "api")], &|_| {})
            .unwrap();
        let mut input = crate::model::Input::new("shop", "shop", NS, RELEASE.to_string());
        input.rendered_by_helm = true;
        let manifests = crate::model::Manifests::load(vec![input], crate::model::Detail::Checks).unwrap();
        let evidence = outcome.clone().into_evidence(Vec::new(), NS.into(), &[]);
        let config = crate::engine::config::Config::default();
        let audit = crate::engine::run(&manifests, &config, Some(&evidence));
        assert_eq!(
            audit.probe.map(|p| p.incomplete.len()),
            Some(1),
            "the not-ready pod is reported"
        );
        let m3: Vec<&str> = audit
            .findings
            .iter()
            .filter(|f| f.check == &crate::checks::M3)
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(m3.len(), 1, "{m3:?}");
        assert!(m3[0].contains("`web`") && m3[0].contains("7000/TCP"), "{}", m3[0]);
        let not_ready: Vec<&str> = outcome
            .observations
            .statuses
            .iter()
            .filter(|s| !s.ready)
            .map(|s| s.pod.as_str())
            .collect();
        assert_eq!(not_ready, ["api-7c-xyz"]);
        assert_eq!(writes(&h.cluster), Vec::<String>::new());
        // What the pod logged goes into the report without the release's
        // credentials.
        let secret = SecretValue {
            line: 1,
            key: "password".into(),
            text: "port in use".into(),
        };
        let redacted = outcome.into_evidence(Vec::new(), NS.into(), &[secret]);
        let detail = &redacted.probe.incomplete[0].detail;
        assert!(
            detail.contains("boom: <redacted>") && !detail.contains("port in use"),
            "{detail}"
        );
    }
}
