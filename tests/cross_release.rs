//! M4G: releases audited together.

mod common;

use common::{finding_keys, helm, netaudit, stdout};

#[test]
fn two_releases_with_generic_labels_collide_globally() {
    if common::skip_without_helm() {
        return;
    }
    let chart = "testdata/charts/m4g-generic-labels";
    let out = netaudit(
        &[
            "lint",
            "--chart",
            &format!("blog={chart}"),
            "--chart",
            &format!("shop={chart}"),
            "-o",
            "json",
        ],
        &helm(4),
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        finding_keys(&json),
        [
            "M4G Deployment/default/blog-web",
            "M4G Service/default/blog-web",
            "M4G Service/default/shop-web",
        ]
    );
    let messages: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("release `blog`") && m.contains("release `shop`")),
        "{messages:?}"
    );
}

#[test]
fn releases_in_different_namespaces_do_not_collide() {
    if common::skip_without_helm() {
        return;
    }
    let chart = "testdata/charts/m4g-generic-labels";
    let dir = tempfile::tempdir().unwrap();
    let render = |release: &str, ns: &str| {
        let out = std::process::Command::new(helm(4))
            .args(["template", release, chart, "--namespace", ns])
            .current_dir(common::repo())
            .output()
            .unwrap();
        let mut text = String::from_utf8(out.stdout).unwrap();
        // helm template leaves metadata.namespace out: pin it as `helm get manifest` users would see it.
        text = text.replace("\nmetadata:\n", &format!("\nmetadata:\n  namespace: {ns}\n"));
        let path = dir.path().join(format!("{release}.yaml"));
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (blog, shop) = (render("blog", "blog"), render("shop", "shop"));
    let out = netaudit(
        &["lint", "--manifests", &blog, "--manifests", &shop, "-o", "json"],
        &helm(4),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn release_with_instance_labels_next_to_another_is_clean() {
    if common::skip_without_helm() {
        return;
    }
    let chart = "testdata/charts/m4a-distinct-labels-pass";
    let out = netaudit(
        &[
            "lint",
            "--chart",
            &format!("one={chart}"),
            "--chart",
            &format!("two={chart}"),
            "-o",
            "json",
        ],
        &helm(4),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}
