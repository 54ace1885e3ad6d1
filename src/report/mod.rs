//! Reports: human (miette diagnostics), JSON (versioned schema, see
//! docs/json-schema.md), SARIF 2.1.0, and the summary table.

pub mod compact;
pub mod flows;
pub mod github;
pub mod graph;
pub mod html;
pub mod human;
pub mod json;
pub mod json_lines;
pub mod junit;
pub mod observed;
pub mod policyreport;
pub mod reach;
pub mod sarif;
pub mod summary;
pub mod template;
pub mod values;
pub mod values_corpus;

use crate::checks::Subject;
use crate::engine::Audit;
use crate::model::Input;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    /// One JSON object per input (release) and line, for large fleets.
    JsonLines,
    Sarif,
    /// One line per finding, `path:line:col: ID severity message`.
    Compact,
    /// JUnit XML, for CI systems that show test reports.
    Junit,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// A handlebars template given with `--template`.
    Template,
    /// One self-contained HTML page: the graph, the findings, filters.
    Html,
    /// The graph alone, in Graphviz's language.
    Dot,
    /// PolicyReports (wgpolicyk8s.io/v1alpha2) of what runs in a cluster.
    PolicyReport,
}

/// Text inside XML or HTML (an element or a quoted attribute): the five
/// characters that could end one escaped, control characters other than
/// tab and line ends (a hostile chart's escape sequences; XML 1.0 forbids
/// them) shown as U+FFFD.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Where an editor should open a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The template file on disk (relative to the current directory when
    /// under it), else Helm's template path, else the input's name.
    pub file: String,
    /// The line in that file (the template file's own line when the chart
    /// is on disk, else the line in the template's rendered output).
    pub line: u32,
    /// 1-based column of the first non-blank character of the line.
    pub column: u32,
}

/// The place of a subject, as the line-oriented formats print it.
pub fn place(audit: &Audit<'_>, lines: &TemplateLines, subject: &Subject<'_>) -> Place {
    let input = &audit.index.inputs[subject.object.input];
    let (line, column) = lines.place_in_template_file(input, subject).unwrap_or_else(|| {
        // The rendered output's line: its own indentation.
        let (start, _) = input.line_span(subject.location.line);
        let (text_start, _) = input.trimmed_line_span(subject.location.line);
        (display_line(subject), (text_start - start) as u32 + 1)
    });
    Place {
        file: relative_path(&source_file(input, subject)),
        line: line.max(1),
        column,
    }
}

/// A path relative to the current directory when it is under it, with
/// forward slashes (what editors, CI systems and code scanning expect).
pub fn relative_path(path: &str) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            std::path::Path::new(path)
                .strip_prefix(cwd)
                .ok()
                .map(|p| p.display().to_string())
        })
        .unwrap_or_else(|| path.to_string());
    let relative = relative.replace('\\', "/");
    relative.strip_prefix("./").unwrap_or(&relative).to_string()
}

/// The line a reader should look at: inside the template's rendered
/// document when Helm named the template, else in the input itself.
pub fn display_line(subject: &Subject<'_>) -> u32 {
    subject.location.template_line.unwrap_or(subject.location.line)
}

/// The file a subject came from, as a path a reader (or GitHub code
/// scanning) can open: the chart template on disk when the chart is local
/// (`shop/templates/api.yaml` -> `<chart dir>/templates/api.yaml`), else
/// Helm's template path, else the input's own name.
pub fn source_file(input: &Input, subject: &Subject<'_>) -> String {
    match &subject.location.template {
        Some(template) => input.template_file(template),
        None => input.name.clone(),
    }
}

/// Maps a line of rendered output back to the line of the template file it
/// most likely came from, for charts on disk. Helm does not record this, so
/// it is a search: the template lines that start with the same YAML key as
/// the rendered line (`selector:`, `- name:`, `hostNetwork:`), preferring
/// lines identical to the rendered one and lines with the same indentation,
/// the one nearest to the line's position in the template's rendered output.
#[derive(Default)]
pub struct TemplateLines {
    files: RefCell<HashMap<PathBuf, Option<String>>>,
}

impl TemplateLines {
    pub fn line_in_template_file(&self, input: &Input, subject: &Subject<'_>) -> Option<u32> {
        self.place_in_template_file(input, subject).map(|(line, _)| line)
    }

    /// The line of the template file, and the 1-based column where its text
    /// starts (a template line may be indented unlike the rendered one).
    pub fn place_in_template_file(&self, input: &Input, subject: &Subject<'_>) -> Option<(u32, u32)> {
        input.chart_dir.as_ref()?;
        let estimate = subject.location.template_line?;
        let path = PathBuf::from(source_file(input, subject));
        let (start, end) = input.line_span(subject.location.line);
        let rendered = &input.text[start..end];
        let key = yaml_key(rendered.trim());
        if key.is_empty() {
            return None;
        }
        let indent = indentation(rendered);
        let mut files = self.files.borrow_mut();
        let content = files
            .entry(path.clone())
            .or_insert_with(|| read_small(&path))
            .as_deref()?;
        // A template line equal to the rendered one (no template code in it)
        // is the best evidence; else any line with the same key.
        let numbered = || (1u32..).zip(content.lines());
        let exact: Vec<(u32, &str)> = numbered().filter(|(_, l)| l.trim() == rendered.trim()).collect();
        let candidates: Vec<(u32, &str)> = if exact.is_empty() {
            numbered().filter(|(_, l)| l.trim_start().starts_with(key)).collect()
        } else {
            exact
        };
        // Literal keys keep their indentation through rendering: prefer those.
        let same_indent: Vec<(u32, &str)> = candidates
            .iter()
            .copied()
            .filter(|(_, l)| indentation(l) == indent)
            .collect();
        let pool = if same_indent.is_empty() {
            &candidates
        } else {
            &same_indent
        };
        pool.iter()
            .min_by_key(|(n, _)| n.abs_diff(estimate))
            .map(|(n, l)| (*n, l[..indentation(l)].chars().count() as u32 + 1))
    }
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    (meta.len() < 4 * 1024 * 1024)
        .then(|| std::fs::read_to_string(path).ok())
        .flatten()
}

/// `selector:` of `  selector:`, `- name:` of `- name: metrics`.
fn yaml_key(line: &str) -> &str {
    match line.find(':') {
        Some(i) => &line[..=i],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use crate::checks::Subject;
    use crate::model::{Detail, Input, Manifests};

    #[test]
    fn markup_is_escaped_and_control_characters_marked() {
        assert_eq!(
            super::escape_markup("a<b & \"c\" 'd'\u{1b}[2J"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;\u{FFFD}[2J"
        );
    }

    #[test]
    fn the_column_is_the_template_lines_own() {
        // The template indents the Service port by 4; `nindent` renders
        // the block at 2, so rendered and template columns differ.
        let chart = tempfile::tempdir().unwrap();
        std::fs::create_dir(chart.path().join("templates")).unwrap();
        std::fs::write(
            chart.path().join("templates/svc.yaml"),
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n    ports:\n    - name: http\n",
        )
        .unwrap();
        let rendered = "---\n# Source: c/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - name: http\n";
        let mut input = Input::new("c", "c", "default", rendered.to_string());
        input.chart_dir = Some(chart.path().to_path_buf());
        let manifests = Manifests::load(vec![input], Detail::Checks).unwrap();
        let object = &manifests.objects[0];
        let subject = Subject::new(object, 9, "port");
        let lines = super::TemplateLines::default();
        assert_eq!(
            lines.place_in_template_file(&manifests.inputs[0], &subject),
            Some((7, 5))
        );
    }

    #[test]
    fn yaml_keys() {
        assert_eq!(super::yaml_key("- name: metrics"), "- name:");
        assert_eq!(super::yaml_key("hostNetwork: true"), "hostNetwork:");
        assert_eq!(super::yaml_key("{{ x }}"), "");
    }
}
