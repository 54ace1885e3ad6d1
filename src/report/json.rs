//! JSON report, schema version 1 (documented in docs/json-schema.md).

use super::{display_line, summary::Summary, TemplateLines};
use crate::audit::Audit;
use crate::checks::Finding;
use serde::Serialize;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct JsonReport<'r> {
    pub schema_version: u32,
    pub tool: Tool,
    pub inputs: Vec<JsonInput<'r>>,
    pub findings: Vec<JsonFinding>,
    pub suppressed: Vec<JsonFinding>,
    pub warnings: Vec<JsonWarning>,
    pub summary: Summary,
    /// `install --probe` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<JsonProbe>,
}

#[derive(Serialize)]
pub struct JsonProbe {
    pub runtime: String,
    pub sandbox: String,
    pub runs: usize,
    /// false for `audit` (pods taken as found, in place).
    pub waited_for_readiness: bool,
    pub incomplete: Vec<JsonIncomplete>,
    pub not_probed: Vec<JsonWorkload>,
    /// Milliseconds per phase.
    pub timings_ms: JsonTimings,
}

#[derive(Serialize)]
pub struct JsonTimings {
    pub install: u128,
    pub wait: Vec<u128>,
    pub probe: Vec<u128>,
    pub restart: Vec<u128>,
    pub cleanup: u128,
}

#[derive(Serialize)]
pub struct JsonIncomplete {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub pod: String,
    pub detail: String,
}

#[derive(Serialize)]
pub struct JsonWorkload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

pub fn tool() -> Tool {
    Tool {
        name: "helm-netaudit",
        version: env!("CARGO_PKG_VERSION"),
    }
}

#[derive(Serialize)]
pub struct JsonInput<'r> {
    pub name: &'r str,
    pub release: &'r str,
    pub namespace: &'r str,
}

#[derive(Serialize)]
pub struct JsonFinding {
    pub check: &'static str,
    pub name: &'static str,
    pub severity: &'static str,
    pub message: String,
    pub help: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// Runtime findings (M1, M2, M3): the port's protocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<&'static str>,
    /// Runtime findings: the containers holding the socket (M1, M2) or
    /// declaring the port (M3), when known.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<String>,
    pub objects: Vec<JsonObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<JsonWaiver>,
}

#[derive(Serialize)]
pub struct JsonObject {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub release: String,
    /// Helm's `# Source:` template path, when known.
    pub template: Option<String>,
    /// 0-based index of the object's YAML document in its input.
    pub document: usize,
    /// Line inside the template's rendered document (or in the input file
    /// when there is no template).
    pub line: u32,
    /// Line in the whole rendered input.
    pub input_line: u32,
    /// Best-effort line in the template file on disk (local charts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_file_line: Option<u32>,
    pub label: String,
}

#[derive(Serialize)]
pub struct JsonWaiver {
    pub reason: String,
    pub source: String,
}

#[derive(Serialize)]
pub struct JsonWarning {
    pub message: String,
}

fn finding(audit: &Audit<'_>, lines: &TemplateLines, f: &Finding<'_>) -> JsonFinding {
    JsonFinding {
        check: f.check.id,
        name: f.check.name,
        severity: f.severity.as_str(),
        message: f.message.clone(),
        help: f.help.clone(),
        port: f.port,
        protocol: f.protocol,
        containers: f.containers.clone(),
        objects: f
            .subjects
            .iter()
            .map(|s| JsonObject {
                kind: s.object.kind.clone(),
                namespace: s.object.namespace.clone(),
                name: s.object.name.clone(),
                release: audit.index.release_of(s.object).to_string(),
                template: s.location.template.clone(),
                document: s.object.document,
                line: display_line(s),
                input_line: s.location.line,
                template_file_line: lines.line_in_template_file(&audit.index.inputs[s.object.input], s),
                label: s.label.clone(),
            })
            .collect(),
        waiver: None,
    }
}

pub fn build<'r>(audit: &'r Audit<'_>) -> JsonReport<'r> {
    let lines = TemplateLines::default();
    JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        inputs: audit
            .index
            .inputs
            .iter()
            .map(|i| JsonInput {
                name: &i.name,
                release: &i.release,
                namespace: &i.default_namespace,
            })
            .collect(),
        findings: audit.findings.iter().map(|f| finding(audit, &lines, f)).collect(),
        suppressed: audit
            .suppressed
            .iter()
            .map(|(f, w)| JsonFinding {
                waiver: Some(JsonWaiver {
                    reason: w.reason.clone(),
                    source: w.describe(),
                }),
                ..finding(audit, &lines, f)
            })
            .collect(),
        warnings: audit
            .warnings
            .iter()
            .map(|w| JsonWarning {
                message: w.message.clone(),
            })
            .collect(),
        summary: Summary::of(audit),
        probe: audit.probe.as_ref().map(|p| JsonProbe {
            runtime: p.runtime.clone(),
            sandbox: p.sandbox.clone(),
            runs: p.runs,
            waited_for_readiness: p.waited_for_readiness,
            incomplete: p
                .incomplete
                .iter()
                .map(|s| JsonIncomplete {
                    kind: s.owner.kind.clone(),
                    namespace: s.owner.namespace.clone(),
                    name: s.owner.name.clone(),
                    pod: s.pod.clone(),
                    detail: s.detail.clone(),
                })
                .collect(),
            not_probed: p
                .not_probed
                .iter()
                .map(|w| JsonWorkload {
                    kind: w.kind.clone(),
                    namespace: w.namespace.clone(),
                    name: w.name.clone(),
                })
                .collect(),
            timings_ms: {
                let ms = |d: &std::time::Duration| d.as_millis();
                JsonTimings {
                    install: ms(&p.timings.install),
                    wait: p.timings.wait.iter().map(ms).collect(),
                    probe: p.timings.probe.iter().map(ms).collect(),
                    restart: p.timings.restart.iter().map(ms).collect(),
                    cleanup: ms(&p.timings.cleanup),
                }
            },
        }),
    }
}

pub fn render(audit: &Audit<'_>) -> String {
    let mut text = serde_json::to_string_pretty(&build(audit)).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
