//! Reading a chart's values for the M6 hint: which values key ships a
//! NetworkPolicy switched off (`networkPolicy.enabled: false`).

use crate::model::ValuesToggle;
use crate::yaml::{parse_documents, Node};

/// Values keys `<...>.networkPolicy*.enabled` set to false in a values file.
/// The match on the parent key is case-insensitive (`networkPolicy`,
/// `networkpolicy`, `networkPolicies`), at any depth (subchart values too).
pub fn network_policy_toggles(values_text: &str, file: &str) -> Vec<ValuesToggle> {
    let mut found = Vec::new();
    if let Ok(docs) = parse_documents(values_text, 1) {
        for doc in &docs {
            walk(doc, &mut Vec::new(), &mut |path, node| {
                if is_toggle_path(path) && node.as_bool() == Some(false) {
                    found.push(ValuesToggle {
                        path: path.join("."),
                        file: file.to_string(),
                        line: node.line,
                        applies_to: None,
                    });
                }
            });
        }
    }
    found
}

/// Paths that a user's values file or `--set` turns on (`...enabled: true`).
pub fn enabled_toggle_paths(values_text: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(docs) = parse_documents(values_text, 1) {
        for doc in &docs {
            walk(doc, &mut Vec::new(), &mut |path, node| {
                if is_toggle_path(path) && node.as_bool() == Some(true) {
                    found.push(path.join("."));
                }
            });
        }
    }
    found
}

/// `--set a.networkPolicy.enabled=true,b=c` → the toggle paths set to true.
pub fn enabled_toggle_paths_from_set(set: &str) -> Vec<String> {
    set.split(',')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, v)| v.trim() == "true" && is_toggle_path(&k.trim().split('.').collect::<Vec<_>>()))
        .map(|(k, _)| k.trim().to_string())
        .collect()
}

fn is_toggle_path<S: AsRef<str>>(path: &[S]) -> bool {
    let n = path.len();
    n >= 2 && path[n - 1].as_ref() == "enabled" && path[n - 2].as_ref().to_ascii_lowercase().starts_with("networkpolic")
}

fn walk<'n>(node: &'n Node, path: &mut Vec<String>, visit: &mut dyn FnMut(&[String], &'n Node)) {
    for (key, value) in node.entries() {
        path.push(key.text.to_string());
        visit(path, value);
        walk(value, path, visit);
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_switched_off_policies_at_any_depth() {
        let t = network_policy_toggles(
            "networkPolicy:\n  enabled: false\nredis:\n  networkpolicy:\n    enabled: false\nother:\n  enabled: false\nnetworkPolicies: {enabled: true}\n",
            "values.yaml",
        );
        let paths: Vec<_> = t.iter().map(|t| (t.path.as_str(), t.line)).collect();
        assert_eq!(
            paths,
            [("networkPolicy.enabled", 2), ("redis.networkpolicy.enabled", 5)]
        );
    }

    #[test]
    fn set_flags_turn_toggles_on() {
        assert_eq!(
            enabled_toggle_paths_from_set("a=b,networkPolicy.enabled=true"),
            ["networkPolicy.enabled"]
        );
        assert_eq!(
            enabled_toggle_paths("networkPolicy: {enabled: true}\n"),
            ["networkPolicy.enabled"]
        );
    }
}
