//! The plan of a podman sandbox: one Pod per long-running workload,
//! rewritten so that podman 4.3 plays it (see the module documentation of
//! `podman` and docs/podman-notes.md), each in its own file with the
//! ConfigMaps (and Secrets, as ConfigMaps) it references.

use super::network::{Redirect, Resolver, CLUSTER_DOMAIN, MAX_PODS};
use super::readiness::Probe;
use crate::model::workloads::{STATEFULSET_POD_INDEX, STATEFULSET_POD_NAME};
use crate::model::{Index, Workload, WorkloadRef};
use crate::probe::naming::{self, dns_label, sandbox_name, OWNER_KEY, SANDBOX_LABEL};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A pod the sandbox will run for one workload.
#[derive(Debug, Clone)]
pub struct PlannedPod {
    pub name: String,
    pub owner: WorkloadRef,
    pub host_network: bool,
    pub containers: Vec<String>,
    pub images: Vec<String>,
    /// The original readiness probe of each long-running container that has
    /// one (`Err`: why it cannot be evaluated), by container name: podman
    /// ignores them, the sandbox runs them (`readiness.rs`).
    pub probes: BTreeMap<String, Result<Probe, String>>,
    /// The file this pod is played from.
    pub file: PathBuf,
    /// Its namespace in the chart (what its resolver searches).
    pub namespace: String,
    /// The names the sandbox's DNS gives it (its Services', in full).
    pub dns_names: Vec<String>,
    /// Its Services' ports that reach another port of it.
    pub redirects: Vec<Redirect>,
    /// What its file holds: the ConfigMaps it references, then the pod.
    documents: Vec<Value>,
}

impl PlannedPod {
    /// Write its file: its documents, in order.
    fn write_file(&self) -> Result<()> {
        let texts = self
            .documents
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .context("cannot serialize a pod")?;
        std::fs::write(&self.file, texts.join("\n---\n"))
            .with_context(|| format!("cannot write {}", self.file.display()))
    }
}

/// Every pod of one sandbox, written into a temporary directory.
pub struct Plan {
    /// Unique name: prefix of every pod and volume of this sandbox.
    pub name: String,
    /// One per long-running workload (Jobs and CronJobs run to completion:
    /// nothing to probe).
    pub pods: Vec<PlannedPod>,
    /// The chart's test hooks' pods (`--run-tests`), in the order `helm
    /// test` runs them: played one by one after the probe, not installed.
    pub tests: Vec<PlannedPod>,
    /// Holds the pod files, removed when the plan is dropped (`None` once
    /// [`Plan::keep_only_the_marker`] kept it).
    dir: Option<tempfile::TempDir>,
}

impl Plan {
    /// Plan the sandbox for the workloads of `index` (one rendered release,
    /// loaded with its configuration objects).
    pub fn new(index: &Index<'_>, release: &str) -> Result<Plan> {
        let name = sandbox_name(release, 20);
        let dir = tempfile::Builder::new()
            .prefix(super::leftovers::PLAN_DIR_PREFIX)
            .tempdir()
            .context("cannot create a temporary directory")?;
        // The files hold the chart's Secrets, decoded: the directory is
        // private (0700), removed with the plan, and marked as this
        // sandbox's, so that `netaudit cleanup` finds it after a SIGKILL.
        super::leftovers::mark_plan_dir(dir.path(), &name)?;
        let namer = Namer { name: name.clone() };
        let config_maps = namer.config_maps(index);
        let mut pods = Vec::new();
        for (i, workload) in index.workloads.iter().enumerate() {
            if workload.runs_to_completion() {
                continue;
            }
            let replicas = stateful_replicas(workload);
            for ordinal in 0..replicas {
                let pod_name = match replicas {
                    1 => dns_label(&format!("{name}-{i}-{}", workload.obj.name), 60),
                    _ => dns_label(&format!("{name}-{i}-{ordinal}-{}", workload.obj.name), 60),
                };
                let file = dir.path().join(format!("{pod_name}.yaml"));
                let (mut pod, mut planned) = namer.pod_for(workload, pod_name, workload.reference(), file);
                let identity =
                    (workload.obj.kind == "StatefulSet").then(|| stateful_identity(&mut pod, workload, ordinal));
                (planned.dns_names, planned.redirects) = service_names_and_ports(index, workload, identity.as_ref());
                planned.documents = with_config_maps(&config_maps, pod)?;
                pods.push(planned);
            }
        }
        let mut tests = Vec::new();
        let hooks = crate::probe::chart_tests::test_hooks(index);
        for (i, object) in crate::probe::chart_tests::hook_objects(index, &hooks)
            .into_iter()
            .enumerate()
        {
            let Some(workload) = Workload::from_object(object) else {
                continue;
            };
            let pod_name = dns_label(&format!("{name}-t{i}-{}", object.name), 60);
            let file = dir.path().join(format!("{pod_name}.yaml"));
            let (pod, mut planned) = namer.pod_for(&workload, pod_name, workload.reference(), file);
            planned.documents = with_config_maps(&config_maps, pod)?;
            tests.push(planned);
        }
        // (Pod `i` has the network's address `i + 2`.)
        if pods.len() > MAX_PODS {
            bail!(
                "{} pods to run: a podman sandbox's network holds at most {MAX_PODS} (use --runtime kube)",
                pods.len()
            );
        }
        Ok(Plan {
            name,
            pods,
            tests,
            dir: Some(dir),
        })
    }

    /// Write each pod's file, its resolver pointed at the sandbox's DNS
    /// (host-network pods too: the gateway is the host's).
    pub fn write(&mut self, resolver: &Resolver) -> Result<()> {
        for pod in self.pods.iter_mut().chain(&mut self.tests) {
            if let Some(spec) = pod
                .documents
                .last_mut()
                .and_then(|p| p.get_mut("spec"))
                .and_then(Value::as_object_mut)
            {
                spec.insert("dnsPolicy".into(), json!("None"));
                spec.insert("dnsConfig".into(), resolver.dns_config(&pod.namespace));
            }
            pod.write_file()?;
        }
        Ok(())
    }

    /// Give every test pod a container that runs `image` (the sandbox's
    /// own infra image: a pause process) until the pod is removed, and
    /// write their files again. `kube play` stops a pod's infra container,
    /// and so its network namespace, when its last container ends: a test
    /// that connects and is done within a moment would take its side of
    /// the connection (closed, in TIME_WAIT) with it before a sample.
    pub fn hold_test_pods_open(&mut self, image: &str) -> Result<()> {
        for pod in &mut self.tests {
            let Some(Value::Array(containers)) =
                pod.documents.last_mut().and_then(|p| p.pointer_mut("/spec/containers"))
            else {
                continue;
            };
            if !containers.iter().any(|c| c["name"] == HOLD_CONTAINER) {
                containers.push(json!({"name": HOLD_CONTAINER, "image": image, "imagePullPolicy": "Never"}));
            }
            pod.write_file()?;
        }
        Ok(())
    }

    /// After a cleanup that failed: the pod files (the Secrets, decoded)
    /// go, the directory stays with only its marker, so that `netaudit
    /// cleanup` finds the sandbox's remains by it (podman volumes carry no
    /// label of ours, only a name).
    pub fn keep_only_the_marker(&mut self) {
        for pod in self.pods.iter().chain(&self.tests) {
            let _ = std::fs::remove_file(&pod.file);
        }
        if let Some(dir) = self.dir.take() {
            let _kept = dir.keep();
        }
    }
}

/// The container that holds a test pod's network open ([`Plan::hold_test_pods_open`]).
pub const HOLD_CONTAINER: &str = "netaudit-hold";

/// The most pods of one StatefulSet the sandbox runs.
const MAX_STATEFUL_REPLICAS: i64 = 5;

/// How many pods the sandbox runs for `workload`: a StatefulSet's replicas
/// (at most [`MAX_STATEFUL_REPLICAS`]), each with its stable identity, as
/// the members of a cluster find each other by them; one pod of any other
/// workload (its replicas are alike: one shows what they open).
fn stateful_replicas(workload: &Workload<'_>) -> i64 {
    match workload.obj.kind.as_str() {
        "StatefulSet" => workload.replicas.clamp(1, MAX_STATEFUL_REPLICAS),
        _ => 1,
    }
}

/// A StatefulSet pod's identity: its name (`NAME-ORDINAL`, its hostname),
/// its governing Service (its subdomain), and its labels with the two the
/// controller adds.
struct StatefulIdentity {
    pod_name: String,
    governing: Option<String>,
    labels: crate::model::Labels,
}

/// Give `pod` (a kube play document) the identity of the StatefulSet's pod
/// `ordinal`: hostname, subdomain and the controller's labels.
fn stateful_identity(pod: &mut Value, workload: &Workload<'_>, ordinal: i64) -> StatefulIdentity {
    let pod_name = format!("{}-{ordinal}", workload.obj.name);
    let governing = workload
        .obj
        .root
        .path(&["spec", "serviceName"])
        .and_then(|n| n.scalar_text())
        .filter(|name| !name.is_empty())
        .map(str::to_string);
    let mut labels = workload.pod_labels.clone();
    labels.insert(STATEFULSET_POD_NAME.into(), pod_name.clone());
    labels.insert(STATEFULSET_POD_INDEX.into(), ordinal.to_string());
    if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("hostname".into(), json!(pod_name));
        if let Some(governing) = &governing {
            spec.insert("subdomain".into(), json!(governing));
        }
    }
    if let Some(pod_labels) = pod.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
        pod_labels.insert(STATEFULSET_POD_NAME.into(), json!(pod_name));
        pod_labels.insert(STATEFULSET_POD_INDEX.into(), json!(ordinal.to_string()));
    }
    StatefulIdentity {
        pod_name,
        governing,
        labels,
    }
}

/// A pod and the ConfigMaps it references, the documents of one file
/// (ConfigMaps first: podman resolves them while reading it).
fn with_config_maps(config_maps: &BTreeMap<String, Value>, pod: Value) -> Result<Vec<Value>> {
    let pod_text = serde_json::to_string(&pod).context("cannot serialize a pod")?;
    Ok(config_maps
        .iter()
        .filter(|(cm_name, _)| pod_text.contains(&format!("\"{cm_name}\"")))
        .map(|(_, cm)| cm.clone())
        .chain([pod])
        .collect())
}

/// Renames what podman makes global with the sandbox's prefix.
struct Namer {
    name: String,
}

impl Namer {
    fn prefixed(&self, name: &str) -> String {
        format!("{}-{name}", self.name)
    }

    /// The chart's ConfigMaps and Secrets (as ConfigMaps), renamed with the
    /// sandbox prefix: prefixed name -> object.
    fn config_maps(&self, index: &Index<'_>) -> BTreeMap<String, Value> {
        let data = |entries: &[(String, String)]| -> serde_json::Map<String, Value> {
            entries
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect()
        };
        let named = index
            .config_maps
            .iter()
            .map(|c| (c.obj, data(&c.data)))
            .chain(index.secrets.iter().map(|s| (s.obj, data(&s.data))));
        named
            .map(|(object, data)| {
                let name = self.prefixed(&object.name);
                let config_map =
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data});
                (name, config_map)
            })
            .collect()
    }

    fn pod_for(
        &self,
        workload: &Workload<'_>,
        pod_name: String,
        owner: WorkloadRef,
        file: PathBuf,
    ) -> (Value, PlannedPod) {
        let mut spec = workload.pod_spec.to_json();
        let host_network = workload.host_network_line.is_some();
        let mut containers = Vec::new();
        let mut images = Vec::new();
        let mut probes = BTreeMap::new();
        let volume_prefix = format!("{pod_name}-");
        for list in ["containers", "initContainers"] {
            let Some(Value::Array(items)) = spec.get_mut(list) else {
                continue;
            };
            for container in items.iter_mut() {
                let long_running =
                    list == "containers" || container.get("restartPolicy").and_then(Value::as_str) == Some("Always");
                if long_running {
                    if let Some(name) = container.get("name").and_then(Value::as_str) {
                        containers.push(name.to_string());
                        if let Some(probe) = Probe::of(container) {
                            probes.insert(name.to_string(), probe);
                        }
                    }
                }
                if let Some(image) = container.get("image").and_then(Value::as_str) {
                    images.push(image.to_string());
                }
                let Some(fields) = container.as_object_mut() else {
                    continue;
                };
                for field in ["ports", "readinessProbe", "livenessProbe", "startupProbe"] {
                    fields.remove(field);
                }
                fields.insert("imagePullPolicy".into(), json!("Never"));
                if let Some(Value::Array(mounts)) = fields.get_mut("volumeMounts") {
                    for mount in mounts.iter_mut() {
                        prefix_string(mount.get_mut("name"), &volume_prefix);
                    }
                }
                if let Some(Value::Array(env)) = fields.get_mut("env") {
                    for var in env.iter_mut() {
                        let Some(from) = var.get_mut("valueFrom").and_then(Value::as_object_mut) else {
                            continue;
                        };
                        if let Some(secret) = from.remove("secretKeyRef") {
                            from.insert("configMapKeyRef".into(), secret);
                        }
                        if let Some(reference) = from.get_mut("configMapKeyRef") {
                            self.prefix_reference(reference.get_mut("name"));
                        }
                    }
                }
                if let Some(Value::Array(sources)) = fields.get_mut("envFrom") {
                    for source in sources.iter_mut().filter_map(Value::as_object_mut) {
                        if let Some(secret) = source.remove("secretRef") {
                            source.insert("configMapRef".into(), secret);
                        }
                        if let Some(reference) = source.get_mut("configMapRef") {
                            self.prefix_reference(reference.get_mut("name"));
                        }
                    }
                }
            }
        }
        if let Some(Value::Array(volumes)) = spec.get_mut("volumes") {
            for volume in volumes.iter_mut().filter_map(Value::as_object_mut) {
                prefix_string(volume.get_mut("name"), &volume_prefix);
                self.rename_volume_sources(volume);
                if let Some(Value::Array(sources)) = volume.get_mut("projected").and_then(|p| p.get_mut("sources")) {
                    for source in sources.iter_mut().filter_map(Value::as_object_mut) {
                        self.rename_volume_sources(source);
                    }
                }
            }
        }
        if let Some(fields) = spec.as_object_mut() {
            fields.insert("restartPolicy".into(), json!("Never"));
        }
        let mut labels: BTreeMap<String, String> = workload
            .pod_labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.insert(SANDBOX_LABEL.into(), self.name.clone());
        labels.insert(OWNER_KEY.into(), naming::owner());
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "labels": labels,
                "annotations": {"netaudit.io/workload": format!("{}/{}/{}", owner.kind, owner.namespace, owner.name)},
            },
            "spec": spec,
        });
        images.sort();
        images.dedup();
        (
            pod,
            PlannedPod {
                name: pod_name,
                namespace: workload.obj.namespace.clone(),
                owner,
                host_network,
                containers,
                images,
                probes,
                file,
                dns_names: Vec::new(),
                redirects: Vec::new(),
                documents: Vec::new(),
            },
        )
    }

    fn prefix_reference(&self, name: Option<&mut Value>) {
        if let Some(Value::String(text)) = name {
            *text = self.prefixed(text);
        }
    }

    /// Secret volumes become ConfigMap volumes; ConfigMap and claim names get the prefix.
    fn rename_volume_sources(&self, volume: &mut serde_json::Map<String, Value>) {
        if let Some(mut secret) = volume.remove("secret") {
            if let Some(fields) = secret.as_object_mut() {
                if let Some(name) = fields.remove("secretName") {
                    fields.insert("name".into(), name);
                }
            }
            volume.insert("configMap".into(), secret);
        }
        if let Some(config_map) = volume.get_mut("configMap") {
            self.prefix_reference(config_map.get_mut("name"));
        }
        if let Some(claim) = volume.get_mut("persistentVolumeClaim") {
            self.prefix_reference(claim.get_mut("claimName"));
        }
    }
}

/// The names the Services that select `workload` give its pod
/// (`SERVICE.NAMESPACE.svc.cluster.local`; a StatefulSet's pod, under its
/// governing Service, also `NAME-ORDINAL.SERVICE.…`), and their ports that
/// reach another port of it. A StatefulSet pod's Services are those that
/// select its own labels (a Service per pod selects one by its name).
fn service_names_and_ports(
    index: &Index<'_>,
    workload: &Workload<'_>,
    identity: Option<&StatefulIdentity>,
) -> (Vec<String>, Vec<Redirect>) {
    let mut names = Vec::new();
    let mut redirects: Vec<Redirect> = Vec::new();
    let selects_this_pod = |service: &&crate::model::Service<'_>| match (identity, &service.selector) {
        (Some(identity), Some(selector)) => selector.matches(&identity.labels),
        _ => true,
    };
    for service in index.services_selecting(workload).filter(selects_this_pod) {
        let name = format!("{}.{}.svc.{CLUSTER_DOMAIN}", service.obj.name, service.obj.namespace);
        if let Some(identity) = identity.filter(|i| i.governing.as_deref() == Some(service.obj.name.as_str())) {
            names.push(format!("{}.{name}", identity.pod_name));
        }
        names.push(name);
        for port in &service.ports {
            for target in service.target_numbers(port, workload) {
                let redirect = Redirect {
                    protocol: port.protocol,
                    port: port.port,
                    target,
                };
                // The first Service to claim a port keeps it (as the rule
                // written first wins).
                let taken = redirects
                    .iter()
                    .any(|r| r.protocol == port.protocol && r.port == port.port);
                if target != port.port && !taken {
                    redirects.push(redirect);
                }
            }
        }
    }
    names.sort();
    names.dedup();
    (names, redirects)
}

fn prefix_string(value: Option<&mut Value>, prefix: &str) {
    if let Some(Value::String(text)) = value {
        *text = format!("{prefix}{text}");
    }
}
