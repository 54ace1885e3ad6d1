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
