//! A small block-YAML writer for JSON values (generated policies, patches,
//! patched objects), in the layout kubectl writes: sequences at their key's
//! indentation, plain scalars where they cannot be misread.
//!
//! libyaml-safer's emitter was considered: it writes valid YAML from events,
//! but the generated files interleave `#` explanations with the documents and
//! libyaml has no comment events, and its default scalar and sequence styles
//! differ from what kubectl users review. This writer is 80 lines, and a test
//! reads everything it writes back with `parse_documents`.

use serde_json::Value;

/// One value as block YAML.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    emit(value, 0, &mut out);
    out
}

/// A YAML scalar: plain when it cannot be read as anything but this string,
/// else double-quoted (JSON strings are valid YAML double-quoted scalars).
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => {
            let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
                );
            if plain {
                s.clone()
            } else {
                Value::String(s.clone()).to_string()
            }
        }
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        other => other.to_string(),
    }
}

fn is_block(value: &Value) -> bool {
    matches!(value, Value::Object(m) if !m.is_empty()) || matches!(value, Value::Array(a) if !a.is_empty())
}

/// Block YAML at `indent` spaces (sequences at their key's indentation, as kubectl writes them).
pub(crate) fn emit(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                out.push_str(&pad);
                out.push_str(&scalar(&Value::String(key.clone())));
                out.push(':');
                match v {
                    Value::Object(_) if is_block(v) => {
                        out.push('\n');
                        emit(v, indent + 2, out);
                    }
                    Value::Array(_) if is_block(v) => {
                        out.push('\n');
                        emit(v, indent, out);
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&scalar(v));
                        out.push('\n');
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                if is_block(item) {
                    let mut nested = String::new();
                    emit(item, indent + 2, &mut nested);
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&nested[indent + 2..]);
                } else {
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&scalar(item));
                    out.push('\n');
                }
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_documents;
    use serde_json::json;

    #[test]
    fn what_is_written_reads_back_the_same() {
        let value = json!({
            "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web", "on": "yes", "n": "8080"}},
            "spec": {"ports": [{"port": 80, "protocol": "TCP"}, {"port": "http"}], "empty": {}, "none": [], "flag": true,
                     "text": "a: b # c", "nested": [[1, 2], {"k": null}]}
        });
        let text = to_yaml(&value);
        let read = parse_documents(&text, 1).unwrap();
        assert_eq!(read[0].to_json(), value, "{text}");
        assert!(text.contains("  ports:\n  - port: 80\n"), "{text}");
    }
}
