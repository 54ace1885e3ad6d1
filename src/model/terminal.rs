//! Text from charts, clusters and containers, made safe to show on a
//! terminal. A chart can put escape sequences in names and labels
//! (`name: "\e[2J\e[31m…"`), a container in its log lines, a file in its
//! name: printed raw, they would clear or rewrite the reviewer's terminal,
//! or reorder what it shows. Every format that reaches a terminal (human,
//! compact, GitHub annotations, the fleet table, progress lines, errors)
//! passes what came from outside through here; the JSON formats escape
//! control characters themselves. Our own colours are added afterwards.

use std::borrow::Cow;

/// Whether a terminal may act on `c` instead of showing it: C0 and C1
/// controls and DEL (escape sequences, carriage returns, backspaces), the
/// bidirectional controls that reorder a line ("Trojan Source",
/// CVE-2021-42574), and the Unicode line and paragraph separators.
fn acted_on(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// `text` with each character a terminal would act on written as its
/// escape (`\u{1b}`, `\r`, `\u{202e}`); line feeds and tabs stay.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    escape(text, |c| c != '\n' && c != '\t' && acted_on(c))
}

/// [`for_terminal`] for what must stay on one line: line feeds are escaped
/// too.
pub fn for_terminal_line(text: &str) -> Cow<'_, str> {
    escape(text, |c| c != '\t' && acted_on(c))
}

fn escape(text: &str, escaped: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// An input's text for snippets of it: each character a terminal would act
/// on becomes `?`, byte for byte, so that spans into the text stay where
/// they are. Line feeds, tabs and the carriage return of a CRLF stay.
pub fn snippet_text(text: &str) -> Cow<'_, str> {
    let replaced = |at: usize, c: char| match c {
        '\n' | '\t' => false,
        '\r' => !text[at + 1..].starts_with('\n'),
        _ => acted_on(c),
    };
    if !text.char_indices().any(|(at, c)| replaced(at, c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        if replaced(at, c) {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_acts_on_and_keeps_the_rest() {
        assert_eq!(for_terminal("\x1b[2J\x1b[31mevil"), "\\u{1b}[2J\\u{1b}[31mevil");
        assert_eq!(for_terminal("a\rb\x08c\u{9b}d\u{7f}"), "a\\rb\\u{8}c\\u{9b}d\\u{7f}");
        assert_eq!(for_terminal("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(for_terminal("line\n\tnext — ünïcode"), "line\n\tnext — ünïcode");
        assert!(matches!(for_terminal("plain"), Cow::Borrowed(_)));
        assert_eq!(for_terminal_line("a\nb"), "a\\nb");
    }

    #[test]
    fn snippets_keep_their_byte_offsets() {
        let text = "name: a\u{202e}b\r\nx: 1\ry: \u{85}\n";
        let safe = snippet_text(text);
        assert_eq!(safe.len(), text.len());
        assert_eq!(safe, "name: a???b\r\nx: 1?y: ??\n");
        assert!(matches!(snippet_text("a: 1\r\n"), Cow::Borrowed(_)));
    }
}
