//! A generated policy before it is written in a policy language: which pods
//! it selects, and per direction the rules (peers and ports) that the
//! planner decided. [`super::flavors`] writes it as a Kubernetes, Cilium or
//! Calico policy; each says the same flows in its own words, and says the
//! API server, the nodes and the cluster DNS with its own constructs where
//! it has them.

use crate::model::{Labels, Protocol};

/// One workload's policy, in no language yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub name: String,
    pub namespace: String,
    /// The labels that select the workload's pods and no other workload's.
    pub pod_labels: Labels,
    /// The allowed ingress; empty: every ingress denied.
    pub ingress: Vec<Rule>,
    /// The allowed egress; `None`: egress not restricted.
    pub egress: Option<Vec<Rule>>,
}

/// One allow rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `None`: every peer, in the cluster and outside it.
    pub peers: Option<Vec<Peer>>,
    /// In the order written; empty: every port.
    pub ports: Vec<RulePort>,
}

impl Rule {
    pub fn new(peers: Vec<Peer>, ports: Vec<RulePort>) -> Rule {
        Rule {
            peers: Some(peers),
            ports,
        }
    }

    /// Every peer, on `ports`.
    pub fn from_anywhere(ports: Vec<RulePort>) -> Rule {
        Rule { peers: None, ports }
    }

    /// The rule without its [`Peer::Host`]s, for a language that cannot
    /// name a host; `None` when no peer is left (an empty list of peers
    /// would mean every peer to some languages).
    pub fn without_hosts(&self) -> Option<Rule> {
        let Some(peers) = &self.peers else {
            return Some(self.clone());
        };
        let kept: Vec<Peer> = peers.iter().filter(|p| !matches!(p, Peer::Host(_))).cloned().collect();
        (!kept.is_empty()).then(|| Rule::new(kept, self.ports.clone()))
    }
}

/// The other end of a rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Peer {
    /// Pods of a namespace: those carrying `labels`, or (`None`) all of them.
    Pods {
        namespace: PeerNamespace,
        labels: Option<Labels>,
    },
    /// The nodes' addresses: hostNetwork pods listen and connect on them, and
    /// the kubelets. Where a language cannot name the nodes, any address.
    Nodes,
    /// The Kubernetes API server: at `cidr` when it is known
    /// (`--api-server`, `--cluster`), else wherever it is.
    ApiServer { cidr: Option<String> },
    /// An address range outside the pods (what a probe saw reached).
    Cidr(String),
    /// The cluster DNS: pods labelled `k8s-app=kube-dns`.
    ClusterDns,
    /// A host outside the cluster by its DNS name (an ExternalName's). Only
    /// a language that names hosts says it (Cilium's `toFQDNs`); the others
    /// leave it out ([`Rule::without_hosts`]).
    Host(String),
}

/// Which namespace a [`Peer::Pods`] is in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PeerNamespace {
    /// The policy's own.
    Own,
    /// The namespace of this name.
    Named(String),
    /// Every namespace.
    Every,
}

/// A port of a rule: a number, or a container port's name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RulePort {
    Number(Protocol, u16),
    Named(Protocol, String),
}

/// A run of ports: one number, or a range of three or more consecutive numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRun<'r> {
    Single(Protocol, u16),
    Range(Protocol, u16, u16),
    Named(Protocol, &'r str),
}

impl PortRun<'_> {
    pub fn protocol(&self) -> Protocol {
        match self {
            PortRun::Single(p, _) | PortRun::Range(p, _, _) | PortRun::Named(p, _) => *p,
        }
    }
}

/// `ports` as runs: three or more consecutive numbers of one protocol that
/// follow each other become a range; names stay names.
pub fn port_runs(ports: &[RulePort]) -> Vec<PortRun<'_>> {
    let mut out = Vec::new();
    let mut iter = ports.iter().peekable();
    while let Some(port) = iter.next() {
        let (protocol, start) = match port {
            RulePort::Named(protocol, name) => {
                out.push(PortRun::Named(*protocol, name));
                continue;
            }
            RulePort::Number(protocol, start) => (*protocol, *start),
        };
        let mut end = start;
        while let Some(RulePort::Number(p, n)) = iter.peek() {
            if *p == protocol && u32::from(*n) == u32::from(end) + 1 {
                end = *n;
                iter.next();
            } else {
                break;
            }
        }
        if end - start >= 2 {
            out.push(PortRun::Range(protocol, start, end));
        } else {
            out.extend((start..=end).map(|n| PortRun::Single(protocol, n)));
        }
    }
    out
}

/// Numbered ports of one protocol each, in order.
pub fn numbered(ports: impl IntoIterator<Item = (Protocol, u16)>) -> Vec<RulePort> {
    ports.into_iter().map(|(p, n)| RulePort::Number(p, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_three_or_more_become_ranges() {
        let ports = numbered([
            (Protocol::Tcp, 80),
            (Protocol::Tcp, 81),
            (Protocol::Tcp, 8000),
            (Protocol::Tcp, 8001),
            (Protocol::Tcp, 8002),
            (Protocol::Udp, 8003),
        ]);
        assert_eq!(
            port_runs(&ports),
            [
                PortRun::Single(Protocol::Tcp, 80),
                PortRun::Single(Protocol::Tcp, 81),
                PortRun::Range(Protocol::Tcp, 8000, 8002),
                PortRun::Single(Protocol::Udp, 8003),
            ]
        );
    }
}
