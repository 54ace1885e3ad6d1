//! Snapshots of every check's human and JSON output (insta), the SARIF
//! report validated against the SARIF 2.1.0 schema, and the summary table.

mod common;

use common::{helm, netaudit, repo, stdout};

/// One failing fixture per check: the scenario whose output is snapshotted.
const CHECK_FIXTURES: &[(&str, &[&str])] = &[
    ("M4A", &["testdata/charts/m4a-selector-selects-other-workload-fail"]),
    ("M4B", &["testdata/charts/m4b-two-services-one-deployment-fail"]),
    ("M4C", &["testdata/charts/m4c-service-selects-two-workloads-fail"]),
    (
        "M4G",
        &[
            "--chart",
            "blog=testdata/charts/m4g-generic-labels",
            "--chart",
            "shop=testdata/charts/m4g-generic-labels",
        ],
    ),
    ("M5B", &["testdata/charts/m5b-named-target-missing-fail"]),
    ("M5C", &["testdata/charts/m5c-headless-port-undeclared-fail"]),
    ("M5D", &["testdata/charts/m5d-service-without-target-fail"]),
    ("M6", &["testdata/charts/m6-policy-switched-off-fail"]),
    ("M7", &["testdata/charts/m7-host-network-fail"]),
    ("NP1", &["testdata/charts/np1-policy-selects-no-pod-fail"]),
    ("NP2", &["testdata/charts/np2-policy-peer-matches-nothing-fail"]),
    ("NP3", &["testdata/charts/np3-malformed-policy-fail"]),
];

fn lint(args: &[&str], format: &str) -> String {
    let mut all = vec!["lint"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", format]);
    let out = netaudit(&all, &helm(4));
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    stdout(&out)
}

#[test]
fn every_check_has_human_and_json_snapshots() {
    if common::skip_without_helm() {
        return;
    }
    for (check, args) in CHECK_FIXTURES {
        let human = lint(args, "human");
        assert!(
            human.contains(&format!("{check} ")),
            "{check} missing from its fixture's output:\n{human}"
        );
        insta::assert_snapshot!(format!("{check}_human"), human);
        let json: serde_json::Value = serde_json::from_str(&lint(args, "json")).unwrap();
        assert!(json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == *check));
        insta::assert_json_snapshot!(format!("{check}_json"), json);
    }
    // Every registered check is covered above.
    // (Runtime-only checks are snapshotted from synthetic observations in tests/runtime_checks.rs.)
    for check in netaudit::checks::REGISTRY.iter().filter(|c| !c.runtime_only()) {
        assert!(
            CHECK_FIXTURES.iter().any(|(id, _)| *id == check.id),
            "{} has no snapshot fixture",
            check.id
        );
    }
}

#[test]
fn sarif_is_valid_sarif_2_1_0_and_points_at_chart_templates() {
    if common::skip_without_helm() {
        return;
    }
    let sarif: serde_json::Value = serde_json::from_str(&lint(&["examples/insecure-shop"], "sarif")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("testdata/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    assert_valid_sarif(&schema, &sarif);

    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("examples/insecure-shop/templates/"), "{uri}");
        assert!(
            repo().join(uri).is_file(),
            "SARIF location {uri} is not a file of the chart"
        );
        assert!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                >= 1
        );
    }
    // Rule help comes from the check's doc comment.
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let m4b = rules.iter().find(|r| r["id"] == "M4B").unwrap();
    assert!(m4b["help"]["markdown"].as_str().unwrap().contains("## How to fix"));
    insta::assert_json_snapshot!("insecure_shop_sarif", sarif);

    // An absolute chart path still gives repository-relative URIs.
    let absolute = repo().join("examples/insecure-shop");
    let sarif: serde_json::Value = serde_json::from_str(&lint(&[absolute.to_str().unwrap()], "sarif")).unwrap();
    let uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str();
    assert_eq!(uri, Some("examples/insecure-shop/templates/worker.yaml"));
}

/// A chart outside the current directory: its templates are `file://` URIs,
/// what a URI cannot hold percent-encoded (SARIF wants URI references; a
/// bare absolute path with a space is none), and still valid SARIF.
#[test]
fn sarif_locates_a_chart_elsewhere_with_file_uris() {
    if common::skip_without_helm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().to_str().unwrap().to_string();
    assert!(
        base.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b)),
        "{base}: the expected URI below assumes a plain temporary directory"
    );
    let chart = tmp.path().join("my charts#1/shop ü");
    common::copy_dir(&repo().join("examples/insecure-shop"), &chart);
    let sarif: serde_json::Value = serde_json::from_str(&lint(&[chart.to_str().unwrap()], "sarif")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("testdata/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    assert_valid_sarif(&schema, &sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let prefix = format!("file://{base}/my%20charts%231/shop%20%C3%BC/templates/");
    for result in results {
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        let file = uri
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{uri} is not under {prefix}"));
        assert!(chart.join("templates").join(file).is_file(), "{uri}");
    }
}

#[test]
fn summary_counts_m6_once_per_chart() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(
        &[
            "lint",
            "examples/insecure-shop",
            "--manifests",
            "testdata/manifests/two-workloads-no-policy.yaml",
            "--summary",
        ],
        &helm(4),
    );
    let table = stdout(&out);
    insta::assert_snapshot!("summary_table", table);
    let shop_row = table
        .lines()
        .find(|l| l.starts_with("| examples/insecure-shop"))
        .unwrap();
    let cells: Vec<&str> = shop_row.split('|').map(str::trim).collect();
    // | chart | affected | M4A | M4B | M4C | M4G | M5B | M5C | M5D | M6 | M7 |
    assert_eq!(
        &cells[1..12],
        [
            "examples/insecure-shop",
            "yes",
            "1",
            "1",
            "1",
            "0",
            "1",
            "1",
            "1",
            "1",
            "1"
        ]
    );
}

#[test]
fn output_file_is_written_whole() {
    if common::skip_without_helm() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let out = netaudit(
        &[
            "lint",
            "examples/insecure-shop",
            "-o",
            "json",
            "--output-file",
            path.to_str().unwrap(),
        ],
        &helm(4),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 2);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left behind"
    );
}

#[test]
fn a_group_of_identical_labels_is_one_finding_and_every_pair_in_the_summary() {
    if common::skip_without_helm() {
        return;
    }
    let file = "testdata/manifests/M4A/fail-five-hook-jobs-identical-labels.yaml";
    let out = netaudit(&["lint", "--manifests", file, "-o", "json"], &helm(4));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let m4a: Vec<&serde_json::Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "M4A")
        .collect();
    assert_eq!(m4a.len(), 1, "{m4a:?}");
    assert_eq!(m4a[0]["objects"].as_array().unwrap().len(), 5);
    assert_eq!(json["summary"]["rows"][0]["counts"]["M4A"], 10);
}

/// No violation of the SARIF 2.1.0 schema, formats (`uri-reference`) included.
fn assert_valid_sarif(schema: &serde_json::Value, sarif: &serde_json::Value) {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .expect("SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(sarif)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "SARIF schema violations:\n{}", errors.join("\n"));
}
