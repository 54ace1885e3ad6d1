//! The podman backend: every workload of the rendered chart runs as one
//! local pod (`podman kube play`), and the pods' sockets are read from the
//! host through `/proc`.
//!
//! podman 4.3 cannot play a chart as it is (docs/podman-notes.md has the
//! evidence), so each workload becomes one Pod, played from its own file:
//! - StatefulSets, DaemonSets and ReplicaSets are silently ignored by
//!   `kube play`; M1-M3 are judged per workload with replicas counting once,
//!   so one pod per workload is what the checks need. Jobs and CronJobs run
//!   to completion and are not probed.
//! - `containerPort`s are stripped: podman would publish each one on the
//!   host's 0.0.0.0 (and refuses them on hostNetwork pods). The model keeps
//!   the declarations.
//! - `imagePullPolicy: Never`: nothing is ever pulled; missing images are an
//!   error naming them.
//! - `restartPolicy: Never` (podman restarts crashing containers without
//!   backoff) and no probes (podman ignores readiness probes and turns
//!   liveness probes into systemd healthchecks); readiness is judged here.
//! - Secrets become ConfigMaps (podman 4.3 cannot mount or reference them).
//! - Every name podman makes global (pods, ConfigMap, claim and emptyDir
//!   volumes) gets the sandbox's unique prefix, and every pod carries the
//!   label `netaudit.io/sandbox=<name>`: cleanup removes exactly that, and
//!   nothing that exists outside the sandbox is ever touched.

use super::procnet;
use super::session::{interrupted, sleep_interruptibly, Interrupted};
use super::{AttributedSocket, OpenSocket, PodSockets, PodStatus, Sandbox, WorkloadRef};
use crate::model::{Index, Workload};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Kinds whose pods run to completion: nothing to probe.
const RUN_TO_COMPLETION: &[&str] = &["Job", "CronJob"];

/// A pod the sandbox will run for one workload.
#[derive(Debug, Clone)]
pub struct PlannedPod {
    pub name: String,
    pub owner: WorkloadRef,
    pub host_network: bool,
    pub containers: Vec<String>,
    pub images: Vec<String>,
    /// Ports of the original `tcpSocket`/`httpGet` readiness probes: the pod
    /// is ready once they listen.
    pub readiness_ports: Vec<u16>,
    /// The file this pod is played from.
    file: PathBuf,
}

/// The label every pod of a sandbox carries.
pub const SANDBOX_LABEL: &str = "netaudit.io/sandbox";

/// Pod name -> PID of its infra process (whose network namespace is the pod's).
type InfraPids = BTreeMap<String, u32>;
/// Container id -> (main PID, cgroup path).
type ProcessInfo = BTreeMap<String, (u32, String)>;

#[derive(Debug, Clone)]
struct ContainerState {
    id: String,
    state: String,
    exit_code: i64,
    pid: u32,
}

pub struct PodmanSandbox {
    /// Unique name: prefix of every pod and volume of this sandbox.
    pub name: String,
    pods: Vec<PlannedPod>,
    /// Workloads left out (run-to-completion), for the report.
    pub skipped: Vec<WorkloadRef>,
    dir: tempfile::TempDir,
    installed: bool,
}

fn podman() -> Command {
    Command::new("podman")
}

fn run(command: &mut Command) -> Result<String> {
    let shown = format!("{command:?}").replace('"', "");
    let output = command.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "podman not found: install it (Debian: apt-get install podman runc), or use another --runtime"
            )
        } else {
            anyhow::anyhow!("cannot run {shown}: {e}")
        }
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        bail!("{shown} failed: {}", message.join("; "));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// DNS-1123 label: lowercase alphanumerics and `-`, at most `max` characters.
pub(crate) fn dns_label(text: &str, max: usize) -> String {
    let mut label: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    label.truncate(max);
    label.trim_matches('-').to_string()
}

/// A short random suffix (no rand dependency: time and pid through SipHash).
pub(crate) fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.write_u32(std::process::id());
    format!("{:06x}", hasher.finish() & 0xff_ffff)
}

impl PodmanSandbox {
    /// Plan the sandbox for the workloads of `index` (one rendered release).
    pub fn new(index: &Index<'_>, release: &str) -> Result<PodmanSandbox> {
        let name = format!("netaudit-{}-{}", dns_label(release, 20), random_suffix());
        let dir = tempfile::Builder::new()
            .prefix("netaudit-podman-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        let mut sandbox = PodmanSandbox {
            name,
            pods: Vec::new(),
            skipped: Vec::new(),
            dir,
            installed: false,
        };
        let config_maps = sandbox.config_maps(index)?;
        for (i, workload) in index.workloads.iter().enumerate() {
            let owner = WorkloadRef {
                kind: workload.obj.kind.clone(),
                namespace: workload.obj.namespace.clone(),
                name: workload.obj.name.clone(),
            };
            if RUN_TO_COMPLETION.contains(&workload.obj.kind.as_str()) {
                sandbox.skipped.push(owner);
                continue;
            }
            let pod_name = dns_label(&format!("{}-{i}-{}", sandbox.name, workload.obj.name), 60);
            let file = sandbox.dir.path().join(format!("{pod_name}.yaml"));
            let (pod, planned) = sandbox.pod_for(workload, pod_name, owner, file);
            // The pod and the ConfigMaps it references, in one file.
            let pod_text = serde_json::to_string(&pod).unwrap_or_default();
            // (ConfigMaps first: podman resolves them while reading the file.)
            let mut documents: Vec<String> = config_maps
                .iter()
                .filter(|(cm_name, _)| pod_text.contains(&format!("\"{cm_name}\"")))
                .map(|(_, cm)| serde_json::to_string(cm).unwrap_or_default())
                .collect();
            documents.push(pod_text);
            std::fs::write(&planned.file, documents.join("\n---\n"))
                .with_context(|| format!("cannot write {}", planned.file.display()))?;
            sandbox.pods.push(planned);
        }
        Ok(sandbox)
    }

    fn prefixed(&self, name: &str) -> String {
        format!("{}-{name}", self.name)
    }

    /// The chart's ConfigMaps and Secrets (as ConfigMaps), renamed with the
    /// sandbox prefix: prefixed name -> object.
    fn config_maps(&self, index: &Index<'_>) -> Result<BTreeMap<String, Value>> {
        let mut maps = BTreeMap::new();
        let mut objects = Vec::new();
        for (i, input) in index.inputs.iter().enumerate() {
            objects.extend(crate::model::load_objects_of_kinds(i, input, &["ConfigMap", "Secret"])?);
        }
        for object in &objects {
            let mut data = serde_json::Map::new();
            match object.kind.as_str() {
                "ConfigMap" => {
                    for key in ["data", "binaryData"] {
                        if let Some(Value::Object(entries)) = object.root.get(key).map(|n| n.to_json()) {
                            data.extend(entries);
                        }
                    }
                }
                "Secret" => {
                    if let Some(Value::Object(entries)) = object.root.get("data").map(|n| n.to_json()) {
                        for (key, value) in entries {
                            let decoded = value.as_str().and_then(base64_decode).unwrap_or_default();
                            data.insert(key, Value::String(decoded));
                        }
                    }
                    if let Some(Value::Object(entries)) = object.root.get("stringData").map(|n| n.to_json()) {
                        data.extend(entries);
                    }
                }
                _ => continue,
            }
            let name = self.prefixed(&object.name);
            let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data});
            maps.insert(name, config_map);
        }
        Ok(maps)
    }

    pub fn planned_pods(&self) -> &[PlannedPod] {
        &self.pods
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
        let mut readiness_ports = Vec::new();
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
                    }
                    if let Some(port) = readiness_port(container) {
                        readiness_ports.push(port);
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
                owner,
                host_network,
                containers,
                images,
                readiness_ports,
                file,
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

    fn container_name(pod: &str, container: &str) -> String {
        format!("{pod}-{container}")
    }

    /// State of every container of the sandbox, by container name.
    fn container_states(&self) -> Result<BTreeMap<String, ContainerState>> {
        let out = run(podman()
            .args(["ps", "-a", "--format", "json", "--filter"])
            .arg(format!("name=^{}", self.name)))?;
        let list: Vec<Value> = serde_json::from_str(&out).context("cannot read `podman ps` output")?;
        Ok(list
            .iter()
            .filter_map(|c| {
                let name = c.pointer("/Names/0")?.as_str()?.to_string();
                let state = ContainerState {
                    id: c.get("Id")?.as_str()?.to_string(),
                    state: c.get("State")?.as_str()?.to_string(),
                    exit_code: c.get("ExitCode").and_then(Value::as_i64).unwrap_or(0),
                    pid: c
                        .get("Pid")
                        .and_then(Value::as_u64)
                        .and_then(|p| u32::try_from(p).ok())
                        .unwrap_or(0),
                };
                Some((name, state))
            })
            .collect())
    }

    /// Infra process of every pod, and PID + cgroup of the given containers,
    /// in two podman calls whatever the number of pods (one `inspect` per
    /// container made a 10-pod probe take ~2 s).
    fn process_info(&self, container_ids: &[&str]) -> Result<(InfraPids, ProcessInfo)> {
        let pods = run(podman()
            .args(["pod", "ps", "--format", "json", "--filter"])
            .arg(format!("label={SANDBOX_LABEL}={}", self.name)))?;
        let pods: Vec<Value> = serde_json::from_str(&pods).context("cannot read `podman pod ps` output")?;
        let infra_of: BTreeMap<String, String> = pods
            .iter()
            .filter_map(|p| {
                Some((
                    p.get("Name")?.as_str()?.to_string(),
                    p.get("InfraId")?.as_str()?.to_string(),
                ))
            })
            .collect();
        let mut ids: Vec<&str> = infra_of.values().map(String::as_str).collect();
        ids.extend_from_slice(container_ids);
        let mut by_id: BTreeMap<String, (u32, String)> = BTreeMap::new();
        if !ids.is_empty() {
            let out = run(podman()
                .args(["inspect", "--format", "{{.Id}} {{.State.Pid}} {{.State.CgroupPath}}"])
                .args(&ids))?;
            for line in out.lines() {
                let mut fields = line.split_whitespace();
                let (Some(id), Some(pid)) = (fields.next(), fields.next().and_then(|p| p.parse().ok())) else {
                    continue;
                };
                by_id.insert(id.to_string(), (pid, fields.next().unwrap_or("").to_string()));
            }
        }
        let infra_pids = infra_of
            .into_iter()
            .filter_map(|(pod, infra)| {
                by_id
                    .get(&infra)
                    .filter(|(pid, _)| *pid > 0)
                    .map(|(pid, _)| (pod, *pid))
            })
            .collect();
        Ok((infra_pids, by_id))
    }

    fn containers_running(pod: &PlannedPod, states: &BTreeMap<String, ContainerState>) -> bool {
        pod.containers.iter().all(|c| {
            states
                .get(&Self::container_name(&pod.name, c))
                .is_some_and(|s| s.state == "running")
        })
    }

    fn pod_ready(
        pod: &PlannedPod,
        states: &BTreeMap<String, ContainerState>,
        infra_pids: &BTreeMap<String, u32>,
    ) -> bool {
        if !Self::containers_running(pod, states) {
            return false;
        }
        if pod.readiness_ports.is_empty() {
            return true;
        }
        let Some(infra) = infra_pids.get(&pod.name) else {
            return false;
        };
        let Ok(sockets) = procnet::read_namespace(Path::new(&format!("/proc/{infra}"))) else {
            return false;
        };
        pod.readiness_ports
            .iter()
            .all(|port| sockets.iter().any(|s| s.port == *port))
    }

    fn not_ready_detail(&self, pod: &PlannedPod, states: &BTreeMap<String, ContainerState>) -> String {
        let mut parts = Vec::new();
        for container in &pod.containers {
            let name = Self::container_name(&pod.name, container);
            match states.get(&name) {
                Some(ContainerState {
                    state, exit_code: exit, ..
                }) if state != "running" => {
                    // Container output comes on podman's stdout and stderr alike.
                    let logs = podman()
                        .args(["logs", "--tail", "5", &name])
                        .output()
                        .map(|o| {
                            format!(
                                "{}{}",
                                String::from_utf8_lossy(&o.stdout),
                                String::from_utf8_lossy(&o.stderr)
                            )
                        })
                        .unwrap_or_default();
                    let mut logs: Vec<&str> = logs.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                    // podman may hand the same line over on both streams.
                    logs.dedup();
                    parts.push(format!(
                        "container `{container}` is {state} (exit code {exit}){}",
                        if logs.is_empty() {
                            String::new()
                        } else {
                            format!("; last log lines: {}", logs.join(" | "))
                        }
                    ));
                }
                None => parts.push(format!("container `{container}` was not created")),
                _ => {}
            }
        }
        if parts.is_empty() && !pod.readiness_ports.is_empty() {
            let ports: Vec<String> = pod.readiness_ports.iter().map(u16::to_string).collect();
            format!("its readiness probe port(s) {} never listened", ports.join(", "))
        } else if parts.is_empty() {
            "not all containers were running".into()
        } else {
            parts.join("; ")
        }
    }
}

fn prefix_string(value: Option<&mut Value>, prefix: &str) {
    if let Some(Value::String(text)) = value {
        *text = format!("{prefix}{text}");
    }
}

/// The port of a `tcpSocket`/`httpGet` readiness probe (a number, or the
/// name of one of the container's ports).
fn readiness_port(container: &Value) -> Option<u16> {
    let probe = container.get("readinessProbe")?;
    let port = probe
        .pointer("/tcpSocket/port")
        .or_else(|| probe.pointer("/httpGet/port"))?;
    match port {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(name) => container.get("ports")?.as_array()?.iter().find_map(|p| {
            (p.get("name")?.as_str()? == name)
                .then(|| p.get("containerPort")?.as_u64().and_then(|n| u16::try_from(n).ok()))?
        }),
        _ => None,
    }
}

/// Standard base64 (Secret `data`); `None` when it is not valid base64.
fn base64_decode(text: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    String::from_utf8(out).ok()
}

/// Every process on the host, grouped by PID namespace: a container's
/// processes are its main process and everything in its PID namespace.
fn processes_by_pid_namespace() -> BTreeMap<String, Vec<u32>> {
    let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return groups;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(ns) = std::fs::read_link(entry.path().join("ns/pid")) {
            groups.entry(ns.display().to_string()).or_default().push(pid);
        }
    }
    groups
}

/// The ephemeral port range inside a network namespace (`nsenter`); the
/// host's when that is not possible.
fn ephemeral_range(pid: u32) -> (u16, u16) {
    let inside = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .args(["cat", "/proc/sys/net/ipv4/ip_local_port_range"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let mut parts = text.split_whitespace().map(|p| p.parse::<u16>().ok());
            Some((parts.next()??, parts.next()??))
        });
    inside
        .or_else(|| procnet::ephemeral_port_range(Path::new("/proc")).ok())
        .unwrap_or((32768, 60999))
}

impl Sandbox for PodmanSandbox {
    fn describe(&self) -> String {
        format!("podman sandbox {} ({} pods)", self.name, self.pods.len())
    }

    fn removal_hint(&self) -> String {
        format!(
            "podman pod ps -q --filter label={SANDBOX_LABEL}={0} | xargs -r podman pod rm -f; podman volume ls -q --filter name=^{0}- | xargs -r podman volume rm -f",
            self.name
        )
    }

    fn host_baseline(&mut self) -> Result<Vec<OpenSocket>> {
        // Rootful podman: this process is in the host's network namespace.
        Ok(procnet::read_namespace(Path::new("/proc/self"))?)
    }

    fn install(&mut self) -> Result<()> {
        if self.pods.is_empty() {
            return Ok(());
        }
        let mut missing = BTreeSet::new();
        for image in self.pods.iter().flat_map(|p| p.images.iter()) {
            let exists = podman().args(["image", "exists", image]).output().map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    anyhow::anyhow!("podman not found: install it (Debian: apt-get install podman runc)")
                } else {
                    anyhow::anyhow!("cannot run podman: {e}")
                }
            })?;
            if !exists.status.success() {
                missing.insert(image.clone());
            }
        }
        if !missing.is_empty() {
            let list: Vec<String> = missing.into_iter().collect();
            bail!(
                "image{} not available locally: {} (the podman runtime never pulls; build or load {} first, e.g. `podman load`)",
                if list.len() == 1 { "" } else { "s" },
                list.join(", "),
                if list.len() == 1 { "it" } else { "them" }
            );
        }
        self.installed = true;
        for pod in &self.pods {
            // `--network` explicitly: without it podman creates (and keeps) a
            // network of its own; with it, it overrides `hostNetwork`, so
            // host-network pods are played with `--network host`.
            let network = if pod.host_network { "host" } else { "podman" };
            run(podman()
                .args(["kube", "play", "--start", "--network", network])
                .arg(&pod.file))
            .with_context(|| format!("cannot start the pod for {} `{}`", pod.owner.kind, pod.owner.name))?;
        }
        Ok(())
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<Vec<PodStatus>> {
        let start = Instant::now();
        // Ready: every container running, and the ports of the original
        // readiness probes listening; twice in a row, so a container that
        // dies right after starting is not taken for ready.
        let mut consecutive = 0;
        loop {
            if interrupted() {
                return Err(Interrupted.into());
            }
            let states = self.container_states()?;
            let infra_pids = if self.pods.iter().any(|p| !p.readiness_ports.is_empty()) {
                self.process_info(&[])?.0
            } else {
                BTreeMap::new()
            };
            let ready: Vec<bool> = self
                .pods
                .iter()
                .map(|p| Self::pod_ready(p, &states, &infra_pids))
                .collect();
            consecutive = if ready.iter().all(|r| *r) { consecutive + 1 } else { 0 };
            if consecutive >= 2 || start.elapsed() >= timeout {
                return Ok(self
                    .pods
                    .iter()
                    .zip(ready)
                    .map(|(p, ready)| PodStatus {
                        pod: p.name.clone(),
                        owner: p.owner.clone(),
                        ready,
                        detail: if ready {
                            String::new()
                        } else {
                            self.not_ready_detail(p, &states)
                        },
                    })
                    .collect());
            }
            sleep_interruptibly(Duration::from_millis(250))?;
        }
    }

    fn probe(&mut self) -> Result<Vec<PodSockets>> {
        let states = self.container_states()?;
        let ids: Vec<&str> = states.values().map(|s| s.id.as_str()).collect();
        let (infra_pids, processes) = self.process_info(&ids)?;
        let by_namespace = processes_by_pid_namespace();
        let mut result = Vec::new();
        for pod in &self.pods {
            if !Self::containers_running(pod, &states) {
                continue;
            }
            let infra = *infra_pids
                .get(&pod.name)
                .with_context(|| format!("no process for the infra container of pod {}", pod.name))?;
            let sockets = procnet::read_namespace(&PathBuf::from(format!("/proc/{infra}")))
                .with_context(|| format!("cannot read the sockets of pod {}", pod.name))?;
            // Which container holds which socket: the socket inodes in the
            // fds of every process of the container.
            let mut owners: BTreeMap<u64, String> = BTreeMap::new();
            for container in &pod.containers {
                let Some(state) = states.get(&Self::container_name(&pod.name, container)) else {
                    continue;
                };
                let cgroup = processes
                    .get(&state.id)
                    .map(|(_, cgroup)| cgroup.as_str())
                    .unwrap_or("");
                for process in container_processes(state.pid, cgroup, &by_namespace) {
                    let dir = PathBuf::from(format!("/proc/{process}"));
                    for inode in procnet::socket_inodes_of_process(&dir).unwrap_or_default() {
                        owners.insert(inode, container.clone());
                    }
                }
            }
            let sockets = sockets
                .into_iter()
                .map(|socket| AttributedSocket {
                    container: owners.get(&socket.inode).cloned(),
                    socket,
                })
                // A host-network pod sees every socket of the host: keep the
                // ones its own containers hold.
                .filter(|s| !pod.host_network || s.container.is_some())
                .collect();
            result.push(PodSockets {
                pod: pod.name.clone(),
                owner: pod.owner.clone(),
                host_network: pod.host_network,
                ephemeral_range: ephemeral_range(infra),
                sockets,
            });
        }
        Ok(result)
    }

    fn restart(&mut self) -> Result<()> {
        if self.pods.is_empty() {
            return Ok(());
        }
        // `pod restart` has no timeout and waits 10 s for any PID 1 that
        // ignores SIGTERM; stop with a 1 s grace period, then start.
        let names: Vec<&str> = self.pods.iter().map(|p| p.name.as_str()).collect();
        run(podman().args(["pod", "stop", "-i", "-t", "1"]).args(&names))?;
        run(podman().args(["pod", "start"]).args(&names))?;
        Ok(())
    }

    fn cleanup(&mut self) -> Result<()> {
        if !self.installed {
            return Ok(());
        }
        // Exactly this sandbox's pods (by label), then the volumes named
        // after it. Never `--all` or prune: podman state is shared.
        let pods = run(podman()
            .args(["pod", "ps", "-q", "--filter"])
            .arg(format!("label={SANDBOX_LABEL}={}", self.name)))?;
        let pods: Vec<&str> = pods.split_whitespace().collect();
        if !pods.is_empty() {
            run(podman().args(["pod", "stop", "-i", "-t", "1"]).args(&pods))?;
            run(podman().args(["pod", "rm", "-f", "-i"]).args(&pods))?;
        }
        let volumes = run(podman()
            .args(["volume", "ls", "-q", "--filter"])
            .arg(format!("name=^{}-", self.name)))?;
        let volumes: Vec<&str> = volumes.split_whitespace().collect();
        if !volumes.is_empty() {
            run(podman().args(["volume", "rm", "-f"]).args(&volumes))?;
        }
        self.installed = false;
        Ok(())
    }
}

/// The processes of a container: those in its cgroup (v1 `pids` controller,
/// or v2), else those in the PID namespace of its main process.
fn container_processes(pid: u32, cgroup: &str, by_namespace: &BTreeMap<String, Vec<u32>>) -> Vec<u32> {
    if !cgroup.is_empty() {
        for root in ["/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
            if let Ok(text) = std::fs::read_to_string(format!("{root}{cgroup}/cgroup.procs")) {
                let pids: Vec<u32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
                if !pids.is_empty() {
                    return pids;
                }
            }
        }
    }
    std::fs::read_link(format!("/proc/{pid}/ns/pid"))
        .ok()
        .and_then(|ns| by_namespace.get(&ns.display().to_string()).cloned())
        .unwrap_or_else(|| vec![pid])
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHART: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data: {a.conf: "x"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: aHVudGVyMg==}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      hostNetwork: true
      containers:
        - name: db
          image: img
          ports: [{name: sql, containerPort: 5432}]
          readinessProbe: {tcpSocket: {port: sql}}
          env: [{name: P, valueFrom: {secretKeyRef: {name: creds, key: password}}}]
          volumeMounts: [{name: conf, mountPath: /etc/db}, {name: data, mountPath: /data}]
      volumes:
        - {name: conf, configMap: {name: conf}}
        - {name: data, persistentVolumeClaim: {claimName: data}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    metadata: {labels: {app: migrate}}
    spec: {containers: [{name: m, image: img}]}
"#;

    #[test]
    fn plays_each_workload_as_a_prefixed_self_contained_pod() {
        let inputs = vec![crate::model::Input::new("c", "rel", "default", CHART.to_string())];
        let objects = crate::audit::load(&inputs).unwrap();
        let index = Index::new(&inputs, &objects);
        let sandbox = PodmanSandbox::new(&index, "rel").unwrap();
        assert_eq!(sandbox.skipped.len(), 1, "the Job is not played");
        let pod = &sandbox.planned_pods()[0];
        assert!(pod.host_network);
        assert_eq!(pod.readiness_ports, [5432]);
        let text = std::fs::read_to_string(&pod.file).unwrap();
        let docs: Vec<Value> = text
            .split("\n---\n")
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        let p = &sandbox.name;
        // ConfigMaps first (the Secret converted and decoded), then the pod.
        assert_eq!(docs[0]["metadata"]["name"], format!("{p}-conf"));
        assert_eq!(docs[1]["metadata"]["name"], format!("{p}-creds"));
        assert_eq!(docs[1]["data"]["password"], "hunter2");
        let spec = &docs[2]["spec"];
        assert_eq!(docs[2]["metadata"]["labels"][SANDBOX_LABEL], p.as_str());
        assert_eq!(spec["restartPolicy"], "Never");
        let container = &spec["containers"][0];
        assert!(container.get("ports").is_none() && container.get("readinessProbe").is_none());
        assert_eq!(container["imagePullPolicy"], "Never");
        assert_eq!(
            container["env"][0]["valueFrom"]["configMapKeyRef"]["name"],
            format!("{p}-creds")
        );
        let volume_name = container["volumeMounts"][0]["name"].as_str().unwrap();
        assert_eq!(spec["volumes"][0]["name"], volume_name);
        assert!(volume_name.starts_with(p.as_str()));
        assert_eq!(spec["volumes"][0]["configMap"]["name"], format!("{p}-conf"));
        assert_eq!(
            spec["volumes"][1]["persistentVolumeClaim"]["claimName"],
            format!("{p}-data")
        );
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8gd29ybGQ=").as_deref(), Some("hello world"));
        assert_eq!(base64_decode("!!"), None);
    }

    #[test]
    fn labels_are_dns_safe() {
        assert_eq!(dns_label("My_Release.v2", 63), "my-release-v2");
        assert_eq!(dns_label("abc-", 3), "abc");
        assert_eq!(random_suffix().len(), 6);
    }
}
