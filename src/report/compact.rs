//! `-o compact`: one line per finding, `path:line:col: ID severity message`,
//! as gcc and ruff's concise output print them, so editors and `grep` can
//! jump to the place; with `--explore-values`, a `note:` line per values
//! key that decides it, at its line in the values file. Warnings follow as
//! `input: warning: message`.

use super::{place, TemplateLines};
use crate::engine::Audit;
use crate::model::terminal::for_terminal_line;

pub fn render(audit: &Audit<'_>) -> String {
    let lines = TemplateLines::default();
    let mut out = String::new();
    for finding in &audit.findings {
        let at = place(audit, &lines, finding.primary());
        out.push_str(&format!(
            "{}:{}:{}: {} {} {}\n",
            for_terminal_line(&at.file),
            at.line,
            at.column,
            finding.check.id,
            finding.severity,
            one_line(&finding.message)
        ));
        // `--explore-values`: where the values that decide it are set.
        for key in audit.values_keys(finding) {
            // A values file inside a subchart's archive is no place to jump to.
            if let (Some(file), Some(line)) = (
                key.file.as_ref().filter(|f| std::path::Path::new(f).is_file()),
                key.line,
            ) {
                out.push_str(&format!(
                    "{}:{line}:1: note: {} is decided by values key {}\n",
                    for_terminal_line(file),
                    finding.check.id,
                    for_terminal_line(&key.key)
                ));
            }
        }
    }
    for warning in &audit.warnings {
        out.push_str(&format!("netaudit: warning: {}\n", one_line(&warning.message)));
    }
    out
}

/// Messages are one line already; a newline from the input must not split
/// a record, and what a terminal would act on is escaped.
pub(super) fn one_line(text: &str) -> String {
    for_terminal_line(&text.replace(['\n', '\r'], " ")).into_owned()
}
