//! `netaudit reach` past the matrix: grouped rows and source groups,
//! `--to`/`--from`, `--summary`, and the jsonl, csv and dot outputs, on
//! testdata/reach/cluster.yaml (24 workloads in 3 namespaces: `shop` has a
//! policy for its web pods, from `shop` and, on `http`, from namespaces of
//! team `ops`, and one for its db pods, from the web pods on 5432; `tools`
//! and `monitoring` have none).

mod common;

use common::{netaudit, stderr, stdout};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

const CLUSTER: &str = "testdata/reach/cluster.yaml";

fn reach(extra: &[&str]) -> Output {
    let mut args = vec!["reach", "--manifests", CLUSTER];
    args.extend(extra);
    // Manifests only: no helm runs.
    netaudit(&args, Path::new("/nonexistent/helm"))
}

fn json(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

fn ok(extra: &[&str]) -> String {
    let out = reach(extra);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

fn from_of<'r>(rows: &'r [Value], to: &str) -> &'r Value {
    &rows
        .iter()
        .find(|r| r["to"] == to)
        .unwrap_or_else(|| panic!("no row {to}"))["from"]
}

#[test]
fn a_large_input_is_grouped_rows_and_source_groups() {
    let text = ok(&[]);
    insta::assert_snapshot!("reach_grouped", text);
    let value = json(&reach(&["-o", "json"]));
    assert_eq!(value["version"], 2);
    // The rows cover every destination port once; the groups every workload once.
    let rows = value["rows"].as_array().unwrap();
    let ports: u64 = rows.iter().map(|r| r["ports"].as_u64().unwrap()).sum();
    assert_eq!(ports, 24);
    let sources = value["sources"].as_array().unwrap();
    let members: u64 = sources.iter().map(|g| g["count"].as_u64().unwrap()).sum();
    assert_eq!(members, 24);
    assert_eq!(rows.len(), 3, "db, web, and the unrestricted rest");
    let per_port = common::reach_rows(&value);
    // db: from the web pods only.
    let db = from_of(&per_port, "Deployment/shop/shop-0");
    assert_eq!(db.as_array().unwrap().len(), 10);
    assert!(db
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w.as_str().unwrap().starts_with("Deployment/shop/")));
    // web: from shop and monitoring, not tools.
    let web = from_of(&per_port, "Deployment/shop/shop-5");
    let names: Vec<&str> = web.as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert_eq!(names.len(), 16);
    assert!(names.contains(&"Deployment/monitoring/prom-3") && !names.iter().any(|n| n.contains("/tools/")));
    // tools: from everyone.
    let tool = per_port.iter().find(|r| r["to"] == "Deployment/tools/tool-0").unwrap();
    assert_eq!(
        (tool["from_all_workloads"].clone(), tool["unrestricted"].clone()),
        (true.into(), true.into())
    );
}

#[test]
fn to_and_from_ask_about_a_part_of_the_cluster() {
    // A namespace as destination.
    let value = json(&reach(&["--to", "shop", "-o", "json"]));
    let rows = common::reach_rows(&value);
    assert_eq!(rows.len(), 12);
    assert!(rows
        .iter()
        .all(|r| r["to"].as_str().unwrap().starts_with("Deployment/shop/")));
    // A label selector as source: the scrapers reach the web pods (http)
    // and everything unrestricted, not the db.
    let value = json(&reach(&["--from", "role=scraper", "-o", "json"]));
    assert_eq!(value["workloads"], 4);
    let rows = common::reach_rows(&value);
    assert!(
        rows.iter().all(|r| r["to"] != "Deployment/shop/shop-0"),
        "the db is not reachable from the scrapers"
    );
    assert_eq!(from_of(&rows, "Deployment/shop/shop-2").as_array().unwrap().len(), 4);
    // A workload, its kind in any case, as destination.
    let value = json(&reach(&["--to", "deployment/shop/shop-1", "-o", "json"]));
    assert_eq!(common::reach_rows(&value).len(), 1);
    // Several: any of them.
    let value = json(&reach(&["--to", "tools", "--to", "monitoring", "-o", "json"]));
    assert_eq!(common::reach_rows(&value).len(), 12);
}

#[test]
fn a_selection_that_names_nothing_is_one_line_and_exit_2() {
    for (flag, value) in [("--to", "shp"), ("--from", "role=scaper"), ("--to", "tier in (a")] {
        let out = reach(&[flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {}", stdout(&out));
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.contains(flag) && err.contains(value.split(' ').next().unwrap()),
            "{err}"
        );
    }
}

#[test]
fn the_summary_counts_ports_per_namespace() {
    let text = ok(&["--summary"]);
    let line = |ns: &str| {
        text.lines()
            .find(|l| l.starts_with(ns))
            .unwrap_or_else(|| panic!("{ns}\n{text}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    // workloads, ports, any pod, outside, isolated, hostNetwork
    assert_eq!(line("shop"), "12 12 0 0 12 0");
    assert_eq!(line("tools"), "8 8 8 8 0 0");
    let value = json(&reach(&["--summary", "-o", "json", "--to", "monitoring"]));
    assert_eq!(value.as_array().unwrap().len(), 1);
    assert_eq!(value[0]["open_to_any_pod"], 4);
    let out = reach(&["--summary", "--from", "shop"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn jsonl_csv_and_dot_say_the_same_rows() {
    let lines: Vec<Value> = ok(&["-o", "jsonl"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["sources", "sources", "sources", "row", "row", "row"]);
    let csv = ok(&["-o", "csv"]);
    let mut rows = csv.lines();
    assert!(rows.next().unwrap().starts_with("workload,port,protocol,row,"));
    let rows: Vec<&str> = rows.collect();
    assert_eq!(rows.len(), 24, "a line per destination port");
    assert!(rows.contains(&"Deployment/shop/shop-0,5432,TCP,R1,false,false,false,10,S2,false,false,db,"));
    let dot = ok(&["-o", "dot"]);
    assert!(dot.starts_with("digraph reach {"), "{dot}");
    // The unrestricted row (R3) is reached from any pod, outside and every group.
    for edge in [
        "any -> R3;",
        "outside -> R3;",
        "S1 -> R3;",
        "S2 -> R3;",
        "S3 -> R3;",
        "S2 -> R1;",
    ] {
        assert!(dot.contains(edge), "{edge} missing:\n{dot}");
    }
    assert!(!dot.contains("S3 -> R1;") && !dot.contains("any -> R1;"), "{dot}");
}
