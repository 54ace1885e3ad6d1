//! The values a chart offers (`lint --explore-values`): the keys worth a
//! render, the variants rendered, and what the chart's templates say about
//! which keys guard which object. `source` finds them; the engine compares
//! the variants' findings with the defaults'.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A values key, and where the chart's values file sets its default.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ValuesKey {
    /// `metrics.enabled`; a subchart's keys under its alias
    /// (`redis.networkPolicy.enabled`).
    pub key: String,
    /// The values file that holds its default (`values.yaml` of the chart
    /// or of a subchart), when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl ValuesKey {
    /// `metrics.enabled (values.yaml:12)`, or the key alone; the file is
    /// shown from `chart` (the chart directory) on.
    pub fn located_in(&self, chart: &str) -> String {
        match self.place_in(chart) {
            Some(place) => format!("{} ({place})", self.key),
            None => self.key.clone(),
        }
    }

    /// `values.yaml:12`: where the default is set, the file shown from
    /// `chart` on.
    pub fn place_in(&self, chart: &str) -> Option<String> {
        let (file, line) = (self.file.as_ref()?, self.line?);
        let chart = chart.trim_end_matches('/');
        let shown = file
            .strip_prefix(chart)
            .and_then(|f| f.strip_prefix('/'))
            .unwrap_or(file);
        Some(format!("{shown}:{line}"))
    }
}

/// One key set to one value in a variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    #[serde(flatten)]
    pub key: ValuesKey,
    /// As `--set` writes it: `true`, `NodePort`.
    pub value: String,
    /// The default it replaces, as the values file writes it.
    pub default: String,
    /// Passed with `--set-string` (an enum's text), not `--set`.
    #[serde(skip)]
    pub string: bool,
}

/// The chart rendered with some keys set away from their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub settings: Vec<Setting>,
}

impl Variant {
    /// `hostNetwork=true, metrics.enabled=true`.
    pub fn describe(&self) -> String {
        self.settings
            .iter()
            .map(|s| format!("{}={}", s.key.key, s.value))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The conditions one document of a template sits in: the keys that
/// decide whether it, or what in it matters, renders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentGuards {
    /// The `kind:` it writes literally, when it does.
    pub kind: Option<String>,
    /// Keys of the conditions around the whole document: it renders only
    /// under them.
    pub around: BTreeSet<String>,
    /// Every key it reads where it decides something that matters (the
    /// conditions around it and inside it, and the lines that matter).
    pub keys: BTreeSet<String>,
}

/// What exploring a chart's values found before rendering.
#[derive(Debug, Clone, Default)]
pub struct ValuesSpace {
    /// The chart, as the user named it.
    pub chart: String,
    /// Every key of the chart's values files, with where it is set.
    pub keys: BTreeMap<String, ValuesKey>,
    /// Per template, as helm's `# Source:` names it
    /// (`shop/templates/api.yaml`): its documents' guards, in order.
    pub templates: BTreeMap<String, Vec<DocumentGuards>>,
    /// The variants to render, single flips first, then pairs.
    pub variants: Vec<Variant>,
    /// Variants found beyond `--max-renders`, not rendered.
    pub left_out: usize,
}

impl ValuesSpace {
    /// `key` with where its default is set, when a values file sets it.
    pub fn key(&self, key: &str) -> ValuesKey {
        self.keys.get(key).cloned().unwrap_or_else(|| ValuesKey {
            key: key.to_string(),
            file: None,
            line: None,
        })
    }

    /// The document of `kind` rendered from `template` (or the template's
    /// only document).
    fn document(&self, template: &str, kind: &str) -> Option<&DocumentGuards> {
        let documents = self.templates.get(template)?;
        let of_kind: Vec<&DocumentGuards> = documents.iter().filter(|d| d.kind.as_deref() == Some(kind)).collect();
        match (of_kind.as_slice(), documents.as_slice()) {
            ([one], _) => Some(*one),
            (_, [only]) => Some(only),
            _ => None,
        }
    }

    /// The keys of the conditions the object of `kind` rendered from
    /// `template` is rendered under.
    pub fn guards_of(&self, template: &str, kind: &str) -> Vec<ValuesKey> {
        self.document(template, kind)
            .map(|d| d.around.iter().map(|k| self.key(k)).collect())
            .unwrap_or_default()
    }

    /// Every key the object's template reads where it decides something
    /// that matters.
    pub fn reads_of(&self, template: &str, kind: &str) -> Vec<ValuesKey> {
        self.document(template, kind)
            .map(|d| d.keys.iter().map(|k| self.key(k)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_shown_with_their_values_file_from_the_chart_on() {
        let key = ValuesKey {
            key: "redis.networkPolicy.enabled".into(),
            file: Some("charts/stack/charts/redis/values.yaml".into()),
            line: Some(4),
        };
        assert_eq!(
            key.located_in("charts/stack/"),
            "redis.networkPolicy.enabled (charts/redis/values.yaml:4)"
        );
        let key = ValuesKey {
            key: "hostNetwork".into(),
            file: Some("/x/stack/values.yaml".into()),
            line: Some(2),
        };
        assert_eq!(key.located_in("/x/stack"), "hostNetwork (values.yaml:2)");
        assert_eq!(key.located_in("/elsewhere"), "hostNetwork (/x/stack/values.yaml:2)");
    }

    #[test]
    fn an_object_is_guarded_by_its_own_document() {
        let mut space = ValuesSpace::default();
        space.templates.insert(
            "c/templates/x.yaml".into(),
            vec![
                DocumentGuards {
                    kind: Some("Deployment".into()),
                    around: BTreeSet::new(),
                    keys: BTreeSet::from(["tls.enabled".to_string()]),
                },
                DocumentGuards {
                    kind: Some("Service".into()),
                    around: BTreeSet::from(["metrics.enabled".to_string()]),
                    keys: BTreeSet::from(["metrics.enabled".to_string(), "metrics.port".to_string()]),
                },
            ],
        );
        let keys: Vec<String> = space
            .guards_of("c/templates/x.yaml", "Service")
            .into_iter()
            .map(|k| k.key)
            .collect();
        assert_eq!(keys, ["metrics.enabled"]);
        assert!(space.guards_of("c/templates/x.yaml", "Deployment").is_empty());
        let reads: Vec<String> = space
            .reads_of("c/templates/x.yaml", "Service")
            .into_iter()
            .map(|k| k.key)
            .collect();
        assert_eq!(reads, ["metrics.enabled", "metrics.port"]);
    }
}
