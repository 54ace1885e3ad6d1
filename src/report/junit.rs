//! `-o junit`: JUnit XML for CI systems that show test reports. One test
//! suite per input (release); each finding is a failed test case named after
//! the check and the object, with the message and place in its failure; an
//! input without findings has one passing case, so it shows as audited.

use super::{escape_markup as escape, place, TemplateLines};
use crate::engine::Audit;

pub fn render(audit: &Audit<'_>) -> String {
    let lines = TemplateLines::default();
    let mut suites = String::new();
    let mut cases_in_all = 0;
    for (i, input) in audit.index.inputs.iter().enumerate() {
        let findings: Vec<_> = audit.findings.iter().filter(|f| f.input() == i).collect();
        let mut cases = String::new();
        for f in &findings {
            let at = place(audit, &lines, f.primary());
            let port = f.port.map(|p| format!(" port {p}")).unwrap_or_default();
            let mut body = format!("{}:{}:{}\n{}\n{}", at.file, at.line, at.column, f.message, f.help);
            if let Some(exposure) = &f.exposure {
                body.push_str(&format!("\nexposure: {}", exposure.describe()));
            }
            cases.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                escape(&format!("{} {}", f.check.id, f.check.name)),
                escape(&format!("{}{port}", f.primary().object.id())),
                escape(&at.file),
                at.line,
                f.severity,
                escape(&f.message),
                escape(&body)
            ));
        }
        if findings.is_empty() {
            cases.push_str(&format!(
                "    <testcase classname=\"netaudit\" name=\"{}\"/>\n",
                escape(&input.name)
            ));
        }
        cases_in_all += findings.len().max(1);
        suites.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n{cases}  </testsuite>\n",
            escape(&input.name),
            findings.len().max(1),
            findings.len()
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"netaudit\" tests=\"{}\" failures=\"{}\">\n{suites}</testsuites>\n",
        cases_in_all,
        audit.findings.len()
    )
}
