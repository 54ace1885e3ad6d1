//! Subcommands around the checks: explain, checks, and the generated docs.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn explain_prints_the_checks_doc_comment() {
    let (code, text) = run(&["explain", "M4B"]);
    assert_eq!(code, 0);
    assert!(
        text.starts_with("M4B service-label-collision (default severity: high"),
        "{text}"
    );
    assert!(
        text.contains("## Why is this bad?") && text.contains("## How to fix"),
        "{text}"
    );
    let (code, by_name) = run(&["explain", "service-label-collision"]);
    assert_eq!((code, by_name), (0, text));
    let (code, _) = run(&["explain", "M99"]);
    assert_eq!(code, 2);
}

#[test]
fn every_check_is_documented_in_all_sections() {
    for check in netaudit::checks::REGISTRY {
        for section in ["What it does", "Why is this bad?", "Example", "How to fix"] {
            assert!(
                !check.section(section).is_empty(),
                "{} lacks a `## {section}` section",
                check.id
            );
        }
    }
}

#[test]
fn checks_lists_every_check() {
    let (code, text) = run(&["checks"]);
    assert_eq!(code, 0);
    assert_eq!(text.lines().count(), netaudit::checks::REGISTRY.len());
    assert!(text.lines().any(|l| l.starts_with("M7   host-network")), "{text}");
}

#[test]
fn docs_checks_md_is_generated_from_the_registry() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/checks.md")).unwrap_or_default();
    assert!(
        committed == netaudit::checks::docs::checks_markdown(),
        "docs/checks.md is stale: run `cargo run -- gen-docs` and commit it"
    );
}

#[test]
fn help_states_exit_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Exit codes: 0"), "{text}");
}

#[test]
fn docs_cli_md_mentions_every_lint_flag() {
    use clap::CommandFactory;
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md")).unwrap();
    let cli = netaudit::cli::Cli::command();
    let lint = cli.find_subcommand("lint").unwrap();
    for arg in lint.get_arguments() {
        if let Some(long) = arg.get_long() {
            if long != "help" {
                assert!(
                    docs.contains(&format!("--{long}")),
                    "docs/cli.md does not document --{long}"
                );
            }
        }
    }
    for sub in cli
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        assert!(
            docs.contains(&format!("netaudit {}", sub.get_name())),
            "docs/cli.md lacks `netaudit {}`",
            sub.get_name()
        );
    }
}
