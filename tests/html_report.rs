//! `-o html` in a real browser: headless Chromium opens the report of the
//! example chart, runs its script, and the DOM holds every finding of the
//! JSON report, the filters of the address's fragment apply, a node's
//! flows are highlighted, and the screenshot is a picture (not blank).

mod common;

use common::browser;
use std::path::Path;

/// `lint examples/insecure-shop -o FORMAT --output-file FILE`.
fn lint(format: &str, file: &Path) -> std::process::Output {
    let helm = common::helm(4);
    let file = file.to_str().unwrap();
    common::netaudit(
        &["lint", "examples/insecure-shop", "-o", format, "--output-file", file],
        &helm,
    )
}

#[test]
fn the_report_of_the_example_chart_works_in_a_browser() {
    if common::skip_without_helm() {
        return;
    }
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (html, json) = (dir.path().join("report.html"), dir.path().join("report.json"));
    let out = lint("html", &html);
    assert_eq!(out.status.code(), Some(1), "findings: exit 1\n{}", common::stderr(&out));
    lint("json", &json);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.len() >= 5, "the example chart has findings");

    let dom = browser::run(&chromium, &html, "", &["--dump-dom"]);
    assert!(
        dom.contains("data-ready=\"1\""),
        "the script ran:\n{}",
        &dom[..dom.len().min(2000)]
    );
    assert_eq!(dom.matches("<article class=\"finding").count(), findings.len());
    for finding in findings {
        let check = finding["check"].as_str().unwrap();
        let message = finding["message"].as_str().unwrap();
        assert!(
            dom.contains(&format!("<code>{check}</code> {}", escape(message))),
            "{check}: {message}"
        );
    }
    let n = findings.len();
    assert!(dom.contains(&format!("{n} of {n} findings shown")));
    assert!(dom.contains("<svg class=\"release\""), "the graph is drawn");

    // `#check=…`: only that check's findings are shown.
    let check = findings[0]["check"].as_str().unwrap();
    let of_check = findings.iter().filter(|f| f["check"] == check).count();
    let filtered = browser::run(&chromium, &html, &format!("#check={check}"), &["--dump-dom"]);
    assert!(
        filtered.contains(&format!("data-shown=\"{of_check}\"")),
        "{check}: {of_check} shown"
    );
    assert_eq!(filtered.matches("class=\"finding").count(), n);
    assert_eq!(
        filtered.matches("hidden=\"\"").count(),
        n - of_check,
        "the others are hidden"
    );

    // `#node=…`: that node's flows are highlighted, its findings alone shown.
    let id = object_id(&findings[0]["objects"][0]);
    let focused = browser::run(&chromium, &html, &format!("#node={id}"), &["--dump-dom"]);
    assert!(focused.contains("class=\"release focused\""), "{id}");
    let at = focused.find(&format!("data-id=\"{id}\"")).expect("the node");
    let element = &focused[focused[..at].rfind("<g ").unwrap()..at];
    assert!(element.contains(" selected"), "{element}");
    assert_eq!(
        focused.matches("hidden=\"\"").count(),
        n - findings.iter().filter(|f| object_id(&f["objects"][0]) == id).count(),
        "only its findings are shown"
    );

    // A picture, not a blank page: many colours, much of it not white.
    let png = dir.path().join("report.png");
    browser::run(&chromium, &html, "", &[&format!("--screenshot={}", png.display())]);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let colours: std::collections::BTreeSet<&[u8]> = pixels[..info.buffer_size()].chunks(channels).collect();
    let white = pixels[..info.buffer_size()]
        .chunks(channels)
        .filter(|p| p[..3].iter().all(|c| *c > 245))
        .count();
    let total = info.buffer_size() / channels;
    assert!(colours.len() > 50, "{} colours", colours.len());
    assert!(white < total * 9 / 10, "{white} of {total} pixels white");
}

/// `-o dot` is the same graph for Graphviz.
#[test]
fn the_graph_alone_is_graphviz() {
    if common::skip_without_helm() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dot = dir.path().join("report.dot");
    let out = lint("dot", &dot);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let text = std::fs::read_to_string(&dot).unwrap();
    assert!(text.starts_with("digraph release {"), "{text}");
    assert!(text.trim_end().ends_with('}'));
    assert!(
        text.contains("[label=\"outside the cluster\\naddresses outside the cluster\", shape=octagon"),
        "{text}"
    );
    assert!(
        text.contains("\\nM6\""),
        "the checks of its findings label a node: {text}"
    );
    assert!(text.contains("style=dashed"), "Services select workloads: {text}");
}

/// `Kind/namespace/name` of a JSON report's object.
fn object_id(object: &serde_json::Value) -> String {
    format!(
        "{}/{}/{}",
        object["kind"].as_str().unwrap(),
        object["namespace"].as_str().unwrap(),
        object["name"].as_str().unwrap()
    )
}

/// Text as a browser writes a text node back.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `reach -o html`: the graph, and who may connect to each port; a table
/// of counts (`--summary`) is not drawn.
#[test]
fn reach_draws_the_graph_and_answers_for_each_port() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("reach.html");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .args(args)
            .current_dir(common::repo())
            .output()
            .unwrap()
    };
    let out = run(&[
        "reach",
        "--manifests",
        "testdata/fix/shop.yaml",
        "-o",
        "html",
        "--output-file",
        page.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.contains("<svg class=\"release\""));
    assert!(text.contains("<h2>Who may connect to each port</h2>"));
    for workload in ["Deployment/shop/frontend", "Deployment/shop/api", "StatefulSet/shop/db"] {
        assert!(text.contains(&format!("<tr><td>{workload}</td>")), "{workload}");
    }
    if let Some(chromium) = browser::chromium() {
        let dom = browser::run(&chromium, &page, "", &["--dump-dom"]);
        assert!(dom.contains("data-ready=\"1\""), "the script ran");
    }
    let summary = run(&[
        "reach",
        "--manifests",
        "testdata/fix/shop.yaml",
        "--summary",
        "-o",
        "html",
    ]);
    assert_eq!(summary.status.code(), Some(2));
    assert!(common::stderr(&summary).contains("--summary is a table"));
}
