//! Which pods and namespaces a policy's selectors pick: a [`Matcher`] (a
//! label selector, or a Calico expression), the labels of the input's
//! namespaces, the labels the CNIs add to pods, and a workload's pods as a
//! matcher sees them.

use super::calico_selector::{Expr, Known};
use crate::model::object::Object;
use crate::model::selector::{labels_of, namespace_labels, Labels, Selector, CALICO_NAME, NAMESPACE_NAME_LABEL};
use crate::model::workloads::{PodPick, Workload};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A label selector in one of the two languages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Matcher {
    /// A `metav1.LabelSelector` (Kubernetes, Cilium with its prefixes removed).
    Labels(Selector),
    /// A Calico selector expression, with its text.
    Calico(Expr, String),
}

impl Matcher {
    pub fn everything() -> Matcher {
        Matcher::Labels(Selector::default())
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        match self {
            Matcher::Labels(selector) => selector.matches(labels),
            Matcher::Calico(expr, _) => expr.matches(labels),
        }
    }

    /// Call `f` with every label the matcher reads: its key, a value it
    /// compares the label to (`None`: none), and whether it reads more of
    /// the value than equality (Calico's `contains`, `starts with`, …).
    pub fn each_label(&self, f: &mut dyn FnMut(&str, Option<&str>, bool)) {
        match self {
            Matcher::Labels(selector) => {
                for (k, v) in &selector.match_labels {
                    f(k, Some(v), false);
                }
                for requirement in &selector.expressions {
                    f(&requirement.key, None, false);
                    requirement
                        .values
                        .iter()
                        .for_each(|v| f(&requirement.key, Some(v), false));
                }
            }
            Matcher::Calico(expr, _) => expr.each_label(f),
        }
    }

    /// Selects every object whatever its labels.
    pub fn matches_all(&self) -> bool {
        match self {
            Matcher::Labels(selector) => selector.is_empty(),
            Matcher::Calico(expr, _) => expr.matches_all(),
        }
    }

    /// Can it select some namespace other than `audited`? Only the name of
    /// such a namespace is known to differ from theirs; requirements on
    /// other labels are taken as satisfiable.
    pub fn may_match_other_namespace(&self, audited: &BTreeSet<&str>) -> bool {
        match self {
            Matcher::Labels(selector) => selector.may_match_other_namespace(audited),
            Matcher::Calico(expr, _) => {
                let label = |key: &str| match key {
                    NAMESPACE_NAME_LABEL | CALICO_NAME => Known::NoneOf(audited),
                    _ => Known::Unknown,
                };
                expr.decide(&label) != Some(false)
            }
        }
    }

    pub fn display(&self) -> String {
        match self {
            Matcher::Labels(selector) => selector.display(),
            Matcher::Calico(_, text) if text.trim().is_empty() => "all()".to_string(),
            Matcher::Calico(_, text) => text.trim().to_string(),
        }
    }
}

/// The labels of the `Namespace` objects of the input, by name.
#[derive(Debug, Default)]
pub struct NamespaceLabels(std::collections::BTreeMap<String, Arc<Labels>>);

impl NamespaceLabels {
    /// From the `Namespace` objects among `objects`: each one's own labels,
    /// and its name under the labels Kubernetes and Calico set (they win
    /// over a label of the same key in the object, as the API server's does).
    pub fn of<'o>(objects: impl Iterator<Item = &'o Object>) -> NamespaceLabels {
        NamespaceLabels(
            objects
                .filter(|o| o.kind == "Namespace" && o.api_version == "v1")
                .map(|o| {
                    let mut labels = o.root.path(&["metadata", "labels"]).map(labels_of).unwrap_or_default();
                    labels.extend(namespace_labels(&o.name));
                    (o.name.clone(), Arc::new(labels))
                })
                .collect(),
        )
    }

    /// The labels of `namespace`: its object's, else only its name (one
    /// copy per namespace, kept here, that the workloads share).
    pub fn shared(&mut self, namespace: &str) -> Arc<Labels> {
        if let Some(labels) = self.0.get(namespace) {
            return labels.clone();
        }
        let labels = Arc::new(namespace_labels(namespace));
        self.0.insert(namespace.to_string(), labels.clone());
        labels
    }

    /// The labels of `namespace`: its object's, else only its name.
    pub fn of_namespace(&self, namespace: &str) -> Labels {
        self.0
            .get(namespace)
            .map(|labels| Labels::clone(labels))
            .unwrap_or_else(|| namespace_labels(namespace))
    }

    pub fn extend(&mut self, other: NamespaceLabels) {
        self.0.extend(other.0);
    }
}

/// The label Calico gives a pod: its namespace.
pub const CALICO_POD_NAMESPACE: &str = "projectcalico.org/namespace";
/// The label Calico gives a pod: its ServiceAccount.
pub const CALICO_SERVICE_ACCOUNT: &str = "projectcalico.org/serviceaccount";
/// The label Cilium gives a pod: its ServiceAccount.
pub const CILIUM_SERVICE_ACCOUNT: &str = "io.cilium.k8s.policy.serviceaccount";

impl<'a> Workload<'a> {
    /// Does `matcher` select some pods of this workload?
    pub fn pods_match(&self, matcher: &Matcher) -> bool {
        self.pods_picked_by(matcher) != PodPick::None
    }

    /// Which pods of this workload `matcher` selects. Besides their own
    /// labels (and those their controller adds), pods carry those the CNIs
    /// add: Calico's namespace, orchestrator and ServiceAccount labels,
    /// Cilium's ServiceAccount.
    pub fn pods_picked_by(&self, matcher: &Matcher) -> PodPick {
        match matcher {
            Matcher::Labels(selector) if selector.mentions(CILIUM_SERVICE_ACCOUNT) => {
                let account = self.service_account().to_string();
                self.pods_picked(
                    |key| selector.mentions(key),
                    |labels| {
                        let mut labels = labels.clone();
                        labels.insert(CILIUM_SERVICE_ACCOUNT.into(), account.clone());
                        selector.matches(&labels)
                    },
                )
            }
            Matcher::Labels(selector) => self.pods_picked_by_selector(selector),
            Matcher::Calico(expr, _) => {
                let extra = [
                    (CALICO_POD_NAMESPACE, self.obj.namespace.as_str()),
                    ("projectcalico.org/orchestrator", "k8s"),
                    (CALICO_SERVICE_ACCOUNT, self.service_account()),
                ];
                self.pods_picked(
                    |key| expr.mentions(key),
                    |labels| {
                        let mut labels = labels.clone();
                        labels.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                        expr.matches(&labels)
                    },
                )
            }
        }
    }
}
