//! `.netaudit.yaml` (disable, severity, ignore), the ignore annotation,
//! warnings about waivers that match nothing, and --fail-on.

mod common;

use common::{finding_keys, helm, netaudit, stdout};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", common::stderr(out)))
}

#[test]
fn config_in_chart_dir_disables_reweights_and_waives() {
    if common::skip_without_helm() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("shop");
    common::copy_dir(&common::repo().join("examples/insecure-shop"), &chart);
    std::fs::write(
        chart.join(".netaudit.yaml"),
        "disable: [M6]\nseverity:\n  M7: low\nignore:\n  - check: M4C\n    object: Service/*/release-name-storefront\n    reason: admin is behind the same auth\n  - check: [M5D]\n    object: Service/*/no-such-service\n    reason: stale\n",
    )
    .unwrap();
    let out = netaudit(&["lint", chart.to_str().unwrap(), "-o", "json"], &helm(4));
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let keys = finding_keys(&report);
    assert!(!keys.iter().any(|k| k.starts_with("M6 ")), "M6 is disabled: {keys:?}");
    assert!(!keys.iter().any(|k| k.starts_with("M4C ")), "M4C is waived: {keys:?}");
    let m7 = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "M7")
        .unwrap();
    assert_eq!(m7["severity"], "low");
    assert_eq!(report["suppressed"][0]["check"], "M4C");
    assert_eq!(
        report["suppressed"][0]["waiver"]["reason"],
        "admin is behind the same auth"
    );
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("no-such-service") && warnings[0].contains("matched no finding"),
        "{warnings:?}"
    );
}

#[test]
fn fail_on_threshold_decides_the_exit_code() {
    if common::skip_without_helm() {
        return;
    }
    // m7-host-network-fail has one high finding (M7) and nothing else.
    let chart = "testdata/charts/m7-host-network-fail";
    for (fail_on, code) in [("low", 1), ("medium", 1), ("high", 1), ("never", 0)] {
        let out = netaudit(&["lint", chart, "--fail-on", fail_on, "-o", "json"], &helm(4));
        assert_eq!(out.status.code(), Some(code), "--fail-on {fail_on}");
    }
    // m6-no-policy-fail has only medium findings (M6).
    let chart = "testdata/charts/m6-no-policy-fail";
    for (fail_on, code) in [("medium", 1), ("high", 0)] {
        let out = netaudit(&["lint", chart, "--fail-on", fail_on, "-o", "json"], &helm(4));
        assert_eq!(out.status.code(), Some(code), "--fail-on {fail_on}");
    }
}

#[test]
fn annotation_waiver_that_matches_nothing_is_reported() {
    if common::skip_without_helm() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  annotations:\n    netaudit.io/ignore: \"M7: not a pod\"\nspec:\n  selector: {app: api}\n  ports: [{port: 80}]\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: api\n  labels: {app: api}\n  annotations:\n    netaudit.io/ignore: \"M6: policies are managed by the platform team\\nM99: typo\"\nspec:\n  containers: [{name: c, image: x, ports: [{containerPort: 80}]}]\n",
    )
    .unwrap();
    let out = netaudit(&["lint", "--manifests", path.to_str().unwrap(), "-o", "json"], &helm(4));
    assert_eq!(out.status.code(), Some(0), "M6 waived, nothing else: {}", stdout(&out));
    let report = json(&out);
    let warnings: Vec<String> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings.iter().any(|w| w.contains("unknown check \"M99\"")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("Service/default/api") && w.contains("matched no finding")),
        "{warnings:?}"
    );
}

#[test]
fn namespace_flag_and_helm_namespace_env_set_the_default_namespace() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(
        &[
            "lint",
            "testdata/charts/m7-host-network-fail",
            "-n",
            "edge",
            "-o",
            "json",
        ],
        &helm(4),
    );
    assert_eq!(json(&out)["findings"][0]["objects"][0]["namespace"], "edge");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["lint", "testdata/charts/m7-host-network-fail", "-o", "json"])
        .current_dir(common::repo())
        .env("HELM_BIN", helm(4))
        .env("HELM_NAMESPACE", "from-helm")
        .output()
        .unwrap();
    assert_eq!(json(&out)["findings"][0]["objects"][0]["namespace"], "from-helm");
}
