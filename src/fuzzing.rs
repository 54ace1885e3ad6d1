//! What the fuzz targets (`fuzz/`, `cargo +nightly fuzz run TARGET`) feed
//! their bytes to, one function per target. Each must return normally on
//! any input: an error is fine, a panic is a bug. `tests/fuzz_seeds.rs`
//! replays the seed corpus in `fuzz/seeds/` through the same functions, so
//! CI keeps every input a fuzzer ever broke us with (no fuzzing in CI).

use crate::model::{Detail, Input, Manifests};

/// What a target does with its bytes.
pub type Target = fn(&[u8]);

/// Every target, by name (the directory of its seeds).
pub const TARGETS: &[(&str, Target)] = &[
    ("manifests", manifests),
    ("yaml_differential", yaml_differential),
    ("procnet", procnet),
    ("selectors", selectors),
    ("durations_and_sizes", durations_and_sizes),
    ("config", config),
    ("report_reader", report_reader),
    ("ignore_annotation", ignore_annotation),
    ("post_render", post_render),
];

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// The manifest loader and every check, as `lint --manifests -` runs them.
pub fn manifests(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let input = Input::new("fuzz.yaml", "fuzz", "default", text.to_string());
    let Ok(loaded) = Manifests::load(vec![input], Detail::WithConfiguration) else {
        return;
    };
    let config = crate::engine::config::Config::default();
    let audit = crate::engine::run(&loaded, &config, None);
    let _ = crate::report::compact::render(&audit);
}

/// The YAML fast path against libyaml-safer: whenever the fast path
/// answers, it must be libyaml-safer's tree (and the same keys written
/// twice); it must never accept what libyaml-safer refuses.
pub fn yaml_differential(data: &[u8]) {
    let Some(text) = text(data) else { return };
    crate::yaml::check_fast_path_agrees(text, 1);
}

/// The `/proc/net/{tcp,udp}{,6}` parser.
pub fn procnet(data: &[u8]) {
    let Some(text) = text(data) else { return };
    for (protocol, v6) in [
        (crate::model::runtime::Protocol::Tcp, false),
        (crate::model::runtime::Protocol::Udp, true),
    ] {
        let _ = crate::probe::procnet::parse(text, protocol, v6);
    }
}

/// Kubernetes label selectors (as YAML) and Calico selector expressions.
pub fn selectors(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = crate::model::policy::calico_selector::Expr::parse(text);
    if let Ok(nodes) = crate::yaml::parse_documents(text, 1) {
        for node in &nodes {
            if let Ok(selector) = crate::model::Selector::parse_label_selector(node) {
                let labels = crate::model::selector::labels_of(node);
                let _ = selector.matches(&labels);
                check_selector(&selector);
            }
        }
    }
}

/// Oracles for `Selector::matches`, built apart from it: a selector matches
/// the empty map exactly when it requires no label to be there, and it
/// matches a witness built requirement by requirement whenever its
/// requirements can hold together.
fn check_selector(selector: &crate::model::Selector) {
    use crate::model::selector::{Labels, Operator};
    let requires_a_label = !selector.match_labels.is_empty()
        || selector
            .expressions
            .iter()
            .any(|r| matches!(r.operator, Operator::In | Operator::Exists));
    assert_eq!(
        selector.matches(&Labels::new()),
        !requires_a_label,
        "the empty map against {selector:?}"
    );
    if let Some(witness) = witness(selector) {
        assert!(selector.matches(&witness), "{witness:?} against {selector:?}");
    }
}

/// Labels that meet every requirement of `selector`, or `None` when no
/// labels can: per key, the values `matchLabels` and every `In` allow,
/// minus every `NotIn`; a value none of them names for `Exists`.
fn witness(selector: &crate::model::Selector) -> Option<crate::model::selector::Labels> {
    use crate::model::selector::{Labels, Operator};
    use std::collections::BTreeSet;
    let keys: BTreeSet<&String> = selector
        .match_labels
        .keys()
        .chain(selector.expressions.iter().map(|r| &r.key))
        .collect();
    let mut labels = Labels::new();
    for key in keys {
        let on_key = || selector.expressions.iter().filter(move |r| &r.key == key);
        let excluded: BTreeSet<&String> = on_key()
            .filter(|r| r.operator == Operator::NotIn)
            .flat_map(|r| &r.values)
            .collect();
        let mut allowed: Option<BTreeSet<&String>> = selector.match_labels.get(key).map(|v| BTreeSet::from([v]));
        for requirement in on_key().filter(|r| r.operator == Operator::In) {
            let values: BTreeSet<&String> = requirement.values.iter().collect();
            allowed = Some(match allowed {
                Some(allowed) => allowed.intersection(&values).copied().collect(),
                None => values,
            });
        }
        let must_exist = allowed.is_some() || on_key().any(|r| r.operator == Operator::Exists);
        let must_not = on_key().any(|r| r.operator == Operator::DoesNotExist);
        match (must_exist, must_not) {
            (true, true) => return None,
            (false, _) => continue,
            (true, false) => {}
        }
        let value = match allowed {
            Some(allowed) => (*allowed.iter().find(|v| !excluded.contains(*v))?).clone(),
            // Longer than any value named: named by none.
            None => "v".repeat(excluded.iter().map(|v| v.len()).max().unwrap_or(0) + 1),
        };
        labels.insert(key.clone(), value);
    }
    Some(labels)
}

/// `--timeout`-style durations and `--max-input-size`-style sizes.
pub fn durations_and_sizes(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = crate::cli::parse_duration(text);
    let _ = crate::cli::parse_size(text);
}

/// `.netaudit.yaml`.
pub fn config(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = crate::engine::config::Config::parse(text, "fuzz/.netaudit.yaml");
}

/// A JSON report read back by `fix --from-report`.
pub fn report_reader(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = crate::fix::read_report_text(text);
}

/// The `netaudit.io/ignore` annotation.
pub fn ignore_annotation(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = crate::engine::waivers::parse_annotation(text);
}

/// `post-render`: manifests on stdin, patched manifests and policies out.
pub fn post_render(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut input = Input::new("<stdin>", "fuzz", "default", text.to_string());
    input.rendered_by_helm = true;
    let Ok(loaded) = Manifests::load(vec![input], Detail::WithConfiguration) else {
        return;
    };
    let config = crate::engine::config::Config::default();
    let options = crate::fix::policy::PolicyOptions::default();
    let outcome = crate::fix::plan::plan(&loaded, &config, &[], &options);
    let _ = crate::fix::post_render::post_render(&loaded.inputs[0].text, &outcome);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Selector;

    fn selector(yaml: &str) -> Selector {
        let nodes = crate::yaml::parse_documents(yaml, 1).unwrap();
        Selector::parse_label_selector(&nodes[0]).unwrap()
    }

    #[test]
    fn witnesses_meet_every_requirement_or_there_is_none() {
        let labels = |yaml: &str| witness(&selector(yaml)).map(|w| format!("{w:?}"));
        assert_eq!(
            labels("{matchLabels: {a: x}, matchExpressions: [{key: a, operator: In, values: [y, x]}]}"),
            Some(r#"{"a": "x"}"#.into())
        );
        assert_eq!(
            labels("{matchExpressions: [{key: b, operator: Exists}, {key: b, operator: NotIn, values: [v, vv]}]}"),
            Some(r#"{"b": "vvv"}"#.into())
        );
        assert_eq!(
            labels("{matchLabels: {a: x}, matchExpressions: [{key: a, operator: NotIn, values: [x]}]}"),
            None
        );
        assert_eq!(
            labels("{matchExpressions: [{key: a, operator: Exists}, {key: a, operator: DoesNotExist}]}"),
            None
        );
        assert_eq!(
            labels("{matchExpressions: [{key: a, operator: DoesNotExist}]}"),
            Some("{}".into())
        );
        // And the oracle holds for each.
        for yaml in [
            "{matchLabels: {a: x}, matchExpressions: [{key: b, operator: NotIn, values: [y]}]}",
            "{matchExpressions: [{key: a, operator: In, values: [p, q]}, {key: a, operator: In, values: [q]}]}",
        ] {
            check_selector(&selector(yaml));
        }
    }
}
