//! One policy in the model the kinds share ([`Policy`]): its flavor, which
//! pods it can apply to, per direction its ordered rules (actions, peers,
//! ports) and what makes it invalid; and which pods of a workload it picks.

use super::matcher::Matcher;
use crate::model::object::Object;
use crate::model::runtime::Protocol;
use crate::model::workloads::{PodPick, Workload};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    Kubernetes,
    Cilium,
    Calico,
    /// AdminNetworkPolicy, ClusterNetworkPolicy `tier: Admin`: before
    /// every other policy, in `order` (their priority).
    Admin,
    /// BaselineAdminNetworkPolicy, ClusterNetworkPolicy `tier: Baseline`:
    /// for pods no other policy isolates.
    Baseline,
}

impl Flavor {
    /// A policy of the admin or the baseline tier (`policy.networking.k8s.io`),
    /// around the NetworkPolicy tier the other kinds share.
    pub fn is_admin_or_baseline(self) -> bool {
        matches!(self, Flavor::Admin | Flavor::Baseline)
    }
}

/// Which pods a policy can apply to.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyScope {
    /// A namespaced policy: pods of its own namespace.
    Namespace,
    /// A cluster-wide policy: pods of the namespaces the matcher selects
    /// (`None`: every namespace).
    Cluster(Option<Matcher>),
}

/// Which namespaces a peer's pods are in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Namespaces {
    /// The policy's own namespace.
    Own,
    Selected(Matcher),
}

/// Cilium's entities: sources and destinations named by role, not labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// Everything outside the cluster.
    World,
    /// Every pod and node of the cluster.
    Cluster,
    All,
    /// The local node (hostNetwork pods included).
    Host,
    RemoteNode,
    KubeApiserver,
    /// Cilium's own ingress proxy (traffic that came in through an Ingress).
    Ingress,
    Health,
    Init,
    Unmanaged,
}

impl Entity {
    pub fn parse(text: &str) -> Option<Entity> {
        Some(match text {
            "world" | "world-ipv4" | "world-ipv6" => Entity::World,
            "cluster" => Entity::Cluster,
            "all" => Entity::All,
            "host" => Entity::Host,
            "remote-node" => Entity::RemoteNode,
            "kube-apiserver" => Entity::KubeApiserver,
            "ingress" => Entity::Ingress,
            "health" => Entity::Health,
            "init" => Entity::Init,
            "unmanaged" => Entity::Unmanaged,
            _ => return None,
        })
    }
}

/// Who a rule lets in (ingress) or out to (egress).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicyPeer {
    /// Pods selected by labels (`None`: every pod) in some namespaces.
    Pods {
        namespaces: Namespaces,
        pods: Option<Matcher>,
    },
    /// An address range (`ipBlock`, Calico `nets`, Cilium `fromCIDR`).
    Addresses {
        cidr: String,
        except: Vec<String>,
        /// Can pod addresses fall in it? Kubernetes and Calico match pod
        /// IPs against CIDRs; Cilium's CIDR rules never match its pods.
        /// Only a `/0` range without exceptions is known to contain them.
        includes_pods: bool,
    },
    Entity(Entity),
    /// Calico: the endpoints of a Kubernetes Service (`services`), and as
    /// a destination only on its target ports. `default/kubernetes` is the
    /// API server; another Service that is not in the input is an unknown
    /// set of addresses.
    Service {
        namespace: String,
        name: String,
    },
    /// Calico: pods whose ServiceAccount is one of `names` (when given) and
    /// whose ServiceAccount's labels `selector` matches (when given).
    ServiceAccounts {
        namespaces: Namespaces,
        names: Option<Vec<String>>,
        selector: Option<Matcher>,
    },
    /// Cilium `toFQDNs`: hosts outside the cluster by DNS name. Cilium
    /// learns their addresses from the DNS answers its proxy sees; a pod's
    /// address is never among them.
    Hosts(Vec<HostName>),
    /// Calico: every one of these (an entity rule's criteria together).
    AllOf(Vec<PolicyPeer>),
    /// Calico: one of these (`nets` among other criteria).
    AnyOf(Vec<PolicyPeer>),
    /// Calico: not this (`notSelector`, `notNets`).
    Not(Box<PolicyPeer>),
}

impl PolicyPeer {
    /// Call `f` on this peer and every peer inside it.
    pub fn each(&self, f: &mut dyn FnMut(&PolicyPeer)) {
        f(self);
        match self {
            PolicyPeer::AllOf(peers) | PolicyPeer::AnyOf(peers) => peers.iter().for_each(|p| p.each(f)),
            PolicyPeer::Not(peer) => peer.each(f),
            _ => {}
        }
    }
}

/// A host name of a Cilium `toFQDNs` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostName {
    /// `matchName`: this name.
    Exactly(String),
    /// `matchPattern`: `*` alone is every name; elsewhere `*` is any run of
    /// the characters of a DNS label (never a dot), and a leading `**.` is
    /// one or more labels.
    Pattern(String),
}

impl HostName {
    /// The name or the pattern, as written.
    pub fn text(&self) -> &str {
        match self {
            HostName::Exactly(text) | HostName::Pattern(text) => text,
        }
    }

    /// Does `host` match? Names compare without case and without a final dot.
    pub fn matches(&self, host: &str) -> bool {
        let host = normalized(host);
        match self {
            HostName::Exactly(name) => normalized(name) == host,
            HostName::Pattern(pattern) if pattern == "*" => true,
            HostName::Pattern(pattern) => {
                let pattern = normalized(pattern);
                match pattern.strip_prefix("**.") {
                    Some(rest) => host.split_once('.').is_some_and(|(_, parent)| {
                        // One label or more in front of `rest`.
                        let mut suffix = Some(parent);
                        while let Some(candidate) = suffix {
                            if glob_label_chars(rest, candidate) {
                                return true;
                            }
                            suffix = candidate.split_once('.').map(|(_, p)| p);
                        }
                        false
                    }),
                    None => glob_label_chars(&pattern, &host),
                }
            }
        }
    }
}

fn normalized(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// `pattern` against `text`, where `*` is any run of DNS label characters.
fn glob_label_chars(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => text.strip_prefix(head).is_some_and(|rest| {
            let run = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            (0..=run).any(|taken| glob_label_chars(tail, &rest[taken..]))
        }),
    }
}

/// The Kubernetes Service that stands for the API server.
pub const API_SERVER_SERVICE: (&str, &str) = ("default", "kubernetes");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Allow,
    Deny,
    /// Calico: skip the rest of the tier (the namespace profile then allows).
    Pass,
    /// Calico: log and go on.
    Log,
}

/// One rule, with Kubernetes' meaning of absent lists: `peers: None` is
/// every peer, `ports: None` every port.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRule {
    pub action: Action,
    pub peers: Option<Vec<PolicyPeer>>,
    pub ports: Option<Vec<PolicyPort>>,
    /// A part of the rule that is not evaluated (L7 rules, source ports,
    /// …): when the rest matches, the evaluator's lean decides, with a note
    /// (towards "reachable": an allow matches, a deny does not).
    pub unevaluated: Option<String>,
    /// Where the rule starts in the input.
    pub line: u32,
    /// Calico: what the policy's own endpoint must be for the rule to
    /// match (`destination.selector` of an ingress rule, `source.*` of an
    /// egress rule).
    pub local: Option<PolicyPeer>,
    /// Calico `notPorts`: ports the rule does not match.
    pub not_ports: Vec<PolicyPort>,
}

impl PolicyRule {
    /// A rule; `unevaluated` lists the parts of it that are not evaluated.
    pub(super) fn new(
        action: Action,
        peers: Option<Vec<PolicyPeer>>,
        ports: Option<Vec<PolicyPort>>,
        unevaluated: &[String],
        line: u32,
    ) -> PolicyRule {
        PolicyRule {
            action,
            peers,
            ports,
            unevaluated: (!unevaluated.is_empty()).then(|| unevaluated.join(", ")),
            line,
            local: None,
            not_ports: Vec::new(),
        }
    }

    /// Does a peer of it (or its own endpoint's criteria) name a Calico
    /// `services` peer, whose endpoints and target ports are per Service?
    pub fn names_service(&self) -> bool {
        let mut found = false;
        for peer in self.peers.iter().flatten().chain(&self.local) {
            peer.each(&mut |p| found |= matches!(p, PolicyPeer::Service { .. }));
        }
        found
    }

    /// Does it let every peer in on every port?
    pub fn allows_everything(&self) -> bool {
        self.action == Action::Allow && self.peers.is_none() && self.ports.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyPort {
    pub protocol: Protocol,
    pub port: PortMatch,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortMatch {
    Any,
    /// `port` to `endPort` (or just `port`).
    Range(u16, u16),
    /// A named container port of the destination.
    Named(String),
}

/// The rules of one direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    pub rules: Vec<PolicyRule>,
    /// Does the policy make the pods it selects deny what no rule allows?
    /// (Always, except a Cilium policy with `enableDefaultDeny: false`.)
    pub isolates: bool,
}

/// What makes the object invalid: Kubernetes (or the CRD) rejects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u32,
    pub message: String,
}

#[derive(Debug)]
pub struct Policy<'a> {
    pub obj: &'a Object,
    pub flavor: Flavor,
    pub scope: PolicyScope,
    pub pod_selector: Matcher,
    pub pod_selector_line: u32,
    /// `None`: the policy does not restrict that direction.
    pub ingress: Option<Side>,
    pub egress: Option<Side>,
    /// Calico's `order`, an admin policy's `priority` (lower first, absent last).
    pub order: Option<f64>,
    pub problems: Vec<Problem>,
    /// Policy-wide constructs that are not evaluated.
    pub unevaluated: Vec<String>,
}

impl<'a> Policy<'a> {
    /// A policy Kubernetes (or the CRD) would reject as a whole: it selects
    /// nothing.
    pub(super) fn malformed(obj: &'a Object, flavor: Flavor, line: u32, message: &str) -> Policy<'a> {
        Policy {
            obj,
            flavor,
            scope: PolicyScope::Namespace,
            pod_selector: Matcher::everything(),
            pod_selector_line: line,
            ingress: None,
            egress: None,
            order: None,
            problems: vec![Problem {
                line,
                message: message.into(),
            }],
            unevaluated: Vec::new(),
        }
    }

    /// The name reports use: a Kubernetes policy's name (its namespace is
    /// the workload's), the others with their kind and namespace
    /// (`CiliumNetworkPolicy shop/web`, `Calico GlobalNetworkPolicy deny`).
    pub fn label(&self) -> String {
        let kind = match self.flavor {
            Flavor::Kubernetes => return self.obj.name.clone(),
            Flavor::Cilium | Flavor::Admin | Flavor::Baseline => self.obj.kind.clone(),
            Flavor::Calico => format!("Calico {}", self.obj.kind),
        };
        if self.is_cluster_wide() {
            format!("{kind} {}", self.obj.name)
        } else {
            format!("{kind} {}/{}", self.obj.namespace, self.obj.name)
        }
    }

    /// How findings name the object: `NetworkPolicy `web``,
    /// `Calico NetworkPolicy `web``, `CiliumNetworkPolicy `web``.
    pub fn describe(&self) -> String {
        match self.flavor {
            Flavor::Calico => format!("Calico {} `{}`", self.obj.kind, self.obj.name),
            _ => format!("{} `{}`", self.obj.kind, self.obj.name),
        }
    }

    pub fn is_cluster_wide(&self) -> bool {
        matches!(self.scope, PolicyScope::Cluster(_))
    }

    /// Would Kubernetes accept it? A malformed policy protects nothing.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// Can it apply to pods of `workload`'s namespace?
    pub fn applies_in(&self, workload: &Workload<'_>) -> bool {
        match &self.scope {
            PolicyScope::Namespace => self.obj.namespace == workload.obj.namespace,
            PolicyScope::Cluster(None) => true,
            PolicyScope::Cluster(Some(matcher)) => matcher.matches(&workload.namespace_labels),
        }
    }

    /// Does the policy apply to `workload`'s pods? (hostNetwork pods are
    /// outside every policy, and a malformed policy selects nothing.)
    pub fn selects(&self, workload: &Workload<'_>) -> bool {
        self.picks(workload) != PodPick::None
    }

    /// Does its pod selector select some pods of `workload`, hostNetwork or
    /// not (what NP1 asks)?
    pub fn selects_labels_of(&self, workload: &Workload<'_>) -> bool {
        self.is_valid() && self.applies_in(workload) && workload.pods_match(&self.pod_selector)
    }

    /// Which pods of `workload` the policy applies to (none of a
    /// hostNetwork workload's, none for a malformed policy).
    pub fn picks(&self, workload: &Workload<'_>) -> PodPick {
        if workload.host_network_line.is_some() || !self.is_valid() || !self.applies_in(workload) {
            return PodPick::None;
        }
        workload.pods_picked_by(&self.pod_selector)
    }

    /// Which pods of `workload` the policy restricts ingress to (M6): it
    /// isolates them, or, for an admin or baseline policy (which does not
    /// isolate), one of its ingress rules denies.
    pub fn covers(&self, workload: &Workload<'_>) -> PodPick {
        let restricts = |side: &Side| {
            side.isolates || (self.flavor.is_admin_or_baseline() && side.rules.iter().any(|r| r.action == Action::Deny))
        };
        match self.ingress.as_ref().is_some_and(restricts) {
            true => self.picks(workload),
            false => PodPick::None,
        }
    }

    /// The pods of `workload` that none of `policies` restricts ingress to
    /// (`PodPick::None`: every pod is restricted).
    pub fn left_open<'p>(policies: impl IntoIterator<Item = &'p Policy<'p>>, workload: &Workload<'_>) -> PodPick {
        let mut covered = BTreeSet::new();
        for policy in policies {
            match policy.covers(workload) {
                PodPick::All => return PodPick::None,
                PodPick::Some(ordinals) => covered.extend(ordinals),
                PodPick::None => {}
            }
        }
        let open: BTreeSet<u32> = workload.ordinals().filter(|i| !covered.contains(i)).collect();
        match (covered.is_empty(), open.is_empty()) {
            (true, _) => PodPick::All,
            (false, true) => PodPick::None,
            (false, false) => PodPick::Some(open),
        }
    }

    /// The rules of one direction, when the policy restricts it.
    pub fn side(&self, ingress: bool) -> Option<&Side> {
        if ingress {
            self.ingress.as_ref()
        } else {
            self.egress.as_ref()
        }
    }
}
