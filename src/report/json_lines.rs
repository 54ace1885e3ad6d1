//! `-o jsonl`: one JSON object per line and per input (a chart, a manifests
//! file, a release of a fleet audit), with its summary counts and the
//! findings counted under it, in the types of the JSON report
//! (docs/json-schema.md). A consumer reads a fleet one release at a time.

use super::json::{self, JsonFinding, JsonWaiver};
use super::summary::Summary;
use super::TemplateLines;
use crate::engine::Audit;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct Line<'r> {
    pub schema_version: u32,
    pub input: &'r str,
    pub release: &'r str,
    pub namespace: &'r str,
    pub affected: bool,
    pub counts: &'r BTreeMap<String, usize>,
    pub findings: Vec<JsonFinding>,
    pub suppressed: Vec<JsonFinding>,
}

pub fn render(audit: &Audit<'_>) -> Result<String, serde_json::Error> {
    let lines = TemplateLines::default();
    let summary = Summary::of(audit);
    let mut out = String::new();
    let mut rows = summary.rows.iter();
    for (index, input) in audit.index.inputs.iter().enumerate().filter(|(_, i)| !i.live) {
        let Some(row) = rows.next() else { break };
        let under_this = |f: &&crate::checks::Finding<'_>| audit.counted_under(f) == Some(index);
        let line = Line {
            schema_version: json::SCHEMA_VERSION,
            input: &input.name,
            release: &input.release,
            namespace: &input.default_namespace,
            affected: row.affected,
            counts: &row.counts,
            findings: audit
                .findings
                .iter()
                .filter(under_this)
                .map(|f| json::finding(audit, &lines, f))
                .collect(),
            suppressed: audit
                .suppressed
                .iter()
                .filter(|(f, _)| audit.counted_under(f) == Some(index))
                .map(|(f, waiver)| JsonFinding {
                    waiver: Some(JsonWaiver {
                        reason: waiver.reason.clone(),
                        source: waiver.describe(),
                    }),
                    ..json::finding(audit, &lines, f)
                })
                .collect(),
        };
        out.push_str(&serde_json::to_string(&line)?);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::engine::config::Config;
    use crate::model::{Detail, Input, Manifests};

    const WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: NAME, namespace: prod}\nspec:\n  \
selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    \
spec: {containers: [{name: web, image: web, ports: [{containerPort: 8080}]}]}\n";

    fn input(name: &str, live: bool) -> Input {
        let mut input = Input::new(name, name, "prod", WEB.replace("NAME", name));
        input.live = live;
        input
    }

    /// Live objects (`lint --cluster`) are context: what concerns only them
    /// is not reported, they are no row and no line, and a finding between
    /// them and the audited chart is the chart's.
    #[test]
    fn live_inputs_are_context_not_rows() {
        let manifests = Manifests::load(
            vec![input("chart", false), input("live-a", true), input("live-b", true)],
            Detail::Checks,
        )
        .unwrap();
        let audit = crate::engine::run(&manifests, &Config::default(), None);
        let keys: Vec<String> = audit
            .findings
            .iter()
            .map(|f| {
                let objects: Vec<&str> = f.subjects.iter().map(|s| s.object.name.as_str()).collect();
                format!("{} {}", f.check.id, objects.join(","))
            })
            .collect();
        // M4G chart/live-a and chart/live-b; live-a/live-b and the live
        // objects' own M6 are not the chart's doing.
        assert_eq!(keys, ["M4G chart,live-a", "M4G chart,live-b", "M6 chart"]);
        let text = super::render(&audit).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert_eq!(lines[0]["input"], "chart");
        assert_eq!(lines[0]["counts"]["M4G"], 2);
        assert_eq!(lines[0]["findings"].as_array().unwrap().len(), 3);
        let summary = crate::report::summary::Summary::of(&audit);
        assert_eq!(summary.rows.len(), 1);
    }

    /// A finding between a live object and the chart is placed at the
    /// chart's side (what SARIF, compact and GitHub annotations point at),
    /// even when the live object came first.
    #[test]
    fn a_finding_with_a_live_side_is_placed_at_the_charts() {
        let manifests = Manifests::load(vec![input("live-a", true), input("chart", false)], Detail::Checks).unwrap();
        let audit = crate::engine::run(&manifests, &Config::default(), None);
        let m4g = audit.findings.iter().find(|f| f.check.id == "M4G").expect("an M4G");
        let names: Vec<&str> = m4g.subjects.iter().map(|s| s.object.name.as_str()).collect();
        assert_eq!(names, ["chart", "live-a"]);
    }
}
