//! A small YAML tree that remembers where every node came from.
//!
//! Why not serde_yaml: findings must point at the line of the offending field
//! (a Service's `selector:`, a pod's `hostNetwork:`), so every node keeps its
//! line. The tree is built from the events of libyaml-safer, a safe port of
//! libyaml: it reads YAML the way the wider Kubernetes tooling does (a
//! stricter YAML 1.2 parser rejected real charts that helm and kubectl accept,
//! e.g. quoted scalars whose continuation lines start at column 0).
//!
//! Two readers build the tree (`node.rs`): `fast.rs` straight from the text
//! for what helm renders, `libyaml.rs` from libyaml-safer's events for
//! everything else. `writer.rs` writes JSON values as block YAML. Nothing
//! here knows Kubernetes: the model reads its objects from these trees.

mod fast;
mod libyaml;
mod node;
pub mod writer;

pub use node::{DuplicateKey, Key, Node, SyntaxError, Value, MAX_DEPTH, MAX_NODES_PER_DOCUMENT};

/// Parse the YAML documents of `text`, whose first line is line `first_line`
/// of the input.
pub fn parse_documents(text: &str, first_line: u32) -> Result<Vec<Node>, SyntaxError> {
    parse_documents_with_duplicates(text, first_line).map(|(docs, _)| docs)
}

/// [`parse_documents`], and the keys written twice in a mapping.
pub fn parse_documents_with_duplicates(
    text: &str,
    first_line: u32,
) -> Result<(Vec<Node>, Vec<DuplicateKey>), SyntaxError> {
    if let Ok(parsed) = fast::parse(text, first_line) {
        return Ok(parsed);
    }
    libyaml::parse(text, first_line)
}

/// Panics when the fast path reads `text`, whose first line is line
/// `first_line` of the input, otherwise than libyaml-safer (the differential
/// fuzz target, `fuzz/`, and the corpus test of `model::documents`); returns
/// whether it answered.
pub fn check_fast_path_agrees(text: &str, first_line: u32) -> bool {
    fast::agrees(text, first_line)
}

/// Scan `text` for syntax errors without building a tree (used for documents
/// no check looks at, so a broken ConfigMap is still an error, cheaply).
pub fn validate_syntax(text: &str, first_line: u32) -> Result<(), SyntaxError> {
    if fast::parse(text, first_line).is_ok() {
        return Ok(());
    }
    libyaml::validate(text, first_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_lines_and_types() {
        let docs = parse_documents("a: 1\nb:\n  c: \"2\"\n  d: true\n", 10).unwrap();
        let root = &docs[0];
        assert_eq!(root.get("a").unwrap().as_i64(), Some(1));
        assert_eq!(root.path(&["b", "c"]).unwrap().as_i64(), None);
        assert_eq!(root.path(&["b", "c"]).unwrap().as_str(), Some("2"));
        assert_eq!(root.path(&["b", "d"]).unwrap().as_bool(), Some(true));
        assert_eq!(root.path(&["b", "d"]).unwrap().line, 13);
        assert_eq!(root.key_line("b"), Some(11));
    }

    #[test]
    fn syntax_error_has_input_line() {
        let err = parse_documents("a: 1\nb: [1, 2\n", 5).unwrap_err();
        assert!(err.line >= 6, "{err:?}");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for name in 'b'..='k' {
            text.push_str(&format!("{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
            prev = name;
        }
        let err = parse_documents(&text, 1).unwrap_err();
        assert!(err.message.contains("alias"), "{err:?}");
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let mut text = String::from("a:\n");
        for i in 1..5000 {
            text.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        let err = parse_documents(&text, 1).unwrap_err();
        assert!(err.message.contains("nesting deeper"), "{err:?}");
        assert!(validate_syntax(&text, 1)
            .unwrap_err()
            .message
            .contains("nesting deeper"));
    }

    #[test]
    fn any_truncation_is_an_error_or_a_tree_never_a_panic() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a # c\n  labels: {app: \"x\", 'y': [1, 2]}\ndata:\n  script: |\n    echo hi\n  folded: >-\n    a\n    b\n  anchors: &a {k: v}\n  alias: *a\n  quoted: 'it''s'\n  dq: \"a\\tb\"\n";
        for end in 0..=text.len() {
            if text.is_char_boundary(end) {
                let _ = parse_documents(&text[..end], 1);
                let _ = validate_syntax(&text[..end], 1);
            }
        }
        assert!(parse_documents("a: |\n  x", 1).is_ok());
        assert!(parse_documents("a: >\n  x", 1).is_ok());
    }

    #[test]
    fn converts_to_json_with_yaml_types() {
        let docs = parse_documents("a: 1\nb: \"1\"\nc: true\nd: [x, 1.5, null]\ne: {f: 'no'}\n", 1).unwrap();
        assert_eq!(
            docs[0].to_json(),
            serde_json::json!({"a": 1, "b": "1", "c": true, "d": ["x", 1.5, null], "e": {"f": "no"}})
        );
    }

    #[test]
    fn a_key_written_twice_is_reported_and_the_last_counts() {
        // The fast path reads the first text; the anchor sends the second
        // to libyaml-safer.
        for text in ["a: 1\nb: {x: 1}\na: 2\n", "a: &n 1\nb: {x: 1}\na: 2\n"] {
            let (docs, twice) = parse_documents_with_duplicates(text, 10).unwrap();
            assert_eq!(docs[0].get("a").unwrap().as_i64(), Some(2), "{text}");
            assert_eq!(docs[0].key_line("a"), Some(12), "{text}");
            let expected = DuplicateKey {
                key: "a".into(),
                first_line: 10,
                line: 12,
            };
            assert_eq!(twice, [expected], "{text}");
        }
    }

    #[test]
    fn aliases_expand() {
        let docs = parse_documents("x: &l {app: web}\ny: *l\n", 1).unwrap();
        assert_eq!(docs[0].path(&["y", "app"]).unwrap().as_str(), Some("web"));
    }
}
