//! Label selectors with Kubernetes semantics.

/// The requirements of a selector's text: split at the commas outside
/// parentheses.
fn split_requirements(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(format!("unbalanced `)` in `{text}`"));
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced `(` in `{text}`"));
    }
    parts.push(&text[start..]);
    if parts.iter().any(|p| p.trim().is_empty()) {
        return Err(format!("`{text}` has an empty requirement"));
    }
    Ok(parts)
}

/// The label Kubernetes sets on every namespace: its name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// The label Calico gives a namespace and a ServiceAccount: its name.
pub const CALICO_NAME: &str = "projectcalico.org/name";

use crate::yaml::Node;
use std::collections::BTreeSet;

pub use super::labels::Labels;

/// What is known of a namespace's labels without its object: its name,
/// under the label Kubernetes sets and the one Calico adds.
pub fn namespace_labels(namespace: &str) -> Labels {
    Labels::from([
        (NAMESPACE_NAME_LABEL.to_string(), namespace.to_string()),
        (CALICO_NAME.to_string(), namespace.to_string()),
    ])
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

/// A `LabelSelector` (`matchLabels` + `matchExpressions`) or a Service's plain
/// map selector (only `match_labels`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
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

    /// A `metav1.LabelSelector`, leniently: a requirement the API server
    /// would reject (unknown operator) matches nothing.
    pub fn from_label_selector(node: &Node) -> Selector {
        Selector::parse_label_selector(node).unwrap_or_else(|_| Selector {
            match_labels: node.get("matchLabels").map(labels_of).unwrap_or_default(),
            expressions: vec![Requirement {
                key: String::new(),
                operator: Operator::In,
                values: Vec::new(),
            }],
        })
    }

    /// A `metav1.LabelSelector` as the API server validates it: a mapping,
    /// `matchLabels` a string map, each expression with a key, a known
    /// operator, values for `In`/`NotIn` and none for `Exists`/`DoesNotExist`.
    pub fn parse_label_selector(node: &Node) -> Result<Selector, String> {
        if !node.is_map() {
            return Err("not a label selector (a mapping with matchLabels/matchExpressions)".into());
        }
        let match_labels = match node.get("matchLabels").filter(|n| !n.is_null()) {
            None => Labels::new(),
            Some(labels) if labels.is_map() && labels.entries().iter().all(|(_, v)| v.scalar_text().is_some()) => {
                labels_of(labels)
            }
            Some(_) => return Err("`matchLabels` is not a map of strings".into()),
        };
        let mut expressions = Vec::new();
        if let Some(exprs) = node.get("matchExpressions").filter(|n| !n.is_null()) {
            if !exprs.is_seq() {
                return Err("`matchExpressions` is not a list".into());
            }
            for e in exprs.as_seq() {
                expressions.push(requirement(e)?);
            }
        }
        Ok(Selector {
            match_labels,
            expressions,
        })
    }

    /// A selector in kubectl's text form (`-l`): requirements separated by
    /// commas, each `key=value`, `key==value`, `key!=value`,
    /// `key in (a,b)`, `key notin (a,b)`, `key` or `!key`.
    pub fn parse_text(text: &str) -> Result<Selector, String> {
        let mut selector = Selector::default();
        for part in split_requirements(text)? {
            let part = part.trim();
            let bad = || {
                format!("`{part}` is not a label requirement (key=value, key!=value, key in (a,b), key notin (a,b), key, !key)")
            };
            let key_ok =
                |key: &str| !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
            let requirement = |key: &str, operator: Operator, values: Vec<String>| -> Result<Requirement, String> {
                match key_ok(key) {
                    true => Ok(Requirement {
                        key: key.to_string(),
                        operator,
                        values,
                    }),
                    false => Err(bad()),
                }
            };
            let set = |rest: &str| -> Result<Vec<String>, String> {
                let inner = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(bad)?;
                Ok(inner
                    .split(',')
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .collect())
            };
            let req = if let Some((key, value)) = part.split_once("!=") {
                requirement(key.trim(), Operator::NotIn, vec![value.trim().to_string()])?
            } else if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
                requirement(key.trim(), Operator::In, vec![value.trim().to_string()])?
            } else if let Some((key, rest)) = part.split_once(" notin ") {
                requirement(key.trim(), Operator::NotIn, set(rest)?)?
            } else if let Some((key, rest)) = part.split_once(" in ") {
                requirement(key.trim(), Operator::In, set(rest)?)?
            } else if let Some(key) = part.strip_prefix('!') {
                requirement(key.trim(), Operator::DoesNotExist, Vec::new())?
            } else {
                requirement(part, Operator::Exists, Vec::new())?
            };
            selector.expressions.push(req);
        }
        Ok(selector)
    }

    /// Can the selector match a namespace other than `audited`? Only the
    /// name label is known of such namespaces; other requirements are taken
    /// as satisfiable (an `In` with no value matches nothing).
    pub fn may_match_other_namespace(&self, audited: &BTreeSet<&str>) -> bool {
        let mut allowed: Option<BTreeSet<&str>> = None;
        let mut excluded: BTreeSet<&str> = BTreeSet::new();
        /// Narrow the possible names (`None`: any name) to `values`.
        fn restrict<'s>(values: BTreeSet<&'s str>, allowed: &mut Option<BTreeSet<&'s str>>) {
            *allowed = Some(match allowed.take() {
                None => values,
                Some(current) => current.intersection(&values).copied().collect(),
            });
        }
        if let Some(name) = self.match_labels.get(NAMESPACE_NAME_LABEL) {
            restrict(BTreeSet::from([name.as_str()]), &mut allowed);
        }
        for req in &self.expressions {
            let values: BTreeSet<&str> = req.values.iter().map(String::as_str).collect();
            if req.key != NAMESPACE_NAME_LABEL {
                if req.operator == Operator::In && values.is_empty() {
                    return false;
                }
                continue;
            }
            match req.operator {
                Operator::In => restrict(values, &mut allowed),
                Operator::NotIn => excluded.extend(values),
                Operator::Exists => {}
                Operator::DoesNotExist => return false,
            }
        }
        match allowed {
            None => true,
            Some(names) => names.iter().any(|n| !excluded.contains(n) && !audited.contains(n)),
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

fn requirement(e: &Node) -> Result<Requirement, String> {
    let key = e
        .get("key")
        .and_then(Node::scalar_text)
        .filter(|k| !k.is_empty())
        .ok_or("a `matchExpressions` entry without `key`")?
        .to_string();
    let operator_text = e.get("operator").and_then(Node::scalar_text).unwrap_or("");
    let operator = match operator_text {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        other => return Err(format!("unknown operator `{other}` for key `{key}`")),
    };
    let values: Vec<String> = match e.get("values").filter(|v| !v.is_null()) {
        None => Vec::new(),
        Some(v) if v.is_seq() => v
            .as_seq()
            .iter()
            .map(|s| {
                s.scalar_text()
                    .map(str::to_string)
                    .ok_or("a value that is not a string")
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("`values` of `{key}` is not a list")),
    };
    match (&operator, values.is_empty()) {
        (Operator::In | Operator::NotIn, true) => Err(format!("`{operator_text}` on `{key}` without values")),
        (Operator::Exists | Operator::DoesNotExist, false) => Err(format!("`{operator_text}` on `{key}` with values")),
        _ => Ok(Requirement { key, operator, values }),
    }
}

/// A string map (labels, a Service selector). Non-string scalars are taken as
/// their text: `version: 2` is the label value "2".
pub fn labels_of(node: &Node) -> Labels {
    node.entries()
        .iter()
        .filter_map(|(k, v)| {
            Some((k.text.to_string(), v.scalar_text().unwrap_or("").to_string())).filter(|_| !v.is_seq() && !v.is_map())
        })
        .collect()
}

/// An object's own `metadata.labels`.
pub fn labels_of_object(object: &super::object::Object) -> Labels {
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
    use crate::yaml::parse_documents;

    #[test]
    fn text_selectors_read_as_kubectl_reads_them() {
        let labels =
            |pairs: &[(&str, &str)]| -> Labels { pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
        let web = labels(&[("app", "web"), ("tier", "a")]);
        let db = labels(&[("app", "db"), ("canary", "yes")]);
        let cases = [
            ("app=web", true, false),
            ("app==web", true, false),
            ("app!=web", false, true),
            ("tier in (a, b)", true, false),
            ("tier notin (a)", false, true),
            ("canary", false, true),
            ("!canary", true, false),
            ("app in (web,db),!canary", true, false),
        ];
        for (text, on_web, on_db) in cases {
            let selector = Selector::parse_text(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (selector.matches(&web), selector.matches(&db)),
                (on_web, on_db),
                "{text}"
            );
        }
        for bad in ["", "app=web,", "tier in (a", "a b=c", "x in a,b"] {
            assert!(Selector::parse_text(bad).is_err(), "{bad:?} parsed");
        }
    }

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
