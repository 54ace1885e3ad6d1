//! What a chart's templates read from its values, and where: the `{{ … }}`
//! actions of Go templates, their blocks (`if`, `with`, `range`, `define`
//! … `end`), and the values keys each condition and each line reads.
//!
//! This is a reader of template *text*, not an evaluator: it finds
//! `.Values.a.b` (also `$.Values.a.b`, and `.b` inside `with .Values.a`)
//! and follows `include "helper"` to the helper's `define`. What it finds
//! decides which keys are worth a render; the renders decide the rest.

use crate::model::DocumentGuards;
use std::collections::{BTreeMap, BTreeSet};

/// Words of a template line that make what it renders matter to the
/// checks: Services and their ports, pods' ports, labels and selectors,
/// `hostNetwork`, NetworkPolicies of every flavour, Ingresses, the
/// monitoring objects, and the workloads themselves.
const MARKERS: &[&str] = &[
    "kind: Service",
    "NetworkPolicy",
    "hostNetwork",
    "hostPort",
    "containerPort",
    "targetPort",
    "port:",
    "ports:",
    "nodePort",
    "labels:",
    "selector:",
    "matchLabels",
    "podSelector",
    "kind: Ingress",
    "ServiceMonitor",
    "PodMonitor",
    "kind: Deployment",
    "kind: StatefulSet",
    "kind: DaemonSet",
    "kind: ReplicaSet",
    "kind: Job",
    "kind: CronJob",
    "kind: Pod",
];

/// How deep `include` is followed (helpers calling helpers).
const INCLUDE_DEPTH: usize = 8;

/// One `{{ … }}` action: its words without the delimiters and trim
/// markers, where it starts and ends in the text, and its line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Action<'t> {
    body: &'t str,
    start: usize,
    end: usize,
    line: u32,
}

/// The actions of a template, comments left out. An action that never
/// closes ends the scan (helm would refuse the template anyway).
fn actions(text: &str) -> Vec<Action<'_>> {
    let mut found = Vec::new();
    let mut at = 0;
    let mut line = 1u32;
    let mut counted_to = 0;
    while let Some(open) = text[at..].find("{{").map(|i| at + i) {
        let Some(close) = text[open + 2..].find("}}").map(|i| open + 2 + i) else {
            break;
        };
        line += text[counted_to..open].matches('\n').count() as u32;
        counted_to = open;
        let mut body = &text[open + 2..close];
        body = body.strip_prefix('-').unwrap_or(body);
        body = body.strip_suffix('-').unwrap_or(body);
        let body = body.trim();
        if !body.starts_with("/*") {
            found.push(Action {
                body,
                start: open,
                end: close + 2,
                line,
            });
        }
        at = close + 2;
    }
    found
}

/// The values keys an expression reads: `.Values.a.b`, `$.Values.a.b`,
/// `$root.Values.a.b` as `a.b`; inside `with .Values.p` (`prefix` = `p`)
/// also `.b` as `p.b`. Keys stop at the first part that is not a plain
/// identifier (`index .Values "a-b"` is not followed).
fn keys_read(expression: &str, prefix: Option<&str>) -> Vec<String> {
    let mut keys = Vec::new();
    for token in expression.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',' || c == '|') {
        if let Some(at) = token.find(".Values.") {
            let key = identifier_chain(&token[at + ".Values.".len()..]);
            if !key.is_empty() {
                keys.push(key);
            }
        } else if let (Some(prefix), Some(rest)) = (prefix, token.strip_prefix('.')) {
            let key = identifier_chain(rest);
            if !key.is_empty() && rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                keys.push(format!("{prefix}.{key}"));
            }
        }
    }
    keys
}

/// `a.b.c` of `a.b.c}}`: identifiers joined by dots, up to the first other character.
fn identifier_chain(text: &str) -> String {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(text.len());
    text[..end].trim_matches('.').to_string()
}

/// The names a text `include`s or `template`s: `include "x.labels" .`.
fn included(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    for call in ["include \"", "template \""] {
        let mut rest = text;
        while let Some(at) = rest.find(call) {
            rest = &rest[at + call.len()..];
            if let Some(end) = rest.find('"') {
                names.push(&rest[..end]);
                rest = &rest[end..];
            }
        }
    }
    names
}

/// The first word of an action and the rest.
fn keyword(body: &str) -> (&str, &str) {
    let body = body.trim();
    match body.find(char::is_whitespace) {
        Some(at) => (&body[..at], body[at..].trim()),
        None => (body, ""),
    }
}

/// Every `define "name"` of a chart's templates (helpers are global to a
/// chart and its subcharts), with its body.
#[derive(Debug, Default, Clone)]
pub struct Helpers {
    bodies: BTreeMap<String, String>,
}

impl Helpers {
    /// Add the `define`s of one template file.
    pub fn add(&mut self, text: &str) {
        let actions = actions(text);
        let mut depth = 0usize;
        let mut open: Option<(String, usize)> = None;
        for action in &actions {
            let (word, rest) = keyword(action.body);
            match word {
                "define" if depth == 0 => {
                    let name = rest.trim().trim_matches('"').to_string();
                    open = Some((name, action.end));
                    depth = 1;
                }
                "if" | "with" | "range" | "block" | "define" if depth > 0 => depth += 1,
                "end" if depth > 0 => {
                    depth -= 1;
                    if depth == 0 {
                        if let Some((name, start)) = open.take() {
                            self.bodies.insert(name, text[start..action.start].to_string());
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether what `text` renders matters to the checks, through the
    /// helpers it includes too.
    fn matters(&self, text: &str) -> bool {
        let mut seen = BTreeSet::new();
        self.matters_within(text, &mut seen, INCLUDE_DEPTH)
    }

    fn matters_within<'h>(&'h self, text: &'h str, seen: &mut BTreeSet<&'h str>, depth: usize) -> bool {
        if MARKERS.iter().any(|m| text.contains(m)) {
            return true;
        }
        depth > 0
            && included(text).into_iter().any(|name| {
                seen.insert(name)
                    && self
                        .bodies
                        .get_key_value(name)
                        .is_some_and(|(_, body)| self.matters_within(body, seen, depth - 1))
            })
    }

    /// The values keys `text` reads, through the helpers it includes.
    fn keys_through(&self, text: &str, prefix: Option<&str>) -> BTreeSet<String> {
        let mut keys: BTreeSet<String> = keys_read(text, prefix).into_iter().collect();
        let mut pending: Vec<(&str, usize)> = included(text).into_iter().map(|n| (n, INCLUDE_DEPTH)).collect();
        let mut seen = BTreeSet::new();
        while let Some((name, depth)) = pending.pop() {
            if depth == 0 || !seen.insert(name.to_string()) {
                continue;
            }
            if let Some(body) = self.bodies.get(name) {
                keys.extend(keys_read(body, None));
                pending.extend(included(body).into_iter().map(|n| (n, depth - 1)));
            }
        }
        keys
    }
}

/// What one template file says about its values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TemplateReading {
    /// Keys that decide whether something that matters renders: read in
    /// the condition of a block whose body matters, or in an action on a
    /// line that matters (`hostNetwork: {{ .Values.hostNetwork }}`).
    pub deciding: BTreeSet<String>,
    /// Keys that guard the same block that matters together (nested
    /// conditions, `and` of two keys): worth flipping in pairs.
    pub together: BTreeSet<Vec<String>>,
    /// Per document of the file (split at `---` lines, in order): the keys
    /// of the conditions around it or around its lines, and the `kind:` it
    /// names when it names one literally.
    pub documents: Vec<DocumentGuards>,
}

/// A block being read: its keyword, the keys of its condition(s), where its
/// body starts, and the `with` prefix inside it.
struct Frame {
    keys: Vec<String>,
    body_start: usize,
    prefix: Option<String>,
    define: bool,
}

/// Read one template file (outside its `define`s, which count where they
/// are included).
pub fn read_template(text: &str, helpers: &Helpers) -> TemplateReading {
    let mut reading = TemplateReading::default();
    let mut stack: Vec<Frame> = Vec::new();
    let documents = document_starts(text);
    reading.documents = documents
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = documents.get(i + 1).copied().unwrap_or(text.len());
            DocumentGuards {
                kind: literal_kind(&text[start..end]),
                ..DocumentGuards::default()
            }
        })
        .collect();
    let spans: Vec<Option<(usize, usize)>> = documents
        .iter()
        .enumerate()
        .map(|(i, &start)| content_span(text, start, documents.get(i + 1).copied().unwrap_or(text.len())))
        .collect();
    let document_of = |offset: usize| documents.iter().rposition(|&s| s <= offset).unwrap_or(0);
    let in_define = |stack: &[Frame]| stack.iter().any(|f| f.define);
    for action in actions(text) {
        let (word, rest) = keyword(action.body);
        let prefix = stack.iter().rev().find_map(|f| f.prefix.clone());
        match word {
            "if" | "with" | "range" => {
                let keys: Vec<String> = helpers.keys_through(rest, prefix.as_deref()).into_iter().collect();
                let with_prefix = match word {
                    "with" => {
                        let read = keys_read(rest, prefix.as_deref());
                        (read.len() == 1 && rest.split_whitespace().count() == 1).then(|| read[0].clone())
                    }
                    _ => None,
                };
                stack.push(Frame {
                    keys,
                    body_start: action.end,
                    prefix: with_prefix,
                    define: false,
                });
            }
            "else" => {
                // `else if X` guards what follows with X too.
                if let Some(frame) = stack.last_mut() {
                    let condition = rest
                        .strip_prefix("if")
                        .or_else(|| rest.strip_prefix("with"))
                        .unwrap_or("");
                    let more = helpers.keys_through(condition, prefix.as_deref());
                    frame.keys.extend(more);
                }
            }
            "define" | "block" => stack.push(Frame {
                keys: Vec::new(),
                body_start: action.end,
                prefix: None,
                define: true,
            }),
            "end" => {
                let Some(frame) = stack.pop() else { continue };
                if frame.define || in_define(&stack) || frame.keys.is_empty() {
                    continue;
                }
                let body = &text[frame.body_start..action.start];
                if !helpers.matters(body) {
                    continue;
                }
                let guards: Vec<String> = stack
                    .iter()
                    .flat_map(|f| f.keys.iter().cloned())
                    .chain(frame.keys.iter().cloned())
                    .collect();
                reading.deciding.extend(guards.iter().cloned());
                let set: BTreeSet<String> = guards.into_iter().collect();
                if set.len() > 1 {
                    reading.together.insert(set.iter().cloned().collect());
                }
                // The documents the block touches sit in its conditions;
                // those it holds whole are rendered only under them.
                let (first, last) = (document_of(frame.body_start), document_of(action.start));
                for (document, span) in reading.documents[first..=last].iter_mut().zip(&spans[first..=last]) {
                    document.keys.extend(set.iter().cloned());
                    if span.is_some_and(|(from, to)| frame.body_start <= from && to <= action.start) {
                        document.around.extend(set.iter().cloned());
                    }
                }
            }
            _ => {
                if in_define(&stack) {
                    continue;
                }
                let line = line_at(text, action.start);
                if MARKERS.iter().any(|m| line.contains(m)) || helpers.matters(action.body) {
                    let keys = keys_read(action.body, prefix.as_deref());
                    let document = document_of(action.start);
                    reading.documents[document].keys.extend(keys.iter().cloned());
                    reading.deciding.extend(keys);
                }
            }
        }
    }
    reading
}

/// Offsets where each document of a template starts: 0, then after every
/// `---` line.
fn document_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        offset += line.len();
        if line.trim_end() == "---" && offset < text.len() {
            starts.push(offset);
        }
    }
    starts
}

/// Where a document's own lines are, from the start of the first to the
/// end of the last: not blank, not `---`, not a line that is only a
/// template action (`{{- if … }}`, `{{- end }}`).
fn content_span(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let mut span: Option<(usize, usize)> = None;
    let mut offset = start;
    for line in text[start..end].split_inclusive('\n') {
        let trimmed = line.trim();
        let only_action = trimmed.starts_with("{{") && trimmed.ends_with("}}") && trimmed.matches("{{").count() == 1;
        if !(trimmed.is_empty() || trimmed == "---" || only_action) {
            let line_end = offset + line.trim_end().len();
            span = Some((span.map_or(offset, |(from, _)| from), line_end));
        }
        offset += line.len();
    }
    span
}

/// `Deployment` of a document's `kind: Deployment` line at column 0.
fn literal_kind(document: &str) -> Option<String> {
    document
        .lines()
        .find_map(|l| l.strip_prefix("kind:"))
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty() && !k.contains("{{"))
}

/// The whole line `offset` is on.
fn line_at(text: &str, offset: usize) -> &str {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    &text[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> TemplateReading {
        read_template(text, &Helpers::default())
    }

    #[test]
    fn actions_have_their_lines_and_skip_comments() {
        let found = actions("a\n{{- if .Values.x -}}\n{{/* note */}}\n{{ end }}");
        let bodies: Vec<_> = found.iter().map(|a| (a.body, a.line)).collect();
        assert_eq!(bodies, [("if .Values.x", 2), ("end", 4)]);
    }

    #[test]
    fn keys_are_read_from_values_paths_and_with_prefixes() {
        assert_eq!(
            keys_read("and .Values.metrics.enabled (not $.Values.a_b.c)", None),
            ["metrics.enabled", "a_b.c"]
        );
        assert_eq!(keys_read(".enabled", Some("networkPolicy")), ["networkPolicy.enabled"]);
        assert_eq!(keys_read(".Release.Name", None), Vec::<String>::new());
    }

    #[test]
    fn a_condition_around_what_matters_decides_and_one_around_the_rest_does_not() {
        let r = read(
            "{{- if .Values.metrics.enabled }}\nkind: Service\nspec:\n  ports: []\n{{- end }}\n\
             {{- if .Values.debug }}\nenv: []\n{{- end }}\n",
        );
        assert_eq!(r.deciding, BTreeSet::from(["metrics.enabled".to_string()]));
        assert_eq!(r.documents[0].kind.as_deref(), Some("Service"));
    }

    #[test]
    fn a_value_on_a_line_that_matters_decides() {
        let r = read(
            "kind: Deployment\nspec:\n  hostNetwork: {{ .Values.hostNetwork }}\n  replicas: {{ .Values.replicas }}\n",
        );
        assert_eq!(r.deciding, BTreeSet::from(["hostNetwork".to_string()]));
    }

    #[test]
    fn nested_conditions_are_flipped_together() {
        let r = read(
            "{{- if .Values.metrics.enabled }}\n{{- if .Values.metrics.serviceMonitor.enabled }}\nkind: ServiceMonitor\n{{- end }}\n{{- end }}\n",
        );
        assert_eq!(
            r.together,
            BTreeSet::from([vec![
                "metrics.enabled".to_string(),
                "metrics.serviceMonitor.enabled".to_string()
            ]])
        );
    }

    #[test]
    fn with_blocks_scope_relative_keys_and_else_if_adds_its_own() {
        let r = read(
            "{{- with .Values.networkPolicy }}\n{{- if .enabled }}\nkind: NetworkPolicy\n{{- else if $.Values.legacy }}\nkind: NetworkPolicy\n{{- end }}\n{{- end }}\n",
        );
        assert!(r.deciding.contains("networkPolicy.enabled"), "{:?}", r.deciding);
        assert!(r.deciding.contains("legacy"), "{:?}", r.deciding);
    }

    #[test]
    fn helpers_count_where_they_are_included() {
        let mut helpers = Helpers::default();
        helpers.add("{{- define \"x.ports\" -}}\nports:\n  - port: 1\n{{- end }}\n{{- define \"x.on\" -}}{{ .Values.feature.on }}{{- end }}");
        let r = read_template(
            "{{- if .Values.extra }}\n{{ include \"x.ports\" . }}\n{{- end }}\n",
            &helpers,
        );
        assert_eq!(r.deciding, BTreeSet::from(["extra".to_string()]));
        let r = read_template("{{- if include \"x.on\" . }}\nkind: Service\n{{- end }}\n", &helpers);
        assert_eq!(r.deciding, BTreeSet::from(["feature.on".to_string()]));
    }

    #[test]
    fn documents_carry_the_conditions_around_them() {
        let r = read("kind: Deployment\n---\n{{- if .Values.np }}\nkind: NetworkPolicy\n{{- end }}\n");
        assert_eq!(r.documents.len(), 2);
        assert!(r.documents[0].keys.is_empty());
        assert_eq!(r.documents[1].kind.as_deref(), Some("NetworkPolicy"));
        assert_eq!(r.documents[1].keys, BTreeSet::from(["np".to_string()]));
        assert_eq!(r.documents[1].around, BTreeSet::from(["np".to_string()]));
        // A condition inside a document is read by it, not around it.
        let r = read("kind: Deployment\nspec:\n  {{- if .Values.tls }}\n  ports: []\n  {{- end }}\n");
        assert_eq!(r.documents[0].keys, BTreeSet::from(["tls".to_string()]));
        assert!(r.documents[0].around.is_empty());
    }
}
