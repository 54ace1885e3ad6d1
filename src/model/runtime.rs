//! The runtime vocabulary: what a probe observes, in terms of the model.
//!
//! Backends (`probe/`) produce these, the runtime checks and `fix` read
//! them; nothing here knows how a sandbox works.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// A transport protocol as Kubernetes names it (`ports[].protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// As Kubernetes writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// `TCP`, `UDP`, `SCTP` in any case; `None` for anything else.
    pub fn parse(text: &str) -> Option<Protocol> {
        match text.to_ascii_uppercase().as_str() {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An open socket as the spec defines it: TCP in LISTEN, or UDP bound and
/// not connected.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// A connection a pod's socket table shows on its side, towards another
/// end: what the probe samples to learn who talks to whom.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Connection {
    pub protocol: Protocol,
    pub local: (IpAddr, u16),
    pub remote: (IpAddr, u16),
    /// The pod's side is the server's: its local port listens, the other
    /// end is the client.
    pub accepted: bool,
    /// Answered: established, or closing (TCP), or connected (UDP);
    /// `false`: a TCP attempt not answered yet (`SYN_SENT`: blocked, or
    /// nothing listens).
    pub completed: bool,
    /// 0 for a connection already closed on this side (`TIME_WAIT`).
    pub inode: u64,
}

/// What the other end of an observed flow is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FlowPeer {
    /// A pod of the sandbox, by its workload.
    Workload { workload: WorkloadRef },
    /// A Service none of whose endpoints (or more than one workload's)
    /// could be named: by its name, in the sandbox's namespace.
    Service { service: String },
    /// The sandbox's DNS server.
    ClusterDns,
    /// The cluster's API server (the `kubernetes` Service).
    ApiServer,
    /// The host, through the sandbox network's gateway.
    Host,
    /// An address outside the sandbox.
    Outside { address: IpAddr },
}

impl fmt::Display for FlowPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowPeer::Workload { workload } => write!(f, "{workload}"),
            FlowPeer::Service { service } => write!(f, "Service `{service}`"),
            FlowPeer::ClusterDns => f.write_str("the cluster DNS"),
            FlowPeer::ApiServer => f.write_str("the API server"),
            FlowPeer::Host => f.write_str("the host"),
            FlowPeer::Outside { address } => write!(f, "{address} (outside)"),
        }
    }
}

/// A flow the probe saw a pod make: every connection from one workload to
/// one end's port, taken together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedFlow {
    pub from: WorkloadRef,
    pub to: FlowPeer,
    /// The server's own port: a Service's target port when the client
    /// asked for the Service's port, as a NetworkPolicy sees it.
    pub port: u16,
    pub protocol: Protocol,
    /// The process that held the client's socket, when it was still there
    /// to be named.
    pub process: Option<String>,
    /// Milliseconds from the start of the install to the first sample that
    /// showed it.
    pub first_seen_ms: u64,
    /// Distinct connections seen (by their client port); for the cluster
    /// DNS where its queries are logged, the queries.
    pub count: usize,
    /// Some connection was established (or a UDP socket connected, or a
    /// query answered); `false`: only attempts that no end answered.
    pub completed: bool,
    /// The names asked of the cluster DNS, where its queries are logged
    /// (the podman sandbox's own DNS server), in the order first asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<AskedName>,
    /// A client pod of netaudit's made it (`--exercise`), not the
    /// application; absent for the application's own flows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<FlowOrigin>,
}

impl ObservedFlow {
    /// "4 connections", or for the cluster DNS whose queries are logged,
    /// "20 queries": what `count` counts.
    pub fn seen(&self) -> String {
        if self.names.is_empty() {
            super::words::count(self.count, "connection", "connections")
        } else {
            super::words::count(self.count, "query", "queries")
        }
    }
}

/// Who made a flow that the application did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowOrigin {
    /// `--exercise`: the throwaway client that tries every Service port.
    Exercise,
    /// `--run-tests`: the chart's own test hooks (`helm.sh/hook: test`).
    Test,
}

impl fmt::Display for FlowOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlowOrigin::Exercise => "exercise",
            FlowOrigin::Test => "test",
        })
    }
}

/// What `--exercise` found: each Service port it tried, and whether it
/// answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exercise {
    /// The client pod's name in the sandbox.
    pub pod: String,
    /// Why the client did not finish, if it did not (no image, timed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    pub tried: Vec<TriedPort>,
}

/// What `--run-tests` found: each of the chart's test hooks, run as
/// `helm test` runs them, and whether it passed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartTests {
    /// Why the tests could not all run (`helm test` failed to start, the
    /// sandbox's time ran out), if they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// In the order run (hook weight, then name).
    pub ran: Vec<TestOutcome>,
}

/// One test hook of the chart, run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    /// `Pod` or `Job`.
    pub kind: String,
    pub name: String,
    pub passed: bool,
    /// Why it did not pass (a container's exit code, its phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One Service port the exercise tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriedPort {
    pub service: String,
    pub port: u16,
    pub protocol: Protocol,
    /// A connection was established; `false`: refused or timed out.
    pub answered: bool,
}

/// A name a workload asked the cluster DNS for (an address of any type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskedName {
    pub name: String,
    /// Some query for it got an address; `false`: only NXDOMAIN, no data
    /// or a refusal (a search-path try, or a name the sandbox lacks).
    pub answered: bool,
}

/// A workload by kind, namespace and name: how findings, waivers, probe
/// results and reports name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WorkloadRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// Kinds whose pods run to completion: nothing listens for long, nothing to probe.
const RUN_TO_COMPLETION: [&str; 2] = ["Job", "CronJob"];

impl WorkloadRef {
    /// Jobs and CronJobs.
    pub fn runs_to_completion(&self) -> bool {
        RUN_TO_COMPLETION.contains(&self.kind.as_str())
    }
}

impl fmt::Display for WorkloadRef {
    /// `Kind/namespace/name`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// A pod after waiting for readiness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodStatus {
    pub pod: String,
    pub owner: WorkloadRef,
    pub ready: bool,
    /// Not ready, and never going to be without a change (exited and not
    /// restarting, CrashLoopBackOff, image missing, unschedulable): the wait
    /// did not go on for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
    /// For pods that are not ready: their phase/conditions and the last
    /// events and log lines, for the `probe-incomplete` note.
    pub detail: String,
    /// What the sandbox could not check as Kubernetes does (a readiness
    /// probe judged by its port only): said to the user, and the probe
    /// waits `--settle` once more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The sockets of one pod in one probe run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodSockets {
    pub pod: String,
    pub owner: WorkloadRef,
    pub host_network: bool,
    /// `/proc/sys/net/ipv4/ip_local_port_range` in the pod's network namespace.
    pub ephemeral_range: (u16, u16),
    pub sockets: Vec<AttributedSocket>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributedSocket {
    pub socket: OpenSocket,
    /// The container whose process holds the socket, when the runtime lets us tell.
    pub container: Option<String>,
    /// The process that holds it, when the runtime lets us tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessName>,
}

/// A process as `netstat -p` names it: `/proc/<pid>/comm`, and its command
/// line (`/proc/<pid>/cmdline`), shortened.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProcessName {
    pub name: String,
    pub command: String,
}

impl ProcessName {
    /// The longest command line kept: enough for the program and its first
    /// arguments (a JVM's is several kilobytes).
    pub const MAX_COMMAND: usize = 80;

    /// From the contents of `comm` and `cmdline` (NUL-separated arguments).
    pub fn from_proc(comm: &str, cmdline: &[u8]) -> Option<ProcessName> {
        let name = comm.trim().to_string();
        if name.is_empty() {
            return None;
        }
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let mut command = args.join(" ");
        if command.chars().count() > Self::MAX_COMMAND {
            command = command.chars().take(Self::MAX_COMMAND - 1).collect::<String>() + "…";
        }
        Some(ProcessName { name, command })
    }
}

impl fmt::Display for ProcessName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.command.is_empty() || self.command == self.name {
            write!(f, "`{}`", self.name)
        } else {
            write!(f, "`{}` running `{}`", self.name, self.command)
        }
    }
}

/// Everything a probe observed, keyed by the workloads of the rendered model
/// (backends map their pods back to the workload that owns them, in the
/// model's namespace, whatever namespace the sandbox really used).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Observations {
    pub statuses: Vec<PodStatus>,
    /// One entry per probe run (run 1, then run 2 after a restart).
    pub runs: Vec<Vec<PodSockets>>,
    /// Sockets the node had open before the install (for hostNetwork pods).
    #[serde(default)]
    pub baseline: Vec<OpenSocket>,
    #[serde(skip)]
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

/// A port as the checks compare it: protocol and number.
pub type PortKey = (Protocol, u16);

/// What one workload's pods had open in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunPorts {
    /// Open, non-loopback ports (baseline subtracted for hostNetwork pods),
    /// with the containers seen holding them.
    pub ports: BTreeMap<PortKey, BTreeSet<String>>,
    /// The processes seen holding them, where known.
    pub processes: BTreeMap<PortKey, BTreeSet<ProcessName>>,
    pub ephemeral_range: Option<(u16, u16)>,
}

impl Observations {
    /// Per run, the union over the workload's pods (replicas count once);
    /// `None` for a run in which no pod of the workload was probed.
    pub fn ports_per_run(&self, workload: &WorkloadRef) -> Vec<Option<RunPorts>> {
        let baseline: BTreeSet<PortKey> = self.baseline.iter().map(|s| (s.protocol, s.port)).collect();
        self.runs
            .iter()
            .map(|run| {
                let pods: Vec<&PodSockets> = run.iter().filter(|p| &p.owner == workload).collect();
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
                        if let Some(process) = &attributed.process {
                            result.processes.entry(key).or_default().insert(process.clone());
                        }
                    }
                }
                Some(result)
            })
            .collect()
    }

    /// Pods that were not ready (in some run).
    pub fn not_ready(&self) -> impl Iterator<Item = &PodStatus> {
        self.statuses.iter().filter(|s| !s.ready)
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
    /// `--keep`: the sandbox was left in place; the command that removes it.
    pub kept: Option<String>,
    /// The flows the pods made, as sampled from their socket tables (in
    /// the order first seen).
    pub flows: Vec<ObservedFlow>,
    /// `--exercise`: what the throwaway client tried.
    pub exercise: Option<Exercise>,
    /// `--run-tests`: how the chart's test hooks went.
    pub tests: Option<ChartTests>,
}

/// Runtime evidence for the engine: what the probe saw, how the probe went,
/// and notes for the report (containers that could not be read, …).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub observations: Observations,
    pub probe: ProbeReport,
    pub notes: Vec<String>,
}
