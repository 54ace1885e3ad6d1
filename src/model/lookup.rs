//! Workloads looked up by namespace and pod label instead of scanned: a
//! selector's candidates are the workloads carrying its rarest label, so
//! matching every Service (and every workload selector) against every
//! workload costs what the matches cost, not Services × workloads. A
//! candidate list is a superset: callers still decide with the selector.

use super::hasher::{FastMap, Multiply};
use super::policy::{Matcher, Policy, PolicyScope, CILIUM_SERVICE_ACCOUNT};
use super::selector::{Labels, Selector};
use super::workloads::{Service, Workload, CONTROLLER_LABELS};
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// Workload positions (in [`super::Index::workloads`], ascending) by
/// namespace and by `(namespace, key, value)` of their pod templates.
#[derive(Debug, Default)]
pub struct PodLookup {
    by_namespace: HashMap<u64, Vec<usize>, BuildHasherDefault<AlreadyHashed>>,
    /// Keyed by a hash: a collision only adds candidates.
    by_label: HashMap<u64, Vec<usize>, BuildHasherDefault<AlreadyHashed>>,
}

/// The keys of [`PodLookup`]'s maps are hash values already: hashing
/// them again was about a sixth of the index's time on a 100,000-workload
/// dump (perf).
#[derive(Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; any other key is folded in, not lost.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

fn key(parts: &[&str]) -> u64 {
    let mut hasher = Multiply::default();
    parts.hash(&mut hasher);
    hasher.finish()
}

impl PodLookup {
    pub fn new(workloads: &[Workload<'_>]) -> PodLookup {
        let mut lookup = PodLookup::default();
        for (i, workload) in workloads.iter().enumerate() {
            let namespace = workload.obj.namespace.as_str();
            lookup.by_namespace.entry(key(&[namespace])).or_default().push(i);
            for (k, v) in &workload.pod_labels {
                lookup.by_label.entry(key(&[namespace, k, v])).or_default().push(i);
            }
        }
        lookup
    }

    /// The workloads of `namespace` whose pods `selector` may select: those
    /// carrying its rarest `matchLabels` pair, or, when it has none a pod
    /// template sets (only expressions, or only labels controllers or the
    /// CNI add), every workload of the namespace.
    pub fn candidates(&self, namespace: &str, selector: &Selector) -> &[usize] {
        let rarest = selector
            .match_labels
            .iter()
            .filter(|(k, _)| set_by_template(k))
            .map(|(k, v)| {
                self.by_label
                    .get(&key(&[namespace, k, v]))
                    .map_or(&[][..], Vec::as_slice)
            })
            .min_by_key(|list| list.len());
        rarest.unwrap_or_else(|| self.in_namespace(namespace))
    }

    /// [`PodLookup::candidates`] for a policy's pod selector in either
    /// language: a Calico expression by the `k == 'v'` terms it requires
    /// (not those on the labels Calico itself gives pods).
    pub fn candidates_of_matcher(&self, namespace: &str, matcher: &Matcher) -> &[usize] {
        match matcher {
            Matcher::Labels(selector) => self.candidates(namespace, selector),
            Matcher::Calico(expr, _) => expr
                .required_equalities()
                .into_iter()
                .filter(|(k, _)| set_by_template(k) && !k.starts_with(CALICO_LABEL_PREFIX))
                .map(|(k, v)| {
                    self.by_label
                        .get(&key(&[namespace, k, v]))
                        .map_or(&[][..], Vec::as_slice)
                })
                .min_by_key(|list| list.len())
                .unwrap_or_else(|| self.in_namespace(namespace)),
        }
    }

    /// Every workload of `namespace`.
    pub fn in_namespace(&self, namespace: &str) -> &[usize] {
        self.by_namespace.get(&key(&[namespace])).map_or(&[][..], Vec::as_slice)
    }
}

/// Whether a label can only come from the pod template: not one a
/// controller adds (a StatefulSet's pod name, a Job's name) nor one Cilium
/// gives every pod (its ServiceAccount).
fn set_by_template(key: &str) -> bool {
    !CONTROLLER_LABELS.contains(&key) && key != CILIUM_SERVICE_ACCOUNT
}

/// Which workloads each of some selecting objects (Services, policies)
/// selects, and the reverse: computed once per index, for every check that
/// asks.
#[derive(Debug, Default)]
pub struct Selection {
    /// Per object, the workloads it selects, ascending.
    pub workloads_of: Vec<Vec<usize>>,
    /// Per workload, the objects that select it, ascending (input order).
    pub selecting: Vec<Vec<usize>>,
}

impl Selection {
    /// `selected(i, add)` calls `add` with each workload object `i` selects,
    /// in ascending order.
    fn build(objects: usize, workloads: usize, mut selected: impl FnMut(usize, &mut dyn FnMut(usize))) -> Selection {
        let mut selection = Selection {
            workloads_of: vec![Vec::new(); objects],
            selecting: vec![Vec::new(); workloads],
        };
        for object in 0..objects {
            let (workloads_of, selecting) = (&mut selection.workloads_of, &mut selection.selecting);
            selected(object, &mut |workload| {
                workloads_of[object].push(workload);
                selecting[workload].push(object);
            });
        }
        selection
    }

    /// The Services' (those with a selector).
    pub fn of_services(services: &[Service<'_>], workloads: &[Workload<'_>], lookup: &PodLookup) -> Selection {
        Selection::build(services.len(), workloads.len(), |i, add| {
            let service = &services[i];
            let Some(selector) = &service.selector else { return };
            for &w in lookup.candidates(&service.obj.namespace, selector) {
                if service.selects(&workloads[w]) {
                    add(w);
                }
            }
        })
    }

    /// The policies' pod selectors: the workloads they select some pods of
    /// (hostNetwork ones included, which no policy applies to; a malformed
    /// policy selects nothing), for NP1, M6 and the evaluator.
    pub fn of_policies(policies: &[Policy<'_>], workloads: &[Workload<'_>], lookup: &PodLookup) -> Selection {
        let every: Vec<usize> = (0..workloads.len()).collect();
        Selection::build(policies.len(), workloads.len(), |i, add| {
            let policy = &policies[i];
            if !policy.is_valid() {
                return;
            }
            let candidates = match policy.scope {
                PolicyScope::Namespace => lookup.candidates_of_matcher(&policy.obj.namespace, &policy.pod_selector),
                PolicyScope::Cluster(_) => &every,
            };
            for &w in candidates {
                if policy.selects_labels_of(&workloads[w]) {
                    add(w);
                }
            }
        })
    }
}

/// The prefix of the labels Calico gives every pod (its namespace,
/// orchestrator, ServiceAccount): no pod template sets them.
const CALICO_LABEL_PREFIX: &str = "projectcalico.org/";

/// Why two workloads collide (M4A, and M4G across releases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collision {
    /// The controller selector of the first selects the second's pods.
    SelectorSelectsOther,
    /// Both have exactly the same (non-empty) pod labels.
    IdenticalLabels,
}

/// Every colliding unordered pair of different workloads in one namespace
/// (positions in `workloads`, the selecting one first),
/// by namespace, then in the order of the workloads. Candidates come from
/// the index's pod lookup (a selector's rarest label; identical label sets
/// grouped), not from every pair of the namespace.
pub fn workload_collisions(workloads: &[Workload<'_>], lookup: &PodLookup) -> Vec<(usize, usize, Collision)> {
    let mut candidates: BTreeSet<(&str, usize, usize)> = BTreeSet::new();
    let mut pair = |i: usize, j: usize| {
        if i != j {
            candidates.insert((workloads[i].obj.namespace.as_str(), i.min(j), i.max(j)));
        }
    };
    let mut identical: FastMap<(&str, &Labels), Vec<usize>> = FastMap::default();
    for (i, workload) in workloads.iter().enumerate() {
        if let Some(selector) = workload.selector.as_ref().filter(|s| !s.is_empty()) {
            for &j in lookup.candidates(&workload.obj.namespace, selector) {
                pair(i, j);
            }
        }
        if !workload.pod_labels.is_empty() {
            identical
                .entry((workload.obj.namespace.as_str(), &workload.pod_labels))
                .or_default()
                .push(i);
        }
    }
    for group in identical.values() {
        for (n, &i) in group.iter().enumerate() {
            for &j in &group[n + 1..] {
                pair(i, j);
            }
        }
    }
    let selects = |x: &Workload<'_>, y: &Workload<'_>| {
        x.selector
            .as_ref()
            .is_some_and(|s| !s.is_empty() && y.pods_selected_by(s))
    };
    candidates
        .into_iter()
        .filter_map(|(_, i, j)| {
            let (a, b) = (&workloads[i], &workloads[j]);
            if a.obj.input == b.obj.input && a.obj.kind == b.obj.kind && a.obj.name == b.obj.name {
                None
            } else if selects(a, b) {
                Some((i, j, Collision::SelectorSelectsOther))
            } else if selects(b, a) {
                Some((j, i, Collision::SelectorSelectsOther))
            } else if !a.pod_labels.is_empty() && a.pod_labels == b.pod_labels {
                Some((i, j, Collision::IdenticalLabels))
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Detail, Input, Manifests};

    #[test]
    fn candidates_are_the_rarest_labels_workloads_or_the_namespace() {
        let deployment = |name: &str, ns: &str, labels: &str| {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  template:\n    metadata: {{labels: {labels}}}\n    spec: {{containers: [{{name: c, image: x}}]}}\n---\n"
            )
        };
        let text = deployment("a", "x", "{app: a, tier: web}")
            + &deployment("b", "x", "{app: b, tier: web}")
            + &deployment("c", "y", "{app: a, tier: web}");
        let manifests = Manifests::load(vec![Input::new("t", "t", "default", text)], Detail::Checks).unwrap();
        let index = manifests.index();
        let selector = |pairs: &[(&str, &str)]| Selector {
            match_labels: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            expressions: Vec::new(),
        };
        let lookup = &index.lookup;
        assert_eq!(lookup.candidates("x", &selector(&[("tier", "web"), ("app", "b")])), [1]);
        assert_eq!(lookup.candidates("x", &selector(&[("tier", "web")])), [0, 1]);
        assert_eq!(lookup.candidates("y", &selector(&[("app", "a")])), [2]);
        assert!(lookup.candidates("x", &selector(&[("app", "zzz")])).is_empty());
        // Only a label a controller adds: every workload of the namespace.
        let pod_name = selector(&[("statefulset.kubernetes.io/pod-name", "a-0")]);
        assert_eq!(lookup.candidates("x", &pod_name), [0, 1]);
        let account = selector(&[("io.cilium.k8s.policy.serviceaccount", "default"), ("app", "zzz")]);
        assert!(lookup.candidates("x", &account).is_empty());
        let account = selector(&[("io.cilium.k8s.policy.serviceaccount", "default")]);
        assert_eq!(lookup.candidates("x", &account), [0, 1]);
        assert_eq!(lookup.in_namespace("nowhere"), [] as [usize; 0]);
    }
}
