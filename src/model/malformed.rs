//! Services and workloads the API server would reject, found before any
//! check sees them. Such an object never runs: it selects nothing and
//! protects nothing. Read anyway, it misled both ways (a list as a
//! Service's `selector` read as "no selector", an unknown operator as a
//! selector that matches nothing), so the index leaves it out of every
//! view and the report warns, naming the object and the field. A
//! NetworkPolicy with a broken field is NP3's finding instead.

use super::object::Object;
use super::selector::Selector;
use crate::yaml::Node;

/// Kinds whose pod template and selector the API server validates as
/// below. Custom kinds are left to their CRD's schema.
const BUILT_IN_WORKLOADS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Pod",
];

/// What is wrong with an object, and where.
#[derive(Debug, Clone)]
pub struct Malformed<'a> {
    pub obj: &'a Object,
    /// The field, as a path: `spec.selector`.
    pub field: &'static str,
    /// The field's line in the input.
    pub line: u32,
    pub why: String,
}

impl Malformed<'_> {
    /// The report's warning (without the input's name).
    pub fn describe(&self) -> String {
        format!(
            "{} `{}` (line {}): `{}`: {}; Kubernetes would reject the object, so no check counts it (it selects nothing and protects nothing)",
            self.obj.kind, self.obj.name, self.line, self.field, self.why
        )
    }
}

/// Why the API server would refuse `obj`, if it would (only the fields the
/// checks read: selectors and pod labels).
pub fn malformed(obj: &Object) -> Option<Malformed<'_>> {
    // `parent.key` is wrong: said at the key's line, where a reader looks.
    let at = |field: &'static str, parent: &Node, key: &str, why: String| {
        Some(Malformed {
            obj,
            field,
            line: parent.key_line(key).unwrap_or(parent.line),
            why,
        })
    };
    let present = |parent: &Node, key: &str| parent.get(key).is_some_and(|n| !n.is_null());
    let kind = obj.kind.as_str();
    let spec = obj.root.get("spec");
    if kind == "Service" {
        let spec = spec.filter(|s| present(s, "selector"))?;
        return match spec.get("selector").is_some_and(is_label_map) {
            true => None,
            false => at("spec.selector", spec, "selector", "not a map of label values".into()),
        };
    }
    if !BUILT_IN_WORKLOADS.contains(&kind) {
        return None;
    }
    let (labels_field, pod_metadata) = match kind {
        "Pod" => ("metadata.labels", obj.root.get("metadata")),
        "CronJob" => (
            "spec.jobTemplate.spec.template.metadata.labels",
            spec?.path(&["jobTemplate", "spec", "template", "metadata"]),
        ),
        _ => ("spec.template.metadata.labels", spec?.path(&["template", "metadata"])),
    };
    if let Some(metadata) = pod_metadata.filter(|m| present(m, "labels")) {
        if !metadata.get("labels").is_some_and(is_label_map) {
            return at(labels_field, metadata, "labels", "not a map of label values".into());
        }
    }
    if kind == "Pod" || kind == "CronJob" {
        return None;
    }
    let spec = spec.filter(|s| present(s, "selector"))?;
    let selector = spec.get("selector")?;
    let plain_map = kind == "ReplicationController"
        && selector.get("matchLabels").is_none()
        && selector.get("matchExpressions").is_none();
    let problem = if plain_map {
        (!is_label_map(selector)).then(|| "not a map of label values".to_string())
    } else {
        label_selector_problem(selector)
    };
    problem.and_then(|why| at("spec.selector", spec, "selector", why))
}

/// A map whose values are scalars (`null` reads as "").
fn is_label_map(node: &Node) -> bool {
    node.is_map()
        && node
            .entries()
            .iter()
            .all(|(_, value)| value.is_null() || value.scalar_text().is_some())
}

/// What the API server finds wrong with a `metav1.LabelSelector`. Only a
/// selector with expressions is built to tell (the common `matchLabels`
/// alone is checked in place: the index builds it once, later).
fn label_selector_problem(selector: &Node) -> Option<String> {
    if !selector.is_map() {
        return Some("not a label selector (a mapping with matchLabels/matchExpressions)".into());
    }
    if selector.get("matchExpressions").is_some_and(|e| !e.is_null()) {
        return Selector::parse_label_selector(selector).err();
    }
    match selector.get("matchLabels") {
        Some(labels) if !labels.is_null() && !is_label_map(labels) => {
            Some("`matchLabels` is not a map of strings".into())
        }
        _ => None,
    }
}
