//! The tree both readers build (`fast.rs`, `libyaml.rs`): nodes that keep
//! their line and whether a scalar was written plain, the limits both
//! enforce, and the errors and duplicate keys they report.

use compact_str::CompactString;

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
    pub(super) fn weight(&self) -> usize {
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
