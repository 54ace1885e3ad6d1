//! Classes of workloads that every policy of the input sees alike, so that
//! reachability is computed once per class and expanded to workloads only
//! for output (the approach of NPV and Kano: equivalence classes of pods).
//!
//! A selector's answer depends only on the labels it reads, and of their
//! values only on which of the values it names they equal (Calico's
//! `contains`, `starts with` and `ends with` read the whole value). So two
//! workloads are alike to every selector when they agree on those labels
//! and on the rest of what the evaluator reads of a workload: its
//! namespace (and so the namespace's labels), its input, hostNetwork, its
//! ServiceAccount when a policy names one, and, on its ingress side, its
//! declared ports (named ports, Service target ports). Three views, each
//! as fine as its questions need:
//!
//! - **peer**: how a workload looks to the peers of policy rules (as the
//!   source an ingress rule names, as the destination an egress rule
//!   names): the keys peers read;
//! - **egress**: which policies select its pods for egress, and how they
//!   see it: the keys the peers read and those the pod selectors of
//!   policies with egress rules read;
//! - **ingress**: the same for ingress, with its declared ports;
//! - **target**: the peer view with the declared ports (the destination an
//!   egress rule names, whose named ports resolve against its own);
//! - **source**: peer and egress together (all a source's answers need).
//!
//! What a class cannot stand for gets a class of its own: StatefulSet and
//! Job pods when a selector reads the labels their controller gives each
//! pod (pod names, job names), and the endpoints of the Services a Calico
//! `services` peer names (whose target ports, and whether they are the
//! destination itself, are per workload).

use crate::model::hasher::{FastMap, FastSet};
use crate::model::policy::{CALICO_SERVICE_ACCOUNT, CILIUM_SERVICE_ACCOUNT};
use crate::model::workloads::CONTROLLER_LABELS;
use crate::model::{Index, Matcher, Policy, PolicyPeer, Workload};
use std::collections::{BTreeSet, HashMap};

/// A class id in one of the views.
pub type ClassId = u32;

/// A set of class ids of one view, as bits. It grows as members are
/// added and never ends in an empty word, so equal sets compare and hash
/// equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClassSet(Vec<u64>);

impl ClassSet {
    /// Add `class`; `false` when it was already there.
    pub fn insert(&mut self, class: ClassId) -> bool {
        let (word, bit) = (class as usize / 64, 1u64 << (class % 64));
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        let new = self.0[word] & bit == 0;
        self.0[word] |= bit;
        new
    }

    pub fn contains(&self, class: ClassId) -> bool {
        self.0
            .get(class as usize / 64)
            .is_some_and(|word| word & (1 << (class % 64)) != 0)
    }

    /// Add every member of `other`.
    pub fn union_with(&mut self, other: &ClassSet) {
        if other.0.len() > self.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (word, more) in self.0.iter_mut().zip(&other.0) {
            *word |= more;
        }
    }

    /// The members, in order.
    pub fn iter(&self) -> impl Iterator<Item = ClassId> + '_ {
        bits(self.0.iter().copied(), usize::MAX)
    }

    /// The ids below `count` that are not members, in order.
    pub fn absent_below(&self, count: usize) -> impl Iterator<Item = ClassId> + '_ {
        let words = (self.0.iter().map(|w| !w)).chain(std::iter::repeat(u64::MAX));
        bits(words.take(count.div_ceil(64)), count)
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The positions of the set bits of `words`, below `limit`.
fn bits(words: impl Iterator<Item = u64>, limit: usize) -> impl Iterator<Item = ClassId> {
    words
        .enumerate()
        .flat_map(|(i, mut word)| {
            std::iter::from_fn(move || {
                (word != 0).then(|| {
                    let bit = word.trailing_zeros();
                    word &= word - 1;
                    (i * 64) as ClassId + bit
                })
            })
        })
        .take_while(move |&class| (class as usize) < limit)
}

/// One view's partition of the workloads.
#[derive(Debug, Default)]
pub struct Partition {
    /// Each workload's class.
    pub of: Vec<ClassId>,
    /// Each class's members (positions in the index), in input order; the
    /// first stands for the class.
    pub members: Vec<Vec<usize>>,
}

impl Partition {
    fn build<K: std::hash::Hash + Eq>(count: usize, key: impl Fn(usize) -> K) -> Partition {
        let mut ids: FastMap<K, ClassId> = FastMap::default();
        let mut partition = Partition::default();
        for i in 0..count {
            let next = partition.members.len() as ClassId;
            let id = *ids.entry(key(i)).or_insert(next);
            if id == next {
                partition.members.push(Vec::new());
            }
            partition.members[id as usize].push(i);
            partition.of.push(id);
        }
        partition
    }

    /// The workload that stands for `class`.
    pub fn representative(&self, class: ClassId) -> usize {
        self.members[class as usize][0]
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// The three views of the audited workloads.
#[derive(Debug, Default)]
pub struct Classes {
    pub peer: Partition,
    pub target: Partition,
    pub ingress: Partition,
    pub egress: Partition,
    pub source: Partition,
    /// The source classes of each peer class.
    pub sources_of_peer: Vec<Vec<ClassId>>,
    /// How many workloads (not hostNetwork) each namespace of each input
    /// holds.
    pub namespace_sizes: HashMap<usize, HashMap<String, usize>>,
}

/// The labels a view reads: per key, the values selectors compare it to
/// (any other value is alike to them all), or every value (`None`: a
/// selector reads more of it than equality).
type LabelReads = FastMap<String, Option<FastSet<String>>>;

/// What the policies of an input read of a workload.
struct Reads {
    /// Labels the peers of rules read.
    peer: LabelReads,
    /// Labels the peers read and the pod selectors of the policies that
    /// restrict ingress (what an ingress side's answer reads of its pod).
    ingress: LabelReads,
    /// The same for egress. A policy with ingress rules only does not
    /// tell sources apart, and most clusters restrict egress far less.
    egress: LabelReads,
    /// Does a policy name ServiceAccounts (so the account sets a class)?
    accounts: bool,
    /// Do selectors read the labels a controller gives each pod?
    controller_labels: bool,
    /// The Services Calico `services` peers name: (namespace, name).
    services: BTreeSet<(String, String)>,
}

impl Reads {
    fn of(policies: &[Policy<'_>]) -> Reads {
        let mut peer = LabelReads::default();
        let mut ingress_subject = LabelReads::default();
        let mut egress_subject = LabelReads::default();
        let mut accounts = false;
        let mut services = BTreeSet::new();
        let add = |reads: &mut LabelReads, matcher: &Matcher| {
            matcher.each_label(&mut |key, value, whole| {
                let values = reads.entry(key.to_string()).or_insert_with(|| Some(FastSet::default()));
                match (whole, values.as_mut(), value) {
                    (true, _, _) => *values = None,
                    (false, Some(values), Some(value)) => {
                        values.insert(value.to_string());
                    }
                    _ => {}
                }
            })
        };
        for policy in policies.iter().filter(|p| p.is_valid()) {
            if policy.ingress.is_some() {
                add(&mut ingress_subject, &policy.pod_selector);
            }
            if policy.egress.is_some() {
                add(&mut egress_subject, &policy.pod_selector);
            }
            let rules = policy.ingress.iter().chain(&policy.egress).flat_map(|side| &side.rules);
            for rule in rules {
                for peer_spec in rule.peers.iter().flatten().chain(&rule.local) {
                    peer_spec.each(&mut |p| match p {
                        PolicyPeer::Pods {
                            pods: Some(matcher), ..
                        } => add(&mut peer, matcher),
                        PolicyPeer::ServiceAccounts { .. } => accounts = true,
                        PolicyPeer::Service { namespace, name } => {
                            services.insert((namespace.clone(), name.clone()));
                        }
                        _ => {}
                    });
                }
            }
        }
        let with_peer = |subject: LabelReads| {
            let mut reads = peer.clone();
            for (key, values) in subject {
                match (reads.entry(key).or_insert_with(|| Some(FastSet::default())), values) {
                    (slot @ Some(_), None) => *slot = None,
                    (Some(known), Some(values)) => known.extend(values),
                    (None, _) => {}
                }
            }
            reads
        };
        let (ingress, egress) = (with_peer(ingress_subject), with_peer(egress_subject));
        let reads_any = |key: &str| ingress.contains_key(key) || egress.contains_key(key);
        accounts |= reads_any(CILIUM_SERVICE_ACCOUNT) || reads_any(CALICO_SERVICE_ACCOUNT);
        Reads {
            controller_labels: CONTROLLER_LABELS.iter().any(|k| reads_any(k)),
            peer,
            ingress,
            egress,
            accounts,
            services,
        }
    }
}

/// A label's value as a view sees it.
#[derive(Hash, PartialEq, Eq)]
enum Seen<'w> {
    /// A value no selector names: alike to every other such value.
    Other,
    Value(&'w str),
}

/// A label of a workload as a view sees it, if the view reads its key.
fn seen<'w>(read: &LabelReads, (key, value): (&'w String, &'w String)) -> Option<(&'w str, Seen<'w>)> {
    let values = read.get(key.as_str())?;
    let seen = match values.as_ref().is_none_or(|v| v.contains(value)) {
        true => Seen::Value(value),
        false => Seen::Other,
    };
    Some((key, seen))
}

/// What sets a workload's class, in one view.
#[derive(Hash, PartialEq, Eq)]
struct Key<'w> {
    namespace: &'w str,
    input: usize,
    host_network: bool,
    /// The labels the view reads that the workload carries, by key.
    labels: Vec<(&'w str, Seen<'w>)>,
    account: Option<&'w str>,
    /// A workload no class can stand for: its position.
    alone: Option<usize>,
}

impl Classes {
    /// The classes of `index`'s workloads under its policies.
    pub fn of(index: &Index<'_>) -> Classes {
        let reads = Reads::of(&index.policies);
        let workloads = &index.workloads;
        let alone: Vec<bool> = workloads.iter().map(|w| stands_alone(w, index, &reads)).collect();
        let key = |i: usize, read: &LabelReads| {
            let w = &workloads[i];
            Key {
                namespace: &w.obj.namespace,
                input: w.obj.input,
                host_network: w.host_network_line.is_some(),
                labels: w.pod_labels.iter().filter_map(|label| seen(read, label)).collect(),
                account: reads.accounts.then(|| w.service_account()),
                alone: alone[i].then_some(i),
            }
        };
        let n = workloads.len();
        // Declared ports: number, name, protocol.
        let ports = Partition::build(n, |i| {
            let mut ports: Vec<_> = workloads[i]
                .ports()
                .map(|p| (p.number, p.name.as_deref(), p.protocol))
                .collect();
            ports.sort();
            ports.dedup();
            ports
        });
        let peer = Partition::build(n, |i| key(i, &reads.peer));
        let egress = Partition::build(n, |i| key(i, &reads.egress));
        let ingress = Partition::build(n, |i| key(i, &reads.ingress));
        let source = Partition::build(n, |i| (peer.of[i], egress.of[i]));
        Classes {
            target: Partition::build(n, |i| (peer.of[i], ports.of[i])),
            ingress: Partition::build(n, |i| (ingress.of[i], ports.of[i])),
            sources_of_peer: sources_of_peer(&peer, &source),
            peer,
            egress,
            source,
            namespace_sizes: namespace_sizes(workloads),
        }
    }

    /// Every workload a class of its own: the reference the classes are
    /// held to in tests.
    pub fn singletons(index: &Index<'_>) -> Classes {
        let count = index.workloads.len();
        let one = || Partition::build(count, |i| i);
        let (peer, source) = (one(), one());
        Classes {
            sources_of_peer: sources_of_peer(&peer, &source),
            peer,
            target: one(),
            ingress: one(),
            egress: one(),
            source,
            namespace_sizes: namespace_sizes(&index.workloads),
        }
    }
}

/// Can no other workload stand for `workload`? Pods told apart by the
/// labels their controller gives each (when a selector reads them), and
/// endpoints of a Service a Calico `services` peer names.
fn stands_alone(workload: &Workload<'_>, index: &Index<'_>, reads: &Reads) -> bool {
    let per_pod_labels = matches!(workload.obj.kind.as_str(), "StatefulSet" | "Job");
    if reads.controller_labels && per_pod_labels {
        return true;
    }
    reads.services.iter().any(|(namespace, name)| {
        index.services.iter().any(|s| {
            &s.obj.namespace == namespace
                && &s.obj.name == name
                && s.obj.namespace == workload.obj.namespace
                && s.selector.as_ref().is_some_and(|sel| workload.pods_selected_by(sel))
        })
    })
}

fn sources_of_peer(peer: &Partition, source: &Partition) -> Vec<Vec<ClassId>> {
    let mut of_peer = vec![Vec::new(); peer.len()];
    for class in 0..source.len() as ClassId {
        of_peer[peer.of[source.representative(class)] as usize].push(class);
    }
    of_peer
}

fn namespace_sizes(workloads: &[Workload<'_>]) -> HashMap<usize, HashMap<String, usize>> {
    let mut sizes: HashMap<usize, HashMap<String, usize>> = HashMap::new();
    for w in workloads.iter().filter(|w| w.host_network_line.is_none()) {
        let of_input = sizes.entry(w.obj.input).or_default();
        match of_input.get_mut(w.obj.namespace.as_str()) {
            Some(size) => *size += 1,
            None => {
                of_input.insert(w.obj.namespace.clone(), 1);
            }
        }
    }
    sizes
}

impl Classes {
    /// How many workloads (not hostNetwork) `namespace` of `input` holds.
    pub fn namespace_size(&self, input: usize, namespace: &str) -> usize {
        self.namespace_sizes
            .get(&input)
            .and_then(|sizes| sizes.get(namespace))
            .copied()
            .unwrap_or(0)
    }
}
