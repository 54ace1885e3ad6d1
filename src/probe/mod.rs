//! Runtime probing: install a chart into a throwaway sandbox, wait until its
//! pods run, and read the sockets they really open.
//!
//! A backend implements [`Sandbox`]; `procnet` parses `/proc/net/{tcp,udp}*`.

pub mod in_place;
pub mod kube;
pub mod podman;
pub mod procnet;
pub mod session;

use std::net::IpAddr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    /// As Kubernetes writes it (`containerPort`'s `protocol`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
}

/// An open socket as the spec defines it: TCP in LISTEN, or UDP bound and
/// not connected.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpenSocket {
    pub protocol: Protocol,
    pub address: IpAddr,
    pub port: u16,
    /// The socket's inode: `/proc/<pid>/fd/*` links to `socket:[inode]`, which
    /// is how a socket is attributed to the container (process) owning it.
    pub inode: u64,
}

impl OpenSocket {
    /// Bound only to loopback (127.0.0.0/8, ::1, or v4-mapped loopback):
    /// unreachable from the network, never a finding.
    pub fn is_loopback_only(&self) -> bool {
        match self.address {
            IpAddr::V4(a) => a.is_loopback(),
            IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        }
    }
}

/// The workload a pod belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// A pod after waiting for readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodStatus {
    pub pod: String,
    pub owner: WorkloadRef,
    pub ready: bool,
    /// For pods that are not ready: their phase/conditions and the last
    /// events and log lines, for the `probe-incomplete` note.
    pub detail: String,
}

/// The sockets of one pod in one probe run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSockets {
    pub pod: String,
    pub owner: WorkloadRef,
    pub host_network: bool,
    /// `/proc/sys/net/ipv4/ip_local_port_range` in the pod's network namespace.
    pub ephemeral_range: (u16, u16),
    pub sockets: Vec<AttributedSocket>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributedSocket {
    pub socket: OpenSocket,
    /// The container whose process holds the socket, when the runtime lets us tell.
    pub container: Option<String>,
}

/// What a runtime backend does for one probe. Every method may be called
/// after a failure of another; `cleanup` must be idempotent and must only
/// remove what this sandbox created.
pub trait Sandbox {
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
    /// Wait until every pod is ready or `timeout` passes.
    fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<Vec<PodStatus>>;
    /// Read the open sockets of every ready pod.
    fn probe(&mut self) -> anyhow::Result<Vec<PodSockets>>;
    /// Restart every pod (for the second run).
    fn restart(&mut self) -> anyhow::Result<()>;
    /// Remove everything the sandbox created.
    fn cleanup(&mut self) -> anyhow::Result<()>;
}

/// Everything a probe observed, keyed by the workloads of the rendered model
/// (backends map their pods back to the workload that owns them, in the
/// model's namespace, whatever namespace the sandbox really used).
#[derive(Debug, Clone, Default)]
pub struct Observations {
    pub statuses: Vec<PodStatus>,
    /// One entry per probe run (run 1, then run 2 after a restart).
    pub runs: Vec<Vec<PodSockets>>,
    /// Sockets the node had open before the install (for hostNetwork pods).
    pub baseline: Vec<OpenSocket>,
    pub timings: ProbeTimings,
}

/// How long each phase took (reported, and what the probe benchmark reads).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeTimings {
    pub install: Duration,
    /// Per run: waiting for readiness.
    pub wait: Vec<Duration>,
    /// Per run: reading the sockets of every ready pod (after the settle pause).
    pub probe: Vec<Duration>,
    /// Per restart (before runs 2..).
    pub restart: Vec<Duration>,
    pub cleanup: Duration,
}

/// A port as the checks compare it: number and protocol.
pub type PortKey = (Protocol, u16);

/// What one workload's pods had open in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunPorts {
    /// Open, non-loopback ports (baseline subtracted for hostNetwork pods),
    /// with the containers seen holding them.
    pub ports: std::collections::BTreeMap<PortKey, std::collections::BTreeSet<String>>,
    pub ephemeral_range: Option<(u16, u16)>,
}

impl Observations {
    fn matches(owner: &WorkloadRef, kind: &str, namespace: &str, name: &str) -> bool {
        owner.kind == kind && owner.namespace == namespace && owner.name == name
    }

    /// Pods of a workload that never became ready (with their detail).
    pub fn not_ready(&self, kind: &str, namespace: &str, name: &str) -> Vec<&PodStatus> {
        self.statuses
            .iter()
            .filter(|s| !s.ready && Self::matches(&s.owner, kind, namespace, name))
            .collect()
    }

    /// Was any pod of this workload probed (ready in some run)?
    pub fn probed(&self, kind: &str, namespace: &str, name: &str) -> bool {
        self.runs
            .iter()
            .flatten()
            .any(|p| Self::matches(&p.owner, kind, namespace, name))
    }

    /// Per run, the union over the workload's pods (replicas count once);
    /// `None` for a run in which no pod of the workload was probed.
    pub fn ports_per_run(&self, kind: &str, namespace: &str, name: &str) -> Vec<Option<RunPorts>> {
        let baseline: std::collections::BTreeSet<PortKey> =
            self.baseline.iter().map(|s| (s.protocol, s.port)).collect();
        self.runs
            .iter()
            .map(|run| {
                let pods: Vec<&PodSockets> = run
                    .iter()
                    .filter(|p| Self::matches(&p.owner, kind, namespace, name))
                    .collect();
                if pods.is_empty() {
                    return None;
                }
                let mut result = RunPorts::default();
                for pod in pods {
                    result.ephemeral_range.get_or_insert(pod.ephemeral_range);
                    for attributed in &pod.sockets {
                        let socket = &attributed.socket;
                        let key = (socket.protocol, socket.port);
                        if socket.is_loopback_only() || (pod.host_network && baseline.contains(&key)) {
                            continue;
                        }
                        let holders = result.ports.entry(key).or_default();
                        if let Some(container) = &attributed.container {
                            holders.insert(container.clone());
                        }
                    }
                }
                Some(result)
            })
            .collect()
    }
}

/// What a report says about the probe itself.
#[derive(Debug, Clone, Default)]
pub struct ProbeReport {
    pub runtime: String,
    pub sandbox: String,
    pub runs: usize,
    /// Pods that were not ready (after waiting, for a sandbox; as found, in
    /// place): no M3 for them, only this note.
    pub incomplete: Vec<PodStatus>,
    /// Whether the probe waited for readiness (a sandbox) or took the pods as
    /// it found them (`audit`, in place): what the note says.
    pub waited_for_readiness: bool,
    /// Workloads not run in the sandbox (Jobs and CronJobs run to completion).
    pub not_probed: Vec<WorkloadRef>,
    pub timings: ProbeTimings,
}
