//! Does one side of a connection let it through? The policy semantics of
//! Kubernetes, Cilium and Calico over the audited objects.
//!
//! - A pod is restricted in a direction when a valid policy selects it for
//!   that direction (and isolates: Cilium's `enableDefaultDeny: false` does
//!   not). An unrestricted pod allows everything in that direction.
//! - Kubernetes and Cilium allow rules add up: a restricted pod allows the
//!   union of the rules of the policies that select it. Cilium deny rules
//!   win over every allow. When a Calico policy selects the pod, Calico's
//!   order applies to it and the Kubernetes policies (at order 1000): the
//!   first matching rule decides (Allow, Deny; Pass hands over to the
//!   namespace profile, which allows).
//! - Around them, the cluster-wide tiers (`tiers.rs`): AdminNetworkPolicy
//!   first, BaselineAdminNetworkPolicy for pods nothing above isolates.
//! - Kubernetes peers: `podSelector` alone selects pods of the policy's
//!   namespace; `namespaceSelector` (optionally with `podSelector`) pods of
//!   the matching namespaces; `ipBlock` addresses. Named ports resolve
//!   against the destination's declared container ports; `endPort` makes a
//!   range; `protocol` defaults to TCP.
//! - Calico peers are every criterion of an entity rule together (see
//!   `model/policy/calico.rs`), with the policy's own pod held to the
//!   other entity rule.
//! - What a policy does not say in a way we evaluate (L7 rules, Calico
//!   tiers, source ports, Services not in the input, …) leans one way, with
//!   a note: towards "reachable" ([`Lean::Reachable`]: such an allow rule
//!   matches, such a deny rule does not, a policy we cannot evaluate as a
//!   whole allows everything), or towards "blocked" for `fix --check`.
//! - A party that stands for many (addresses outside, arbitrary pods, the
//!   pods of a StatefulSet some selector picks one by one) may be let
//!   through by a rule that matches some of it; a Deny stops it only when
//!   it matches all of it.
//!
//! Modelling choices (what a static view cannot know):
//!
//! - **Audited namespaces** (those holding audited workloads) are taken to
//!   contain only the audited workloads, and to carry the labels of their
//!   `Namespace` object when the input has one, else only their name
//!   (`kubernetes.io/metadata.name`; Calico's `projectcalico.org/name`).
//! - **Other namespaces** have unknown labels: only requirements on the
//!   name are decided for them; others are taken as satisfiable.
//! - **Pod addresses are unknown**: an address range matches the pods of
//!   other namespaces only when it is everything (`0.0.0.0/0`, `::/0`,
//!   without exceptions, and not a Cilium CIDR rule, which never matches
//!   Cilium's pods); it never matches an audited pod.
//! - **hostNetwork pods**: policies do not apply to them; as peers their
//!   traffic is the node's, which selectors do not match (address ranges,
//!   rules without peers and Cilium's host entities do).

use super::admitted::PeerBitsCache;
use super::classes::{ClassId, Classes};
use super::profiles::{ProfileAnswers, Profiles};
use crate::model::hasher::FastMap;
use crate::model::{
    Action, Flavor, Index, PodPick, Policy, PolicyPeer, PolicyPort, PolicyRule, PortMatch, Protocol, Service, Side,
    Workload,
};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

/// The other end of a connection, as a policy's peer sees it.
#[derive(Clone, Copy)]
pub enum Party<'w, 'a> {
    /// A pod of an audited workload.
    Pod(&'w Workload<'a>),
    /// A node, or a hostNetwork pod (its traffic is the node's).
    Node,
    /// Anything that is not an audited pod: pods of other namespaces,
    /// nodes, the internet. Matched when any part of it may be.
    Outside,
    /// A pod of a namespace that is not audited, with labels no policy
    /// names: what an attacker in an arbitrary pod is.
    AnyPod,
    /// The pods of other namespaces that this peer of this policy names.
    PodsOf(&'w PolicyPeer, &'w Policy<'a>),
    /// An address outside the cluster.
    External,
    /// The Kubernetes API server: an address outside the pods (on the
    /// nodes or beyond), which Cilium and Calico can name.
    ApiServer,
    /// A host outside the cluster by its DNS name (an ExternalName's):
    /// Cilium's `toFQDNs` can name it; to any other peer it is an address
    /// outside the cluster.
    Host(&'w str),
}

impl<'w, 'a> Party<'w, 'a> {
    /// How `workload` looks as a peer.
    pub fn of(workload: &'w Workload<'a>) -> Party<'w, 'a> {
        if workload.host_network_line.is_some() {
            Party::Node
        } else {
            Party::Pod(workload)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Direction {
    Ingress,
    Egress,
}

/// Which ports a connection may use.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Ports {
    One(u16, Protocol),
    /// Every port of the protocol (a need without a port).
    Every(Protocol),
    /// At least one port, any protocol (who can reach a workload at all).
    Some,
}

/// The destination side of a connection (`dest`: `None` for an address
/// outside the cluster).
#[derive(Clone, Copy)]
pub struct Traffic<'w, 'a> {
    pub dest: Option<&'w Workload<'a>>,
    pub ports: Ports,
}

/// Which way an answer leans where it rests on something not evaluated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lean {
    /// Towards "reachable": an unevaluated allow rule matches, an
    /// unevaluated deny rule does not (what exposure and M6 want: never
    /// hide a way in).
    Reachable,
    /// Towards "blocked": the reverse. A needed flow that passes only
    /// leaning towards reachable is not known to pass.
    Blocked,
}

/// Pods of one workload that the same policies select.
#[derive(Clone)]
pub struct PodGroup<'e, 'a> {
    /// `None`: every pod of the workload; else the pods' names.
    pub pods: Option<Vec<String>>,
    pub selecting: Vec<(&'e Policy<'a>, &'e Side)>,
}

/// One side's answer for a connection between two audited workloads.
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct Decision {
    /// `Some` with the policies that let it through (empty: none restricts
    /// that side); `None`: denied.
    pub allowed: Option<Vec<String>>,
    pub notes: Notes,
}

/// A decision's question, by classes: (direction, the deciding side's
/// class, the other end's class, ports).
type DecisionKey = (Direction, ClassId, ClassId, Ports);

/// The decisions made so far, by question, and each distinct answer once.
#[derive(Default)]
struct Decisions {
    by_key: FastMap<DecisionKey, Arc<Decision>>,
    distinct: HashMap<Decision, Arc<Decision>>,
}

pub struct Evaluator<'e, 'a> {
    index: &'e Index<'a>,
    policies: &'e [Policy<'a>],
    pub(super) workloads: &'e [Workload<'a>],
    /// The classes of workloads the policies see alike (built on first use).
    classes: OnceLock<Classes>,
    /// Each workload its own class, every pair decided alone: the
    /// reference the classes (and the shortcuts of `admitted.rs` and
    /// `profiles.rs`) are tested against.
    pub(super) singletons: bool,
    decisions: Mutex<Decisions>,
    /// What each rule peer says of every peer class (`admitted.rs`).
    pub(super) peer_bits: Mutex<PeerBitsCache<'e>>,
    /// The egress profiles (`profiles.rs`) and their answers.
    pub(super) profiles: OnceLock<Profiles>,
    pub(super) profile_answers: Mutex<ProfileAnswers>,
    /// [`Evaluator::pod_groups`] of each workload (ingress, egress), once:
    /// a matrix asks for every source's egress side for every destination.
    groups: Vec<[OnceLock<Vec<PodGroup<'e, 'a>>>; 2]>,
    /// The Services a Calico `services` peer names.
    pub(super) services: &'e [Service<'a>],
    pub(super) audited: BTreeSet<&'e str>,
    lean: Lean,
}

impl<'e, 'a> Evaluator<'e, 'a> {
    pub fn new(index: &'e Index<'a>) -> Evaluator<'e, 'a> {
        Evaluator {
            index,
            classes: OnceLock::new(),
            singletons: false,
            decisions: Mutex::default(),
            peer_bits: Mutex::default(),
            profiles: OnceLock::new(),
            profile_answers: Mutex::default(),
            policies: &index.policies,
            workloads: &index.workloads,
            groups: (0..index.workloads.len()).map(|_| Default::default()).collect(),
            services: &index.services,
            audited: index.workloads.iter().map(|w| w.obj.namespace.as_str()).collect(),
            lean: Lean::Reachable,
        }
    }

    /// The same evaluator, leaning the other way on what it does not evaluate.
    pub fn leaning(self, lean: Lean) -> Evaluator<'e, 'a> {
        Evaluator {
            lean,
            decisions: Mutex::default(),
            peer_bits: Mutex::default(),
            profile_answers: Mutex::default(),
            ..self
        }
    }

    /// The same evaluator with every workload a class of its own: what the
    /// classes are held to in tests.
    pub fn without_classes(self) -> Evaluator<'e, 'a> {
        Evaluator {
            singletons: true,
            classes: OnceLock::new(),
            decisions: Mutex::default(),
            peer_bits: Mutex::default(),
            profiles: OnceLock::new(),
            profile_answers: Mutex::default(),
            ..self
        }
    }

    /// The classes of the audited workloads.
    pub fn classes(&self) -> &Classes {
        self.classes.get_or_init(|| match self.singletons {
            true => Classes::singletons(self.index),
            false => Classes::of(self.index),
        })
    }

    /// Does the ingress side of the workload at `dest` let the one at
    /// `source` in on `ports`? Decided once per pair of classes.
    pub fn ingress_decision(&self, dest: usize, source: usize, ports: Ports) -> Arc<Decision> {
        let classes = self.classes();
        let (local, peer) = (&classes.ingress, &classes.peer);
        let key = (Direction::Ingress, local.of[dest], peer.of[source], ports);
        self.decided(key, || (local.representative(key.1), peer.representative(key.2)))
    }

    /// Does the egress side of the workload at `source` let it out to the
    /// one at `dest` on `ports`? Decided once per pair of classes.
    pub fn egress_decision(&self, source: usize, dest: usize, ports: Ports) -> Arc<Decision> {
        let classes = self.classes();
        let (local, target) = (&classes.egress, &classes.target);
        let key = (Direction::Egress, local.of[source], target.of[dest], ports);
        self.decided(key, || (local.representative(key.1), target.representative(key.2)))
    }

    /// The decision of `key`, computed (on the classes' representatives,
    /// the deciding side's and the other end's) when first asked.
    fn decided(&self, key: DecisionKey, representatives: impl FnOnce() -> (usize, usize)) -> Arc<Decision> {
        let (local, other) = representatives();
        let (local, other) = (&self.workloads[local], &self.workloads[other]);
        let (direction, _, _, ports) = key;
        let groups = self.groups_of(local, direction);
        // No policy restricts that side: allowed, whatever the other end
        // (one answer shared, not one per pair).
        if let [group] = &groups[..] {
            if group.selecting.is_empty() {
                static UNRESTRICTED: OnceLock<Arc<Decision>> = OnceLock::new();
                return UNRESTRICTED
                    .get_or_init(|| {
                        Arc::new(Decision {
                            allowed: Some(Vec::new()),
                            notes: Notes::default(),
                        })
                    })
                    .clone();
            }
        }
        if let Some(known) = self
            .decisions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_key
            .get(&key)
        {
            return known.clone();
        }
        let dest = match direction {
            Direction::Ingress => local,
            Direction::Egress => other,
        };
        let traffic = Traffic {
            dest: Some(dest),
            ports,
        };
        let groups = self.groups_of(local, direction);
        let mut notes = Notes::default();
        let allowed = self.decide_for_pods(local, &groups, Party::of(other), &traffic, &mut notes);
        let mut decisions = self.decisions.lock().unwrap_or_else(|e| e.into_inner());
        // Most pairs share a few answers: one copy of each.
        let decision = decisions
            .distinct
            .entry(Decision { allowed, notes })
            .or_insert_with_key(|d| {
                Arc::new(Decision {
                    allowed: d.allowed.clone(),
                    notes: d.notes.clone(),
                })
            })
            .clone();
        decisions.by_key.insert(key, decision.clone());
        decision
    }

    /// The policies that can select pods of `namespace`, in input order.
    fn policies_in(&self, namespace: &str) -> impl Iterator<Item = &'e Policy<'a>> + '_ {
        self.index
            .policy_positions_in(namespace)
            .into_iter()
            .map(|i| &self.policies[i])
    }

    pub fn audited(&self) -> &BTreeSet<&'e str> {
        &self.audited
    }

    /// The pods of `workload` grouped by the policies that select them in
    /// `direction`: one group of every pod, unless a policy selects some
    /// pods of a StatefulSet by their name or index and not the others.
    fn pod_groups(
        &self,
        workload: &Workload<'_>,
        position: Option<usize>,
        direction: Direction,
    ) -> Vec<PodGroup<'e, 'a>> {
        let mut selecting = Vec::new();
        let mut picks = Vec::new();
        // A workload of the index: the policies that select it, looked up
        // once; a stand-in: every policy of its namespace, asked.
        let candidates: Box<dyn Iterator<Item = &'e Policy<'a>>> = match position {
            Some(i) => Box::new(self.index.policies_selecting(i)),
            None => Box::new(self.policies_in(&workload.obj.namespace)),
        };
        for policy in candidates {
            let Some(side) = policy.side(direction == Direction::Ingress) else {
                continue;
            };
            match policy.picks(workload) {
                PodPick::None => {}
                pick => {
                    selecting.push((policy, side));
                    picks.push(pick);
                }
            }
        }
        if picks.iter().all(|p| *p == PodPick::All) {
            return vec![PodGroup { pods: None, selecting }];
        }
        // Ordinals by the positions (in `selecting`) of the policies that pick them.
        let mut groups: BTreeMap<Vec<usize>, Vec<u32>> = BTreeMap::new();
        for ordinal in workload.ordinals() {
            let key = (0..picks.len())
                .filter(|&i| match &picks[i] {
                    PodPick::All => true,
                    PodPick::Some(ordinals) => ordinals.contains(&ordinal),
                    PodPick::None => false,
                })
                .collect();
            groups.entry(key).or_default().push(ordinal);
        }
        groups
            .into_iter()
            .map(|(key, ordinals)| PodGroup {
                pods: Some(ordinals.into_iter().map(|i| workload.pod_name(i)).collect()),
                selecting: key.into_iter().map(|i| selecting[i]).collect(),
            })
            .collect()
    }

    /// [`Evaluator::pod_groups`], computed once for the index's workloads.
    pub fn groups_of<'s>(&'s self, workload: &Workload<'_>, direction: Direction) -> Cow<'s, [PodGroup<'e, 'a>]> {
        let address = workload as *const Workload<'_> as usize;
        let start = self.workloads.as_ptr() as usize;
        let size = std::mem::size_of::<Workload<'_>>().max(1);
        let position = address.checked_sub(start).map(|offset| offset / size);
        match position.filter(|&i| i < self.workloads.len() && std::ptr::eq(&self.workloads[i], workload)) {
            Some(i) => Cow::Borrowed(
                self.groups[i][direction as usize].get_or_init(|| self.pod_groups(workload, Some(i), direction)),
            ),
            // Not one of the index's (a stand-in pod).
            None => Cow::Owned(self.pod_groups(workload, None, direction)),
        }
    }

    /// [`Evaluator::decide`] for every group of a workload's pods: allowed
    /// when some pods allow it (a note says which, when not all do), or,
    /// leaning towards blocked, when all do.
    #[inline]
    pub fn decide_for_pods(
        &self,
        workload: &Workload<'_>,
        groups: &[PodGroup<'_, '_>],
        peer: Party<'_, '_>,
        traffic: &Traffic<'_, '_>,
        notes: &mut Notes,
    ) -> Option<Vec<String>> {
        if let [group] = groups {
            return self.decide(workload, &group.selecting, peer, traffic, notes);
        }
        let answers: Vec<Option<Vec<String>>> = groups
            .iter()
            .map(|g| self.decide(workload, &g.selecting, peer, traffic, notes))
            .collect();
        let allowing: Vec<&str> = groups
            .iter()
            .zip(&answers)
            .filter(|(_, answer)| answer.is_some())
            .flat_map(|(g, _)| g.pods.iter().flatten().map(String::as_str))
            .collect();
        // Leaning towards blocked, a connection some pods refuse does not
        // pass (a Service sends some of them there).
        let all_allow = answers.iter().all(Option::is_some);
        if allowing.is_empty() || (self.lean == Lean::Blocked && !all_allow) {
            return None;
        }
        if !all_allow {
            notes.add(format!(
                "{} {}/{}: only pods {} let it through",
                workload.obj.kind,
                workload.obj.namespace,
                workload.obj.name,
                allowing.join(", ")
            ));
        }
        let mut names: Vec<String> = answers.into_iter().flatten().flatten().collect();
        names.sort();
        names.dedup();
        Some(names)
    }

    /// The valid policies that select `workload` in `direction`, with their rules.
    pub fn selecting<'s>(
        &'s self,
        workload: &'s Workload<'_>,
        direction: Direction,
    ) -> impl Iterator<Item = (&'e Policy<'a>, &'e Side)> + 's {
        self.policies_in(&workload.obj.namespace).filter_map(move |p| {
            let side = p.side(direction == Direction::Ingress)?;
            p.selects(workload).then_some((p, side))
        })
    }

    /// The labels of the policies that select `workload` in `direction`.
    pub fn selecting_names(&self, workload: &Workload<'_>, direction: Direction) -> Vec<String> {
        self.selecting(workload, direction).map(|(p, _)| p.label()).collect()
    }

    /// Does the destination's ingress side let `source` in? `Some` with
    /// the policies that do (empty: no policy restricts it); `None`: denied.
    pub fn ingress_permit(
        &self,
        traffic: &Traffic<'_, '_>,
        source: Party<'_, '_>,
        notes: &mut Notes,
    ) -> Option<Vec<String>> {
        let Some(dest) = traffic.dest else {
            return Some(Vec::new());
        };
        let groups = self.groups_of(dest, Direction::Ingress);
        self.decide_for_pods(dest, &groups, source, traffic, notes)
    }

    /// Does `source`'s egress side let it out to `dest` (the destination as
    /// a peer)? As [`Evaluator::ingress_permit`].
    pub fn egress_permit(
        &self,
        source: &Workload<'_>,
        traffic: &Traffic<'_, '_>,
        dest: Party<'_, '_>,
        notes: &mut Notes,
    ) -> Option<Vec<String>> {
        let groups = self.groups_of(source, Direction::Egress);
        self.decide_for_pods(source, &groups, dest, traffic, notes)
    }

    /// The NetworkPolicy tier's answer (Kubernetes, Cilium, Calico), given
    /// its policies that select that side.
    pub(super) fn decide_network_policies(
        &self,
        local: &Workload<'_>,
        selecting: &[(&Policy<'_>, &Side)],
        peer: Party<'_, '_>,
        traffic: &Traffic<'_, '_>,
        notes: &mut Notes,
    ) -> Option<Vec<String>> {
        if selecting.is_empty() {
            return Some(Vec::new());
        }
        if let Some((policy, _)) = selecting.iter().find(|(p, _)| !p.unevaluated.is_empty()) {
            let taken = match self.lean {
                Lean::Reachable => "allowing everything",
                Lean::Blocked => "denying everything",
            };
            notes.add(format!(
                "{}: {} not evaluated; the policy is taken as {taken}",
                policy.label(),
                policy.unevaluated.join(", ")
            ));
            return (self.lean == Lean::Reachable).then(|| vec![policy.label()]);
        }
        let matching = |policy: &Policy<'_>, rule: &PolicyRule, notes: &mut Notes| {
            self.rule_matches(policy, rule, local, peer, traffic, notes)
        };
        for (policy, side) in selecting.iter().filter(|(p, _)| p.flavor == Flavor::Cilium) {
            for rule in side.rules.iter().filter(|r| r.action == Action::Deny) {
                if matching(policy, rule, notes) {
                    return None;
                }
            }
        }
        let ordered = selecting.iter().any(|(p, _)| p.flavor == Flavor::Calico);
        if ordered {
            let mut chain: Vec<_> = selecting.iter().filter(|(p, _)| p.flavor != Flavor::Cilium).collect();
            chain.sort_by(|(a, _), (b, _)| {
                calico_order(a)
                    .total_cmp(&calico_order(b))
                    .then_with(|| a.obj.name.cmp(&b.obj.name))
            });
            for (policy, side) in chain {
                for rule in &side.rules {
                    if !matching(policy, rule, notes) {
                        continue;
                    }
                    match rule.action {
                        Action::Allow => return Some(vec![policy.label()]),
                        Action::Deny => return None,
                        Action::Pass => return Some(vec![format!("{} (Pass)", policy.label())]),
                        Action::Log => {}
                    }
                }
            }
        }
        let permitting: Vec<String> = selecting
            .iter()
            .filter(|(p, _)| !ordered || p.flavor == Flavor::Cilium)
            .filter(|(policy, side)| {
                side.rules
                    .iter()
                    .any(|r| r.action == Action::Allow && matching(policy, r, notes))
            })
            .map(|(p, _)| p.label())
            .collect();
        if !permitting.is_empty() {
            return Some(permitting);
        }
        let isolated = selecting.iter().any(|(_, side)| side.isolates);
        (!isolated).then(Vec::new)
    }

    pub(super) fn rule_matches(
        &self,
        policy: &Policy<'_>,
        rule: &PolicyRule,
        local: &Workload<'_>,
        peer: Party<'_, '_>,
        traffic: &Traffic<'_, '_>,
        notes: &mut Notes,
    ) -> bool {
        let all_of = rule.action == Action::Deny;
        self.rule_matches_as(policy, rule, all_of, local, peer, traffic, notes)
    }

    /// Does `rule` match some of `peer` (every member of it with `all_of`)?
    #[allow(clippy::too_many_arguments)]
    pub(super) fn rule_matches_as(
        &self,
        policy: &Policy<'_>,
        rule: &PolicyRule,
        all_of: bool,
        local: &Workload<'_>,
        peer: Party<'_, '_>,
        traffic: &Traffic<'_, '_>,
        notes: &mut Notes,
    ) -> bool {
        let port_matches = |p: &PolicyPort| match traffic.ports {
            Ports::One(port, protocol) => p.protocol == protocol && port_allows(&p.port, traffic.dest, port, protocol),
            Ports::Every(protocol) => p.protocol == protocol && p.port == PortMatch::Any,
            Ports::Some => match &p.port {
                PortMatch::Named(name) => traffic.dest.is_some_and(|d| d.declares_name(name, p.protocol)),
                _ => true,
            },
        };
        // `notPorts`: a connection on one port must avoid them; "some
        // port" or "every port" is excluded only by a range of all ports.
        let not_port_matches = |p: &PolicyPort| match traffic.ports {
            Ports::One(..) => port_matches(p),
            Ports::Every(protocol) => p.protocol == protocol,
            Ports::Some => p.port == PortMatch::Any || p.port == PortMatch::Range(1, u16::MAX),
        };
        // A party that stands for many (addresses outside, arbitrary pods,
        // the pods of a workload) is let through when some of it may be: a
        // Deny stops it only when it covers all of it, the rest goes on to
        // the next rules.
        let evaluable = rule.peers.as_ref().is_none_or(|peers| match all_of {
            true => self.any_covers_all(policy, peers, peer, traffic),
            false => peers.iter().any(|p| self.peer_matches(policy, p, peer, traffic)),
        }) && rule
            .local
            .as_ref()
            .is_none_or(|l| self.peer_matches(policy, l, Party::Pod(local), traffic))
            && rule.ports.as_ref().is_none_or(|ports| ports.iter().any(port_matches))
            && !rule.not_ports.iter().any(not_port_matches);
        if !evaluable {
            return false;
        }
        // Only Calico rules name Services.
        let unknown_services = match policy.flavor {
            Flavor::Calico => self.unknown_services(rule, peer),
            _ => Vec::new(),
        };
        if rule.unevaluated.is_none() && unknown_services.is_empty() {
            return true;
        }
        let unevaluated: Vec<String> = rule.unevaluated.iter().cloned().chain(unknown_services).collect();
        let lets_through = matches!(rule.action, Action::Allow | Action::Pass);
        let matched = lets_through == (self.lean == Lean::Reachable);
        let taken = match (lets_through, matched) {
            (true, true) => "allowing",
            (true, false) => "not allowing",
            (false, true) => "denying",
            (false, false) => "not denying",
        };
        notes.add(format!(
            "{}: {} not evaluated; the rule is taken as {taken}",
            policy.label(),
            unevaluated.join(", ")
        ));
        matched
    }
}

/// Where a policy sits in Calico's chain: its `order`, Kubernetes policies
/// at 1000, no order last.
pub(super) fn calico_order(policy: &Policy<'_>) -> f64 {
    match policy.flavor {
        Flavor::Kubernetes => 1000.0,
        _ => policy.order.unwrap_or(f64::INFINITY),
    }
}

/// Does a port entry allow `port`/`protocol` on `dest` (whose declared ports
/// resolve a named port; `None`, outside the cluster, has none)?
pub fn port_allows(port_match: &PortMatch, dest: Option<&Workload<'_>>, port: u16, protocol: Protocol) -> bool {
    match port_match {
        PortMatch::Any => true,
        PortMatch::Range(start, end) => (*start..=*end).contains(&port),
        PortMatch::Named(name) => dest.is_some_and(|dest| {
            dest.ports()
                .any(|p| p.name.as_deref() == Some(name.as_str()) && p.number == port && p.protocol == protocol)
        }),
    }
}

/// What an answer depended on that was not evaluated, each said once.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub struct Notes(pub BTreeSet<String>);

impl Notes {
    pub fn add(&mut self, note: String) {
        self.0.insert(note);
    }
}
