//! `-o compact`: one line per finding, `path:line:col: ID severity message`,
//! as gcc and ruff's concise output print them, so editors and `grep` can
//! jump to the place. Warnings follow as `input: warning: message`.

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
