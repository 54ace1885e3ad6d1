//! The reader for every document the fast path leaves: a tree built from
//! the events of libyaml-safer, pulled one by one, with the depth and node
//! count capped (so hostile input is an error, never a stack overflow or
//! gigabytes of memory).

use super::node::{find_duplicates, DuplicateKey, Key, Node, SyntaxError, Value, MAX_DEPTH, MAX_NODES_PER_DOCUMENT};
use compact_str::CompactString;
use libyaml_safer::{EventData, Mark, Parser, ScalarStyle};

/// The documents of `text` and the keys written twice in their mappings
/// ([`super::parse_documents_with_duplicates`] without the fast path).
pub(super) fn parse(text: &str, first_line: u32) -> Result<(Vec<Node>, Vec<DuplicateKey>), SyntaxError> {
    let mut builder = TreeBuilder::default();
    let offset = first_line.saturating_sub(1);
    drive(text, offset, &mut |data, line| builder.on_event(data, line))?;
    Ok((builder.docs, builder.duplicates))
}

/// Scan `text` for syntax errors without building a tree.
pub(super) fn validate(text: &str, first_line: u32) -> Result<(), SyntaxError> {
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
