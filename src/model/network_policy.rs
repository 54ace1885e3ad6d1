//! NetworkPolicies (`networking.k8s.io/v1`) with their rules, as the API
//! server reads them: what M6 asks (does a policy restrict ingress to these
//! pods?) and what the flow evaluator of `fix` needs.

use super::objects::Workload;
use super::runtime::Protocol;
use super::selector::Selector;
use super::yaml::Node;
use super::Object;

#[derive(Debug)]
pub struct NetworkPolicy<'a> {
    pub obj: &'a Object,
    pub pod_selector: Selector,
    /// The ingress rules when the policy restricts ingress (`policyTypes`
    /// contains `Ingress`, or is absent or empty: the API server's default).
    pub ingress: Option<Vec<PolicyRule>>,
    /// The egress rules when the policy restricts egress (`policyTypes`
    /// contains `Egress`, or is absent or empty and `egress` has rules).
    pub egress: Option<Vec<PolicyRule>>,
}

/// One ingress (`from`) or egress (`to`) rule.
#[derive(Debug)]
pub struct PolicyRule {
    /// `None`: every peer.
    pub peers: Option<Vec<PolicyPeer>>,
    /// `None`: every port.
    pub ports: Option<Vec<PolicyPort>>,
}

#[derive(Debug)]
pub enum PolicyPeer {
    /// `podSelector` and/or `namespaceSelector` (absent: the policy's namespace).
    Pods {
        namespaces: Option<Selector>,
        pods: Option<Selector>,
    },
    IpBlock,
    /// `ipBlock` mixed with selectors, or none of the three: the API server
    /// rejects it; it matches nothing.
    Invalid,
}

#[derive(Debug)]
pub struct PolicyPort {
    /// TCP when absent; `None` for a protocol Kubernetes does not know
    /// (matches nothing).
    pub protocol: Option<Protocol>,
    pub port: PortMatch,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PortMatch {
    Any,
    /// `port` to `endPort` (or just `port`).
    Range(u16, u16),
    /// A named container port of the destination.
    Named(String),
    /// A number out of 1-65535: matches nothing.
    Invalid,
}

/// A field that is present and not null (`podSelector:` with no value is
/// absent for the API server).
fn field<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    node.get(key).filter(|n| !n.is_null())
}

/// A non-empty list field; absent, null and `[]` all give `None`.
fn non_empty_list<'n>(node: &'n Node, key: &str) -> Option<&'n [Node]> {
    node.get(key).map(Node::as_seq).filter(|s| !s.is_empty())
}

impl<'a> NetworkPolicy<'a> {
    pub fn from_object(obj: &'a Object) -> Option<NetworkPolicy<'a>> {
        if obj.kind != "NetworkPolicy" || !obj.api_version.starts_with("networking.k8s.io/") {
            return None;
        }
        let spec = obj.root.get("spec")?;
        let pod_selector = field(spec, "podSelector")
            .map(Selector::from_label_selector)
            .unwrap_or_default();
        let types: Vec<&str> = spec
            .get("policyTypes")
            .map(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(Node::scalar_text)
            .collect();
        let (ingress, egress) = if types.is_empty() {
            (true, non_empty_list(spec, "egress").is_some())
        } else {
            (types.contains(&"Ingress"), types.contains(&"Egress"))
        };
        let rules = |key: &str, peers_key: &str| {
            spec.get(key)
                .map(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .map(|r| PolicyRule::parse(r, peers_key))
                .collect::<Vec<_>>()
        };
        Some(NetworkPolicy {
            obj,
            pod_selector,
            ingress: ingress.then(|| rules("ingress", "from")),
            egress: egress.then(|| rules("egress", "to")),
        })
    }

    /// Does the policy restrict ingress to some pods of `workload` (M6)?
    pub fn covers(&self, workload: &Workload<'_>) -> bool {
        self.ingress.is_some()
            && workload.obj.namespace == self.obj.namespace
            && workload.pods_selected_by(&self.pod_selector)
    }

    /// Does the policy apply to `workload`'s pods? (hostNetwork pods are
    /// outside every policy.)
    pub fn selects(&self, workload: &Workload<'_>) -> bool {
        workload.host_network_line.is_none()
            && workload.obj.namespace == self.obj.namespace
            && workload.pods_selected_by(&self.pod_selector)
    }
}

impl PolicyRule {
    fn parse(rule: &Node, peers_key: &str) -> PolicyRule {
        PolicyRule {
            peers: non_empty_list(rule, peers_key).map(|peers| peers.iter().map(PolicyPeer::parse).collect()),
            ports: non_empty_list(rule, "ports").map(|ports| ports.iter().map(PolicyPort::parse).collect()),
        }
    }
}

impl PolicyPeer {
    fn parse(peer: &Node) -> PolicyPeer {
        let ip_block = field(peer, "ipBlock");
        let namespaces = field(peer, "namespaceSelector").map(Selector::from_label_selector);
        let pods = field(peer, "podSelector").map(Selector::from_label_selector);
        match (ip_block, namespaces.is_some() || pods.is_some()) {
            (Some(_), false) => PolicyPeer::IpBlock,
            (None, true) => PolicyPeer::Pods { namespaces, pods },
            _ => PolicyPeer::Invalid,
        }
    }
}

impl PolicyPort {
    fn parse(port: &Node) -> PolicyPort {
        let protocol = match port.get("protocol").and_then(Node::scalar_text) {
            None => Some(Protocol::Tcp),
            Some(text) => Protocol::parse(text),
        };
        let number = |n: &Node| n.as_i64().or_else(|| n.scalar_text()?.trim().parse().ok());
        let valid = |n: i64| u16::try_from(n).ok().filter(|n| *n > 0);
        let port = match field(port, "port") {
            None => PortMatch::Any,
            Some(p) => match number(p) {
                Some(start) => {
                    let end = field(port, "endPort").and_then(number).unwrap_or(start);
                    match (valid(start), valid(end)) {
                        (Some(start), Some(end)) => PortMatch::Range(start, end),
                        _ => PortMatch::Invalid,
                    }
                }
                None => PortMatch::Named(p.scalar_text().unwrap_or("").to_string()),
            },
        };
        PolicyPort { protocol, port }
    }

    /// Does this entry allow `port`/`protocol` on `dest` (whose declared
    /// ports resolve a named port; `None`, outside the cluster, has none)?
    pub fn allows(&self, dest: Option<&Workload<'_>>, port: u16, protocol: Protocol) -> bool {
        if self.protocol != Some(protocol) {
            return false;
        }
        match &self.port {
            PortMatch::Any => true,
            PortMatch::Range(start, end) => (*start..=*end).contains(&port),
            PortMatch::Named(name) => dest.is_some_and(|dest| {
                dest.ports()
                    .any(|p| p.name.as_deref() == Some(name.as_str()) && p.number == port && p.protocol == protocol)
            }),
            PortMatch::Invalid => false,
        }
    }
}
