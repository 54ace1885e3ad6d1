//! The question `fix --check` and the fix planner ask the engine: a flow
//! the application needs, from where to where, on which port. Which flows
//! a chart needs is read from its manifests in `fix` (`policy/needs.rs`);
//! whether a policy set lets each through is [`super::flows::verify`].

use crate::model::{Protocol, ServicePods, WorkloadRef};
use std::fmt;

/// Where a needed flow starts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Workload(WorkloadRef),
    /// Any pod of the release (the clients of a port are unknown): the
    /// `members`, the workloads of the release whose own destinations are
    /// unknown too (they name no Service) and that are not on the host
    /// network. A workload that names its Services is taken to need those.
    Release {
        release: String,
        members: Vec<WorkloadRef>,
    },
    /// Outside the manifests: the API server, other namespaces, the internet.
    Outside,
}

/// Where a needed flow goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Destination {
    Workload(WorkloadRef),
    /// The pods a Service of the manifests selects that no workload of the
    /// manifests runs: an operator's (a `Prometheus`'s), the control
    /// plane's, another release's. Whoever creates them, they carry the
    /// Service's selector: the evaluator checks a stand-in pod with exactly
    /// those labels and the Service's target ports
    /// ([`crate::model::stand_in`]).
    ServicePods(ServicePods),
    /// The Kubernetes API server: not a pod, and named by Cilium
    /// (`kube-apiserver`) and Calico (the Service `default/kubernetes`).
    ApiServer,
    /// A host outside the cluster by its DNS name: an ExternalName's.
    Host(String),
    /// Outside the manifests' pods: the cluster DNS, other namespaces.
    Outside(String),
    /// Somewhere netaudit cannot tell: a host in the cluster that no Service
    /// of the manifests is. The flow is neither checked nor allowed.
    Unknown(String),
}

/// A flow the application needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub from: Source,
    pub to: Destination,
    pub protocol: Protocol,
    /// `None`: every port (an ingress controller proxies to any backend).
    pub port: Option<u16>,
    /// Why the application needs it, as the manifests say.
    pub why: String,
    /// Only a guess: nothing in the manifests names the clients.
    pub guessed: bool,
    /// A probe saw it (`fix --from-report`): needed whatever the manifests say.
    pub observed: bool,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Workload(w) => write!(f, "{w}"),
            Source::Release { release, .. } => write!(f, "(release {release})"),
            Source::Outside => f.write_str("(outside)"),
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Workload(w) => write!(f, "{w}"),
            Destination::ServicePods(pods) => write!(f, "(pods of Service {}/{})", pods.namespace, pods.service),
            Destination::ApiServer => f.write_str("(API server)"),
            Destination::Host(what) | Destination::Outside(what) | Destination::Unknown(what) => write!(f, "({what})"),
        }
    }
}

impl Need {
    /// `from -> to port/proto`.
    pub fn route(&self) -> String {
        let port = match self.port {
            Some(p) => format!("{p}/{}", self.protocol),
            None => "any port".to_string(),
        };
        format!("{} -> {} {port}", self.from, self.to)
    }
}
