//! The pods of other namespaces that NCA is given to stand for netaudit's
//! sources outside the audited namespaces: NCA knows a namespace only
//! through the pods and Namespace objects it is given.
//!
//! - `any`: netaudit's `from_any_pod`, an arbitrary pod of another
//!   namespace: a pod with one label of its own, in a namespace whose only
//!   labels are its name.
//! - one probe per `namespaceSelector` (with or without `podSelector`) peer
//!   of an ingress rule that may name pods of another namespace: netaudit's
//!   `from_pods`, keyed as the matrix keys them. Its namespace and pod get
//!   labels that satisfy the peer's selectors, found by trying the values
//!   the selectors name.

use netaudit::model::policy::calico_selector::Expr;
use netaudit::model::policy::CALICO_POD_NAMESPACE;
use netaudit::model::selector::{namespace_labels, Operator, CALICO_NAME, NAMESPACE_NAME_LABEL};
use netaudit::model::{Index, Labels, Matcher, Namespaces, PolicyPeer};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// The namespace of the `any` probe (no audited input uses it).
pub const ANY_NAMESPACE: &str = "nca-probe-any";
pub const ANY_POD: &str = "any";
/// A value no selector names, for labels a selector wants present.
const OTHER_VALUE: &str = "nca-probe";

/// A `from_pods` key of `netaudit reach`: (pod selector, namespace selector).
pub type PeerKey = (Option<String>, String);

pub struct Probe {
    pub name: String,
    pub namespace: String,
    pub namespace_labels: Labels,
    pub labels: Labels,
    /// `None`: the `any` probe.
    pub key: Option<PeerKey>,
}

impl Probe {
    /// The probe as a source in the NCA request.
    pub fn id(&self) -> String {
        format!("Pod/{}/{}", self.namespace, self.name)
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({"name": self.name, "namespace": self.namespace,
               "namespace_labels": self.namespace_labels, "labels": self.labels})
    }
}

/// The key the matrix gives a peer (as `Reachers::add` computes it).
pub fn key_of(namespaces: &Matcher, pods: Option<&Matcher>) -> PeerKey {
    (
        pods.filter(|m| !m.matches_all()).map(Matcher::display),
        namespaces.display(),
    )
}

/// The `any` probe, then one per distinct peer key of the policies' ingress
/// rules (peers whose labels no search satisfies are left out).
pub fn probes(index: &Index<'_>, audited: &BTreeSet<&str>) -> Vec<Probe> {
    let mut probes = vec![Probe {
        name: ANY_POD.into(),
        namespace: ANY_NAMESPACE.into(),
        namespace_labels: Labels::new(),
        labels: pod_labels(
            ANY_NAMESPACE,
            Labels::from([("netaudit.io/probe".into(), "any".into())]),
        ),
        key: None,
    }];
    let mut seen = BTreeSet::new();
    for policy in &index.policies {
        let rules = policy.ingress.iter().flat_map(|side| &side.rules);
        for peer in rules.flat_map(|rule| rule.peers.iter().flatten()) {
            let PolicyPeer::Pods {
                namespaces: Namespaces::Selected(namespaces),
                pods,
            } = peer
            else {
                continue;
            };
            if !namespaces.may_match_other_namespace(audited) {
                continue;
            }
            let key = key_of(namespaces, pods.as_ref());
            if !seen.insert(key.clone()) {
                continue;
            }
            let number = probes.len();
            let Some((namespace, namespace_labels)) = probe_namespace(namespaces, audited, number) else {
                continue;
            };
            let fixed = pod_labels(
                &namespace,
                Labels::from([("netaudit.io/probe".into(), number.to_string())]),
            );
            let labels = match pods {
                None => fixed,
                Some(matcher) => match satisfy(matcher, &fixed, &[]) {
                    Some(labels) => labels,
                    None => continue,
                },
            };
            probes.push(Probe {
                name: format!("peer-{number}"),
                namespace,
                namespace_labels,
                labels,
                key: Some(key),
            });
        }
    }
    probes
}

/// The labels Calico gives every pod (a probe's ServiceAccount is `default`).
fn pod_labels(namespace: &str, mut labels: Labels) -> Labels {
    labels.insert(CALICO_POD_NAMESPACE.into(), namespace.into());
    labels.insert("projectcalico.org/orchestrator".into(), "k8s".into());
    labels.insert("projectcalico.org/serviceaccount".into(), "default".into());
    labels
}

/// A namespace that is not audited and whose labels `matcher` selects: its
/// name is one the selector names, or a new one.
fn probe_namespace(matcher: &Matcher, audited: &BTreeSet<&str>, number: usize) -> Option<(String, Labels)> {
    let named = candidates(matcher);
    let mut names: Vec<String> = [NAMESPACE_NAME_LABEL, CALICO_NAME]
        .iter()
        .flat_map(|key| named.get(*key).into_iter().flatten())
        .filter(|name| !name.is_empty() && !audited.contains(name.as_str()))
        .cloned()
        .collect();
    names.push(format!("nca-probe-{number}"));
    let tied = [NAMESPACE_NAME_LABEL, CALICO_NAME];
    names.into_iter().find_map(|name| {
        let labels = satisfy(matcher, &namespace_labels(&name), &tied)?;
        Some((name, labels))
    })
}

/// Labels, on top of `fixed`, that `matcher` selects: every combination of
/// absent / a value the selector names / another value, per key the
/// selector names (but `tied`, whose values are fixed), first found wins.
fn satisfy(matcher: &Matcher, fixed: &Labels, tied: &[&str]) -> Option<Labels> {
    let options: Vec<(String, Vec<Option<String>>)> = candidates(matcher)
        .into_iter()
        .filter(|(key, _)| !tied.contains(&key.as_str()) && !fixed.contains_key(key))
        .map(|(key, values)| {
            let mut choices = vec![None, Some(OTHER_VALUE.to_string())];
            choices.extend(values.into_iter().map(Some));
            (key, choices)
        })
        .collect();
    let total: usize = options.iter().map(|(_, c)| c.len()).product();
    (0..total.min(1 << 16)).find_map(|mut n| {
        let mut labels = fixed.clone();
        for (key, choices) in &options {
            if let Some(value) = &choices[n % choices.len()] {
                labels.insert(key.clone(), value.clone());
            }
            n /= choices.len();
        }
        matcher.matches(&labels).then_some(labels)
    })
}

/// The keys a selector names, each with the values it names.
fn candidates(matcher: &Matcher) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    match matcher {
        Matcher::Labels(selector) => {
            for (key, value) in &selector.match_labels {
                out.entry(key.clone()).or_default().insert(value.clone());
            }
            for requirement in &selector.expressions {
                let values = out.entry(requirement.key.clone()).or_default();
                if matches!(requirement.operator, Operator::In | Operator::NotIn) {
                    values.extend(requirement.values.iter().cloned());
                }
            }
        }
        Matcher::Calico(expr, _) => calico_candidates(expr, &mut out),
    }
    out
}

fn calico_candidates(expr: &Expr, out: &mut BTreeMap<String, BTreeSet<String>>) {
    match expr {
        Expr::All | Expr::Global => {}
        Expr::Has(key) => {
            out.entry(key.clone()).or_default();
        }
        Expr::Equals(key, value)
        | Expr::NotEquals(key, value)
        | Expr::Contains(key, value)
        | Expr::StartsWith(key, value)
        | Expr::EndsWith(key, value) => {
            out.entry(key.clone()).or_default().insert(value.clone());
        }
        Expr::In(key, values) | Expr::NotIn(key, values) => {
            out.entry(key.clone()).or_default().extend(values.iter().cloned());
        }
        Expr::Not(inner) => calico_candidates(inner, out),
        Expr::And(a, b) | Expr::Or(a, b) => {
            calico_candidates(a, out);
            calico_candidates(b, out);
        }
    }
}
