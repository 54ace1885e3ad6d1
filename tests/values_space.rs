//! `lint --explore-values` on the values-toggles chart, with helm 3 and 4:
//! the findings only some values bring (M7 with hostNetwork, M5B with the
//! metrics Service), the values that remove one (the NetworkPolicy toggle
//! closes M6), a variant helm refuses, one stopped at the render timeout,
//! and each finding's values keys with their lines in every format.

mod common;

use common::{helm, netaudit, skip_without_helm, stderr, stdout};
use serde_json::Value;

const CHART: &str = "testdata/charts/values-toggles";

fn explore(args: &[&str], major: u8) -> (Option<i32>, Value) {
    let mut all = vec!["lint", CHART, "--explore-values", "-o", "json"];
    all.extend_from_slice(args);
    let out = netaudit(&all, &helm(major));
    let json =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("not JSON ({e}); stderr: {}", stderr(&out)));
    (out.status.code(), json)
}

/// The variant that sets exactly `setting` (`key=value`).
fn variant<'j>(json: &'j Value, setting: &str) -> &'j Value {
    json["values_space"]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| {
            let settings = v["settings"].as_array().unwrap();
            settings.len() == 1
                && format!(
                    "{}={}",
                    settings[0]["key"].as_str().unwrap(),
                    settings[0]["value"].as_str().unwrap()
                ) == setting
        })
        .unwrap_or_else(|| panic!("no variant {setting}: {:#}", json["values_space"]))
}

/// `M7 Deployment/default/release-name-web` of each finding in `list`.
fn described(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let port = f["port"].as_u64().map(|p| format!(" :{p}")).unwrap_or_default();
            format!(
                "{} {}{port}",
                f["check"].as_str().unwrap(),
                f["objects"][0].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn each_key_is_reported_with_what_it_brings_or_removes() {
    if skip_without_helm() {
        return;
    }
    for major in [3, 4] {
        let (code, json) = explore(&[], major);
        assert_eq!(code, Some(1), "the defaults' M6 fails the lint");
        // The defaults: M6 alone, decided by the NetworkPolicy toggle at its line.
        let findings = json["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0]["check"], "M6");
        let keys: Vec<(String, u64)> = findings[0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| (k["key"].as_str().unwrap().to_string(), k["line"].as_u64().unwrap()))
            .collect();
        // The toggle whose flip removes the finding (hostNetwork=true
        // removes it too, but brings M7 on the same Deployment).
        assert_eq!(keys, [("networkPolicy.enabled".to_string(), 16)], "helm {major}");
        assert!(findings[0]["values"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("values-toggles/values.yaml"));

        let host = variant(&json, "hostNetwork=true");
        assert_eq!(host["settings"][0]["line"], 4);
        assert_eq!(host["outcome"], "rendered");
        assert_eq!(described(&host["appears"]), ["M7 Deployment/default/release-name-web"]);
        // M6 gives way to M7: a hostNetwork pod is outside every policy.
        assert_eq!(described(&host["removes"]), ["M6 Deployment/default/release-name-web"]);

        let metrics = variant(&json, "metrics.enabled=true");
        // The metrics Service targets an undeclared port (M5B), and it is a
        // second Service selecting the same pods (M4B).
        assert_eq!(
            described(&metrics["appears"]),
            [
                "M4B Deployment/default/release-name-web",
                "M5B Service/default/release-name-metrics :9100"
            ]
        );
        // The metrics Service renders only under its toggle; its port is
        // read from metrics.port.
        let m5b = &metrics["appears"][1];
        assert_eq!(m5b["guarded_by"][0]["key"], "metrics.enabled");
        assert_eq!(m5b["guarded_by"][0]["line"], 12);
        let reads: Vec<&str> = m5b["reads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["key"].as_str().unwrap())
            .collect();
        assert_eq!(reads, ["metrics.enabled", "metrics.port"]);

        let policy = variant(&json, "networkPolicy.enabled=true");
        assert_eq!(
            described(&policy["removes"]),
            ["M6 Deployment/default/release-name-web"]
        );
        assert_eq!(described(&policy["appears"]), Vec::<String>::new());

        let tls = variant(&json, "tls.enabled=true");
        assert_eq!(tls["outcome"], "failed");
        assert!(
            tls["reason"].as_str().unwrap().contains("tls.secretName is required"),
            "helm's reason: {tls}"
        );

        // The schema's enum is explored; the boolean that guards only an
        // environment variable is not.
        let node_port = variant(&json, "service.type=NodePort");
        assert_eq!(node_port["outcome"], "rendered");
        let all = json["values_space"]["variants"].to_string();
        assert!(!all.contains("\"debug\""), "debug decides nothing that matters: {all}");
        assert_eq!(json["values_space"]["left_out"], 0);
    }
}

#[test]
fn the_human_report_groups_findings_by_values() {
    if skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", CHART, "--explore-values", "-j", "2"], &helm(4));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("values: networkPolicy.enabled (values.yaml:16)"),
        "{text}"
    );
    assert!(
        text.contains("Values explored in testdata/charts/values-toggles"),
        "{text}"
    );
    insta::assert_snapshot!("explore_values_human", text);

    // --summary: a row for the defaults and one per variant.
    let out = netaudit(&["lint", CHART, "--explore-values", "--summary"], &helm(4));
    let table = stdout(&out);
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no row {name}: {table}"))
            .to_string()
    };
    let cells = |line: String| line.split('|').map(|c| c.trim().to_string()).collect::<Vec<_>>();
    let header = cells(
        table
            .lines()
            .find(|l| l.starts_with("| values of"))
            .unwrap()
            .to_string(),
    );
    let column = |check: &str| header.iter().position(|c| c == check).unwrap();
    assert_eq!(cells(row("(defaults)"))[column("M6")], "1");
    assert_eq!(cells(row("hostNetwork=true"))[column("M7")], "1");
    assert_eq!(cells(row("networkPolicy.enabled=true"))[column("M6")], "0");
    assert!(row("tls.enabled=true").contains("did not render"));
}

#[test]
fn sarif_and_compact_point_at_the_values_file() {
    if skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", CHART, "--explore-values", "-o", "sarif"], &helm(4));
    let sarif: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let related = &sarif["runs"][0]["results"][0]["relatedLocations"];
    let values = related
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["logicalLocations"][0]["fullyQualifiedName"] == "networkPolicy.enabled")
        .unwrap_or_else(|| panic!("no values key among {related:#}"));
    assert_eq!(
        values["physicalLocation"]["artifactLocation"]["uri"],
        "testdata/charts/values-toggles/values.yaml"
    );
    assert_eq!(values["physicalLocation"]["region"]["startLine"], 16);

    let out = netaudit(&["lint", CHART, "--explore-values", "-o", "compact"], &helm(4));
    assert!(
        stdout(&out).contains(
            "testdata/charts/values-toggles/values.yaml:16:1: note: M6 is decided by values key networkPolicy.enabled"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_render_past_its_timeout_is_listed_and_the_rest_reported() {
    if skip_without_helm() {
        return;
    }
    // A helm that never finishes the metrics variant.
    let dir = tempfile::tempdir().unwrap();
    let slow = dir.path().join("helm");
    std::fs::write(
        &slow,
        format!(
            "#!/bin/sh\ncase \"$*\" in *metrics.enabled=true*) exec sleep 60;; esac\nexec {} \"$@\"\n",
            helm(4).display()
        ),
    )
    .unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(&slow).unwrap().permissions(), 0o755);
    std::fs::set_permissions(&slow, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let started = std::time::Instant::now();
    let out = netaudit(
        &[
            "lint",
            CHART,
            "--explore-values",
            "--render-timeout",
            "2s",
            "-o",
            "json",
        ],
        &slow,
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(40),
        "the slow render was stopped"
    );
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let metrics = variant(&json, "metrics.enabled=true");
    assert_eq!(metrics["outcome"], "timed_out");
    assert_eq!(metrics["seconds"], 2);
    assert_eq!(variant(&json, "hostNetwork=true")["outcome"], "rendered");

    // A defaults' render that never ends is one line and exit 2.
    std::fs::write(&slow, "#!/bin/sh\nexec sleep 60\n").unwrap();
    let started = std::time::Instant::now();
    let out = netaudit(&["lint", CHART, "--explore-values", "--render-timeout", "1s"], &slow);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did not finish within 1 s; it was stopped"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn what_cannot_be_explored_is_one_line_and_exit_2() {
    for (args, expected) in [
        (
            vec![
                "lint",
                "--manifests",
                "testdata/manifests/two-workloads-no-policy.yaml",
                "--explore-values",
            ],
            "--explore-values explores a chart's values: give a CHART directory",
        ),
        (
            vec!["lint", CHART, "--explore-values", "--enable-chart-policies"],
            "it does not combine with --enable-chart-policies",
        ),
        (vec!["lint", CHART, "--max-renders", "3"], "--explore-values"),
    ] {
        let out = netaudit(&args, std::path::Path::new("/nonexistent/helm"));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn fix_offers_the_values_that_remove_findings_before_its_policies() {
    if skip_without_helm() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("fix");
    let out = netaudit(
        &[
            "fix",
            CHART,
            "--explore-values",
            "--output-dir",
            out_dir.to_str().unwrap(),
        ],
        &helm(4),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let advice = "--set networkPolicy.enabled=true (default false at values.yaml:16): removes M6 on 1 object (Deployment/default/release-name-web)";
    assert!(stderr(&out).contains(advice), "{}", stderr(&out));
    let readme = std::fs::read_to_string(out_dir.join("README.md")).unwrap();
    assert!(readme.contains(&format!("- `{advice}`")), "{readme}");
    // hostNetwork=true removes M6 too, but brings M7: not offered.
    assert!(!readme.contains("hostNetwork=true"), "{readme}");

    let out = netaudit(&["fix", CHART, "--explore-values", "--check"], &helm(4));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("without --check"), "{}", stderr(&out));
}

#[test]
fn a_packaged_subchart_is_explored_under_its_alias() {
    if skip_without_helm() {
        return;
    }
    // A parent whose only dependency is the fixture, packaged by helm into
    // charts/ (as `helm dependency build` leaves it), under the alias `web`.
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("stack");
    std::fs::create_dir_all(parent.join("charts")).unwrap();
    std::fs::write(
        parent.join("Chart.yaml"),
        "apiVersion: v2\nname: stack\nversion: 0.1.0\ndependencies:\n  - name: values-toggles\n    version: 0.1.0\n    alias: web\n",
    )
    .unwrap();
    let packaged = std::process::Command::new(helm(4))
        .args(["package", CHART, "--destination"])
        .arg(parent.join("charts"))
        .current_dir(common::repo())
        .output()
        .unwrap();
    assert!(
        packaged.status.success(),
        "{}",
        String::from_utf8_lossy(&packaged.stderr)
    );
    let parent_arg = parent.to_str().unwrap();
    let out = netaudit(&["lint", parent_arg, "--explore-values", "-o", "json"], &helm(4));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let host = variant(&json, "web.hostNetwork=true");
    assert_eq!(described(&host["appears"]), ["M7 Deployment/default/release-name-web"]);
    assert!(
        host["settings"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("values-toggles-0.1.0.tgz:values-toggles/values.yaml"),
        "{host}"
    );
    let policy = variant(&json, "web.networkPolicy.enabled=true");
    assert_eq!(
        described(&policy["removes"]),
        ["M6 Deployment/default/release-name-web"]
    );
}

#[test]
fn reach_counts_each_renders_open_ports() {
    if skip_without_helm() {
        return;
    }
    let out = netaudit(&["reach", CHART, "--explore-values", "-o", "json"], &helm(3));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let row = |values: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["values"] == values)
            .unwrap_or_else(|| panic!("no row {values}: {rows:#}"))
            .clone()
    };
    let counts = |r: Value| ["ports", "open_to_any_pod", "isolated", "host_network"].map(|k| r[k].as_u64().unwrap());
    assert_eq!(counts(row("(defaults)")), [1, 1, 0, 0]);
    assert_eq!(counts(row("networkPolicy.enabled=true")), [1, 0, 1, 0]);
    assert_eq!(counts(row("hostNetwork=true")), [1, 1, 0, 1]);
    assert!(row("tls.enabled=true")["not_rendered"]
        .as_str()
        .unwrap()
        .contains("tls.secretName is required"));

    let out = netaudit(&["reach", CHART, "--explore-values", "-o", "dot"], &helm(3));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not take"), "{}", stderr(&out));
}
