//! Exposure end to end: `lint --enable-chart-policies` (the chart's own
//! policies switched on, before and after), `reach` (the per-port matrix),
//! and the exposure in SARIF.

mod common;

use common::{helm, netaudit, skip_without_helm, stderr, stdout};
use serde_json::Value;

const CHART: &str = "testdata/charts/chart-policies-partial-fail";

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

#[test]
fn enabling_chart_policies_says_what_they_close() {
    if skip_without_helm() {
        return;
    }
    for major in [3, 4] {
        let out = netaudit(&["lint", CHART, "--enable-chart-policies", "-o", "json"], &helm(major));
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let report = json(&out);
        let switched = &report["chart_policies"][0];
        assert_eq!(switched["keys"], serde_json::json!(["networkPolicy.enabled"]));
        // Before: the web admin port (M5B), the database's replication port
        // (M5C) and the hostNetwork exporter (M7) are all reachable.
        assert_eq!(
            switched["before"],
            serde_json::json!({"pods": 1, "services": 2, "reachable_pods": 1, "reachable_services": 2})
        );
        // After: the db policy closes M5C; web's policy is open to every
        // namespace; no policy applies to the exporter.
        assert_eq!(
            switched["after"],
            serde_json::json!({"pods": 1, "services": 2, "reachable_pods": 1, "reachable_services": 1})
        );
        assert_eq!(
            switched["closed"],
            serde_json::json!(["M5C Service/default/release-name-db port 5433"])
        );
        assert_eq!(
            (switched["m6_before"].as_u64(), switched["m6_after"].as_u64()),
            (Some(2), Some(0))
        );
        // The report is the one with the policies on: db's M5C is reachable only from web.
        let m5c = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "M5C")
            .unwrap();
        assert_eq!(m5c["exposure"]["any_pod"], false);
        assert_eq!(
            m5c["exposure"]["sources"],
            serde_json::json!([{"kind": "workload", "workload": "Deployment/default/release-name-web"}])
        );
    }
}

#[test]
fn the_summary_gets_a_table_shaped_like_figure_4b() {
    if skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", CHART, "--enable-chart-policies", "--summary"], &helm(4));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "| {CHART} | networkPolicy.enabled | 1/1 -> 1/1 | 2/2 -> 1/2 | 2 -> 0 |"
        )),
        "{text}"
    );
    // Without the flag: no such table.
    let out = netaudit(&["lint", CHART, "--summary"], &helm(4));
    assert!(!stdout(&out).contains("switched on"), "{}", stdout(&out));
}

#[test]
fn a_chart_without_toggles_is_audited_as_it_renders_with_a_note() {
    if skip_without_helm() {
        return;
    }
    let out = netaudit(
        &[
            "lint",
            "testdata/charts/m6-no-policy-fail",
            "--enable-chart-policies",
            "-o",
            "json",
        ],
        &helm(4),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("its values switch no NetworkPolicy off"),
        "{}",
        stderr(&out)
    );
    assert!(json(&out).get("chart_policies").is_none());
}

#[test]
fn reach_prints_a_truth_table_per_port() {
    if skip_without_helm() {
        return;
    }
    let out = netaudit(&["reach", CHART, "--enable-chart-policies"], &helm(4));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("reach_chart_policies_on", stdout(&out));
    // Without the chart's policies, everything reaches everything.
    let out = netaudit(&["reach", CHART, "-o", "json"], &helm(4));
    let rows = common::reach_rows(&json(&out));
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row["from_any_pod"], true, "{row}");
    }
    let out = netaudit(&["reach", CHART, "--enable-chart-policies", "-o", "json"], &helm(4));
    let rows = common::reach_rows(&json(&out));
    let db = rows
        .iter()
        .find(|r| r["to"] == "StatefulSet/default/release-name-db")
        .unwrap();
    assert_eq!(db["from"], serde_json::json!(["Deployment/default/release-name-web"]));
    assert_eq!(db["from_any_pod"], false);
    assert_eq!(db["policies"], serde_json::json!(["release-name-db"]));
}

#[test]
fn sarif_results_carry_the_exposure() {
    if skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", CHART, "--enable-chart-policies", "-o", "sarif"], &helm(4));
    let sarif = json(&out);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let m7 = results.iter().find(|r| r["ruleId"] == "M7").unwrap();
    assert_eq!(
        m7["properties"]["exposure"]["sources"],
        serde_json::json!([{"kind": "host-network"}])
    );
    let np1 = results.iter().find(|r| r["ruleId"] == "NP1").unwrap();
    assert!(np1.get("properties").is_none(), "a policy finding has no exposure");
}
