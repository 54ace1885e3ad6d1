//! Values that must never be shown: a Secret's `data` and `stringData`,
//! values under keys that look secret (`password`, `token`, `apiKey`, …)
//! and env values whose variable's name looks secret. Reports quote
//! rendered YAML in their snippets; these values become `<redacted>` there.

use super::object::Object;
use crate::yaml::{Node, Value};
use std::borrow::Cow;

/// Key names whose values are credentials, lowercased, as substrings.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "privatekey",
    "private_key",
    "private-key",
    "accesskey",
    "access_key",
    "credential",
];

/// Whether a key or variable name looks like it holds a credential.
pub fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// A value to hide: the line of the value and the key it is written
/// under (`value` for an env entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretValue {
    pub line: u32,
    pub key: String,
    /// The value itself (a Secret's `data` decoded), for [`redact_text`].
    pub text: String,
}

/// The values of `objects` that must not be shown.
pub fn secret_values<'o>(objects: impl IntoIterator<Item = &'o Object>) -> Vec<SecretValue> {
    let mut out = Vec::new();
    for object in objects {
        if object.kind == "Secret" {
            for field in ["data", "stringData"] {
                for (key, value) in object.root.get(field).map(Node::entries).unwrap_or_default() {
                    push_scalar(value, &key.text, &mut out);
                    // What a container sees (and may log) is `data` decoded.
                    if let (Some(last), "data") = (out.last_mut(), field) {
                        if let Some(decoded) = super::config_objects::base64_decode(&last.text) {
                            last.text = decoded;
                        }
                    }
                }
            }
        }
        walk(&object.root, &mut out);
    }
    out
}

fn push_scalar(value: &Node, key: &str, out: &mut Vec<SecretValue>) {
    if let Value::Scalar { text, .. } = &value.value {
        out.push(SecretValue {
            line: value.line,
            key: key.to_string(),
            text: text.to_string(),
        });
    }
}

/// Values shorter than this are not looked for in free text: `true` or
/// `8080` under a secret-looking key would blank half of every log line.
const MIN_REDACTED_LEN: usize = 6;

/// Free text (a container's log lines, an error) with every occurrence of
/// `values` (each line of a multi-line one, on its own) replaced by
/// `<redacted>`.
pub fn redact_text<'t>(text: &'t str, values: &[SecretValue]) -> Cow<'t, str> {
    let mut needles: Vec<&str> = values
        .iter()
        .flat_map(|value| value.text.lines())
        .map(str::trim)
        .filter(|line| line.len() >= MIN_REDACTED_LEN)
        .collect();
    // The longest first: a value that contains another goes whole.
    needles.sort_unstable_by_key(|needle| std::cmp::Reverse(needle.len()));
    needles.dedup();
    let mut text = Cow::Borrowed(text);
    for needle in needles {
        if text.contains(needle) {
            text = Cow::Owned(text.replace(needle, "<redacted>"));
        }
    }
    text
}

fn walk(node: &Node, out: &mut Vec<SecretValue>) {
    match &node.value {
        Value::Map(entries) => {
            // An env entry: `{name: DB_PASSWORD, value: …}`.
            if let (Some(name), Some(value)) = (node.get("name").and_then(Node::as_str), node.get("value")) {
                if looks_secret(name) {
                    push_scalar(value, "value", out);
                }
            }
            for (key, value) in entries {
                if looks_secret(&key.text) {
                    push_scalar(value, &key.text, out);
                }
                walk(value, out);
            }
        }
        Value::Seq(items) => items.iter().for_each(|item| walk(item, out)),
        _ => {}
    }
}

/// `text` with each of `values` replaced by `<redacted>`: the rest of the
/// value's line after `key:`, and the lines a multi-line value continues
/// on (blanked, so that every other line keeps its number).
pub fn redact<'t>(text: &'t str, values: &[SecretValue]) -> Cow<'t, str> {
    if values.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    for value in values {
        let Some(index) = (value.line as usize).checked_sub(1) else {
            continue;
        };
        let Some(line) = lines.get(index).cloned() else {
            continue;
        };
        let written = [
            format!("{}:", value.key),
            format!("\"{}\":", value.key),
            format!("'{}':", value.key),
        ];
        let (key_column, value_start) = written
            .iter()
            .find_map(|k| line.find(k.as_str()).map(|at| (at, at + k.len())))
            .unwrap_or_else(|| {
                let indent = line.len() - line.trim_start_matches([' ', '-']).len();
                (indent, indent)
            });
        lines[index] = format!("{} <redacted>", line[..value_start].trim_end());
        // A block scalar or a multi-line value goes on below, more
        // indented than its key.
        for below in lines.iter_mut().skip(index + 1) {
            let indent = below.len() - below.trim_start().len();
            if !below.trim().is_empty() && indent <= key_column {
                break;
            }
            below.clear();
        }
    }
    Cow::Owned(lines.join("\n"))
}

/// [`redact_text`] on a `String` of one's own.
pub fn redact_owned(text: &mut String, values: &[SecretValue]) {
    if let Cow::Owned(redacted) = redact_text(text, values) {
        *text = redacted;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Detail, Input, Manifests};

    #[test]
    fn secret_data_env_values_and_secret_keys_are_redacted_and_lines_stay() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  plain: canary-1\n  cert: |\n    canary-2\n    canary-3\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: x\n          env:\n            - name: DB_PASSWORD\n              value: canary-4\n            - value: canary-5\n              name: API_TOKEN\n            - name: LOG_LEVEL\n              value: debug\n          apiKey: \"canary-6\"\n";
        let input = Input::new("t.yaml", "t", "default", text.to_string());
        let manifests = Manifests::load(vec![input], Detail::WithConfiguration).unwrap();
        let shown = redact(text, &secret_values(&manifests.objects));
        for canary in 1..=6 {
            assert!(
                !shown.contains(&format!("canary-{canary}")),
                "canary-{canary} shown:\n{shown}"
            );
        }
        assert!(
            shown.contains("  plain: <redacted>\n  cert: <redacted>\n\n\n---"),
            "{shown}"
        );
        assert!(shown.contains("value: debug"), "{shown}");
        assert!(
            shown.contains("            - value: <redacted>\n              name: API_TOKEN"),
            "{shown}"
        );
        assert_eq!(shown.lines().count(), text.lines().count());
    }

    #[test]
    fn free_text_loses_every_known_value_decoded_and_line_by_line() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  token: Y2FuYXJ5LWRhdGEtOTFjMg==\nstringData:\n  cert: |\n    first-line-of-cert\n    second-line-of-cert\n  port: \"5432\"\n";
        let input = Input::new("t.yaml", "t", "default", text.to_string());
        let manifests = Manifests::load(vec![input], Detail::WithConfiguration).unwrap();
        let values = secret_values(&manifests.objects);
        let log = "token canary-data-91c2 | got second-line-of-cert | listening on 5432";
        assert_eq!(
            redact_text(log, &values),
            "token <redacted> | got <redacted> | listening on 5432"
        );
        // Nothing to hide: the text is borrowed, not copied.
        assert!(matches!(redact_text("all fine", &values), Cow::Borrowed(_)));
    }
}
