//! JSON report, schema version 2 (documented in docs/json-schema.md). The
//! same types are written here and read back by `fix --from-report`.

use super::{display_line, summary::Summary, TemplateLines};
use crate::checks::{Finding, Severity};
use crate::engine::Audit;
use crate::model::{Exposure, ObservedFlow, ProcessName, Protocol, WorkloadRef};
use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 2;

/// The report. Reading back needs `schema_version` and `findings`; the rest
/// defaults when absent (hand-made or trimmed reports read as well).
#[derive(Debug, Serialize, Deserialize)]
pub struct JsonReport {
    pub schema_version: u32,
    #[serde(default)]
    pub tool: Tool,
    #[serde(default)]
    pub inputs: Vec<JsonInput>,
    pub findings: Vec<JsonFinding>,
    #[serde(default)]
    pub suppressed: Vec<JsonFinding>,
    #[serde(default)]
    pub warnings: Vec<JsonWarning>,
    #[serde(default)]
    pub summary: Summary,
    /// `install --probe` and `audit` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<JsonProbe>,
    /// `--enable-chart-policies` only: per chart, what switching its
    /// NetworkPolicies on closed and what stays reachable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chart_policies: Vec<crate::engine::chart_policies::Switched>,
    /// `--explore-values` only: the chart's variants and what each changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_space: Option<crate::engine::values_space::Explored>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonProbe {
    pub runtime: String,
    pub sandbox: String,
    pub runs: usize,
    /// false for `audit` (pods taken as found, in place).
    pub waited_for_readiness: bool,
    pub incomplete: Vec<JsonIncomplete>,
    pub not_probed: Vec<WorkloadRef>,
    /// Milliseconds per phase.
    pub timings_ms: JsonTimings,
    /// `--keep`: the sandbox was left in place, and the command that removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<JsonKept>,
    /// The flows the pods made, as sampled (both runtimes).
    #[serde(default)]
    pub flows: Vec<ObservedFlow>,
    /// `--exercise`: what the throwaway client tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise: Option<crate::model::Exercise>,
    /// `--run-tests`: each of the chart's test hooks, and whether it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<crate::model::ChartTests>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonKept {
    pub remove_with: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonTimings {
    pub install: u128,
    pub wait: Vec<u128>,
    pub probe: Vec<u128>,
    pub restart: Vec<u128>,
    pub cleanup: u128,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonIncomplete {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub pod: String,
    /// It would not become ready (exited, CrashLoopBackOff, image missing,
    /// unschedulable): the wait ended without it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
    pub detail: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

pub fn tool() -> Tool {
    Tool {
        name: "helm-netaudit".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonInput {
    pub name: String,
    pub release: String,
    pub namespace: String,
    /// `lint --cluster`: objects read from the cluster, checked against
    /// but not reported on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub live: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonFinding {
    pub check: String,
    pub name: String,
    pub severity: Severity,
    pub message: String,
    pub help: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Runtime findings (M1, M2, M3): the port's protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Runtime findings: the containers holding the socket (M1, M2) or
    /// declaring the port (M3), when known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<String>,
    /// Runtime findings (M1, M2): the processes holding the socket, when known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<ProcessName>,
    pub objects: Vec<JsonObject>,
    /// Who can reach the finding's ports or workloads (absent for findings
    /// about neither: M5D, NP1-NP3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<Exposure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<JsonWaiver>,
    /// `--explore-values`: the values keys that decide the finding, with
    /// where their defaults are set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<crate::model::ValuesKey>,
}

#[derive(Debug, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_file_line: Option<u32>,
    pub label: String,
}

impl JsonObject {
    pub fn reference(&self) -> WorkloadRef {
        WorkloadRef {
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonWaiver {
    pub reason: String,
    pub source: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonWarning {
    pub message: String,
}

pub(crate) fn finding(audit: &Audit<'_>, lines: &TemplateLines, f: &Finding<'_>) -> JsonFinding {
    JsonFinding {
        check: f.check.id.into(),
        name: f.check.name.into(),
        severity: f.severity,
        message: f.message.clone(),
        help: f.help.clone(),
        port: f.port,
        protocol: f.protocol,
        containers: f.containers.clone(),
        processes: f.processes.clone(),
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
        exposure: f.exposure.clone(),
        waiver: None,
        values: audit.values_keys(f).to_vec(),
    }
}

pub fn build(audit: &Audit<'_>) -> JsonReport {
    let lines = TemplateLines::default();
    JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        inputs: audit
            .index
            .inputs
            .iter()
            .map(|i| JsonInput {
                name: i.name.clone(),
                release: i.release.clone(),
                namespace: i.default_namespace.clone(),
                live: i.live,
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
        probe: audit.probe.map(|p| JsonProbe {
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
                    stopped: s.stopped,
                    detail: s.detail.clone(),
                })
                .collect(),
            not_probed: p.not_probed.clone(),
            flows: p.flows.clone(),
            exercise: p.exercise.clone(),
            tests: p.tests.clone(),
            kept: p.kept.as_ref().map(|command| JsonKept {
                remove_with: command.clone(),
            }),
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
        chart_policies: audit.chart_policies.clone(),
        values_space: audit.values_space.clone(),
    }
}

/// The report as text. Serializing these types cannot fail (string keys,
/// no floats); should it ever, the error is returned.
pub fn render(audit: &Audit<'_>) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(&build(audit))?;
    text.push('\n');
    Ok(text)
}

/// [`render`], written to `out` as it is serialized: a cluster's report
/// (tens of MB) is never held whole in memory.
pub fn render_to(audit: &Audit<'_>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &build(audit))?;
    out.write_all(b"\n")
}

/// The oldest schema version [`read`] accepts: version 2 only added
/// `exposure`, which reading back does not need.
const OLDEST_READABLE: u32 = 1;

/// Read a report back (`fix --from-report`): its schema version first, so a
/// report of another version is refused by name rather than misread.
pub fn read(text: &str) -> Result<JsonReport, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a netaudit JSON report: {e}"))?;
    let version = match &value {
        serde_json::Value::Object(fields) => fields.get("schema_version").and_then(serde_json::Value::as_u64),
        _ => return Err("not a netaudit JSON report (not a JSON object)".into()),
    };
    match version {
        None => Err(
            "not a netaudit JSON report (no `schema_version`): produce it with `netaudit install --probe -o json`"
                .into(),
        ),
        Some(v) if (u64::from(OLDEST_READABLE)..=u64::from(SCHEMA_VERSION)).contains(&v) => {
            serde_json::from_value(value).map_err(|e| format!("not a valid netaudit JSON report (schema version {v}): {e}"))
        }
        Some(other) => Err(format!(
            "a report of schema version {other}; this netaudit reads schema versions {OLDEST_READABLE} to {SCHEMA_VERSION}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_of_another_version_or_shape_are_refused() {
        assert!(read("[1]").unwrap_err().starts_with("not a netaudit JSON report"));
        assert!(read("{}").unwrap_err().contains("no `schema_version`"));
        assert!(read(r#"{"schema_version": 3}"#)
            .unwrap_err()
            .contains("schema version 3"));
        assert!(read(r#"{"schema_version": 1}"#).unwrap_err().starts_with("not a valid"));
        assert!(
            read(r#"{"schema_version": 1, "findings": []}"#).is_ok(),
            "version 1 reads as well"
        );
        assert!(read(r#"{"schema_version": 2, "findings": []}"#).is_ok());
    }
}
