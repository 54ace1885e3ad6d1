//! The cluster-wide policy tiers (AdminNetworkPolicy,
//! BaselineAdminNetworkPolicy, ClusterNetworkPolicy) through the real
//! binary, in every command that evaluates policies: `lint` (M6 and the
//! exposure), `reach -o json` and `fix --check`, on
//! `testdata/fix/admin-tiers.yaml` (its header says what each policy does).

mod common;

use common::{repo, stderr, stdout};
use serde_json::{json, Value};
use std::process::{Command, Output};

const FIXTURE: &str = "testdata/fix/admin-tiers.yaml";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .args(["--manifests", FIXTURE])
        .current_dir(repo())
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

#[test]
fn lint_counts_denying_tiers_for_m6_and_says_who_gets_through() {
    let out = run(&["lint", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let findings = report["findings"].as_array().unwrap();
    // Only tools/debug lacks a policy: the baseline's Deny restricts shop's pods.
    let m6: Vec<&Value> = findings.iter().filter(|f| f["check"] == "M6").collect();
    assert_eq!(m6.len(), 1, "{m6:#?}");
    assert!(m6[0]["message"].as_str().unwrap().contains("Pod `debug`"), "{m6:#?}");
    assert_eq!(m6[0]["exposure"]["any_pod"], true);
    // api's undeclared admin port: the admin tier passes shop's traffic on,
    // no NetworkPolicy isolates api, the baseline tier accepts web only
    // (addresses outside the cluster are no pods: no rule names them).
    let m5b = findings.iter().find(|f| f["check"] == "M5B").unwrap();
    assert_eq!(
        m5b["exposure"],
        json!({
            "any_pod": false,
            "sources": [{"kind": "workload", "workload": "Pod/shop/web"}, {"kind": "outside"}],
            "policies": ["ClusterNetworkPolicy web-to-api"],
            "notes": []
        })
    );
    let human = stdout(&run(&["lint"]));
    let flat = human.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("exposure: reachable only from `Pod/shop/web` and addresses outside the cluster (allowed by ClusterNetworkPolicy web-to-api)"),
        "{human}"
    );
}

#[test]
fn reach_applies_the_tiers_to_every_cell() {
    let out = run(&["reach", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = common::reach_rows(&json(&out));
    let row = |to: &str| {
        rows.iter()
            .find(|r| r["to"] == to)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {to}: {rows:#?}"))
    };
    // db: its NetworkPolicy lets api in, the admin tier's Allow lets job in
    // over it; the quarantine denies debug (another namespace).
    let db = row("Pod/shop/db");
    assert_eq!(db["from"], json!(["Pod/shop/api", "Pod/shop/job"]));
    assert_eq!(db["policies"], json!(["AdminNetworkPolicy job-reads-db", "db"]));
    assert_eq!(
        (&db["from_any_pod"], &db["from_outside"]),
        (&json!(false), &json!(false))
    );
    // api: the baseline tier decides (web accepted, the rest denied).
    let api = row("Pod/shop/api");
    assert_eq!(api["from"], json!(["Pod/shop/web"]));
    assert_eq!(api["policies"], json!(["ClusterNetworkPolicy web-to-api"]));
    assert_eq!(api["from_any_pod"], false);
    // web: passed on by the quarantine, denied by the baseline.
    let web = row("Pod/shop/web");
    assert_eq!(web["from"], json!([]));
    assert_eq!(web["unrestricted"], false);
    // debug: nothing selects it.
    let debug = row("Pod/tools/debug");
    assert_eq!(debug["unrestricted"], true);
}

#[test]
fn fix_check_judges_needed_flows_through_the_tiers() {
    let out = run(&["fix", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines[0], "# Flows the application needs: 8 of 10 pass (2 BLOCKED)",
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with(
            "BLOCKED: Pod/shop/worker -> Pod/shop/api 9000/TCP (denied from Pod/shop/worker by the ingress policies"
        ),
        "{lines:#?}"
    );
    for allowed in [
        "allowed: Pod/shop/api -> Pod/shop/db 5432/TCP (in: db; out: no policy)",
        "allowed: Pod/shop/job -> Pod/shop/db 5432/TCP (in: AdminNetworkPolicy job-reads-db; out: no policy)",
        "allowed: Pod/shop/web -> Pod/shop/api 9000/TCP (in: ClusterNetworkPolicy web-to-api; out: no policy)",
    ] {
        assert!(lines.iter().any(|l| l == allowed), "{allowed}: {lines:#?}");
    }
    assert!(stderr(&out).contains("2 needed flow(s) blocked"), "{}", stderr(&out));
}
