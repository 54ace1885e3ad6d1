//! `-o policyreport`: the findings as the Kubernetes Policy WG's reports
//! (`wgpolicyk8s.io/v1alpha2`, what Kyverno, Trivy Operator and Kubescape
//! write): a `PolicyReport` named `netaudit` in each namespace audited, and a
//! `ClusterPolicyReport` for the findings whose objects span namespaces.
//! A result per finding (`fail`; `skip` for a waived one): the check ID as
//! policy, its name as rule, the severity, the objects as resources. Applied
//! under the same names, a report replaces the previous one of netaudit.

use crate::checks::Finding;
use crate::engine::Audit;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
/// The name of every report netaudit writes, and its results' `source`.
pub const NAME: &str = "netaudit";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    summary: Summary,
    results: Vec<ReportResult>,
}

#[derive(Serialize)]
struct Metadata {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    labels: BTreeMap<&'static str, &'static str>,
}

#[derive(Serialize, Default)]
struct Summary {
    pass: usize,
    fail: usize,
    warn: usize,
    error: usize,
    skip: usize,
}

#[derive(Serialize)]
struct ReportResult {
    source: &'static str,
    policy: &'static str,
    rule: &'static str,
    category: &'static str,
    severity: &'static str,
    result: &'static str,
    message: String,
    timestamp: Timestamp,
    resources: Vec<Resource>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    properties: BTreeMap<&'static str, String>,
}

#[derive(Serialize, Clone, Copy)]
struct Timestamp {
    seconds: u64,
    nanos: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Resource {
    api_version: String,
    kind: String,
    name: String,
    namespace: String,
}

/// The reports of `audit`, their results stamped `seconds` since the epoch:
/// one PolicyReport per namespace of the audited releases' objects (with no
/// result where nothing was found, so that it replaces an older one) and
/// per other namespace a finding is in (`lint --cluster`'s live objects:
/// the rest of the cluster gets no report), then the ClusterPolicyReport
/// when a finding spans namespaces.
pub fn reports(audit: &Audit<'_>, seconds: u64) -> Vec<Value> {
    let timestamp = Timestamp { seconds, nanos: 0 };
    let namespaces: BTreeSet<&str> = audit
        .index
        .objects
        .iter()
        .filter(|o| !audit.index.inputs[o.input].live)
        .map(|o| o.namespace.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    let mut by_namespace: BTreeMap<Option<&str>, Vec<ReportResult>> =
        namespaces.iter().map(|n| (Some(*n), Vec::new())).collect();
    let waived = audit.suppressed.iter().map(|(f, _)| (f, true));
    for (finding, skipped) in audit.findings.iter().map(|f| (f, false)).chain(waived) {
        let spanned: BTreeSet<&str> = finding.subjects.iter().map(|s| s.object.namespace.as_str()).collect();
        let scope = match spanned.len() {
            1 => spanned.into_iter().next(),
            _ => None,
        };
        by_namespace
            .entry(scope)
            .or_default()
            .push(result(finding, skipped, timestamp));
    }
    by_namespace
        .into_iter()
        .filter(|(namespace, results)| namespace.is_some() || !results.is_empty())
        .map(|(namespace, results)| {
            let mut summary = Summary::default();
            for r in &results {
                match r.result {
                    "skip" => summary.skip += 1,
                    _ => summary.fail += 1,
                }
            }
            let report = Report {
                api_version: API_VERSION,
                kind: if namespace.is_some() {
                    "PolicyReport"
                } else {
                    "ClusterPolicyReport"
                },
                metadata: Metadata {
                    name: NAME,
                    namespace: namespace.map(str::to_string),
                    labels: BTreeMap::from([("app.kubernetes.io/managed-by", NAME)]),
                },
                summary,
                results,
            };
            // Typed objects of strings, numbers and maps always serialize.
            serde_json::to_value(report).unwrap_or(Value::Null)
        })
        .collect()
}

fn result(finding: &Finding<'_>, skipped: bool, timestamp: Timestamp) -> ReportResult {
    let mut properties = BTreeMap::new();
    if let Some(port) = finding.port {
        properties.insert("port", port.to_string());
    }
    if let Some(exposure) = &finding.exposure {
        properties.insert("exposure", exposure.describe());
    }
    if let Some(template) = &finding.primary().location.template {
        properties.insert("template", template.clone());
    }
    properties.insert("help", finding.help.clone());
    ReportResult {
        source: NAME,
        policy: finding.check.id,
        rule: finding.check.name,
        category: "network",
        severity: finding.severity.as_str(),
        result: if skipped { "skip" } else { "fail" },
        message: finding.message.clone(),
        timestamp,
        resources: finding
            .subjects
            .iter()
            .map(|s| Resource {
                api_version: s.object.api_version.clone(),
                kind: s.object.kind.clone(),
                name: s.object.name.clone(),
                namespace: s.object.namespace.clone(),
            })
            .collect(),
        properties,
    }
}

/// Seconds since the epoch, for [`reports`].
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The reports as YAML documents (`kubectl apply -f`).
pub fn yaml(reports: &[Value]) -> String {
    reports
        .iter()
        .map(|r| format!("---\n{}", crate::yaml::writer::to_yaml(r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::engine::config::Config;
    use crate::model::{Detail, Input, Manifests};
    use serde_json::json;

    /// A report per namespace of the input, with a result per finding
    /// (waived ones skipped), and none for the cluster when no finding
    /// spans namespaces.
    #[test]
    fn a_report_per_namespace_with_a_result_per_finding() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: agent, namespace: shop}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec:\n      hostNetwork: true\n      containers: [{name: a, image: a, ports: [{containerPort: 9100}]}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: quiet}\nspec: {selector: {app: db}, ports: [{port: 5432}]}\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: quiet}\nspec:\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: db, image: db, ports: [{containerPort: 5432}]}]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: quiet}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{podSelector: {}}], ports: [{port: 5432}]}]\n";
        let manifests = Manifests::load(
            vec![Input::new("r.yaml", "r", "shop", text.to_string())],
            Detail::Checks,
        )
        .unwrap();
        let audit = crate::engine::run(&manifests, &Config::default(), None);
        let reports = super::reports(&audit, 1_700_000_000);
        let kinds: Vec<(&str, &str)> = reports
            .iter()
            .map(|r| {
                (
                    r["kind"].as_str().unwrap(),
                    r["metadata"]["namespace"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(kinds, [("PolicyReport", "quiet"), ("PolicyReport", "shop")]);
        assert_eq!(
            reports[0]["results"],
            json!([]),
            "an empty report replaces an older one"
        );
        let shop = &reports[1];
        assert_eq!(shop["apiVersion"], "wgpolicyk8s.io/v1alpha2");
        assert_eq!(shop["metadata"]["name"], "netaudit");
        let results = shop["results"].as_array().unwrap();
        assert_eq!(results.len(), audit.findings.len());
        assert_eq!(shop["summary"]["fail"], json!(audit.findings.len()));
        let m7 = results
            .iter()
            .find(|r| r["policy"] == "M7")
            .expect("the hostNetwork finding");
        assert_eq!(m7["rule"], crate::checks::M7.name);
        assert_eq!(m7["severity"], "high");
        assert_eq!(m7["result"], "fail");
        assert_eq!(m7["source"], "netaudit");
        assert_eq!(m7["timestamp"], json!({"seconds": 1_700_000_000u64, "nanos": 0}));
        assert_eq!(
            m7["resources"],
            json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "agent", "namespace": "shop"}])
        );
    }
}
