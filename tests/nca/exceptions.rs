//! Why netaudit and NCA may disagree on a cell: the listed exceptions (NCA
//! wrong, or modelling less, or the two modelling what a static view cannot
//! know differently), each with its reason, and the known netaudit bugs
//! being fixed (`KNOWN_NETAUDIT_BUGS`, temporary). Anything else fails.

use netaudit::model::selector::{Operator, NAMESPACE_NAME_LABEL};
use netaudit::model::yaml::{parse_documents, Node};
use netaudit::model::{Action, Index, Matcher, Namespaces, Policy, PolicyPeer, PolicyRule, Workload};
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
    /// A policy selecting the destination for ingress denies an address
    /// range that is not every address (Calico, Cilium).
    pub dest_denies_some_addresses: bool,
    /// A policy selecting the destination for ingress has a peer with a
    /// namespaceSelector whose podSelector has Exists/DoesNotExist.
    pub dest_peer_pods_exists: bool,
    /// netaudit's answer rests on something it did not evaluate (a note).
    pub unevaluated: bool,
    pub source: Source,
    pub case: CaseFacts,
}

#[derive(Clone, Debug, Default)]
pub enum Source {
    Workload {
        /// In another namespace than the destination.
        other_namespace: bool,
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
    /// A policy selector names `statefulset.kubernetes.io/pod-name` or
    /// `apps.kubernetes.io/pod-index`.
    pub pod_name_selector: bool,
    /// The input has Namespace objects with labels.
    pub namespace_labels: bool,
    /// A policy has a problem the API server would reject it for.
    pub rejected_policy: bool,
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

pub enum Verdict {
    Exception(&'static Exception),
    KnownBug(&'static Exception),
    Unexplained,
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
                    Source::NamedPods | Source::Workload { other_namespace: true }
                )
        },
    },
    Exception {
        name: "policy the API server rejects",
        reason: "NCA accepts some policies the API server rejects (a quoted port number, an ipBlock except outside \
                 its cidr); netaudit takes them as selecting nothing (NP3 reports them)",
        covers: |d| d.facts.case.rejected_policy,
    },
];

/// Temporary: differences that come from netaudit bugs being fixed, by
/// the part of the issue that fixes them. The main developer empties it.
pub const KNOWN_NETAUDIT_BUGS: &[Exception] = &[
    Exception {
        name: "issue 24 part 1: StatefulSet pod-name selectors",
        reason: "a policy selecting some pods of a StatefulSet by statefulset.kubernetes.io/pod-name is taken as \
                 selecting all of them",
        covers: |d| {
            d.facts.case.pod_name_selector && (d.to.starts_with("StatefulSet/") || d.source.starts_with("StatefulSet/"))
        },
    },
    Exception {
        name: "issue 24 part 2: Namespace labels",
        reason: "the labels of Namespace objects in the input are ignored for namespaceSelectors",
        covers: |d| d.facts.case.namespace_labels,
    },
    Exception {
        name: "found by this test, not in issue 24: a Deny of some addresses denies them all",
        reason: "a Calico (or Cilium) Deny rule whose peer is an address range matches every address outside the \
                 cluster, whatever the range: `out` says blocked while other addresses get in \
                 (evaluate.rs: `(PolicyPeer::Addresses { .. }, Party::External) => true`)",
        covers: |d| {
            d.facts.dest_denies_some_addresses && matches!(d.facts.source, Source::Outside) && !d.netaudit && d.nca
        },
    },
    Exception {
        name: "issue 24 part 3: Calico constructs not evaluated",
        reason: "Calico services, notPorts, notSelector, notNets, serviceAccounts, nets with a selector are taken \
                 as allowing (the matrix row has a note)",
        covers: |d| d.facts.unevaluated,
    },
];

pub fn classify(diff: &Diff<'_>) -> Verdict {
    if let Some(e) = EXCEPTIONS.iter().find(|e| (e.covers)(diff)) {
        return Verdict::Exception(e);
    }
    if let Some(e) = KNOWN_NETAUDIT_BUGS.iter().find(|e| (e.covers)(diff)) {
        return Verdict::KnownBug(e);
    }
    Verdict::Unexplained
}

/// What the exceptions need to know of a whole case; `text` is its input
/// (Namespace objects are not among the objects the index keeps).
pub fn case_facts(index: &Index<'_>, text: &str) -> CaseFacts {
    let names_pods = |p: &Policy<'_>| {
        let text = p.obj.root.to_json().to_string();
        text.contains("statefulset.kubernetes.io/pod-name") || text.contains("apps.kubernetes.io/pod-index")
    };
    let labelled = |doc: &Node| {
        doc.get("kind").and_then(Node::as_str) == Some("Namespace")
            && doc
                .path(&["metadata", "labels"])
                .is_some_and(|l| l.entries().iter().any(|(k, _)| k.text.as_str() != NAMESPACE_NAME_LABEL))
    };
    CaseFacts {
        pod_name_selector: index.policies.iter().any(names_pods),
        namespace_labels: parse_documents(text, 1).is_ok_and(|docs| docs.iter().any(labelled)),
        rejected_policy: index.policies.iter().any(|p| !p.problems.is_empty()),
    }
}

pub fn row_facts(eval: &Evaluator<'_, '_>, dest: &Workload<'_>, row: &Row, case: &CaseFacts) -> Facts {
    let rules: Vec<&PolicyRule> = eval
        .selecting(dest, Direction::Ingress)
        .flat_map(|(_, side)| &side.rules)
        .collect();
    let peers: Vec<&PolicyPeer> = rules.iter().flat_map(|r| r.peers.iter().flatten()).collect();
    let dest_denies_some_addresses = rules.iter().any(|r| {
        r.action == Action::Deny
            && r.peers.iter().flatten().any(|p| {
                matches!(
                    p,
                    PolicyPeer::Addresses {
                        includes_pods: false,
                        ..
                    }
                )
            })
    });
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
    Facts {
        dest_host_network: row.host_network,
        dest_allows_pod_addresses,
        dest_denies_some_addresses,
        dest_peer_pods_exists,
        unevaluated: !row.notes.is_empty(),
        source: Source::AnyPod,
        case: case.clone(),
    }
}

pub fn source_facts(source: &Workload<'_>, dest: &Workload<'_>) -> Source {
    Source::Workload {
        other_namespace: source.obj.namespace != dest.obj.namespace,
    }
}

pub fn probe_facts(probe: &super::probes::Probe) -> Source {
    match probe.key {
        None => Source::AnyPod,
        Some(_) => Source::NamedPods,
    }
}
