//! Why netaudit and NCA may disagree on a cell: the listed exceptions (NCA
//! wrong, or modelling less, or the two modelling what a static view cannot
//! know differently), each with its reason. Anything else fails.

use netaudit::model::selector::Operator;
use netaudit::model::{Index, Matcher, Namespaces, PolicyPeer, PolicyRule, Workload};
use netaudit::reach::matrix::Row;
use netaudit::reach::{Direction, Evaluator};

/// What the destination, the source and the case are, as far as the
/// exceptions need to know.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub dest_host_network: bool,
    /// A policy selecting the destination for ingress allows an address
    /// range netaudit takes as containing pods (0.0.0.0/0, ::/0).
    pub dest_allows_pod_addresses: bool,
    /// A policy selecting the destination for ingress has a peer with a
    /// namespaceSelector whose podSelector has Exists/DoesNotExist.
    pub dest_peer_pods_exists: bool,
    /// A namespaced Calico policy selecting the destination for ingress
    /// has a rule with a `notSelector` and no `selector` or
    /// `namespaceSelector`.
    pub dest_namespaced_not_selector: bool,
    pub source: Source,
    /// A policy the API server would reject would select the destination.
    pub dest_selected_by_rejected: bool,
}

#[derive(Clone, Debug, Default)]
pub enum Source {
    Workload {
        /// In another namespace than the destination.
        other_namespace: bool,
        /// On the host network: its traffic is its node's.
        host_network: bool,
    },
    /// The `any` probe: netaudit's `from_any_pod`.
    #[default]
    AnyPod,
    /// A probe for the pods a peer names: netaudit's `from_pods`.
    NamedPods,
    Outside,
}

#[derive(Clone, Debug, Default)]
pub struct CaseFacts {
    /// The pod selectors (with their namespace) of the policies the API
    /// server would reject.
    pub rejected: Vec<(String, Matcher)>,
}

impl Facts {
    pub fn with_source(&self, source: Source) -> Facts {
        Facts { source, ..self.clone() }
    }
}

/// One cell where the two disagree.
pub struct Diff<'a> {
    pub case: &'a str,
    pub to: &'a str,
    pub port: Option<u16>,
    pub protocol: Option<&'a str>,
    pub source: &'a str,
    pub netaudit: bool,
    pub nca: bool,
    pub facts: &'a Facts,
}

impl Diff<'_> {
    /// One readable line: chart, destination, port, source, both answers.
    pub fn line(&self) -> String {
        let port = match (self.port, self.protocol) {
            (Some(port), Some(protocol)) => format!("{port}/{protocol}"),
            _ => "any port".into(),
        };
        let say = |allowed: bool| if allowed { "allowed" } else { "blocked" };
        format!(
            "{}: {} {port} from {}: netaudit {}, NCA {}",
            self.case,
            self.to,
            self.source,
            say(self.netaudit),
            say(self.nca)
        )
    }
}

/// An exception: its name, why the difference is not a netaudit bug, and
/// which differences it covers.
pub struct Exception {
    pub name: &'static str,
    pub reason: &'static str,
    pub covers: fn(&Diff<'_>) -> bool,
}

pub const EXCEPTIONS: &[Exception] = &[
    Exception {
        name: "hostNetwork destination",
        reason: "policies do not select hostNetwork pods (Calico, Cilium, OpenShift: their traffic is the node's); \
                 netaudit says everyone may connect, NCA applies the policies to them as to any pod",
        covers: |d| d.facts.dest_host_network && d.netaudit,
    },
    Exception {
        name: "hostNetwork source",
        reason: "a hostNetwork pod's connections come from its node's address: a policy's pod selector never \
                 matches them and an address range of every address does (Kubernetes, Calico, Cilium); NCA takes \
                 the pod as any pod with its labels",
        covers: |d| matches!(d.facts.source, Source::Workload { host_network: true, .. }),
    },
    Exception {
        name: "address range covering pods",
        reason: "an ipBlock of every address (0.0.0.0/0, ::/0, no except) contains the pod addresses of other \
                 namespaces (Kubernetes and Calico match pod IPs against CIDRs); NCA never matches a pod with an \
                 ipBlock",
        covers: |d| {
            d.facts.dest_allows_pod_addresses
                && d.netaudit
                && !d.nca
                && matches!(d.facts.source, Source::AnyPod | Source::NamedPods)
        },
    },
    Exception {
        name: "NCA: Exists/DoesNotExist in a peer's podSelector",
        reason: "NCA 2.1.0 matches a podSelector's Exists/DoesNotExist requirement only against pods of the \
                 policy's own namespace, even in a peer with a namespaceSelector (PeerContainer.get_peers_with_key \
                 is given the policy's namespace); `from: [{namespaceSelector: {}, podSelector: {matchExpressions: \
                 [{key: app, operator: Exists}]}}]` lets in no pod of another namespace there",
        covers: |d| {
            d.facts.dest_peer_pods_exists
                && d.netaudit
                && !d.nca
                && matches!(
                    d.facts.source,
                    Source::NamedPods
                        | Source::Workload {
                            other_namespace: true,
                            ..
                        }
                )
        },
    },
    Exception {
        name: "NCA: a namespaced Calico policy's notSelector",
        reason: "Calico limits a rule with a `notSelector` in a namespaced NetworkPolicy to the policy's namespace \
                 (libcalico-go's RuleAPIV2ToBackend: \"We need to namespace the rule's selector ... when a \
                 Selector, NotSelector, or NamespaceSelector is provided and ... this is a namespaced \
                 NetworkPolicy\"); NCA 2.1.0 applies the notSelector alone, so it lets in other namespaces' pods \
                 and outside addresses",
        covers: |d| {
            d.facts.dest_namespaced_not_selector
                && !d.netaudit
                && d.nca
                && matches!(
                    d.facts.source,
                    Source::AnyPod
                        | Source::NamedPods
                        | Source::Outside
                        | Source::Workload {
                            other_namespace: true,
                            ..
                        }
                )
        },
    },
    Exception {
        name: "policy the API server rejects",
        reason: "NCA accepts some policies the API server rejects (a quoted port number, an ipBlock except outside \
                 its cidr); netaudit takes them as selecting nothing (NP3 reports them)",
        covers: |d| d.facts.dest_selected_by_rejected,
    },
];

/// The exception that explains a difference, if one does.
pub fn classify(diff: &Diff<'_>) -> Option<&'static Exception> {
    EXCEPTIONS.iter().find(|e| (e.covers)(diff))
}

/// What the exceptions need to know of a whole case.
pub fn case_facts(index: &Index<'_>) -> CaseFacts {
    CaseFacts {
        rejected: index
            .policies
            .iter()
            .filter(|p| !p.problems.is_empty())
            .map(|p| (p.obj.namespace.clone(), p.pod_selector.clone()))
            .collect(),
    }
}

pub fn row_facts(eval: &Evaluator<'_, '_>, dest: &Workload<'_>, row: &Row, case: &CaseFacts) -> Facts {
    let rules: Vec<&PolicyRule> = eval
        .selecting(dest, Direction::Ingress)
        .flat_map(|(_, side)| &side.rules)
        .collect();
    let peers: Vec<&PolicyPeer> = rules.iter().flat_map(|r| r.peers.iter().flatten()).collect();
    let dest_allows_pod_addresses = peers.iter().any(|p| {
        matches!(
            p,
            PolicyPeer::Addresses {
                includes_pods: true,
                ..
            }
        )
    });
    let dest_peer_pods_exists = peers.iter().any(|p| match p {
        PolicyPeer::Pods {
            namespaces: Namespaces::Selected(_),
            pods: Some(Matcher::Labels(selector)),
        } => selector
            .expressions
            .iter()
            .any(|r| matches!(r.operator, Operator::Exists | Operator::DoesNotExist)),
        _ => false,
    });
    let dest_namespaced_not_selector = peers.iter().any(|p| match p {
        PolicyPeer::AllOf(criteria) => {
            criteria.iter().any(|c| {
                matches!(
                    c,
                    PolicyPeer::Pods {
                        namespaces: Namespaces::Own,
                        pods: None
                    }
                )
            }) && criteria.iter().any(|c| matches!(c, PolicyPeer::Not(_)))
        }
        _ => false,
    });
    Facts {
        dest_host_network: row.others.host_network,
        dest_namespaced_not_selector,
        dest_allows_pod_addresses,
        dest_peer_pods_exists,
        source: Source::AnyPod,
        dest_selected_by_rejected: case
            .rejected
            .iter()
            .any(|(namespace, selector)| *namespace == dest.obj.namespace && dest.pods_match(selector)),
    }
}

pub fn source_facts(source: &Workload<'_>, dest: &Workload<'_>) -> Source {
    Source::Workload {
        other_namespace: source.obj.namespace != dest.obj.namespace,
        host_network: source.host_network_line.is_some(),
    }
}

pub fn probe_facts(probe: &super::probes::Probe) -> Source {
    match probe.key {
        None => Source::AnyPod,
        Some(_) => Source::NamedPods,
    }
}
