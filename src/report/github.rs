//! `-o github`: GitHub Actions workflow commands, one annotation per finding
//! (`::error file=…,line=…,col=…,title=…::message`): high findings are
//! errors, medium warnings, low notices. Warnings of the run are warnings
//! without a file.

use super::{place, TemplateLines};
use crate::checks::Severity;
use crate::engine::Audit;
use crate::model::terminal::for_terminal;

pub fn render(audit: &Audit<'_>) -> String {
    let lines = TemplateLines::default();
    let mut out = String::new();
    for finding in &audit.findings {
        let at = place(audit, &lines, finding.primary());
        let level = match finding.severity {
            Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low | Severity::Info => "notice",
        };
        let mut message = finding.message.clone();
        if let Some(exposure) = &finding.exposure {
            message.push_str(&format!("\n{}", exposure.describe()));
        }
        message.push_str(&format!("\n{}", finding.help));
        out.push_str(&format!(
            "::{level} file={},line={},col={},title={}::{}\n",
            property(&at.file),
            at.line,
            at.column,
            property(&format!("{} {}", finding.check.id, finding.check.name)),
            data(&message)
        ));
    }
    for warning in &audit.warnings {
        out.push_str(&format!("::warning title=netaudit::{}\n", data(&warning.message)));
    }
    out
}

/// The escaping GitHub's runner applies to a command's message (after
/// escaping what a terminal showing the raw log would act on).
fn data(text: &str) -> String {
    for_terminal(text)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The escaping of a command's property values (`file=`, `title=`).
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_what_the_runner_reads_as_syntax() {
        assert_eq!(super::data("50% a\nb"), "50%25 a%0Ab");
        assert_eq!(super::property("a:b,c"), "a%3Ab%2Cc");
    }
}
