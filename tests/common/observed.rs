//! Real software's observed flows, end to end (issue: observed traffic):
//! the probe's report lists exactly the flows the application makes, with
//! their processes; `fix --from-report` writes policies that allow every
//! one of them (checked by `fix --check --from-report`, and by NCA, an
//! independent implementation of the policies' semantics, where it is set
//! up); and NCA blocks what nothing needs.
#![allow(dead_code)]

use super::{helm, nca_answers, nca_python, netaudit, stderr, stdout};
use serde_json::{json, Value};

/// One flow as the tests spell it: `client -> server port/protocol
/// (process)`, workloads by name, `dns` for the cluster DNS (no process:
/// the queries are logged by the DNS server, or sockets come and go).
pub fn flow_lines(report: &Value) -> Vec<String> {
    let mut lines: Vec<String> = report["probe"]["flows"]
        .as_array()
        .expect("probe.flows")
        .iter()
        .filter(|f| f["origin"].is_null())
        .map(|f| {
            let to = match f["to"]["kind"].as_str() {
                Some("workload") => f["to"]["workload"]["name"].as_str().unwrap_or("?").to_string(),
                Some("cluster_dns") => "dns".to_string(),
                Some(other) => format!("{other} {}", f["to"]).replace('"', ""),
                None => "?".into(),
            };
            let process = match (to.as_str(), f["process"].as_str()) {
                ("dns", _) => String::new(),
                (_, Some(process)) => format!(" ({process})"),
                (_, None) => " (-)".into(),
            };
            let answered = if f["completed"] == true { "" } else { " NEVER ANSWERED" };
            format!(
                "{} -> {to} {}/{}{process}{answered}",
                f["from"]["name"].as_str().unwrap_or("?"),
                f["port"],
                f["protocol"].as_str().unwrap_or("?")
            )
        })
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

/// [`flow_lines`] of a RabbitMQ cluster: the epmd lookups (4369) without
/// their process, which is named only when a lookup (a moment long) was
/// open at a probe.
pub fn rabbitmq_flow_lines(report: &Value) -> Vec<String> {
    flow_lines(report)
        .into_iter()
        .map(|line| match line.split_once(" 4369/TCP (") {
            Some((before, _)) => format!("{before} 4369/TCP"),
            None => line,
        })
        .collect()
}

/// `fix --from-report` on `chart` (the chart and its flags, as `release`) with the probe's report
/// `report`: every observed flow between two workloads is allowed by the
/// policies it writes, says `fix --check --from-report`; NCA agrees; and
/// NCA blocks each of `blocked` (`client -> server port`, by workload
/// name, in the chart's namespace `default`).
pub fn assert_fix_keeps_observed_flows(report: &Value, release: &str, chart: &[&str], blocked: &[(&str, &str, u16)]) {
    let dir = tempfile::tempdir().unwrap();
    let report_file = dir.path().join("report.json");
    std::fs::write(&report_file, report.to_string()).unwrap();
    let report_file = report_file.to_str().unwrap();
    let fixed = dir.path().join("fixed");
    let mut args = vec!["fix", release];
    args.extend_from_slice(chart);
    args.extend(["--from-report", report_file, "--egress", "strict", "--output-dir"]);
    args.push(fixed.to_str().unwrap());
    let out = netaudit(&args, &helm(4));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rendered = std::fs::read_to_string(fixed.join("rendered.yaml")).unwrap();
    let policies = std::fs::read_to_string(fixed.join("networkpolicies.yaml")).unwrap();
    let manifests = dir.path().join("with-policies.yaml");
    std::fs::write(&manifests, format!("{rendered}\n---\n{policies}")).unwrap();
    let out = netaudit(
        &[
            "fix",
            "--manifests",
            manifests.to_str().unwrap(),
            "--check",
            "--from-report",
            report_file,
        ],
        &helm(4),
    );
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    let between_workloads: Vec<&Value> = report["probe"]["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["origin"].is_null() && f["to"]["kind"] == "workload")
        .collect();
    assert!(!between_workloads.is_empty(), "{report:#}");
    for flow in &between_workloads {
        let line = format!(
            "allowed, observed: {}/{}/{} -> {}/{}/{} {}/{}",
            flow["from"]["kind"].as_str().unwrap(),
            flow["from"]["namespace"].as_str().unwrap(),
            flow["from"]["name"].as_str().unwrap(),
            flow["to"]["workload"]["kind"].as_str().unwrap(),
            flow["to"]["workload"]["namespace"].as_str().unwrap(),
            flow["to"]["workload"]["name"].as_str().unwrap(),
            flow["port"],
            flow["protocol"].as_str().unwrap()
        );
        assert!(stdout(&out).contains(&line), "{line}\n{}", stdout(&out));
    }
    let Some(python) = nca_python() else { return };
    let reference = |workload: &Value| {
        format!(
            "{}/{}/{}",
            workload["kind"].as_str().unwrap(),
            workload["namespace"].as_str().unwrap(),
            workload["name"].as_str().unwrap()
        )
    };
    let kind_of = |name: &str| {
        between_workloads
            .iter()
            .flat_map(|f| [&f["from"], &f["to"]["workload"]])
            .find(|w| w["name"] == name)
            .map(reference)
            .unwrap_or_else(|| panic!("{name} is in no observed flow"))
    };
    let mut queries: Vec<Value> = between_workloads
        .iter()
        .map(|f| {
            json!({"to": reference(&f["to"]["workload"]), "port": f["port"], "protocol": f["protocol"],
                   "from": [reference(&f["from"])]})
        })
        .collect();
    let observed = queries.len();
    for (from, to, port) in blocked {
        queries.push(json!({"to": kind_of(to), "port": port, "protocol": "TCP", "from": [kind_of(from)]}));
    }
    let request = json!({"cases": [{"name": release, "file": manifests, "namespace": "default",
                                    "probes": [], "queries": queries}]});
    let answer = nca_answers(&python, &request);
    let case = &answer["cases"][0];
    assert!(case["error"].is_null() && case["skipped"].is_null(), "{case:#}");
    let answers: Vec<Option<bool>> = case["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a[0].as_bool())
        .collect();
    for (i, query) in queries.iter().enumerate() {
        let expected = i < observed;
        assert_eq!(answers[i], Some(expected), "NCA on {query}: {case:#}\n{policies}");
    }
}
