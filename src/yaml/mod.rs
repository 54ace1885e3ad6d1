//! A small YAML tree that remembers where every node came from.
//!
//! Why not serde_yaml: findings must point at the line of the offending field
//! (a Service's `selector:`, a pod's `hostNetwork:`), so every node keeps its
//! line. The tree is built from the events of libyaml-safer, a safe port of
//! libyaml: it reads YAML the way the wider Kubernetes tooling does (a
//! stricter YAML 1.2 parser rejected real charts that helm and kubectl accept,
//! e.g. quoted scalars whose continuation lines start at column 0).

use compact_str::CompactString;
use libyaml_safer::{EventData, Mark, Parser, ScalarStyle};

mod fast;
pub mod writer;

/// Kubernetes objects nest a few dozen levels deep; anything deeper is
/// refused (deep nesting would otherwise exhaust the stack of whatever
/// walks the tree).
pub const MAX_DEPTH: usize = 256;

/// A hard cap on nodes per document. Alias expansion ("billion laughs") or an
/// absurd document is refused instead of exhausting memory.
pub const MAX_NODES_PER_DOCUMENT: usize = 2_000_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// A scalar and whether it was written plain (unquoted): only plain
    /// scalars can be numbers or booleans.
    Scalar {
        /// Inline up to 24 bytes: most keys and values of Kubernetes
        /// objects fit, and a cluster dump has tens of millions of them.
        text: CompactString,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub text: CompactString,
    /// 1-based line of the key in the input.
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    /// 1-based line of the node's first character in the input.
    pub line: u32,
}

impl Node {
    /// The value of `key` in this mapping. Of a key written twice, the last
    /// (what Kubernetes reads: its YAML-to-JSON conversion keeps the last).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().rev().find(|(k, _)| k.text == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Line of `key:` within this mapping (the key's own line, which for a
    /// block value is the line a reader looks at).
    pub fn key_line(&self, key: &str) -> Option<u32> {
        match &self.value {
            Value::Map(entries) => entries.iter().rev().find(|(k, _)| k.text == key).map(|(k, _)| k.line),
            _ => None,
        }
    }

    /// Follow a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A scalar as text, whatever its type (`8080` and `"8080"` both give "8080").
    pub fn scalar_text(&self) -> Option<&str> {
        self.as_str()
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Scalar { text, plain: true } => parse_int(text),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    pub fn as_seq(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    pub fn is_seq(&self) -> bool {
        matches!(self.value, Value::Seq(_))
    }

    /// The node as JSON (which every YAML reader accepts), typing plain
    /// scalars the way YAML 1.2's core schema does.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Scalar { text, plain: false } => J::String(text.to_string()),
            Value::Scalar { text, plain: true } => {
                if let Some(b) = self.as_bool() {
                    J::Bool(b)
                } else if let Some(i) = self.as_i64() {
                    J::from(i)
                } else if let Some(f) = text
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && text.chars().any(|c| c.is_ascii_digit()))
                {
                    J::from(f)
                } else {
                    J::String(text.to_string())
                }
            }
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.text.to_string(), v.to_json())).collect()),
        }
    }

    /// The last line this node's content reaches (for multi-line highlights).
    pub fn last_line(&self) -> u32 {
        match &self.value {
            Value::Seq(items) => items.last().map_or(self.line, Node::last_line),
            Value::Map(entries) => entries.last().map_or(self.line, |(_, v)| v.last_line()),
            _ => self.line,
        }
    }

    /// Number of nodes in this subtree (for the size cap).
    fn weight(&self) -> usize {
        match &self.value {
            Value::Seq(items) => 1 + items.iter().map(Node::weight).sum::<usize>(),
            Value::Map(entries) => 1 + entries.iter().map(|(_, v)| 1 + v.weight()).sum::<usize>(),
            _ => 1,
        }
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let t = text.strip_prefix('+').unwrap_or(text);
    if let Some(hex) = t.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    t.parse().ok()
}

/// A YAML syntax error with its 1-based line and column in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

/// A key written twice in one mapping: YAML readers disagree on which one
/// counts (Kubernetes takes the last), so a chart can hide a value behind
/// another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    /// The key's first line, and the line of the one that counts.
    pub first_line: u32,
    pub line: u32,
}

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
    parse_with_libyaml(text, first_line)
}

/// Panics when the fast path reads `text` otherwise than libyaml-safer
/// (the differential fuzz target, `fuzz/`); returns whether it answered.
pub fn check_fast_path_agrees(text: &str) -> bool {
    fast::agrees(text, 1)
}

/// [`parse_documents_with_duplicates`] without the fast path.
pub(super) fn parse_with_libyaml(text: &str, first_line: u32) -> Result<(Vec<Node>, Vec<DuplicateKey>), SyntaxError> {
    let mut builder = TreeBuilder::default();
    let offset = first_line.saturating_sub(1);
    drive(text, offset, &mut |data, line| builder.on_event(data, line))?;
    Ok((builder.docs, builder.duplicates))
}

/// Record each key of `entries` (one complete mapping) that an earlier
/// entry already has.
pub(super) fn find_duplicates(entries: &[(Key, Node)], out: &mut Vec<DuplicateKey>) {
    for (i, (key, _)) in entries.iter().enumerate().skip(1) {
        if let Some((first, _)) = entries[..i].iter().find(|(k, _)| k.text == key.text) {
            out.push(DuplicateKey {
                key: key.text.to_string(),
                first_line: first.line,
                line: key.line,
            });
        }
    }
}

/// Scan `text` for syntax errors without building a tree (used for documents
/// no check looks at, so a broken ConfigMap is still an error, cheaply).
pub fn validate_syntax(text: &str, first_line: u32) -> Result<(), SyntaxError> {
    if fast::parse(text, first_line).is_ok() {
        return Ok(());
    }
    drive(text, first_line.saturating_sub(1), &mut |_, _| Ok(()))
}

/// Pull events one by one, tracking the nesting depth.
fn drive(
    text: &str,
    line_offset: u32,
    on_event: &mut dyn FnMut(EventData, u32) -> Result<(), String>,
) -> Result<(), SyntaxError> {
    // libyaml-safer 0.3 panics when the input ends inside a block scalar
    // without a final newline (`a: |\n  x`): give it the newline YAML allows.
    let owned;
    let text = if text.is_empty() || text.ends_with('\n') {
        text
    } else {
        owned = format!("{text}\n");
        owned.as_str()
    };
    // And should it panic on some other input (it does on a tag followed
    // directly by `,` in a flow collection: `[!b, c]`), that is an error
    // about the input, not a crash of the tool, and nothing is printed
    // but that error.
    silence_parser_panics();
    PARSING.with(|parsing| parsing.set(true));
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pull_events(text, line_offset, on_event)
    }));
    PARSING.with(|parsing| parsing.set(false));
    parsed.unwrap_or_else(|_| {
        let tag_then_comma = text.lines().position(|line| {
            line.match_indices('!').any(|(at, _)| {
                let rest = &line[at + 1..];
                let tag = rest.find(|c: char| c.is_whitespace() || "[]{},".contains(c));
                tag.is_some_and(|end| rest[end..].starts_with(','))
            })
        });
        Err(SyntaxError {
            line: line_offset + 1 + tag_then_comma.unwrap_or(0) as u32,
            col: 1,
            message: match tag_then_comma {
                Some(_) => "a tag followed directly by `,`, which the YAML parser cannot read".into(),
                None => "the YAML parser failed on this document".into(),
            },
        })
    })
}

thread_local! {
    /// This thread is inside libyaml-safer, whose panics are caught.
    static PARSING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The default panic hook would print a caught parser panic, with its
/// backtrace, on the user's terminal: once per process, a hook that stays
/// silent while a thread parses and otherwise does what the previous did.
fn silence_parser_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !PARSING.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
}

fn pull_events(
    text: &str,
    line_offset: u32,
    on_event: &mut dyn FnMut(EventData, u32) -> Result<(), String>,
) -> Result<(), SyntaxError> {
    let at = |mark: Mark, message: String| SyntaxError {
        line: mark.line as u32 + 1 + line_offset,
        col: mark.column as u32 + 1,
        message,
    };
    let mut bytes = text.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut bytes);
    let mut depth = 0usize;
    loop {
        let event = parser.parse().map_err(|e| {
            let message = match e.context() {
                Some(context) => format!("{} {context}", e.problem()),
                None => e.problem().to_string(),
            };
            at(e.problem_mark().unwrap_or_default(), message)
        })?;
        match event.data {
            EventData::StreamEnd => return Ok(()),
            EventData::SequenceStart { .. } | EventData::MappingStart { .. } => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(at(
                        event.start_mark,
                        format!("nesting deeper than {MAX_DEPTH} levels; refusing it"),
                    ));
                }
            }
            EventData::SequenceEnd | EventData::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        let line = event.start_mark.line as u32 + 1 + line_offset;
        on_event(event.data, line).map_err(|message| at(event.start_mark, message))?;
    }
}

enum Frame {
    Seq {
        anchor: Option<String>,
        line: u32,
        items: Vec<Node>,
    },
    Map {
        anchor: Option<String>,
        line: u32,
        entries: Vec<(Key, Node)>,
        pending_key: Option<Key>,
    },
}

#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Frame>,
    docs: Vec<Node>,
    anchors: Vec<(String, Node)>,
    nodes: usize,
    duplicates: Vec<DuplicateKey>,
}

impl TreeBuilder {
    fn count(&mut self, n: usize) -> Result<(), String> {
        self.nodes += n;
        if self.nodes > MAX_NODES_PER_DOCUMENT {
            return Err(format!(
                "document has more than {MAX_NODES_PER_DOCUMENT} nodes (alias expansion?); refusing it"
            ));
        }
        Ok(())
    }

    fn push_node(&mut self, node: Node, anchor: Option<String>) {
        if let Some(anchor) = anchor {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries, pending_key, ..
            }) => match pending_key.take() {
                Some(key) => entries.push((key, node)),
                None => {
                    // A key: keep its text. Complex (non-scalar) keys do not
                    // occur in Kubernetes objects; they get an empty name.
                    let text = match node.value {
                        Value::Scalar { text, .. } => text,
                        _ => CompactString::default(),
                    };
                    *pending_key = Some(Key { text, line: node.line });
                }
            },
        }
    }

    fn on_event(&mut self, data: EventData, line: u32) -> Result<(), String> {
        match data {
            EventData::DocumentStart { .. } => {
                self.anchors.clear();
                self.nodes = 0;
            }
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => {
                self.count(1)?;
                let plain = style == ScalarStyle::Plain && tag.is_none();
                let value = if plain && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL") {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: value.into(),
                        plain,
                    }
                };
                self.push_node(Node { value, line }, anchor);
            }
            EventData::SequenceStart { anchor, .. } => {
                self.count(1)?;
                self.stack.push(Frame::Seq {
                    anchor,
                    line,
                    items: Vec::new(),
                });
            }
            EventData::MappingStart { anchor, .. } => {
                self.count(1)?;
                self.stack.push(Frame::Map {
                    anchor,
                    line,
                    entries: Vec::new(),
                    pending_key: None,
                });
            }
            EventData::SequenceEnd | EventData::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    // The trees live as long as the audit: a 100,000-workload
                    // dump keeps millions of them, and a Vec grown by pushes
                    // holds up to twice what it needs.
                    Some(Frame::Seq {
                        anchor,
                        line,
                        mut items,
                    }) => (
                        Node {
                            value: Value::Seq({
                                items.shrink_to_fit();
                                items
                            }),
                            line,
                        },
                        anchor,
                    ),
                    Some(Frame::Map {
                        anchor,
                        line,
                        mut entries,
                        ..
                    }) => (
                        Node {
                            value: Value::Map({
                                find_duplicates(&entries, &mut self.duplicates);
                                entries.shrink_to_fit();
                                entries
                            }),
                            line,
                        },
                        anchor,
                    ),
                    None => return Ok(()),
                };
                self.push_node(node, anchor);
            }
            EventData::Alias { anchor } => {
                let found = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == anchor)
                    .map(|(_, n)| n.clone())
                    .ok_or_else(|| format!("unknown alias *{anchor}"))?;
                self.count(found.weight())?;
                self.push_node(found, None);
            }
            EventData::StreamStart { .. } | EventData::StreamEnd | EventData::DocumentEnd { .. } => {}
        }
        Ok(())
    }
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
