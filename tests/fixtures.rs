//! Every fixture chart (and the example chart) yields exactly the findings
//! listed in testdata/expected.yaml, rendered by real helm v3 and v4 through
//! the real binary.

mod common;

use common::{finding_keys, helm, netaudit, repo, stderr, stdout};
use netaudit::yaml::{parse_documents, Node};

fn expectations() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(repo().join("testdata/expected.yaml")).unwrap();
    let docs = parse_documents(&text, 1).unwrap();
    docs[0]
        .entries()
        .iter()
        .map(|(chart, list)| {
            let mut keys: Vec<String> = list
                .as_seq()
                .iter()
                .map(|e| {
                    let check = e.get("check").and_then(Node::scalar_text).unwrap();
                    let object = e.get("object").and_then(Node::scalar_text).unwrap();
                    match e.get("port").and_then(Node::as_i64) {
                        Some(port) => format!("{check} {object} :{port}"),
                        None => format!("{check} {object}"),
                    }
                })
                .collect();
            keys.sort();
            (chart.text.to_string(), keys)
        })
        .collect()
}

fn check_all_fixtures(helm_major: u8) {
    let helm = helm(helm_major);
    let expected = expectations();
    assert!(expected.len() >= 40, "expected.yaml lists {} charts", expected.len());
    let mut failures = Vec::new();
    for (chart, want) in &expected {
        let out = netaudit(&["lint", chart, "-o", "json"], &helm);
        let code = out.status.code();
        let want_code = if want.is_empty() { 0 } else { 1 };
        if code != Some(want_code) {
            failures.push(format!(
                "{chart}: exit {code:?}, want {want_code}; stderr: {}",
                stderr(&out)
            ));
            continue;
        }
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let got = finding_keys(&json);
        if &got != want {
            failures.push(format!("{chart}:\n   got  {got:?}\n   want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "helm v{helm_major}:\n{}", failures.join("\n"));
}

#[test]
fn fixtures_match_expectations_helm_v4() {
    if common::skip_without_helm() {
        return;
    }
    check_all_fixtures(4);
}

#[test]
fn fixtures_match_expectations_helm_v3() {
    if common::skip_without_helm() {
        return;
    }
    check_all_fixtures(3);
}

#[test]
fn every_fixture_chart_has_expectations() {
    let listed: Vec<String> = expectations().into_iter().map(|(c, _)| c).collect();
    for entry in std::fs::read_dir(repo().join("testdata/charts")).unwrap() {
        let name = format!("testdata/charts/{}", entry.unwrap().file_name().to_string_lossy());
        if name.ends_with("m4g-generic-labels") {
            continue; // audited in pairs: see tests/cross_release.rs
        }
        assert!(listed.contains(&name), "{name} has no entry in testdata/expected.yaml");
    }
}

#[test]
fn suppressed_finding_is_reported_as_suppressed_with_its_reason() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", "testdata/charts/suppress-annotation", "-o", "json"], &helm(4));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let suppressed = json["suppressed"].as_array().unwrap();
    assert_eq!(suppressed.len(), 1, "{json:#}");
    assert_eq!(suppressed[0]["check"], "M4B");
    assert_eq!(
        suppressed[0]["waiver"]["reason"],
        "two services on purpose, one headless for writes"
    );
    assert!(json["warnings"].as_array().unwrap().is_empty(), "{json:#}");
}

#[test]
fn m6_hint_names_the_values_key_and_user_values_silence_it() {
    if common::skip_without_helm() {
        return;
    }
    let chart = "testdata/charts/m6-policy-switched-off-fail";
    let out = netaudit(&["lint", chart, "-o", "json"], &helm(4));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let help = json["findings"][0]["help"].as_str().unwrap();
    assert!(help.contains("`networkPolicy.enabled: false`"), "{help}");
    assert!(help.contains("--set networkPolicy.enabled=true"), "{help}");
    // Turning the policy on with --set renders it: no M6 at all.
    let out = netaudit(
        &["lint", chart, "-o", "json", "--set", "networkPolicy.enabled=true"],
        &helm(4),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// Each workload's M6 hint names only the key whose policy would select
/// it, a subchart's under its alias, and following the hint closes exactly
/// that finding; `--enable-chart-policies` switches the subchart's on too.
/// The same with the subchart packaged as an archive in `charts/`.
#[test]
fn m6_hints_name_the_key_of_the_workloads_own_chart() {
    if common::skip_without_helm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let archived = tmp.path().join("stack");
    common::copy_dir(&repo().join("testdata/charts/subchart-policies-fail"), &archived);
    let packaged = std::process::Command::new(helm(4))
        .args(["package", "charts/metrics", "-d", "charts"])
        .current_dir(&archived)
        .output()
        .unwrap();
    assert!(packaged.status.success(), "{}", stderr(&packaged));
    std::fs::remove_dir_all(archived.join("charts/metrics")).unwrap();
    let archived = archived.display().to_string();
    // The aliased subchart renders as charts/kube-metrics/: its file is charts/metrics/.
    let compact = stdout(&netaudit(
        &["lint", "testdata/charts/subchart-policies-fail", "-o", "compact"],
        &helm(4),
    ));
    assert!(
        compact
            .starts_with("testdata/charts/subchart-policies-fail/charts/metrics/templates/deployment.yaml:11:7: M6 "),
        "{compact}"
    );
    for chart in ["testdata/charts/subchart-policies-fail", archived.as_str()] {
        let lint = |extra: &[&str]| -> Vec<(String, String)> {
            let mut args = vec!["lint", chart, "-o", "json"];
            args.extend_from_slice(extra);
            let out = netaudit(&args, &helm(4));
            let json: serde_json::Value =
                serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
            json["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let name = f["objects"][0]["name"].as_str().unwrap().to_string();
                    let set = f["help"]
                        .as_str()
                        .unwrap()
                        .split("turn it on with ")
                        .nth(1)
                        .unwrap_or("")
                        .to_string();
                    (name, set)
                })
                .collect()
        };
        let hints = lint(&[]);
        let expected = [
            ("release-name-metrics", "--set kube-metrics.networkPolicy.enabled=true"),
            ("release-name-server", "--set server.networkPolicy.enabled=true"),
            (
                "release-name-alertmanager",
                "--set alertmanager.networkPolicy.enabled=true",
            ),
        ];
        let expected: Vec<(String, String)> = expected.iter().map(|(w, s)| (w.to_string(), s.to_string())).collect();
        assert_eq!(hints, expected, "{chart}");
        for (workload, set) in &expected {
            let value = set.trim_start_matches("--set ");
            let left: Vec<String> = lint(&["--set", value]).into_iter().map(|(w, _)| w).collect();
            assert!(
                !left.contains(workload) && left.len() == 2,
                "{chart}: {set} left {left:?}"
            );
        }
        let out = netaudit(&["lint", chart, "--enable-chart-policies", "-o", "json"], &helm(4));
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(json["findings"].as_array().unwrap().len(), 0, "{chart}: {json:#}");
        let switched = &json["chart_policies"][0];
        assert_eq!(
            switched["keys"],
            serde_json::json!([
                "server.networkPolicy.enabled",
                "alertmanager.networkPolicy.enabled",
                "kube-metrics.networkPolicy.enabled"
            ]),
            "{chart}"
        );
        assert_eq!(
            (switched["m6_before"].as_u64(), switched["m6_after"].as_u64()),
            (Some(3), Some(0))
        );
    }
}

#[test]
fn a_chart_that_renders_nothing_is_a_warning_not_an_error() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", "testdata/charts/empty-render-pass", "-o", "json"], &helm(4));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let warning = json["warnings"][0]["message"].as_str().unwrap();
    assert!(warning.contains("rendered no Kubernetes objects"), "{warning}");
}
