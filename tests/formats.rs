//! The line-oriented and CI formats: compact, JUnit, GitHub annotations and
//! user templates, each on the example chart, with the template file's own
//! line as the location.

mod common;

use common::{helm, netaudit, skip_without_helm, stderr, stdout};

const CHART: &str = "examples/insecure-shop";

/// The line of a chart file, 1-based.
fn file_line(path: &str, line: usize) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .nth(line - 1)
        .unwrap_or("")
        .to_string()
}

#[test]
fn compact_is_one_clickable_line_per_finding() {
    if skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", CHART, "-o", "compact"], &helm(4));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 13, "{text}");
    for line in &lines {
        let mut parts = line.splitn(4, ':');
        let (file, row, col, rest) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert!(file.starts_with("examples/insecure-shop/templates/"), "{line}");
        let row: usize = row.parse().unwrap_or_else(|_| panic!("{line}"));
        let col: usize = col.parse().unwrap_or_else(|_| panic!("{line}"));
        assert!(row > 0 && col > 0, "{line}");
        let words: Vec<&str> = rest.trim_start().splitn(3, ' ').collect();
        assert!(["low", "medium", "high"].contains(&words[1]), "{line}");
    }
    // The headless Redis Service's sentinel port: line 52 of the template
    // file (`- name: sentinel`), not line 28 of the rendered document.
    let m5c = lines.iter().find(|l| l.contains(" M5C ")).unwrap();
    assert!(
        m5c.starts_with("examples/insecure-shop/templates/redis.yaml:52:5: M5C medium "),
        "{m5c}"
    );
    assert_eq!(
        file_line("examples/insecure-shop/templates/redis.yaml", 52).trim(),
        "- name: sentinel"
    );
    // Every column is where the template file's own line starts its text.
    for line in &lines {
        let mut parts = line.splitn(4, ':');
        let (file, row, col) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let text = file_line(file, row.parse().unwrap());
        let indent = text.len() - text.trim_start().len();
        assert_eq!(col.parse::<usize>().unwrap(), indent + 1, "{line}: {text:?}");
    }
}

#[test]
fn the_human_report_names_the_template_files_line() {
    if skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", CHART, "--color", "never"], &helm(4));
    let text = stdout(&out);
    // `╭─[examples/insecure-shop/templates/redis.yaml:LINE:COL]` with LINE the file's own.
    let header = text
        .lines()
        .find(|l| l.contains("templates/redis-headless") || (l.contains("─[") && l.contains("redis.yaml")))
        .unwrap_or_else(|| panic!("{text}"));
    let location = header.split('[').nth(1).unwrap().trim_end_matches(']');
    let mut parts = location.split(':');
    let path = parts.next().unwrap();
    let row: usize = parts.next().unwrap().parse().unwrap();
    assert!(path.starts_with("examples/insecure-shop/templates/"), "{header}");
    let compact = stdout(&netaudit(&["lint", CHART, "-o", "compact"], &helm(4)));
    assert!(
        compact.lines().any(|l| l.starts_with(&format!("{path}:{row}:"))),
        "the human location {path}:{row} is one compact gives too:\n{compact}"
    );
}

#[test]
fn junit_has_a_failed_case_per_finding() {
    if skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", CHART, "-o", "junit"], &helm(4));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let xml = stdout(&out);
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"netaudit\" tests=\"13\" failures=\"13\">"
        ),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 13);
    assert_eq!(xml.matches("<failure type=\"high\"").count(), 4);
    assert!(
        xml.contains("classname=\"M7 host-network\" name=\"DaemonSet/default/release-name-log-agent\""),
        "{xml}"
    );
    // A clean input is one passing case.
    let clean = stdout(&netaudit(&["lint", "testdata/charts/m7-pass", "-o", "junit"], &helm(4)));
    assert!(
        clean.contains("tests=\"1\" failures=\"0\"") && clean.contains("<testcase classname=\"netaudit\""),
        "{clean}"
    );
}

#[test]
fn github_annotations_follow_the_workflow_command_syntax() {
    if skip_without_helm() {
        return;
    }
    let text = stdout(&netaudit(&["lint", CHART, "-o", "github"], &helm(4)));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 13, "{text}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("::error file=examples/insecure-shop/templates/"))
            .count(),
        4
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains(",line=") && l.contains(",col=") && l.contains(",title=")),
        "{text}"
    );
    assert!(lines.iter().all(|l| !l.contains('\n')));
    assert!(
        text.contains("%0Areachable from any pod in the cluster"),
        "exposure in the annotation: {text}"
    );
}

#[test]
fn templates_shape_the_report_and_bad_ones_are_one_line_errors() {
    if skip_without_helm() {
        return;
    }
    let out = netaudit(
        &[
            "lint",
            "testdata/charts/m7-host-network-fail",
            "-o",
            "template",
            "--template",
            "testdata/templates/markdown.hbs",
        ],
        &helm(4),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    insta::assert_snapshot!("template_markdown", stdout(&out));
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.hbs");
    std::fs::write(&bad, "{{#each findings}}unclosed").unwrap();
    let bad = bad.display().to_string();
    for (args, expected) in [
        (vec!["-o", "template"], "-o template needs --template FILE"),
        (vec!["-o", "template", "--template", &bad], "not a valid template"),
        (
            vec!["-o", "template", "--template", "nope.hbs"],
            "cannot read template nope.hbs",
        ),
        (
            vec!["--template", "testdata/templates/markdown.hbs"],
            "--template FILE is the template of `-o template`",
        ),
    ] {
        let mut all = vec!["lint", CHART];
        all.extend(args);
        let out = netaudit(&all, &helm(4));
        assert_eq!(out.status.code(), Some(2), "{all:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(expected) && err.trim().lines().count() == 1,
            "{all:?}: {err}"
        );
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn human_output_wraps_at_columns_without_splitting_names() {
    if skip_without_helm() {
        return;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["lint", CHART, "--color", "never"])
        .current_dir(common::repo())
        .env("HELM_BIN", helm(4))
        .env_remove("HELM_NAMESPACE")
        .env("COLUMNS", "72")
        .output()
        .unwrap();
    let text = stdout(&out);
    // Message and help lines wrap at 72 (snippets keep the YAML's own lines).
    for line in text
        .lines()
        .filter(|l| l.trim_start().starts_with(['×', '⚠', '│']) && !l.contains('─'))
    {
        assert!(line.chars().count() <= 72, "{line:?}");
    }
    // Names are never split at their hyphens.
    assert!(!text.lines().any(|l| l.trim_end().ends_with("release-")), "{text}");
    assert!(text.contains("`release-name-api-metrics`"), "{text}");
}
