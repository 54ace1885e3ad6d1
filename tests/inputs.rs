//! Several inputs in one call: audited together (selectors and policies
//! match across them in a shared namespace, which finds M4G) or, with
//! `--separately`, each exactly as if it were audited alone.

mod common;

use common::{netaudit, stderr, stdout};
use std::path::Path;

const CATCH_ALL: &str = "testdata/inputs/catch-all-policy.yaml";
const NO_POLICY: &str = "testdata/manifests/two-workloads-no-policy.yaml";
const BLOG: &str = "testdata/manifests/M4G/fail-generic-labels/blog.yaml";
const SHOP: &str = "testdata/manifests/M4G/fail-generic-labels/shop.yaml";

/// Manifests only: helm is never run.
fn lint(args: &[&str]) -> std::process::Output {
    netaudit(args, Path::new("/nonexistent/helm"))
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["lint", "-o", "json"];
    all.extend_from_slice(args);
    let out = lint(&all);
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("JSON report")
}

fn checks_of(report: &serde_json::Value, input_file: &str) -> Vec<String> {
    let input = report["summary"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"].as_str().unwrap().ends_with(input_file))
        .unwrap_or_else(|| panic!("no row for {input_file}"));
    let mut checks: Vec<String> = input["counts"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(check, _)| check.clone())
        .collect();
    checks.sort();
    checks
}

fn warnings(report: &serde_json::Value) -> Vec<String> {
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_catch_all_policy_of_one_input_hides_m6_in_another_unless_separately() {
    let alone = json(&["--manifests", NO_POLICY]);
    assert_eq!(checks_of(&alone, "two-workloads-no-policy.yaml"), ["M6"]);

    let together = json(&["--manifests", CATCH_ALL, "--manifests", NO_POLICY]);
    assert!(checks_of(&together, "two-workloads-no-policy.yaml").is_empty());
    let warned = warnings(&together);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].starts_with(&format!("{CATCH_ALL} reaches into other inputs in namespace `default`"))
            && warned[0].contains("NetworkPolicy `allow-same-namespace` selects the pods of Deployment `api` of")
            && warned[0].contains("--separately"),
        "{}",
        warned[0]
    );

    let separately = json(&["--manifests", CATCH_ALL, "--manifests", NO_POLICY, "--separately"]);
    assert_eq!(checks_of(&separately, "two-workloads-no-policy.yaml"), ["M6"]);
    assert!(warnings(&separately).is_empty(), "{:?}", warnings(&separately));
    // The same findings, objects and exposure as the run on its own.
    let of_release = |report: &serde_json::Value| -> Vec<serde_json::Value> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["objects"][0]["release"] == "two-workloads-no-policy")
            .cloned()
            .collect()
    };
    assert_eq!(of_release(&separately).len(), 2);
    assert_eq!(of_release(&separately), of_release(&alone));
}

#[test]
fn given_their_own_namespaces_inputs_are_not_warned_about() {
    let together = json(&["--manifests", CATCH_ALL, "--manifests", NO_POLICY, "-n", "shop"]);
    // Still one namespace for both: `-n` applies to every input.
    assert_eq!(warnings(&together).len(), 1);
    let dir = tempfile::tempdir().unwrap();
    let placed = dir.path().join("placed.yaml");
    let text = std::fs::read_to_string(common::repo().join(NO_POLICY)).unwrap();
    std::fs::write(
        &placed,
        text.replace("metadata:\n  name:", "metadata:\n  namespace: default\n  name:"),
    )
    .unwrap();
    let placed = placed.to_str().unwrap();
    let together = json(&["--manifests", CATCH_ALL, "--manifests", placed]);
    // The workloads say they run in `default`: the policy does select them.
    assert!(warnings(&together).is_empty(), "{:?}", warnings(&together));
    assert!(checks_of(&together, "placed.yaml").is_empty());
}

#[test]
fn m4g_needs_the_inputs_together() {
    let together = json(&["--manifests", BLOG, "--manifests", SHOP]);
    assert_eq!(checks_of(&together, "blog.yaml"), ["M4G"]);
    // Each selects the other's pods: one warning for the pair.
    let warned = warnings(&together);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].starts_with(&format!("{BLOG} reaches into other inputs")),
        "{}",
        warned[0]
    );
    let separately = json(&["--manifests", BLOG, "--manifests", SHOP, "--separately"]);
    assert!(checks_of(&separately, "blog.yaml").is_empty());
    assert!(checks_of(&separately, "shop.yaml").is_empty());
    assert_eq!(separately["summary"]["rows"].as_array().unwrap().len(), 2);
}

#[test]
fn the_summary_prints_the_warnings_on_stderr() {
    let out = lint(&["lint", "--manifests", CATCH_ALL, "--manifests", NO_POLICY, "--summary"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("| chart | affected |"), "{}", stdout(&out));
    assert!(
        stderr(&out).starts_with(&format!("netaudit: warning: {CATCH_ALL} reaches into other inputs")),
        "{}",
        stderr(&out)
    );
    let out = lint(&[
        "lint",
        "--manifests",
        CATCH_ALL,
        "--manifests",
        NO_POLICY,
        "--summary",
        "--separately",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}
