//! A chart can put escape sequences in names, labels and template paths, a
//! file in its name: whatever reaches a terminal shows them escaped, never
//! raw (the hardening issue, terminal injection). Our own colours stay.

mod common;

use common::repo;
use std::process::{Command, Output};

const FIXTURE: &str = "testdata/bad/escape-sequences.yaml";

/// What the fixture's names and labels carry: a screen clear, a window
/// title (OSC … BEL), blinking, a carriage return and a right-to-left
/// override.
const RAW: [&str; 6] = ["\x1b[2J", "\x1b]0;", "\x07", "\x1b[5m", "\r", "\u{202e}"];

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .current_dir(repo())
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .output()
        .expect("run netaudit")
}

fn assert_nothing_raw(what: &str, text: &str) {
    for raw in RAW {
        assert!(
            !text.contains(raw),
            "{what}: {raw:?} reached the terminal raw:\n{text:?}"
        );
    }
}

#[test]
fn names_labels_and_paths_are_shown_escaped_in_every_terminal_format() {
    for (format, color) in [
        ("human", "always"),
        ("human", "never"),
        ("compact", "never"),
        ("github", "never"),
    ] {
        let out = run(&["lint", "--manifests", FIXTURE, "-o", format, "--color", color]);
        let (stdout, stderr) = (common::stdout(&out), common::stderr(&out));
        assert_eq!(out.status.code(), Some(1), "-o {format}: {stderr}");
        assert_nothing_raw(&format!("-o {format} --color {color} (stdout)"), &stdout);
        assert_nothing_raw(&format!("-o {format} --color {color} (stderr)"), &stderr);
        // The findings are there, their hostile parts escaped.
        assert!(stdout.contains("M4A"), "-o {format}: {stdout}");
        assert!(
            stdout.contains("wipe\\u{1b}[2J\\u{1b}]0;pwned\\u{7}"),
            "-o {format}: {stdout}"
        );
        assert!(stdout.contains("M5D"), "-o {format}: {stdout}");
        if color == "always" {
            // Our colours are still there: not every escape was removed.
            assert!(
                stdout.contains("\x1b["),
                "-o human --color always has no colour:\n{stdout}"
            );
        }
    }
    // The fleet-style table and the reach matrix name the same objects.
    let out = run(&["reach", "--manifests", FIXTURE]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert_nothing_raw("reach", &common::stdout(&out));
    assert!(common::stdout(&out).contains("\\u{1b}"), "{}", common::stdout(&out));
}

#[test]
fn file_names_in_errors_and_warnings_are_shown_escaped() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let broken = dir.path().join("broken\x1b[2J.yaml");
    std::fs::write(&broken, "a: [\n").expect("write the broken file");
    let out = run(&["lint", "--manifests", broken.to_str().expect("a UTF-8 path")]);
    let stderr = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("broken\\u{1b}[2J.yaml"), "{stderr:?}");
    assert_nothing_raw("the error line", &stderr);

    // A warning (an empty input) goes through the same door.
    let empty = dir.path().join("empty\x1b]0;title\x07.yaml");
    std::fs::write(&empty, "").expect("write the empty file");
    let out = run(&[
        "lint",
        "--manifests",
        empty.to_str().expect("a UTF-8 path"),
        "--manifests",
        FIXTURE,
        "-o",
        "compact",
    ]);
    let all = common::stdout(&out) + &common::stderr(&out);
    assert!(all.contains("empty\\u{1b}]0;title\\u{7}.yaml"), "{all:?}");
    assert_nothing_raw("the warning", &all);
}

#[test]
fn credentials_next_to_a_finding_are_redacted_in_every_format() {
    for format in ["human", "compact", "json", "jsonl", "sarif", "github", "junit"] {
        let out = run(&["lint", "--manifests", "testdata/bad/secret-canaries.yaml", "-o", format]);
        let all = common::stdout(&out) + &common::stderr(&out);
        assert_eq!(out.status.code(), Some(1), "-o {format}: {all}");
        assert!(all.contains("M7"), "-o {format}: {all}");
        assert!(!all.contains("canary"), "-o {format} shows a credential:\n{all}");
        if format == "human" {
            // The snippets show where the values are, not what they are.
            assert!(all.contains("value: <redacted>"), "{all}");
        }
    }
}
