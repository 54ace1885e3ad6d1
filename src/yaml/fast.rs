//! The fast path of the YAML reader, for the YAML that helm renders and
//! clusters dump: block mappings and sequences, one-line plain and quoted
//! scalars, one-line flow collections, comments.
//!
//! Why: libyaml-safer turns every token into an owned event, and on a
//! 100,000-workload dump that was most of the run. This reader builds the same
//! tree straight from the text. It is not a second YAML parser: whenever a
//! document holds anything outside that subset (anchors, tags, block scalars,
//! multi-line scalars, tabs, non-ASCII text, odd indentation, anything it
//! would have to judge as an error) it gives up on the document, and
//! libyaml-safer reads it as before, errors and their positions included. A
//! differential test holds it to giving exactly libyaml-safer's tree whenever
//! it answers.

use compact_str::CompactString;

use super::libyaml;
use super::node::{find_duplicates, DuplicateKey, Key, Node, Value, MAX_DEPTH, MAX_NODES_PER_DOCUMENT};

/// The document is not on the fast path: libyaml-safer reads it.
pub(super) struct Fallback;

type Fast<T> = Result<T, Fallback>;

/// libyaml looks for an implicit key's `:` within 1024 characters of the
/// key's start (quoted keys and spaces before the `:` included); leave
/// anything near that limit to it.
const MAX_KEY_LEN: usize = 1000;

/// One line holding content (blank and comment lines are left out).
struct Line {
    start: usize,
    end: usize,
    indent: usize,
    number: u32,
}

/// The tree of a one-document text, or `Fallback`. `first_line` is the
/// input line of the text's first line.
pub(super) fn parse(text: &str, first_line: u32) -> Fast<(Vec<Node>, Vec<DuplicateKey>)> {
    // Printable ASCII and line feeds only: tabs, carriage returns, control
    // and non-ASCII characters each have rules of their own.
    if !printable_ascii(text.as_bytes()) {
        return Err(Fallback);
    }
    let mut reader = Reader {
        bytes: text.as_bytes(),
        nodes: 0,
        buffers: BUFFERS.take(),
        duplicates: Vec::new(),
    };
    let root = reader.document(text, first_line);
    reader.buffers.lines.clear();
    reader.buffers.entries.clear();
    reader.buffers.items.clear();
    BUFFERS.set(reader.buffers);
    Ok((vec![root?], reader.duplicates))
}

/// Printable ASCII and line feeds only? A block at a time, without a
/// branch per byte, so that the compiler can use vector instructions (the
/// byte-by-byte test was a tenth of the parse).
fn printable_ascii(bytes: &[u8]) -> bool {
    bytes.chunks(64).all(|block| {
        block
            .iter()
            .fold(true, |ok, &b| ok & (((0x20..0x7f).contains(&b)) | (b == b'\n')))
    })
}

thread_local! {
    /// The reader's buffers, kept from one document to the next: a dump
    /// has hundreds of thousands of documents.
    static BUFFERS: std::cell::Cell<Buffers> = std::cell::Cell::default();
}

#[derive(Default)]
struct Buffers {
    lines: Vec<Line>,
    /// The entries and items of the collections being read, innermost on
    /// top: each collection gets one allocation of its exact size when it
    /// is complete (the trees live as long as the audit, and a `Vec` grown
    /// by pushes would be reallocated several times, then shrunk).
    entries: Vec<(Key, Node)>,
    items: Vec<Node>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    nodes: usize,
    buffers: Buffers,
    duplicates: Vec<DuplicateKey>,
}

impl<'a> Reader<'a> {
    fn document(&mut self, text: &str, first_line: u32) -> Fast<Node> {
        let mut started = false;
        let mut start = 0;
        for (number, line) in (first_line..).zip(text.split('\n')) {
            let end = start + line.len();
            let raw = line.as_bytes();
            let indent = raw.iter().take_while(|&&b| b == b' ').count();
            let blank = indent == raw.len() || raw[indent] == b'#';
            if indent == 0 && (raw.starts_with(b"---") || raw.starts_with(b"...")) && (raw.len() == 3 || raw[3] == b' ')
            {
                // A document marker: only `---` (with a comment at most) as
                // the text's first content line.
                let rest = trim_start(&raw[3..]);
                if raw[0] == b'.' || started || !self.buffers.lines.is_empty() || !(rest.is_empty() || rest[0] == b'#')
                {
                    return Err(Fallback);
                }
                started = true;
            } else if !blank {
                self.buffers.lines.push(Line {
                    start,
                    end,
                    indent,
                    number,
                });
            }
            start = end + 1;
        }
        let first = self.buffers.lines.first().ok_or(Fallback)?;
        let (root, next) = self.block_node(0, first.indent, 0)?;
        if next != self.buffers.lines.len() {
            return Err(Fallback);
        }
        Ok(root)
    }

    /// The rest of line `li` from column `col`.
    fn rest(&self, li: usize, col: usize) -> &'a [u8] {
        let line = &self.buffers.lines[li];
        &self.bytes[line.start + col..line.end]
    }

    fn count(&mut self) -> Fast<()> {
        self.nodes += 1;
        if self.nodes > MAX_NODES_PER_DOCUMENT {
            return Err(Fallback);
        }
        Ok(())
    }

    /// The block node whose first character is at line `li`, column `col`,
    /// and the index of the first line after it.
    fn block_node(&mut self, li: usize, col: usize, depth: usize) -> Fast<(Node, usize)> {
        if depth >= MAX_DEPTH / 2 {
            return Err(Fallback);
        }
        let rest = self.rest(li, col);
        if is_entry(rest) {
            return self.block_sequence(li, col, depth, false);
        }
        if let Some(first_key) = self.key_at(li, col)? {
            return self.block_mapping(li, col, first_key, depth);
        }
        let node = self.inline_value(li, col, depth)?;
        Ok((node, li + 1))
    }

    /// A mapping whose keys are at column `indent`, the first of them
    /// already read.
    fn block_mapping(
        &mut self,
        mut li: usize,
        indent: usize,
        first_key: (Key, usize),
        depth: usize,
    ) -> Fast<(Node, usize)> {
        self.count()?;
        let line = self.buffers.lines[li].number;
        let base = self.buffers.entries.len();
        let mut key = Some(first_key);
        loop {
            let (name, value_col) = match key.take() {
                Some(key) => key,
                None => self.key_at(li, indent)?.ok_or(Fallback)?,
            };
            self.count()?;
            let after = value_col + leading_spaces(self.rest(li, value_col));
            let rest = self.rest(li, after);
            let (value, next) = if rest.is_empty() || rest[0] == b'#' {
                // `key:` alone: the value is on the next lines, or empty.
                match self.buffers.lines.get(li + 1) {
                    Some(below) if below.indent > indent => self.block_node(li + 1, below.indent, depth + 1)?,
                    Some(below) if below.indent == indent && is_entry(self.rest(li + 1, indent)) => {
                        self.block_sequence(li + 1, indent, depth + 1, true)?
                    }
                    _ => {
                        self.count()?;
                        (null(name.line), li + 1)
                    }
                }
            } else {
                (self.inline_value(li, after, depth + 1)?, li + 1)
            };
            self.buffers.entries.push((name, value));
            match self.buffers.lines.get(next) {
                Some(below) if below.indent == indent => li = next,
                Some(below) if below.indent > indent => return Err(Fallback),
                _ => {
                    let entries: Vec<(Key, Node)> = self.buffers.entries.drain(base..).collect();
                    find_duplicates(&entries, &mut self.duplicates);
                    let node = Node {
                        value: Value::Map(entries),
                        line,
                    };
                    return Ok((node, next));
                }
            }
        }
    }

    /// A sequence whose `-` are at column `indent`. An indentless one (the
    /// value of a key at the same column) ends at the first line there that
    /// is not an entry.
    fn block_sequence(&mut self, mut li: usize, indent: usize, depth: usize, indentless: bool) -> Fast<(Node, usize)> {
        self.count()?;
        let line = self.buffers.lines[li].number;
        let base = self.buffers.items.len();
        loop {
            let rest = self.rest(li, indent);
            let after = 1 + leading_spaces(&rest[1..]);
            let (item, next) = if after == rest.len() || rest[after] == b'#' {
                match self.buffers.lines.get(li + 1) {
                    Some(below) if below.indent > indent => self.block_node(li + 1, below.indent, depth + 1)?,
                    _ => {
                        self.count()?;
                        (null(self.buffers.lines[li].number), li + 1)
                    }
                }
            } else {
                self.block_node(li, indent + after, depth + 1)?
            };
            self.buffers.items.push(item);
            match self.buffers.lines.get(next) {
                Some(below) if below.indent == indent && is_entry(self.rest(next, indent)) => li = next,
                Some(below) if below.indent > indent || (below.indent == indent && !indentless) => {
                    return Err(Fallback)
                }
                _ => {
                    let node = Node {
                        value: Value::Seq(self.buffers.items.drain(base..).collect()),
                        line,
                    };
                    return Ok((node, next));
                }
            }
        }
    }

    /// The key at line `li`, column `col`, and the column after its `:`;
    /// `None` when the line holds no key there.
    fn key_at(&self, li: usize, col: usize) -> Fast<Option<(Key, usize)>> {
        let rest = self.rest(li, col);
        let line = self.buffers.lines[li].number;
        if rest[0] == b'"' || rest[0] == b'\'' {
            let (text, len) = quoted(rest)?;
            let colon = len + leading_spaces(&rest[len..]);
            if rest.get(colon) == Some(&b':') && matches!(rest.get(colon + 1), None | Some(b' ')) {
                if colon > MAX_KEY_LEN {
                    return Err(Fallback);
                }
                return Ok(Some((Key { text, line }, col + colon + 1)));
            }
            return Ok(None);
        }
        if !plain_start(rest) {
            return Ok(None);
        }
        for p in 0..rest.len() {
            match rest[p] {
                b':' if matches!(rest.get(p + 1), None | Some(b' ')) => {
                    if p > MAX_KEY_LEN {
                        return Err(Fallback);
                    }
                    let text = trim_end(&rest[..p]);
                    // A key that reads as null has no name (as in the tree
                    // libyaml's events build).
                    let text = if is_null(text) {
                        CompactString::default()
                    } else {
                        ascii(text)
                    };
                    return Ok(Some((Key { text, line }, col + p + 1)));
                }
                b'#' if rest[p - 1] == b' ' => return Ok(None),
                _ => {}
            }
        }
        Ok(None)
    }

    /// A one-line value: a scalar or a flow collection, with at most a
    /// comment after it.
    fn inline_value(&mut self, li: usize, col: usize, depth: usize) -> Fast<Node> {
        let rest = self.rest(li, col);
        let line = self.buffers.lines[li].number;
        let (node, len) = match rest[0] {
            b'"' | b'\'' => {
                self.count()?;
                let (text, len) = quoted(rest)?;
                (
                    Node {
                        value: Value::Scalar { text, plain: false },
                        line,
                    },
                    len,
                )
            }
            b'[' | b'{' => {
                let mut pos = 0;
                (self.flow(rest, &mut pos, line, depth)?, pos)
            }
            _ if plain_start(rest) => {
                let end = (1..rest.len())
                    .find(|&p| rest[p] == b'#' && rest[p - 1] == b' ')
                    .unwrap_or(rest.len());
                let text = trim_end(&rest[..end]);
                if text.ends_with(b":") || text.windows(2).any(|w| w == b": ") {
                    return Err(Fallback);
                }
                self.count()?;
                (plain(text, line), text.len())
            }
            _ => return Err(Fallback),
        };
        let tail = &rest[len..];
        let comment = trim_start(tail);
        if comment.is_empty() || (comment[0] == b'#' && comment.len() < tail.len()) {
            Ok(node)
        } else {
            Err(Fallback)
        }
    }

    /// A flow collection that opens at `s[*pos]` and closes on the same line.
    fn flow(&mut self, s: &[u8], pos: &mut usize, line: u32, depth: usize) -> Fast<Node> {
        if depth >= MAX_DEPTH / 2 {
            return Err(Fallback);
        }
        self.count()?;
        let close = if s[*pos] == b'[' { b']' } else { b'}' };
        *pos += 1;
        *pos += leading_spaces(&s[*pos..]);
        let (items, entries) = (self.buffers.items.len(), self.buffers.entries.len());
        if s.get(*pos) != Some(&close) {
            loop {
                if close == b'}' {
                    let key = self.flow_scalar(s, pos, line, true)?;
                    let Value::Scalar { text, .. } = key.value else {
                        return Err(Fallback);
                    };
                    if s.get(*pos) != Some(&b':') || s.get(*pos + 1) != Some(&b' ') {
                        return Err(Fallback);
                    }
                    *pos += 1;
                    *pos += leading_spaces(&s[*pos..]);
                    let value = self.flow_item(s, pos, line, depth)?;
                    self.buffers.entries.push((Key { text, line }, value));
                } else {
                    let item = self.flow_item(s, pos, line, depth)?;
                    self.buffers.items.push(item);
                }
                *pos += leading_spaces(&s[*pos..]);
                match s.get(*pos) {
                    Some(b',') => {
                        *pos += 1;
                        *pos += leading_spaces(&s[*pos..]);
                        if s.get(*pos) == Some(&close) {
                            return Err(Fallback);
                        }
                    }
                    Some(&c) if c == close => break,
                    _ => return Err(Fallback),
                }
            }
        }
        *pos += 1;
        let value = if close == b']' {
            Value::Seq(self.buffers.items.drain(items..).collect())
        } else {
            let entries: Vec<(Key, Node)> = self.buffers.entries.drain(entries..).collect();
            find_duplicates(&entries, &mut self.duplicates);
            Value::Map(entries)
        };
        Ok(Node { value, line })
    }

    fn flow_item(&mut self, s: &[u8], pos: &mut usize, line: u32, depth: usize) -> Fast<Node> {
        match s.get(*pos) {
            Some(b'[' | b'{') => self.flow(s, pos, line, depth + 1),
            _ => self.flow_scalar(s, pos, line, false),
        }
    }

    /// A quoted or plain scalar inside a flow collection; a key must be
    /// followed by `: `, anything else by `,` or the closing bracket.
    fn flow_scalar(&mut self, s: &[u8], pos: &mut usize, line: u32, key: bool) -> Fast<Node> {
        self.count()?;
        let rest = &s[*pos..];
        if rest.first().is_some_and(|&c| c == b'"' || c == b'\'') {
            let (text, len) = quoted(rest)?;
            let start = *pos;
            *pos += len;
            *pos += leading_spaces(&s[*pos..]);
            if key && *pos - start > MAX_KEY_LEN {
                return Err(Fallback);
            }
            return Ok(Node {
                value: Value::Scalar { text, plain: false },
                line,
            });
        }
        // In a flow collection, `?` and `:` are indicators before anything.
        if !plain_start(rest) || rest[0] == b'?' || rest[0] == b':' {
            return Err(Fallback);
        }
        let end = rest.iter().position(|c| b",[]{}:#".contains(c)).ok_or(Fallback)?;
        let stop = rest[end];
        if stop == b'[' || stop == b'{' || stop == b'#' || (stop == b':') != key || end > MAX_KEY_LEN {
            return Err(Fallback);
        }
        let text = trim_end(&rest[..end]);
        if text.is_empty() {
            return Err(Fallback);
        }
        *pos += end;
        Ok(plain(text, line))
    }
}

/// The fast path's answer, checked against libyaml-safer's: `true` when
/// the fast path answered (and agreed), `false` when it left the text to
/// libyaml-safer. Panics on a disagreement: for the tests and the
/// differential fuzz target.
pub(super) fn agrees(text: &str, first_line: u32) -> bool {
    let Ok(fast) = parse(text, first_line) else {
        return false;
    };
    match libyaml::parse(text, first_line) {
        Ok(slow) => assert_eq!(fast, slow, "the fast path read this differently:\n{text}"),
        Err(e) => panic!("the fast path accepted what libyaml-safer rejects ({e:?}):\n{text}"),
    }
    true
}

fn null(line: u32) -> Node {
    Node {
        value: Value::Null,
        line,
    }
}

fn plain(text: &[u8], line: u32) -> Node {
    let value = if is_null(text) {
        Value::Null
    } else {
        Value::Scalar {
            text: ascii(text),
            plain: true,
        }
    };
    Node { value, line }
}

fn is_null(text: &[u8]) -> bool {
    matches!(text, b"" | b"~" | b"null" | b"Null" | b"NULL")
}

/// `- ` or a lone `-`: a block sequence entry.
fn is_entry(rest: &[u8]) -> bool {
    rest == b"-" || rest.starts_with(b"- ")
}

/// Whether a plain scalar may start here (YAML's indicators may not, except
/// `-`, `?` and `:` before a non-space).
fn plain_start(rest: &[u8]) -> bool {
    match rest.first() {
        None => false,
        Some(b'-' | b'?' | b':') => rest.get(1).is_some_and(|&c| c != b' '),
        Some(c) => !b",[]{}#&*!|>'\"%@`".contains(c),
    }
}

/// A one-line quoted scalar at the start of `s`: its text and length.
fn quoted(s: &[u8]) -> Fast<(CompactString, usize)> {
    let quote = s[0];
    let mut text = CompactString::default();
    let mut i = 1;
    loop {
        let run = s[i..]
            .iter()
            .position(|&c| c == quote || (quote == b'"' && c == b'\\'))
            .ok_or(Fallback)?;
        text.push_str(&ascii(&s[i..i + run]));
        i += run;
        if quote == b'\'' {
            if s.get(i + 1) == Some(&b'\'') {
                text.push('\'');
                i += 2;
                continue;
            }
            return Ok((text, i + 1));
        }
        if s[i] == b'"' {
            return Ok((text, i + 1));
        }
        let escaped = match s.get(i + 1).ok_or(Fallback)? {
            b'\\' => '\\',
            b'"' => '"',
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'0' => '\0',
            b'a' => '\x07',
            b'b' => '\x08',
            b'e' => '\x1b',
            b'f' => '\x0c',
            b'v' => '\x0b',
            b' ' => ' ',
            _ => return Err(Fallback),
        };
        text.push(escaped);
        i += 2;
    }
}

fn ascii(bytes: &[u8]) -> CompactString {
    // The reader admits printable ASCII only, so this never replaces anything.
    CompactString::from_utf8_lossy(bytes)
}

fn leading_spaces(s: &[u8]) -> usize {
    s.iter().take_while(|&&c| c == b' ').count()
}

fn trim_start(s: &[u8]) -> &[u8] {
    &s[leading_spaces(s)..]
}

fn trim_end(s: &[u8]) -> &[u8] {
    let end = s.iter().rposition(|&c| c != b' ').map_or(0, |p| p + 1);
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = "---\n# Source: shop/templates/api.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: \"shop-api\"\n  labels:\n    app.kubernetes.io/name: api   # the name\n    'quoted key': 'it''s'\n    ~: x\n    empty:\n    \"dq\": \"a\\tb\\\\c\\\"d\"\n  annotations: {}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: api, tier: \"web\"}\n  template:\n    spec:\n      hostNetwork: false\n      hostNetwork: true\n      containers:\n      - name: api\n        image: busybox:1.36\n        args: [\"sh\", -c, 'echo #1']\n        ports:\n          - containerPort: 8080\n            name: http\n          -\n          - - nested\n            - seq\n        env:\n        -   name: A\n            value: a:b#c\n      volumes: []\n";

    #[test]
    fn reads_what_helm_renders_as_libyaml_does() {
        for text in [
            DEPLOYMENT,
            "a: 1\n",
            "a: 1\nb:\n- x\n- y\nc: 2\n",
            "- a\n- b: 1\n  c: [1, {d: e}]\n-\n  f: g\n",
            "key:\n  scalar on its own line\nnext: null\n",
            "url: http://x:80/path\nempty: \"\"\nspace: ' a b '\n",
            "--- # comment\nkind: Service\n",
            "a: [ x , 'y' ]\nb: { c: d }\n",
        ] {
            assert!(agrees(text, 7), "not on the fast path:\n{text}");
        }
    }

    #[test]
    fn keys_near_libyamls_length_limit_are_left_to_it() {
        // Found by the fuzzer: a quoted key of 1,500 characters, which
        // libyaml refuses (its `:` is too far from the key's start).
        let long = "k".repeat(1_100);
        for text in [
            format!("\"{long}\": 1\n"),
            format!("a{}: 1\n", " ".repeat(1_100)),
            format!("{long}: 1\n"),
            format!("a: {{{long}: 1}}\n"),
            format!("a: {{\"{long}\": 1}}\n"),
        ] {
            assert!(
                parse(&text, 1).is_err(),
                "the fast path answered a key of {} bytes",
                text.len()
            );
            agrees(&text, 1);
        }
    }

    #[test]
    fn a_character_of_its_own_rules_is_found_in_any_block() {
        let text = "a: b\n".repeat(40);
        assert!(printable_ascii(text.as_bytes()));
        for at in [0, 62, 63, 64, 65, 127, 128, text.len() - 1] {
            for odd in [b'\t', b'\r', 0x7f, 0xc3, 0x00] {
                let mut bytes = text.clone().into_bytes();
                bytes[at] = odd;
                assert!(!printable_ascii(&bytes), "{odd:#x} at {at} not seen");
            }
        }
    }

    #[test]
    fn leaves_everything_else_to_libyaml() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: |\n  text\n",
            "a: >-\n  text\n",
            "a: multi\n  line\n",
            "a: 'multi\n  line'\n",
            "a: [1,\n  2]\n",
            "a:\tb\n",
            "a: b\r\n",
            "a: \"\\u00e9\"\n",
            "a: é\n",
            "a: b: c\n",
            "a: 1\n - b\n",
            "a:\n    b: 1\n  c: 2\n",
            "- a\nb: 1\n",
            "? a\n: b\n",
            "%YAML 1.1\n---\na: 1\n",
            "a: 1\n---\nb: 2\n",
            "a: [x,]\n",
            "a: {b}\n",
            "a: [b: c]\n",
            "a: \"x\" y\n",
            "# only a comment\n",
            "",
        ] {
            assert!(parse(text, 1).is_err(), "the fast path answered:\n{text}");
        }
    }

    #[test]
    fn any_mutation_is_read_as_libyaml_reads_it_or_left_to_it() {
        // Deterministic mutations of a chart-like text: whenever the fast
        // path answers, it must be libyaml-safer's tree. CI runs 20,000;
        // `FAST_MUTANTS=3000000 cargo test --release --lib yaml::fast` runs
        // more (3 million passed when the fast path was written).
        let alphabet = b" :-#'\"[]{},\n&*!|>?~xa1\\";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        let (mut answered, mut total) = (0, 0);
        for _ in 0..std::env::var("FAST_MUTANTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000)
        {
            let mut bytes = DEPLOYMENT.as_bytes().to_vec();
            for _ in 0..1 + next(3) {
                let at = next(bytes.len());
                // The start of the line `at` is on: indentation decides the most.
                let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                match next(5) {
                    0 => {
                        bytes.remove(at);
                    }
                    1 => bytes.insert(at, alphabet[next(alphabet.len())]),
                    2 => bytes[at] = alphabet[next(alphabet.len())],
                    3 => bytes.splice(line_start..line_start, *b"  ").for_each(drop),
                    _ => {
                        if bytes.get(line_start) == Some(&b' ') {
                            bytes.remove(line_start);
                        }
                    }
                }
            }
            let text = String::from_utf8(bytes).expect("ASCII in, ASCII out");
            total += 1;
            answered += usize::from(agrees(&text, 1));
        }
        // Not a vacuous test: many edits keep the text on the fast path
        // (a fifth of them, in a run of a million).
        assert!(
            answered > total / 10,
            "the fast path answered only {answered} of {total}"
        );
    }
}
