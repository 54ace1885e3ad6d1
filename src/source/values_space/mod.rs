//! `--explore-values`: the values a chart offers that change what the
//! checks see, found in the chart itself, and the chart rendered with each.
//!
//! A key is worth a render when the chart's values (`values.yaml`, or
//! `values.schema.json`) give it as a boolean or an enum, and a template
//! reads it where it decides something that matters to the checks: the
//! condition of a block that renders a Service, ports, a NetworkPolicy,
//! `hostNetwork`, labels and selectors, an Ingress or a monitor
//! (`templates.rs`), or a line that writes one. Each such key is flipped
//! alone, then in pairs with the keys that guard the same block, up to
//! `--max-renders`. The chart's subcharts are read too (directories or
//! archives, `chart_files.rs`), their keys under the subchart's alias.

mod chart_files;
mod templates;

use super::helm::{Helm, HelmError, RenderRequest};
use crate::model::{Input, Setting, ValuesKey, ValuesSpace, Variant};
use crate::yaml::{parse_documents, Node};
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use templates::{read_template, Helpers, TemplateReading};

/// What a key's default is, and the values it can be flipped to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Offered {
    key: ValuesKey,
    default: String,
    /// The other values: `false` for a `true`, an enum's other members.
    flips: Vec<(String, bool)>,
}

/// Find what is worth rendering in the chart `request` names (a chart
/// directory), with the user's own values counted as the defaults.
/// Problems with the chart's schema are warnings: the exploration goes on
/// without it.
pub fn explore(request: &RenderRequest, max_renders: usize) -> Result<(ValuesSpace, Vec<String>)> {
    require_chart_directory(request)?;
    let dir = Path::new(&request.chart);
    let mut warnings = Vec::new();
    let parts = chart_files::parts(dir)?;

    // Values: a subchart's defaults first, the parent's (which override
    // them) last.
    let mut offered: BTreeMap<String, Offered> = BTreeMap::new();
    let mut keys: BTreeMap<String, ValuesKey> = BTreeMap::new();
    let mut scalars: BTreeMap<String, String> = BTreeMap::new();
    for part in parts.iter().rev() {
        let file = part.files.shown("values.yaml");
        if let Some(text) = part.files.get("values.yaml") {
            match parse_documents(text, 1) {
                Ok(documents) => {
                    for document in &documents {
                        let mut found = Found {
                            keys: &mut keys,
                            scalars: &mut scalars,
                            offered: &mut offered,
                        };
                        read_values(document, &part.key_prefix, &file, true, &mut found);
                    }
                }
                // helm fails on it too: the defaults' render says so.
                Err(e) => warnings.push(format!(
                    "{file}:{}: not valid YAML ({}); its keys are not explored",
                    e.line, e.message
                )),
            }
        }
        if let Some(text) = part.files.get("values.schema.json") {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(schema) => read_schema(&schema, &part.key_prefix, &keys, &scalars, &mut offered),
                Err(e) => warnings.push(format!(
                    "{}: not JSON ({e}); its booleans and enums are not explored",
                    part.files.shown("values.schema.json")
                )),
            }
        }
    }
    apply_user_values(request, &mut offered);

    // Templates: helpers are global to a chart and its subcharts.
    let texts: Vec<(&chart_files::Part, &str, &str)> = parts
        .iter()
        .flat_map(|part| {
            part.files
                .files
                .iter()
                .filter_map(move |(path, text)| Some((part, path.strip_prefix("templates/")?, text.as_str())))
        })
        .collect();
    let mut helpers = Helpers::default();
    for (_, _, text) in &texts {
        helpers.add(text);
    }
    let mut space = ValuesSpace {
        chart: request.chart.clone(),
        ..ValuesSpace::default()
    };
    let mut deciding: BTreeSet<String> = BTreeSet::new();
    let mut together: BTreeSet<Vec<String>> = BTreeSet::new();
    for (part, relative, text) in &texts {
        if !(relative.ends_with(".yaml") || relative.ends_with(".yml") || relative.ends_with(".tpl")) {
            continue;
        }
        let reading: TemplateReading = read_template(text, &helpers);
        let scoped = |key: &String| scoped_key(&part.key_prefix, key);
        deciding.extend(reading.deciding.iter().map(scoped));
        together.extend(reading.together.iter().map(|keys| keys.iter().map(scoped).collect()));
        if relative.ends_with(".tpl") {
            continue;
        }
        let documents = reading
            .documents
            .into_iter()
            .map(|mut d| {
                d.keys = d.keys.iter().map(scoped).collect();
                d.around = d.around.iter().map(scoped).collect();
                d
            })
            .collect();
        space
            .templates
            .insert(format!("{}{relative}", part.source_prefix), documents);
    }

    // The candidates in the values files' order, parent first.
    let parent_values = parts.first().map(|p| p.files.shown("values.yaml"));
    let mut candidates: Vec<&Offered> = offered.values().filter(|o| deciding.contains(&o.key.key)).collect();
    candidates.sort_by_key(|o| {
        (
            o.key.file != parent_values,
            o.key.file.clone(),
            o.key.line,
            o.key.key.clone(),
        )
    });
    let setting = |o: &Offered, (value, string): &(String, bool)| Setting {
        key: o.key.clone(),
        value: value.clone(),
        default: o.default.clone(),
        string: *string,
    };
    let mut variants: Vec<Variant> = candidates
        .iter()
        .flat_map(|o| {
            o.flips.iter().map(|flip| Variant {
                settings: vec![setting(o, flip)],
            })
        })
        .collect();
    for keys in &together {
        let members: Vec<&&Offered> = candidates.iter().filter(|o| keys.contains(&o.key.key)).collect();
        for (i, a) in members.iter().enumerate() {
            for b in &members[i + 1..] {
                let (Some(fa), Some(fb)) = (a.flips.first(), b.flips.first()) else {
                    continue;
                };
                let pair = Variant {
                    settings: vec![setting(a, fa), setting(b, fb)],
                };
                if !variants.contains(&pair) {
                    variants.push(pair);
                }
            }
        }
    }
    space.left_out = variants.len().saturating_sub(max_renders);
    variants.truncate(max_renders);
    space.variants = variants;
    space.keys = keys;
    Ok((space, warnings))
}

/// Only a chart on disk has templates to read.
pub fn require_chart_directory(request: &RenderRequest) -> Result<()> {
    if !Path::new(&request.chart).is_dir() {
        bail!(
            "--explore-values reads the chart's templates and values: `{}` is not a chart directory \
             (unpack a chart with `helm pull --untar`)",
            request.chart
        );
    }
    Ok(())
}

/// A subchart template's `.Values.x` is its parent's `sub.x`; `global.` is
/// the same key everywhere.
fn scoped_key(prefix: &str, key: &String) -> String {
    if prefix.is_empty() || key.starts_with("global.") {
        key.clone()
    } else {
        format!("{prefix}{key}")
    }
}

/// What the values files hold: every key with its line, the scalars'
/// texts, and the booleans (each a key worth flipping, if a template
/// decides something with it).
struct Found<'a> {
    keys: &'a mut BTreeMap<String, ValuesKey>,
    scalars: &'a mut BTreeMap<String, String>,
    offered: &'a mut BTreeMap<String, Offered>,
}

fn read_values(node: &Node, prefix: &str, file: &str, top: bool, found: &mut Found<'_>) {
    for (key, value) in node.entries() {
        // Helm hands a subchart's `global` to every chart: one key.
        let path = match top && key.text == "global" {
            true => "global".to_string(),
            false => format!("{prefix}{}", key.text),
        };
        let located = ValuesKey {
            key: path.clone(),
            file: Some(file.to_string()),
            line: Some(key.line),
        };
        found.keys.insert(path.clone(), located.clone());
        if let Some(text) = value.scalar_text() {
            found.scalars.insert(path.clone(), text.to_string());
        }
        if let Some(default) = value.as_bool() {
            found.offered.insert(
                path.clone(),
                Offered {
                    key: located,
                    default: default.to_string(),
                    flips: vec![((!default).to_string(), false)],
                },
            );
        } else if value.is_map() {
            read_values(value, &format!("{path}."), file, false, found);
        }
    }
}

/// Booleans and enums of a values schema (`properties`, nested).
fn read_schema(
    schema: &serde_json::Value,
    prefix: &str,
    keys: &BTreeMap<String, ValuesKey>,
    scalars: &BTreeMap<String, String>,
    offered: &mut BTreeMap<String, Offered>,
) {
    let Some(properties) = schema.get("properties").and_then(|p| p.as_object()) else {
        return;
    };
    for (name, property) in properties {
        let path = format!("{prefix}{name}");
        let key = keys.get(&path).cloned().unwrap_or(ValuesKey {
            key: path.clone(),
            file: None,
            line: None,
        });
        let default = scalars.get(&path).cloned().or_else(|| {
            property.get("default").map(|d| match d {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        });
        if let Some(members) = property.get("enum").and_then(|e| e.as_array()) {
            let default = default.or_else(|| members.first().map(json_text)).unwrap_or_default();
            let flips = members
                .iter()
                .filter(|m| json_text(m) != default)
                .map(|m| (json_text(m), m.is_string()))
                .collect();
            offered.insert(path.clone(), Offered { key, default, flips });
        } else if property.get("type").and_then(|t| t.as_str()) == Some("boolean") && !offered.contains_key(&path) {
            let default = default.unwrap_or_else(|| "false".into());
            let flip = if default == "true" { "false" } else { "true" };
            offered.insert(
                path.clone(),
                Offered {
                    key,
                    default,
                    flips: vec![(flip.to_string(), false)],
                },
            );
        }
        read_schema(property, &format!("{path}."), keys, scalars, offered);
    }
}

fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The user's `-f` files and `--set key=value` are the defaults the
/// variants move away from: a flip to what the user already set is none.
fn apply_user_values(request: &RenderRequest, offered: &mut BTreeMap<String, Offered>) {
    let mut set: BTreeMap<String, String> = BTreeMap::new();
    for file in &request.values {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for document in parse_documents(&text, 1).unwrap_or_default() {
            for path in offered.keys() {
                let parts: Vec<&str> = path.split('.').collect();
                if let Some(text) = document.path(&parts).and_then(Node::scalar_text) {
                    set.insert(path.clone(), text.to_string());
                }
            }
        }
    }
    for pair in request.set.iter().chain(&request.set_string).flat_map(|s| s.split(',')) {
        if let Some((key, value)) = pair.split_once('=') {
            set.insert(key.trim().to_string(), value.trim().to_string());
        }
    }
    for (key, value) in set {
        if let Some(o) = offered.get_mut(&key) {
            o.flips.retain(|(flip, _)| *flip != value);
            if o.default != value {
                // The user's value is the starting point: flipping back
                // to the chart's default is a variant of its own.
                if !o.flips.iter().any(|(f, _)| *f == o.default) {
                    o.flips.push((o.default.clone(), false));
                }
                o.default = value;
            }
        }
    }
}

/// Why a variant has no report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRendered {
    /// helm refused it (a `required` or `fail` in the chart): helm's reason.
    Failed(String),
    /// Killed at the per-render timeout.
    TimedOut(u64),
}

impl std::fmt::Display for NotRendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotRendered::Failed(reason) => f.write_str(reason),
            NotRendered::TimedOut(seconds) => write!(f, "stopped after {seconds} s (--render-timeout)"),
        }
    }
}

/// Render every variant of `space` (with the user's other flags of
/// `request`), `jobs` at a time, each within `timeout`.
pub fn render_variants(
    request: &RenderRequest,
    space: &ValuesSpace,
    jobs: usize,
    timeout: std::time::Duration,
    each_done: impl FnMut(usize),
) -> Result<Vec<Result<Input, NotRendered>>> {
    let helm = Helm::locate()?;
    let rendered = crate::model::parallel::map_in_order_counted(
        &space.variants,
        jobs,
        |_, variant| {
            let mut variant_request = request.clone();
            variant_request.timeout = Some(timeout);
            for s in &variant.settings {
                let flag = format!("{}={}", s.key.key, s.value);
                match s.string {
                    true => variant_request.set_string.push(flag),
                    false => variant_request.set.push(flag),
                }
            }
            super::render_chart(&helm, &variant_request)
        },
        each_done,
    );
    super::interrupt::check()?;
    Ok(rendered
        .into_iter()
        .map(|result| {
            result.map_err(|e| match e.downcast_ref::<HelmError>() {
                Some(HelmError::RenderTimedOut { seconds, .. }) => NotRendered::TimedOut(*seconds),
                // helm's advice is for its own command line, not ours.
                Some(HelmError::Render { stderr, .. }) => NotRendered::Failed(
                    stderr
                        .trim_end_matches("; Use --debug flag to render out invalid YAML")
                        .to_string(),
                ),
                _ => NotRendered::Failed(format!("{e:#}")),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn described(space: &ValuesSpace) -> Vec<String> {
        space.variants.iter().map(Variant::describe).collect()
    }

    #[test]
    fn booleans_that_decide_what_matters_are_flipped_alone_then_in_pairs() {
        let dir = chart(&[
            ("Chart.yaml", "name: demo\n"),
            (
                "values.yaml",
                "hostNetwork: false\ndebug: false\nmetrics:\n  enabled: false\n  serviceMonitor:\n    enabled: false\n",
            ),
            (
                "templates/deploy.yaml",
                "kind: Deployment\nspec:\n  hostNetwork: {{ .Values.hostNetwork }}\n  {{- if .Values.debug }}\n  env: []\n  {{- end }}\n",
            ),
            (
                "templates/sm.yaml",
                "{{- if .Values.metrics.enabled }}\n{{- if .Values.metrics.serviceMonitor.enabled }}\nkind: ServiceMonitor\n{{- end }}\n{{- end }}\n",
            ),
        ]);
        let request = RenderRequest {
            chart: dir.path().display().to_string(),
            ..Default::default()
        };
        let (space, warnings) = explore(&request, 64).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(
            described(&space),
            [
                "hostNetwork=true",
                "metrics.enabled=true",
                "metrics.serviceMonitor.enabled=true",
                "metrics.enabled=true, metrics.serviceMonitor.enabled=true"
            ]
        );
        assert_eq!(space.variants[0].settings[0].key.line, Some(1));
        assert_eq!(
            space.guards_of("demo/templates/sm.yaml", "ServiceMonitor").len(),
            2,
            "both conditions guard the monitor"
        );
        let (capped, _) = explore(&request, 2).unwrap();
        assert_eq!((capped.variants.len(), capped.left_out), (2, 2));
    }

    #[test]
    fn schema_enums_and_the_users_values_set_the_starting_point() {
        let dir = chart(&[
            ("Chart.yaml", "name: demo\n"),
            (
                "values.yaml",
                "service:\n  type: ClusterIP\nnetworkPolicy:\n  enabled: false\n",
            ),
            (
                "values.schema.json",
                r#"{"properties": {"service": {"properties": {"type": {"enum": ["ClusterIP", "NodePort"]}}}}}"#,
            ),
            (
                "templates/svc.yaml",
                "kind: Service\nspec:\n  {{- if eq .Values.service.type \"NodePort\" }}\n  ports: []\n  {{- end }}\n\
                 ---\n{{- if .Values.networkPolicy.enabled }}\nkind: NetworkPolicy\n{{- end }}\n",
            ),
        ]);
        let mut request = RenderRequest {
            chart: dir.path().display().to_string(),
            ..Default::default()
        };
        let (space, _) = explore(&request, 64).unwrap();
        assert_eq!(
            described(&space),
            ["service.type=NodePort", "networkPolicy.enabled=true"]
        );
        assert!(space.variants[0].settings[0].string, "an enum's text is --set-string");
        request.set = vec!["networkPolicy.enabled=true".into()];
        let (space, _) = explore(&request, 64).unwrap();
        assert_eq!(
            described(&space),
            ["service.type=NodePort", "networkPolicy.enabled=false"]
        );
    }

    #[test]
    fn subchart_keys_are_under_their_alias_and_a_broken_schema_is_a_warning() {
        let dir = chart(&[
            (
                "Chart.yaml",
                "name: stack\ndependencies: [{name: cache, alias: redis}]\n",
            ),
            ("values.yaml", "redis:\n  networkPolicy:\n    enabled: true\n"),
            ("values.schema.json", "{not json"),
            ("charts/cache/Chart.yaml", "name: cache\n"),
            ("charts/cache/values.yaml", "networkPolicy:\n  enabled: false\n"),
            (
                "charts/cache/templates/np.yaml",
                "{{- if .Values.networkPolicy.enabled }}\nkind: NetworkPolicy\n{{- end }}\n",
            ),
        ]);
        let request = RenderRequest {
            chart: dir.path().display().to_string(),
            ..Default::default()
        };
        let (space, warnings) = explore(&request, 64).unwrap();
        assert_eq!(
            described(&space),
            ["redis.networkPolicy.enabled=false"],
            "the parent's true is the default"
        );
        assert_eq!(space.variants[0].settings[0].key.line, Some(3), "the parent's line");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("values.schema.json: not JSON"), "{warnings:?}");
        let guards: Vec<String> = space
            .guards_of("stack/charts/redis/templates/np.yaml", "NetworkPolicy")
            .into_iter()
            .map(|k| k.key)
            .collect();
        assert_eq!(
            guards,
            ["redis.networkPolicy.enabled"],
            "the subchart's key, under its alias"
        );
    }

    #[test]
    fn only_chart_directories_are_explored() {
        let request = RenderRequest {
            chart: "bitnami/redis".into(),
            ..Default::default()
        };
        let error = explore(&request, 64).unwrap_err().to_string();
        assert!(error.contains("is not a chart directory"), "{error}");
    }
}
