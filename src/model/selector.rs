//! Label selectors with Kubernetes semantics.

/// The label Kubernetes sets on every namespace: its name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

use super::yaml::Node;
use std::collections::BTreeMap;

pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

/// A `LabelSelector` (`matchLabels` + `matchExpressions`) or a Service's plain
/// map selector (only `match_labels`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub match_labels: Labels,
    pub expressions: Vec<Requirement>,
}

impl Selector {
    /// A Service-style selector: a plain string map.
    pub fn from_map(node: &Node) -> Selector {
        Selector {
            match_labels: labels_of(node),
            expressions: Vec::new(),
        }
    }

    /// A `metav1.LabelSelector`. Unknown operators make the requirement match
    /// nothing, as the API server would reject them anyway.
    pub fn from_label_selector(node: &Node) -> Selector {
        let match_labels = node.get("matchLabels").map(labels_of).unwrap_or_default();
        let expressions = node
            .get("matchExpressions")
            .map(|exprs| {
                exprs
                    .as_seq()
                    .iter()
                    .filter_map(|e| {
                        let key = e.get("key")?.scalar_text()?.to_string();
                        let operator = match e.get("operator")?.scalar_text()? {
                            "In" => Operator::In,
                            "NotIn" => Operator::NotIn,
                            "Exists" => Operator::Exists,
                            "DoesNotExist" => Operator::DoesNotExist,
                            _ => {
                                return Some(Requirement {
                                    key,
                                    operator: Operator::In,
                                    values: Vec::new(),
                                })
                            }
                        };
                        let values = e
                            .get("values")
                            .map(|v| {
                                v.as_seq()
                                    .iter()
                                    .filter_map(|s| s.scalar_text().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default();
                        Some(Requirement { key, operator, values })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Selector {
            match_labels,
            expressions,
        }
    }

    /// Does the selector constrain this label key?
    pub fn mentions(&self, key: &str) -> bool {
        self.match_labels.contains_key(key) || self.expressions.iter().any(|r| r.key == key)
    }

    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.expressions.is_empty()
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|req| {
                let value = labels.get(&req.key);
                match req.operator {
                    Operator::In => value.is_some_and(|v| req.values.contains(v)),
                    Operator::NotIn => value.is_none_or(|v| !req.values.contains(v)),
                    Operator::Exists => value.is_some(),
                    Operator::DoesNotExist => value.is_none(),
                }
            })
    }

    /// `app=web,tier in (a,b)`: how kubectl writes selectors.
    pub fn display(&self) -> String {
        let mut parts: Vec<String> = self.match_labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for req in &self.expressions {
            parts.push(match req.operator {
                Operator::In => format!("{} in ({})", req.key, req.values.join(",")),
                Operator::NotIn => format!("{} notin ({})", req.key, req.values.join(",")),
                Operator::Exists => req.key.clone(),
                Operator::DoesNotExist => format!("!{}", req.key),
            });
        }
        if parts.is_empty() {
            "{} (everything)".to_string()
        } else {
            parts.join(",")
        }
    }
}

/// A string map (labels, a Service selector). Non-string scalars are taken as
/// their text: `version: 2` is the label value "2".
pub fn labels_of(node: &Node) -> Labels {
    node.entries()
        .iter()
        .filter_map(|(k, v)| {
            Some((k.text.clone(), v.scalar_text().unwrap_or("").to_string())).filter(|_| !v.is_seq() && !v.is_map())
        })
        .collect()
}

/// An object's own `metadata.labels`.
pub fn labels_of_object(object: &super::Object) -> Labels {
    object
        .root
        .path(&["metadata", "labels"])
        .map(labels_of)
        .unwrap_or_default()
}

pub fn display_labels(labels: &Labels) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::yaml::parse_documents;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn match_expressions_follow_kubernetes_semantics() {
        let node = &parse_documents(
            "matchLabels: {app: db}\nmatchExpressions:\n- {key: tier, operator: In, values: [a, b]}\n- {key: canary, operator: DoesNotExist}\n- {key: zone, operator: NotIn, values: [x]}\n- {key: team, operator: Exists}\n",
            1,
        )
        .unwrap()[0];
        let sel = Selector::from_label_selector(node);
        assert!(sel.matches(&labels(&[("app", "db"), ("tier", "a"), ("team", "t")])));
        assert!(!sel.matches(&labels(&[("app", "db"), ("tier", "c"), ("team", "t")])));
        assert!(!sel.matches(&labels(&[("app", "db"), ("tier", "a"), ("team", "t"), ("canary", "1")])));
        assert!(!sel.matches(&labels(&[("app", "db"), ("tier", "a"), ("team", "t"), ("zone", "x")])));
        assert!(!sel.matches(&labels(&[("app", "db"), ("tier", "a")])));
        assert_eq!(sel.display(), "app=db,tier in (a,b),!canary,zone notin (x),team");
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(Selector::default().matches(&labels(&[("a", "b")])));
        assert!(Selector::default().is_empty());
    }
}
