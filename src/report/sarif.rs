//! SARIF 2.1.0. Locations are the chart's template files (resolved against
//! the local chart directory), so GitHub code scanning shows a finding on the
//! template that produced it. Their `uri` is a URI reference, as SARIF
//! requires: relative paths stay relative, absolute ones are `file://` URIs.

use super::TemplateLines;
use crate::checks::{Finding, Severity, Subject, REGISTRY};
use crate::engine::waivers::Waiver;
use crate::engine::Audit;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
pub struct Log {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub tool: Tool,
    pub results: Vec<SarifResult>,
    pub invocations: Vec<Invocation>,
    pub column_kind: &'static str,
}

#[derive(Serialize)]
pub struct Tool {
    pub driver: Driver,
}

#[derive(Serialize)]
pub struct Driver {
    pub name: &'static str,
    pub version: &'static str,
    pub rules: Vec<Rule>,
}

#[derive(Serialize)]
pub struct Text {
    pub text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    pub short_description: Text,
    pub full_description: Text,
    pub help: Help,
    pub default_configuration: Configuration,
    pub properties: RuleProperties,
}

#[derive(Serialize)]
pub struct Help {
    pub text: String,
    pub markdown: String,
}

#[derive(Serialize)]
pub struct Configuration {
    pub level: &'static str,
}

#[derive(Serialize)]
pub struct RuleProperties {
    #[serde(rename = "security-severity")]
    pub security_severity: &'static str,
    pub tags: [&'static str; 3],
    pub analysis: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: &'static str,
    pub rule_index: usize,
    pub level: &'static str,
    pub message: Text,
    pub locations: Vec<Location>,
    pub partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressions: Vec<Suppression>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<ResultProperties>,
}

/// SARIF's property bag of a result: who can reach the finding.
#[derive(Serialize)]
pub struct ResultProperties {
    pub exposure: crate::model::Exposure,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<usize>,
    pub physical_location: PhysicalLocation,
    pub logical_locations: Vec<LogicalLocation>,
    pub message: Text,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    pub region: Region,
}

#[derive(Serialize)]
pub struct ArtifactLocation {
    pub uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub start_line: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicalLocation {
    pub fully_qualified_name: String,
    pub kind: &'static str,
}

#[derive(Serialize)]
pub struct Suppression {
    pub kind: &'static str,
    pub justification: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub execution_successful: bool,
    pub tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
pub struct Notification {
    pub level: &'static str,
    pub message: Text,
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub ranks security alerts by this CVSS-like score.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "8.0",
        Severity::Medium => "5.0",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn rules() -> Vec<Rule> {
    REGISTRY
        .iter()
        .map(|check| {
            let doc = check.documentation();
            Rule {
                id: check.id,
                name: check.name,
                short_description: Text {
                    text: check.summary.to_string(),
                },
                full_description: Text {
                    text: check.section("What it does"),
                },
                help: Help {
                    text: doc.clone(),
                    markdown: doc,
                },
                default_configuration: Configuration {
                    level: level(check.default_severity),
                },
                properties: RuleProperties {
                    security_severity: security_severity(check.default_severity),
                    tags: ["security", "kubernetes", "network"],
                    analysis: check.analysis_text(),
                },
            }
        })
        .collect()
}

fn location(audit: &Audit<'_>, lines: &TemplateLines, subject: &Subject<'_>, id: Option<usize>) -> Location {
    let place = super::place(audit, lines, subject);
    Location {
        id,
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation { uri: uri(&place.file) },
            region: Region { start_line: place.line },
        },
        logical_locations: vec![LogicalLocation {
            fully_qualified_name: subject.object.id(),
            kind: "resource",
        }],
        message: Text {
            text: subject.label.clone(),
        },
    }
}

/// `--explore-values`: the values keys that decide the finding, where a
/// values file sets them, after the finding's other objects.
fn values_locations(audit: &Audit<'_>, finding: &Finding<'_>) -> Vec<Location> {
    audit
        .values_keys(finding)
        .iter()
        // A values file inside a subchart's archive is no file to point at.
        .filter_map(|key| Some((key, key.file.as_deref()?, key.line?)))
        .filter(|(_, file, _)| std::path::Path::new(file).is_file())
        .enumerate()
        .map(|(i, (key, file, line))| Location {
            id: Some(finding.subjects.len() + i),
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation { uri: uri(file) },
                region: Region { start_line: line },
            },
            logical_locations: vec![LogicalLocation {
                fully_qualified_name: key.key.clone(),
                kind: "variable",
            }],
            message: Text {
                text: format!("values key `{}` decides this finding", key.key),
            },
        })
        .collect()
}

/// A place's file as `artifactLocation.uri`, which SARIF 2.1.0 requires to
/// be a valid URI reference: a path relative to the current
/// directory (already with `/` separators) stays a relative reference, an
/// absolute path becomes a `file://` URI (a bare `/tmp/chart/…` would be a
/// reference relative to whatever base the reader picks). Every byte a URI
/// path cannot hold as it is (space, `%`, `#`, `?`, `:`, non-ASCII, …) is
/// percent-encoded; `:` too, which in a relative reference's first segment
/// would read as a scheme.
fn uri(file: &str) -> String {
    let mut encoded = String::with_capacity(file.len() + 8);
    if file.starts_with('/') {
        encoded.push_str("file://");
    }
    for byte in file.bytes() {
        // RFC 3986 unreserved characters, sub-delims, `@`, and `/` between segments.
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@/".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn result(audit: &Audit<'_>, lines: &TemplateLines, finding: &Finding<'_>, waiver: Option<&Waiver<'_>>) -> SarifResult {
    let rule_index = REGISTRY.iter().position(|c| c.id == finding.check.id).unwrap_or(0);
    let fingerprint = format!(
        "{}|{}|{}",
        finding.check.id,
        finding
            .subjects
            .iter()
            .map(|s| s.object.id())
            .collect::<Vec<_>>()
            .join("|"),
        finding.port.map(|p| p.to_string()).unwrap_or_default()
    );
    SarifResult {
        rule_id: finding.check.id,
        rule_index,
        level: level(finding.severity),
        message: Text {
            text: format!("{} ({})", finding.message, finding.help),
        },
        locations: vec![location(audit, lines, finding.primary(), None)],
        partial_fingerprints: BTreeMap::from([("netauditFinding/v1", fingerprint)]),
        related_locations: finding.subjects[1..]
            .iter()
            .enumerate()
            .map(|(i, s)| location(audit, lines, s, Some(i + 1)))
            .chain(values_locations(audit, finding))
            .collect(),
        suppressions: waiver
            .map(|w| Suppression {
                kind: "inSource",
                justification: format!("{} ({})", w.reason, w.describe()),
            })
            .into_iter()
            .collect(),
        properties: finding.exposure.clone().map(|exposure| ResultProperties { exposure }),
    }
}

pub fn build(audit: &Audit<'_>) -> Log {
    let lines = TemplateLines::default();
    let mut results: Vec<SarifResult> = audit.findings.iter().map(|f| result(audit, &lines, f, None)).collect();
    results.extend(audit.suppressed.iter().map(|(f, w)| result(audit, &lines, f, Some(w))));
    let notifications = audit
        .probe
        .iter()
        .flat_map(|p| p.incomplete.iter())
        .map(|s| Notification {
            level: "warning",
            message: Text {
                text: format!(
                    "probe incomplete: {} `{}` (pod {}) was not ready: {}",
                    s.owner.kind, s.owner.name, s.pod, s.detail
                ),
            },
        })
        .collect();
    Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "helm-netaudit",
                    version: env!("CARGO_PKG_VERSION"),
                    rules: rules(),
                },
            },
            results,
            invocations: vec![Invocation {
                execution_successful: true,
                tool_execution_notifications: notifications,
            }],
            column_kind: "unicodeCodePoints",
        }],
    }
}

/// The SARIF log as text. Serializing these types cannot fail (string keys,
/// no non-finite floats); should it ever, the error is returned, never an
/// empty document.
pub fn render(audit: &Audit<'_>) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(&build(audit))?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn relative_paths_stay_relative_and_absolute_ones_are_file_uris() {
        assert_eq!(
            uri("examples/insecure-shop/templates/api.yaml"),
            "examples/insecure-shop/templates/api.yaml"
        );
        assert_eq!(uri("shop/templates/api.yaml"), "shop/templates/api.yaml");
        assert_eq!(
            uri("../charts/shop/templates/a.yaml"),
            "../charts/shop/templates/a.yaml"
        );
        assert_eq!(
            uri("/tmp/shop/templates/api.yaml"),
            "file:///tmp/shop/templates/api.yaml"
        );
    }

    #[test]
    fn what_a_uri_cannot_hold_is_percent_encoded() {
        assert_eq!(
            uri("/home/me/my charts/shop ü/templates/a#1?.yaml"),
            "file:///home/me/my%20charts/shop%20%C3%BC/templates/a%231%3F.yaml"
        );
        assert_eq!(uri("100%/a b.yaml"), "100%25/a%20b.yaml");
        // A colon in the first segment would make `c` a scheme.
        assert_eq!(uri("c:d/a.yaml"), "c%3Ad/a.yaml");
        assert_eq!(uri("<stdin>"), "%3Cstdin%3E");
        assert_eq!(uri("a\\b[1]{x}|y^z`\"q\""), "a%5Cb%5B1%5D%7Bx%7D%7Cy%5Ez%60%22q%22");
    }
}
