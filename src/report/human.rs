//! Human output: one miette diagnostic per finding, showing the rendered
//! YAML of each object involved, named after its chart template and with
//! line numbers inside that template's rendered document.

use super::{source_file, TemplateLines};
use crate::checks::{Finding, Severity, Subject};
use crate::engine::Audit;
use crate::model::secrets;
use crate::model::terminal::{for_terminal, for_terminal_line, snippet_text};
use crate::model::Input;
use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents, SourceCode,
    SourceSpan, SpanContents,
};
use std::cell::OnceCell;
use std::fmt;
use std::sync::Arc;

pub struct Options {
    pub color: bool,
    pub width: usize,
}

/// One object's rendered document, as miette source.
#[derive(Debug, Clone)]
struct DocumentSource {
    name: String,
    /// The input as shown (see [`Shown`]).
    text: Arc<Input>,
    start: usize,
    end: usize,
    /// Added to slice-relative 0-based line numbers for display.
    line_offset: usize,
}

impl SourceCode for DocumentSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let slice: &'a str = &self.text.text[self.start..self.end];
        let inner = slice.read_span(span, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.line_offset,
            inner.column(),
            inner.line_count(),
        )))
    }
}

#[derive(Debug)]
struct FindingDiagnostic {
    code: String,
    severity: miette::Severity,
    message: String,
    help: Option<String>,
    source: DocumentSource,
    labels: Vec<LabeledSpan>,
    related: Vec<FindingDiagnostic>,
}

impl fmt::Display for FindingDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FindingDiagnostic {}

impl Diagnostic for FindingDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|d| d as &dyn Diagnostic)))
    }
}

fn miette_severity(severity: Severity) -> miette::Severity {
    match severity {
        Severity::High => miette::Severity::Error,
        Severity::Medium => miette::Severity::Warning,
        Severity::Low | Severity::Info => miette::Severity::Advice,
    }
}

/// The inputs' texts as snippets show them, made when a finding first
/// needs one: secret values `<redacted>` (`model::secrets`), what a
/// terminal would act on replaced. Each is an [`Input`] of its own, for its
/// line index: redacting changes lengths (never line numbers).
struct Shown<'a> {
    audit: &'a Audit<'a>,
    texts: Vec<OnceCell<Arc<Input>>>,
}

impl<'a> Shown<'a> {
    fn new(audit: &'a Audit<'a>) -> Shown<'a> {
        let texts = audit.index.inputs.iter().map(|_| OnceCell::new()).collect();
        Shown { audit, texts }
    }

    fn of(&self, input: usize) -> &Arc<Input> {
        self.texts[input].get_or_init(|| {
            let original = &self.audit.index.inputs[input];
            let objects = crate::model::objects_of(self.audit.index.objects, input);
            let redacted = secrets::redact(&original.text, &secrets::secret_values(objects));
            let text = snippet_text(&redacted).into_owned();
            Arc::new(Input::new(original.name.clone(), "", "", text))
        })
    }
}

/// The rendered document of a subject, named and numbered as a reader can
/// open it: the template file on disk at the subject's line in that file
/// (local charts), else Helm's template path with the line inside the
/// template's rendered output, else the input itself.
fn document_source(input: &Input, shown: &Arc<Input>, subject: &Subject<'_>, lines: &TemplateLines) -> DocumentSource {
    let (first, last) = subject.object.doc_lines;
    let start = shown.line_span(first).0;
    let end = shown.line_span(last).1.max(start);
    // Number the rendered lines so that the subject's line carries its line
    // in the template file (the snippet stays the rendered YAML). Templates
    // are shorter than what they render (includes, ranges), so the snippet
    // starts at the line of context above the subject.
    if let Some(file_line) = lines.line_in_template_file(input, subject) {
        let line = subject.location.line;
        let above = u32::from(line > first && file_line > 1);
        let from = line - above;
        return DocumentSource {
            name: super::relative_path(&source_file(input, subject)),
            text: shown.clone(),
            start: shown.line_span(from).0,
            end,
            line_offset: (file_line - 1 - above) as usize,
        };
    }
    let (name, line_offset) = match &subject.object.template {
        Some(template) => {
            let base = subject
                .object
                .location(first)
                .template_line
                .unwrap_or(1)
                .saturating_sub(1);
            (template.clone(), base as usize)
        }
        None => (input.name.clone(), first as usize - 1),
    };
    DocumentSource {
        name,
        text: shown.clone(),
        start,
        end,
        line_offset,
    }
}

fn label(shown: &Input, source: &DocumentSource, subject: &Subject<'_>) -> LabeledSpan {
    let (offset, _) = shown.trimmed_line_span(subject.location.line);
    let (end_offset, end_len) = shown.trimmed_line_span(subject.end_line);
    let len = (end_offset + end_len).saturating_sub(offset);
    LabeledSpan::new(
        Some(for_terminal_line(&subject.label).into_owned()),
        offset.saturating_sub(source.start),
        len,
    )
}

fn diagnostic(audit: &Audit<'_>, shown: &Shown<'_>, lines: &TemplateLines, finding: &Finding<'_>) -> FindingDiagnostic {
    // One diagnostic per rendered document: the primary object's document
    // carries the message, the other objects' documents follow as related.
    let mut groups: Vec<(DocumentSource, Vec<LabeledSpan>)> = Vec::new();
    for subject in &finding.subjects {
        let input = &audit.index.inputs[subject.object.input];
        let shown = shown.of(subject.object.input);
        let mut source = document_source(input, shown, subject, lines);
        source.name = for_terminal_line(&source.name).into_owned();
        let span = label(shown, &source, subject);
        match groups
            .iter_mut()
            .find(|(s, _)| Arc::ptr_eq(&s.text, &source.text) && s.start == source.start)
        {
            Some((_, labels)) => labels.push(span),
            None => groups.push((source, vec![span])),
        }
    }
    let mut groups = groups.into_iter();
    let Some((source, labels)) = groups.next() else {
        unreachable!("every finding has a subject")
    };
    FindingDiagnostic {
        code: format!("{} {} ({})", finding.check.id, finding.check.name, finding.severity),
        severity: miette_severity(finding.severity),
        message: for_terminal(&finding.message).into_owned(),
        help: Some(for_terminal(&help(audit, finding)).into_owned()),
        source,
        labels,
        related: groups
            .map(|(source, labels)| FindingDiagnostic {
                code: String::new(),
                severity: miette::Severity::Advice,
                message: format!("the other side, in {}", source.name),
                help: None,
                source,
                labels,
                related: Vec::new(),
            })
            .collect(),
    }
}

/// What to do, who can reach it, the values keys that decide it
/// (`--explore-values`), and where to read more.
fn help(audit: &Audit<'_>, finding: &Finding<'_>) -> String {
    let mut help = finding.help.clone();
    if let Some(exposure) = &finding.exposure {
        help.push_str(&format!("\nexposure: {}", exposure.describe()));
    }
    let keys = audit.values_keys(finding);
    if let (false, Some(explored)) = (keys.is_empty(), &audit.values_space) {
        help.push_str(&format!("\nvalues: {}", super::values::keys(keys, &explored.chart)));
    }
    help.push_str(&format!("\n(more: netaudit explain {})", finding.check.id));
    help
}

/// Above the findings of severity info.
const CONFIRM_HEADING: &str =
    "Confirm in the cluster (severity info: pods an operator or the control plane would create; \
`lint --cluster` checks them against what runs; they count for the exit status only with --fail-on info):\n\n";

pub fn render(audit: &Audit<'_>, options: &Options) -> String {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        // `release-name-api` stays whole: no break at its hyphens.
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
        .with_context_lines(1);
    let shown = Shown::new(audit);
    let lines = TemplateLines::default();
    let mut out = String::new();
    // What only the cluster can confirm comes last, under its own heading.
    let (to_confirm, findings): (Vec<&Finding<'_>>, Vec<&Finding<'_>>) =
        audit.findings.iter().partition(|f| f.severity == Severity::Info);
    let heading = (!to_confirm.is_empty()).then_some(CONFIRM_HEADING);
    for (i, finding) in findings.iter().chain(&to_confirm).enumerate() {
        if i == findings.len() {
            out.extend(heading);
        }
        let diag = diagnostic(audit, &shown, &lines, finding);
        if handler.render_report(&mut out, &diag).is_err() {
            out.push_str(&format!("{}: {}\n", diag.code, diag.message));
        }
        out.push('\n');
    }
    // Waiver reasons, pod names, probe details and warnings: shown, never
    // acted on by the terminal.
    let mut rest = String::new();
    for (finding, waiver) in &audit.suppressed {
        rest.push_str(&format!(
            "suppressed {} {}: {} (waived by {}: {})\n",
            finding.check.id,
            finding.check.name,
            finding.message,
            waiver.describe(),
            waiver.reason
        ));
    }
    if let Some(probe) = &audit.probe {
        rest.push_str(&format!(
            "probe: {} runtime, sandbox {}, {} run(s)\n",
            probe.runtime, probe.sandbox, probe.runs
        ));
        for status in &probe.incomplete {
            let state = match (probe.waited_for_readiness, status.stopped) {
                (_, true) => "stopped for good",
                (true, false) => "never became ready",
                (false, false) => "is not ready",
            };
            rest.push_str(&format!(
                "probe incomplete: {} `{}` (pod {}) {state}, so its ports were not judged: {}\n",
                status.owner.kind, status.owner.name, status.pod, status.detail
            ));
        }
        for workload in &probe.not_probed {
            rest.push_str(&format!(
                "not probed: {} `{}` runs to completion\n",
                workload.kind, workload.name
            ));
        }
        if let Some(command) = &probe.kept {
            rest.push_str(&format!(
                "kept: the sandbox is still there; remove it with: {command}\n"
            ));
        }
        rest.push_str(&super::observed::tests(probe.tests.as_ref()));
        rest.push_str(&super::observed::exercise(probe.exercise.as_ref()));
        rest.push_str(&super::observed::section(&probe.flows));
    }
    rest.push_str(&crate::engine::chart_policies::describe(&audit.chart_policies));
    if let Some(explored) = &audit.values_space {
        rest.push_str(&super::values::section(explored));
    }
    for warning in &audit.warnings {
        rest.push_str(&format!("warning: {}\n", warning.message));
    }
    out.push_str(&for_terminal(&rest));
    out.push_str(&closing_line(audit));
    out
}

/// The last line of the report: how many findings, in what.
pub fn closing_line(audit: &Audit<'_>) -> String {
    let releases = audit.index.inputs.len();
    let workloads = audit.index.workloads.len();
    let scope = format!(
        "{releases} release{} ({workloads} workload{}, {} Service{}, {} network polic{})",
        plural(releases),
        plural(workloads),
        audit.index.services.len(),
        plural(audit.index.services.len()),
        audit.index.policies.len(),
        if audit.index.policies.len() == 1 { "y" } else { "ies" }
    );
    let suppressed = if audit.suppressed.is_empty() {
        String::new()
    } else {
        format!(", {} suppressed", audit.suppressed.len())
    };
    if audit.findings.is_empty() {
        return format!("No findings in {scope}{suppressed}.\n");
    }
    let count = |s: Severity| audit.findings.iter().filter(|f| f.severity == s).count();
    format!(
        "{} finding{} ({} high, {} medium, {} low{}){suppressed} in {scope}.\n",
        audit.findings.len(),
        plural(audit.findings.len()),
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low),
        match count(Severity::Info) {
            0 => String::new(),
            n => format!(", {n} to confirm in the cluster"),
        }
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
