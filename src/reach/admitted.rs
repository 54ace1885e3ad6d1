//! Which peer classes a destination's ingress side lets in, without
//! deciding the side for every class.
//!
//! A side's answer for a peer depends on the peer only through which of
//! the side's rule peers match some of it and which match all of it, and
//! on whether it is a node (a hostNetwork pod's traffic is the node's):
//! everything else the decision reads is the destination's. So each
//! distinct rule peer is matched once against every peer class (a bit set,
//! shared by every policy of a namespace that says the same thing), the
//! peer classes are grouped by the bits the destination's rules give them,
//! and the side is decided once per group, on one member. Most groups are
//! one: the classes no rule peer matches at all.
//!
//! A Calico `services` peer depends on the destination itself (its target
//! ports, whether the destination is one of its endpoints): a destination
//! whose rules have one is decided a peer class at a time.
//!
//! This is what keeps `reach` linear when a cluster has about as many
//! policies as kinds of workloads: the work per destination class is its
//! rule peers and the classes they match, not every peer class.

use super::classes::{ClassId, ClassSet};
use super::evaluate::{Decision, Direction, Evaluator, Party, Ports, Traffic};
use crate::model::{Policy, PolicyPeer};
use std::collections::HashMap;
use std::sync::Arc;

/// What one rule peer says of every peer class.
#[derive(Debug)]
pub(super) struct PeerBits {
    /// It matches some of the class's pods (what an allow asks).
    some: ClassSet,
    /// It matches all of them (what a deny asks).
    all: ClassSet,
}

/// A rule peer as its answer depends on it: the policy's namespace and
/// the peer as written.
pub(super) type PeerKey<'e> = (&'e str, &'e PolicyPeer);

/// The bits of every rule peer asked so far, and the peer classes that
/// are nodes.
#[derive(Default)]
pub(super) struct PeerBitsCache<'e> {
    bits: HashMap<PeerKey<'e>, Arc<PeerBits>>,
    nodes: Option<Arc<ClassSet>>,
}

impl<'e, 'a> Evaluator<'e, 'a> {
    /// The peer classes the ingress side of the workload at `dest` lets in
    /// on `ports`, in no particular order, each with the side's decision
    /// (what [`Evaluator::ingress_decision`] answers for any of its members).
    pub fn admitted(&self, dest: usize, ports: Ports) -> Vec<(ClassId, Arc<Decision>)> {
        let peers = &self.classes().peer;
        let count = peers.len();
        let decide = |class: ClassId| self.ingress_decision(dest, peers.representative(class), ports);
        let allowed = |class: ClassId, decision: Arc<Decision>| decision.allowed.is_some().then_some((class, decision));
        let rule_peers = match self.singletons {
            true => None,
            false => self.rule_peers(dest),
        };
        let Some(rule_peers) = rule_peers else {
            return (0..count as ClassId).filter_map(|c| allowed(c, decide(c))).collect();
        };
        let bits: Vec<Arc<PeerBits>> = rule_peers.iter().map(|&(p, spec)| self.peer_bits(p, spec)).collect();
        let mut told_apart = (*self.node_classes()).clone();
        for peer in &bits {
            told_apart.union_with(&peer.some);
            told_apart.union_with(&peer.all);
        }
        let mut admitted = Vec::new();
        // The classes no rule peer matches: one answer for all of them.
        let mut alike = told_apart.absent_below(count).peekable();
        if let Some(&first) = alike.peek() {
            let decision = decide(first);
            if decision.allowed.is_some() {
                admitted.extend(alike.map(|class| (class, decision.clone())));
            }
        }
        let nodes = self.node_classes();
        let mut by_bits: HashMap<Vec<bool>, Arc<Decision>> = HashMap::new();
        for class in told_apart.iter() {
            let signature: Vec<bool> = std::iter::once(nodes.contains(class))
                .chain(
                    bits.iter()
                        .flat_map(|b| [b.some.contains(class), b.all.contains(class)]),
                )
                .collect();
            let decision = by_bits.entry(signature).or_insert_with(|| decide(class)).clone();
            admitted.extend(allowed(class, decision));
        }
        admitted
    }

    /// The distinct rule peers of the policies that select the workload at
    /// `dest` for ingress, each with a policy that has it; `None` when one
    /// of them names a Service.
    fn rule_peers(&self, dest: usize) -> Option<Vec<(&'e Policy<'a>, &'e PolicyPeer)>> {
        let groups = self.groups_of(&self.workloads[dest], Direction::Ingress);
        let mut peers: Vec<(&'e Policy<'a>, &'e PolicyPeer)> = Vec::new();
        for &(policy, side) in groups.iter().flat_map(|g| &g.selecting) {
            for rule in &side.rules {
                if rule.names_service() {
                    return None;
                }
                for peer in rule.peers.iter().flatten() {
                    let key = key(policy, peer);
                    if !peers.iter().any(|&(p, s)| self::key(p, s) == key) {
                        peers.push((policy, peer));
                    }
                }
            }
        }
        Some(peers)
    }

    /// What `spec` (a rule peer of `policy`) says of every peer class,
    /// computed once per namespace and peer.
    fn peer_bits(&self, policy: &'e Policy<'a>, spec: &'e PolicyPeer) -> Arc<PeerBits> {
        if let Some(known) = self.cache().bits.get(&key(policy, spec)) {
            return known.clone();
        }
        let peers = &self.classes().peer;
        // Only `services` peers read the traffic, and they are not shared.
        let traffic = Traffic {
            dest: None,
            ports: Ports::Some,
        };
        let mut bits = PeerBits {
            some: ClassSet::default(),
            all: ClassSet::default(),
        };
        for class in 0..peers.len() as ClassId {
            let party = Party::of(&self.workloads[peers.representative(class)]);
            if self.peer_matches(policy, spec, party, &traffic) {
                bits.some.insert(class);
            }
            if self.covers_all(policy, spec, party, &traffic) {
                bits.all.insert(class);
            }
        }
        let bits = Arc::new(bits);
        self.cache().bits.insert(key(policy, spec), bits.clone());
        bits
    }

    /// The peer classes of hostNetwork workloads.
    fn node_classes(&self) -> Arc<ClassSet> {
        if let Some(nodes) = &self.cache().nodes {
            return nodes.clone();
        }
        let peers = &self.classes().peer;
        let mut nodes = ClassSet::default();
        for class in 0..peers.len() as ClassId {
            if self.workloads[peers.representative(class)].host_network_line.is_some() {
                nodes.insert(class);
            }
        }
        let nodes = Arc::new(nodes);
        self.cache().nodes = Some(nodes.clone());
        nodes
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, PeerBitsCache<'e>> {
        self.peer_bits.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a rule peer's answer depends on besides the peer: the policy's
/// namespace (`podSelector` alone means its own).
fn key<'e>(policy: &'e Policy<'_>, spec: &'e PolicyPeer) -> PeerKey<'e> {
    (policy.obj.namespace.as_str(), spec)
}
