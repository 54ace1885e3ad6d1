//! SARIF 2.1.0. Locations are the chart's template files (resolved against
//! the local chart directory), so GitHub code scanning shows a finding on the
//! template that produced it.

use super::{display_line, source_file, TemplateLines};
use crate::audit::Audit;
use crate::checks::{Finding, Severity, REGISTRY};
use serde_json::{json, Value};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub ranks security alerts by this CVSS-like score.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "8.0",
        Severity::Medium => "5.0",
        Severity::Low => "3.0",
    }
}

fn rules() -> Vec<Value> {
    REGISTRY
        .iter()
        .map(|check| {
            let doc = check.documentation();
            json!({
                "id": check.id,
                "name": check.name,
                "shortDescription": {"text": check.summary},
                "fullDescription": {"text": check.section("What it does")},
                "help": {"text": doc, "markdown": doc},
                "defaultConfiguration": {"level": level(check.default_severity)},
                "properties": {
                    "security-severity": security_severity(check.default_severity),
                    "tags": ["security", "kubernetes", "network"],
                    "analysis": check.analysis
                }
            })
        })
        .collect()
}

fn location(
    audit: &Audit<'_>,
    lines: &TemplateLines,
    subject: &crate::checks::Subject<'_>,
    id: Option<usize>,
) -> Value {
    let input = &audit.index.inputs[subject.object.input];
    let line = lines
        .line_in_template_file(input, subject)
        .unwrap_or_else(|| display_line(subject));
    let mut loc = json!({
        "physicalLocation": {
            "artifactLocation": {"uri": uri(&source_file(input, subject))},
            "region": {"startLine": line.max(1)}
        },
        "logicalLocations": [{
            "fullyQualifiedName": subject.object.id(),
            "kind": "resource"
        }],
        "message": {"text": subject.label}
    });
    if let Some(id) = id {
        loc["id"] = json!(id);
    }
    loc
}

/// A relative URI with forward slashes (what code scanning expects for repo
/// files): an absolute path under the current directory is made relative.
fn uri(path: &str) -> String {
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

fn result(
    audit: &Audit<'_>,
    lines: &TemplateLines,
    finding: &Finding<'_>,
    suppression: Option<&crate::suppress::Waiver<'_>>,
) -> Value {
    let rule_index = REGISTRY.iter().position(|c| c.id == finding.check.id).unwrap_or(0);
    let primary = finding.primary();
    let mut result = json!({
        "ruleId": finding.check.id,
        "ruleIndex": rule_index,
        "level": level(finding.severity),
        "message": {"text": format!("{} ({})", finding.message, finding.help)},
        "locations": [location(audit, lines, primary, None)],
        "partialFingerprints": {
            "netauditFinding/v1": format!(
                "{}|{}|{}",
                finding.check.id,
                finding.subjects.iter().map(|s| s.object.id()).collect::<Vec<_>>().join("|"),
                finding.port.map(|p| p.to_string()).unwrap_or_default()
            )
        }
    });
    if finding.subjects.len() > 1 {
        result["relatedLocations"] = Value::Array(
            finding.subjects[1..]
                .iter()
                .enumerate()
                .map(|(i, s)| location(audit, lines, s, Some(i + 1)))
                .collect(),
        );
    }
    if let Some(waiver) = suppression {
        result["suppressions"] = json!([{
            "kind": "inSource",
            "justification": format!("{} ({})", waiver.reason, waiver.describe())
        }]);
    }
    result
}

pub fn build(audit: &Audit<'_>) -> Value {
    let lines = TemplateLines::default();
    let mut results: Vec<Value> = audit.findings.iter().map(|f| result(audit, &lines, f, None)).collect();
    results.extend(audit.suppressed.iter().map(|(f, w)| result(audit, &lines, f, Some(w))));
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "helm-netaudit",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules()
            }},
            "results": results,
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": audit.probe.iter().flat_map(|p| p.incomplete.iter()).map(|s| json!({
                    "level": "warning",
                    "message": {"text": format!("probe incomplete: {} `{}` (pod {}) was not ready: {}", s.owner.kind, s.owner.name, s.pod, s.detail)}
                })).collect::<Vec<_>>()
            }],
            "columnKind": "unicodeCodePoints"
        }]
    })
}

pub fn render(audit: &Audit<'_>) -> String {
    let mut text = serde_json::to_string_pretty(&build(audit)).unwrap_or_default();
    text.push('\n');
    text
}
