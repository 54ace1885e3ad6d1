//! Who can reach a port (or any port) of some workloads: the exposure a
//! finding carries.

use super::classes::{ClassId, ClassSet, Classes};
use super::evaluate::{Direction, Evaluator, Notes, Party, Ports, Traffic};
use crate::model::hasher::FastMap;
use crate::model::{
    Exposure, ExposureSource, HostName, Index, Namespaces, Policy, PolicyPeer, Protocol, Side, Workload,
};
use std::collections::BTreeSet;

/// The exposure of `ports` (empty: any port) of the workloads at
/// `workloads` (positions in `index.workloads`).
pub fn exposure(
    eval: &Evaluator<'_, '_>,
    index: &Index<'_>,
    workloads: &[usize],
    ports: &[(u16, Protocol)],
) -> Exposure {
    let target = match ports {
        [] => "any of its ports".to_string(),
        [(port, protocol)] => format!("port {port}/{}", protocol.as_str()),
        many => {
            let list: Vec<String> = many
                .iter()
                .map(|(p, proto)| format!("{p}/{}", proto.as_str()))
                .collect();
            format!("ports {}", list.join(", "))
        }
    };
    let dests: Vec<&Workload<'_>> = workloads.iter().filter_map(|&i| index.workloads.get(i)).collect();
    if dests.iter().any(|w| w.host_network_line.is_some()) {
        return Exposure::host_network(target);
    }
    let queries: Vec<Ports> = if ports.is_empty() {
        vec![Ports::Some]
    } else {
        ports
            .iter()
            .map(|&(port, protocol)| Ports::One(port, protocol))
            .collect()
    };
    let mut found = Reachers::default();
    'dests: for &dest in workloads.iter().filter(|&&i| i < index.workloads.len()) {
        for &ports in &queries {
            found.add(eval, index, dest, ports, false);
            if found.unrestricted || found.every_pod {
                break 'dests;
            }
        }
    }
    found.into_exposure(eval, index, target)
}

/// Who can reach some destinations, by kind of source.
#[derive(Debug, Default)]
pub struct Reachers {
    /// Some destination has no policy restricting its ingress.
    pub unrestricted: bool,
    /// An arbitrary pod of another namespace can reach some destination.
    pub every_pod: bool,
    /// Some pod of another namespace can.
    pub any_pod: bool,
    /// Audited workloads that can, by class (ids in [`Classes::source`]).
    pub sources: ClassSet,
    /// Pods of other namespaces a policy names: (pod selector, namespace selector).
    pub pods: BTreeSet<(Option<String>, String)>,
    /// Addresses outside the cluster can.
    pub outside: bool,
    pub policies: BTreeSet<String>,
    pub notes: Notes,
}

impl Reachers {
    /// Add who can reach the workload at `dest` on `ports`. Without
    /// `full`, stop at the first answer that says everything (no policy,
    /// or any pod allowed); with it, judge every source (a matrix needs
    /// every cell).
    pub fn add(&mut self, eval: &Evaluator<'_, '_>, index: &Index<'_>, dest: usize, ports: Ports, full: bool) {
        let position = dest;
        let dest = &index.workloads[position];
        let groups = eval.groups_of(dest, Direction::Ingress);
        // Pods no policy selects, among others that one does, are said by
        // the note of the answers below.
        if groups.len() == 1 && groups[0].selecting.is_empty() {
            self.unrestricted = true;
            self.any_pod = true;
            if !full {
                return;
            }
        }
        let traffic = Traffic {
            dest: Some(dest),
            ports,
        };
        // The destination's selecting policies, once for every peer asked about.
        let reaches = |party: Party<'_, '_>, notes: &mut Notes, policies: &mut BTreeSet<String>| match eval
            .decide_for_pods(dest, &groups, party, &traffic, notes)
        {
            Some(names) => {
                policies.extend(names);
                true
            }
            None => false,
        };
        if reaches(Party::AnyPod, &mut self.notes, &mut self.policies) {
            self.every_pod = true;
            self.any_pod = true;
            if !full {
                return;
            }
        }
        // The audited workloads, a class at a time: each side's decision
        // is the same for every member. Each peer class the ingress side
        // lets in, then each source class of it that its own egress
        // policies let out.
        let classes = eval.classes();
        let mut lets_out = eval.lets_out_to(position, ports);
        for (peer, ingress) in eval.admitted(position, ports) {
            let Some(names) = &ingress.allowed else {
                continue;
            };
            let mut some = false;
            for &class in &classes.sources_of_peer[peer as usize] {
                if self.sources.contains(class) {
                    continue;
                }
                let Some(egress_notes) = lets_out.from(class) else {
                    continue;
                };
                self.sources.insert(class);
                self.notes.0.extend(egress_notes.0.iter().cloned());
                some = true;
            }
            if some {
                // A pod of another namespace and another release: what `any_pod` asks.
                let source = &index.workloads[classes.peer.representative(peer)];
                if source.obj.namespace != dest.obj.namespace && source.obj.input != dest.obj.input {
                    self.any_pod = true;
                }
                self.policies.extend(names.iter().cloned());
                self.notes.0.extend(ingress.notes.0.iter().cloned());
            }
        }
        // Every policy that selects some of its pods, once.
        let mut selecting: Vec<(&Policy<'_>, &Side)> = Vec::new();
        for &(policy, side) in groups.iter().flat_map(|g| &g.selecting) {
            if !selecting.iter().any(|(p, _)| std::ptr::eq(*p, policy)) {
                selecting.push((policy, side));
            }
        }
        for &(policy, side) in &selecting {
            for rule in &side.rules {
                for peer in rule.peers.iter().flatten() {
                    let Some(key) = pods_of_other_namespaces(peer, eval.audited()) else {
                        continue;
                    };
                    if self.pods.contains(&key) {
                        continue;
                    }
                    if reaches(Party::PodsOf(peer, policy), &mut self.notes, &mut self.policies) {
                        self.pods.insert(key);
                        self.any_pod = true;
                    }
                }
            }
        }
        if reaches(Party::External, &mut self.notes, &mut self.policies) {
            self.outside = true;
        }
    }

    fn into_exposure(self, eval: &Evaluator<'_, '_>, index: &Index<'_>, target: String) -> Exposure {
        let classes = eval.classes();
        let notes = self.notes.0.into_iter().collect();
        if self.unrestricted {
            return Exposure {
                any_pod: true,
                sources: vec![ExposureSource::AnyPod],
                policies: Vec::new(),
                notes,
                target,
            };
        }
        let policies = self.policies.into_iter().collect();
        let mut sources = Vec::new();
        if self.every_pod {
            sources.push(ExposureSource::AnyPod);
        } else {
            sources.extend(
                self.pods
                    .into_iter()
                    .map(|(pods, namespaces)| ExposureSource::Pods { pods, namespaces }),
            );
            sources.extend(audited_sources(index, classes, &self.sources));
            if self.outside {
                sources.push(ExposureSource::Outside);
            }
        }
        Exposure {
            any_pod: self.any_pod,
            sources,
            policies,
            notes,
            target,
        }
    }
}

/// The pods of other namespaces `peer` may name, in words: (which pods,
/// which namespaces); `None` when it names none.
fn pods_of_other_namespaces(peer: &PolicyPeer, audited: &BTreeSet<&str>) -> Option<(Option<String>, String)> {
    match peer {
        PolicyPeer::Pods {
            namespaces: Namespaces::Selected(namespaces),
            pods,
        } => namespaces.may_match_other_namespace(audited).then(|| {
            (
                pods.as_ref().filter(|m| !m.matches_all()).map(|m| m.display()),
                namespaces.display(),
            )
        }),
        PolicyPeer::ServiceAccounts {
            namespaces: Namespaces::Selected(namespaces),
            ..
        } => namespaces
            .may_match_other_namespace(audited)
            .then(|| (Some(describe(peer)), namespaces.display())),
        // Calico's criteria together: the namespaces of the one on pods,
        // the others in words.
        PolicyPeer::AllOf(criteria) => {
            let (position, (pods, namespaces)) = criteria
                .iter()
                .enumerate()
                .find_map(|(i, c)| Some((i, pods_of_other_namespaces(c, audited)?)))?;
            let others: Vec<String> = pods
                .into_iter()
                .chain(
                    criteria
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != position)
                        .map(|(_, c)| describe(c)),
                )
                .collect();
            Some(((!others.is_empty()).then(|| others.join(" and ")), namespaces))
        }
        _ => None,
    }
}

/// A peer in words, as a policy states it.
fn describe(peer: &PolicyPeer) -> String {
    match peer {
        PolicyPeer::Pods { pods, .. } => pods.as_ref().map_or_else(|| "any pod".to_string(), |m| m.display()),
        PolicyPeer::Addresses { cidr, except, .. } if except.is_empty() => cidr.clone(),
        PolicyPeer::Addresses { cidr, except, .. } => format!("{cidr} except {}", except.join(", ")),
        PolicyPeer::Entity(entity) => format!("{entity:?}").to_lowercase(),
        PolicyPeer::Service { namespace, name } => format!("endpoints of Service {namespace}/{name}"),
        PolicyPeer::Hosts(names) => names.iter().map(HostName::text).collect::<Vec<_>>().join(", "),
        PolicyPeer::ServiceAccounts { names, selector, .. } => {
            let mut said = Vec::new();
            if let Some(names) = names {
                said.push(format!("ServiceAccount in ({})", names.join(", ")));
            }
            if let Some(selector) = selector {
                said.push(format!("ServiceAccount labels {}", selector.display()));
            }
            said.join(" and ")
        }
        PolicyPeer::AllOf(all) => all.iter().map(describe).collect::<Vec<_>>().join(" and "),
        PolicyPeer::AnyOf(any) => format!("({})", any.iter().map(describe).collect::<Vec<_>>().join(" or ")),
        PolicyPeer::Not(inner) => format!("not {}", describe(inner)),
    }
}

/// At most this many entries name the audited workloads of an exposure;
/// beyond, they are counted (`reach --to` lists them all).
pub const LISTED_SOURCES: usize = 20;

/// The audited workloads of the source classes `allowed`, in the order of
/// their first workload: a whole release of a namespace as one entry, the
/// others one by one, hostNetwork ones as the nodes. When that takes more
/// than [`LISTED_SOURCES`] entries, one per release of a namespace instead
/// (the release, or how many of its workloads), the last ones counted as
/// one. Computed
/// from the classes, so that the cost is that of the classes and of what
/// is said, not of the workloads behind them.
fn audited_sources(index: &Index<'_>, classes: &Classes, allowed: &ClassSet) -> Vec<ExposureSource> {
    struct Namespace<'w> {
        name: &'w str,
        first: usize,
        allowed: Vec<ClassId>,
        count: usize,
        /// The workloads of the namespace (hostNetwork ones aside), allowed or not.
        size: usize,
    }
    let mut namespaces: Vec<Namespace<'_>> = Vec::new();
    let mut position_of: FastMap<(usize, &str), usize> = FastMap::default();
    let mut nodes: Option<usize> = None;
    for class in allowed.iter() {
        let members = &classes.source.members[class as usize];
        let first = members[0];
        let w = &index.workloads[first];
        if w.host_network_line.is_some() {
            nodes = Some(nodes.map_or(first, |n| n.min(first)));
            continue;
        }
        let key = (w.obj.input, w.obj.namespace.as_str());
        let at = *position_of.entry(key).or_insert_with(|| {
            namespaces.push(Namespace {
                name: key.1,
                first,
                allowed: Vec::new(),
                count: 0,
                size: classes.namespace_size(key.0, key.1),
            });
            namespaces.len() - 1
        });
        let namespace = &mut namespaces[at];
        namespace.first = namespace.first.min(first);
        namespace.allowed.push(class);
        namespace.count += members.len();
    }
    let whole = |n: &Namespace<'_>| n.size > 1 && n.count == n.size;
    let release = |n: &Namespace<'_>| {
        let member = &index.workloads[n.first];
        ExposureSource::Release {
            release: index.release_of(member.obj).to_string(),
            namespace: n.name.to_string(),
        }
    };
    let entries: usize = namespaces.iter().map(|n| if whole(n) { 1 } else { n.count }).sum();
    let mut said: Vec<(usize, ExposureSource)> = Vec::new();
    if let Some(first) = nodes {
        said.push((first, ExposureSource::Nodes));
    }
    if entries <= LISTED_SOURCES {
        for n in &namespaces {
            if whole(n) {
                said.push((n.first, release(n)));
                continue;
            }
            for &class in &n.allowed {
                for &i in &classes.source.members[class as usize] {
                    let workload = index.workloads[i].obj.id();
                    said.push((i, ExposureSource::Workload { workload }));
                }
            }
        }
        said.sort_by_key(|(first, _)| *first);
        return said.into_iter().map(|(_, source)| source).collect();
    }
    // One entry per release of a namespace, with how many workloads it
    // stands for.
    let mut summary: Vec<(usize, ExposureSource, usize)> = said.into_iter().map(|(f, s)| (f, s, 0)).collect();
    for n in &namespaces {
        let source = match n.count == n.size {
            true => release(n),
            false => ExposureSource::Workloads {
                release: index.release_of(index.workloads[n.first].obj).to_string(),
                namespace: n.name.to_string(),
                count: n.count,
                of: n.size,
            },
        };
        summary.push((n.first, source, n.count));
    }
    summary.sort_by_key(|(first, ..)| *first);
    if summary.len() > LISTED_SOURCES {
        let rest = summary.split_off(LISTED_SOURCES - 1);
        let counted = rest.iter().filter(|(_, source, _)| *source != ExposureSource::Nodes);
        let (releases, workloads) = counted.fold((0, 0), |(r, w), (_, _, count)| (r + 1, w + count));
        summary.push((usize::MAX, ExposureSource::More { releases, workloads }, workloads));
    }
    summary.into_iter().map(|(_, source, _)| source).collect()
}
