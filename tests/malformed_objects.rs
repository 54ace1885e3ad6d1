//! Objects Kubernetes would reject never count as protection, nor as
//! selecting anything (the hardening issue, §2): each gets a warning naming
//! the object and the field, and every check leaves it out.

mod common;

use common::{finding_keys, helm, netaudit};

#[test]
fn rejected_objects_are_warned_about_and_counted_by_no_check() {
    let out = netaudit(
        &[
            "lint",
            "--manifests",
            "testdata/bad/malformed-objects.yaml",
            "-o",
            "json",
        ],
        &helm(4),
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let keys = finding_keys(&json);
    // The policy with `podSelector: 5` protects nothing: M6 stays, and NP3
    // says why. The Deployment with an unknown operator does not run, so
    // it collides with nothing (no M4A with `web`), and the Service with a
    // list for a selector is in no finding.
    assert!(keys.contains(&"M6 Deployment/shop/web".to_string()), "{keys:?}");
    assert!(
        keys.contains(&"NP3 NetworkPolicy/shop/number-selector".to_string()),
        "{keys:?}"
    );
    assert!(
        !keys
            .iter()
            .any(|k| k.contains("bad-operator") || k.contains("list-selector")),
        "{keys:?}"
    );
    let warnings: Vec<&str> = json["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w.as_str().or_else(|| w["message"].as_str()))
        .collect();
    let warned = |needles: &[&str]| warnings.iter().any(|w| needles.iter().all(|n| w.contains(n)));
    assert!(
        warned(&[
            "testdata/bad/malformed-objects.yaml",
            "Deployment `bad-operator` (line 28)",
            "`spec.selector`",
            "Like",
            "Kubernetes would reject"
        ]),
        "{warnings:#?}"
    );
    assert!(
        warned(&[
            "Service `list-selector` (line 46)",
            "`spec.selector`: not a map of label values"
        ]),
        "{warnings:#?}"
    );
}

#[test]
fn a_key_written_twice_counts_as_kubernetes_reads_it_and_is_warned_about() {
    let out = netaudit(
        &["lint", "--manifests", "testdata/bad/duplicate-keys.yaml", "-o", "json"],
        &helm(4),
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let m7: Vec<String> = finding_keys(&json)
        .into_iter()
        .filter(|k| k.starts_with("M7"))
        .collect();
    // `hostNetwork: true` hidden behind a later `false` is not on the host
    // network; a later `true` is.
    assert_eq!(m7, ["M7 Pod/shop/hidden-true"]);
    let warnings = json["warnings"].to_string();
    for needle in [
        "testdata/bad/duplicate-keys.yaml:13: `hostNetwork` is written twice in one mapping (lines 9 and 13)",
        "testdata/bad/duplicate-keys.yaml:25: `hostNetwork` is written twice in one mapping (lines 21 and 25)",
    ] {
        assert!(warnings.contains(needle), "{needle:?} not in {warnings}");
    }
}

/// In a chart, the warning names the template file and the lines of its
/// rendered template, not the chart and a line of the whole render.
#[test]
fn a_key_written_twice_in_a_chart_is_placed_in_its_template() {
    if common::skip_without_helm() {
        return;
    }
    let chart = tempfile::tempdir().unwrap();
    std::fs::create_dir(chart.path().join("templates")).unwrap();
    std::fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: dup\nversion: 0.1.0\n",
    )
    .unwrap();
    // A first template, so that the Pod's render lines are not its template's.
    std::fs::write(
        chart.path().join("templates/a-config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config\ndata:\n  a: b\n",
    )
    .unwrap();
    std::fs::write(
        chart.path().join("templates/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-pod\nspec:\n  hostNetwork: false\n  containers:\n    - name: c\n      image: x\n  hostNetwork: true\n",
    )
    .unwrap();
    let path = chart.path().display().to_string();
    let out = common::netaudit(&["lint", &path, "-o", "compact"], &common::helm(4));
    let expected = format!(
        "netaudit: warning: {path}/templates/pod.yaml:10: `hostNetwork` is written twice in one mapping of Pod `release-name-pod` (lines 6 and 10 of its rendered template): Kubernetes reads the last, and so does netaudit"
    );
    // Compact output writes its warnings with the findings, on stdout.
    assert!(
        common::stdout(&out).lines().any(|l| l == expected),
        "{}",
        common::stdout(&out)
    );
}
