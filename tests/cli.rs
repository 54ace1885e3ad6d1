//! Subcommands around the checks (explain, checks, the generated docs),
//! `version`, and usage errors.

use std::process::Command;

/// The binary as run by hand: no helm plugin variables, even when the tests
/// themselves run under helm.
fn netaudit(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_netaudit"));
    command
        .args(args)
        .env_remove("HELM_PLUGIN_NAME")
        .env_remove("HELM_PLUGIN_DIR");
    command
}

/// The binary as Helm runs the plugin: Helm 3 and 4 set these two.
fn as_helm_plugin(args: &[&str]) -> Command {
    let mut command = netaudit(args);
    command
        .env("HELM_PLUGIN_NAME", "netaudit")
        .env("HELM_PLUGIN_DIR", "/home/user/.local/share/helm/plugins/helm-netaudit");
    command
}

fn run(args: &[&str]) -> (i32, String) {
    let out = netaudit(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A usage error: exit 2, nothing on stdout, one line on stderr (returned
/// without its newline).
fn usage_error(mut command: Command) -> String {
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(stderr.lines().count(), 1, "not one line:\n{stderr}");
    assert!(stderr.ends_with('\n'), "{stderr:?}");
    stderr.trim_end_matches('\n').to_string()
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

#[test]
fn a_missing_required_argument_is_named() {
    assert_eq!(
        usage_error(netaudit(&["fix", "examples/insecure-shop"])),
        "error: the following required arguments were not provided: --output-dir <DIR> \
         (see `netaudit fix --help`)"
    );
    assert_eq!(
        usage_error(netaudit(&["explain"])),
        "error: the following required arguments were not provided: <CHECK> (see `netaudit explain --help`)"
    );
}

#[test]
fn a_mistyped_subcommand_gets_clap_s_suggestion_and_the_top_level_help() {
    assert_eq!(
        usage_error(netaudit(&["lnit", "examples/insecure-shop"])),
        "error: unrecognized subcommand 'lnit'; did you mean `lint`? (see `netaudit --help`)"
    );
    // Nothing similar: no suggestion, and still no help of a command that
    // does not exist.
    assert_eq!(
        usage_error(netaudit(&["frobnicate"])),
        "error: unrecognized subcommand 'frobnicate' (see `netaudit --help`)"
    );
}

#[test]
fn an_invalid_value_lists_the_possible_ones() {
    assert_eq!(
        usage_error(netaudit(&["lint", "examples/insecure-shop", "-o", "pdf"])),
        "error: invalid value 'pdf' for '--output <OUTPUT>' \
         [possible values: human, json, jsonl, sarif, compact, junit, github, template, html, dot, policyreport] \
         (see `netaudit lint --help`)"
    );
    assert_eq!(
        usage_error(netaudit(&["lint", "examples/insecure-shop", "-o", "jsn"])),
        "error: invalid value 'jsn' for '--output <OUTPUT>' \
         [possible values: human, json, jsonl, sarif, compact, junit, github, template, html, dot, policyreport]; \
         did you mean `json`? (see `netaudit lint --help`)"
    );
    assert_eq!(
        usage_error(netaudit(&["reach", "examples/insecure-shop", "-o", "sarif"])),
        "error: invalid value 'sarif' for '--output <OUTPUT>' [possible values: human, json, jsonl, csv, dot, html] \
         (see `netaudit reach --help`)"
    );
}

#[test]
fn a_mistyped_flag_gets_clap_s_suggestion() {
    assert_eq!(
        usage_error(netaudit(&["lint", "examples/insecure-shop", "--outptu", "json"])),
        "error: unexpected argument '--outptu' found; did you mean `--output`? (see `netaudit lint --help`)"
    );
}

#[test]
fn under_helm_the_hint_says_helm_netaudit() {
    assert_eq!(
        usage_error(as_helm_plugin(&["fix", "examples/insecure-shop"])),
        "error: the following required arguments were not provided: --output-dir <DIR> \
         (see `helm netaudit fix --help`)"
    );
    assert_eq!(
        usage_error(as_helm_plugin(&["lnit"])),
        "error: unrecognized subcommand 'lnit'; did you mean `lint`? (see `helm netaudit --help`)"
    );
    // The help the hint points at says the same.
    let out = as_helm_plugin(&["fix", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: helm netaudit fix "), "{help}");
    // Helm sets both; the name alone (a stray variable) is not Helm.
    let mut stray = netaudit(&["lnit"]);
    stray.env("HELM_PLUGIN_NAME", "netaudit");
    assert!(usage_error(stray).ends_with("(see `netaudit --help`)"));
}

#[test]
fn version_prints_what_dash_dash_version_prints() {
    let expected = format!("netaudit {}\n", env!("CARGO_PKG_VERSION"));
    for command in [
        netaudit(&["version"]),
        netaudit(&["--version"]),
        netaudit(&["-V"]),
        as_helm_plugin(&["version"]),
        as_helm_plugin(&["--version"]),
    ] {
        let mut command = command;
        let out = command.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{command:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{command:?}");
        assert!(out.stderr.is_empty(), "{command:?}");
    }
    assert_eq!(
        usage_error(netaudit(&["version", "extra"])),
        "error: unexpected argument 'extra' found (see `netaudit version --help`)"
    );
}

/// Findings only the cluster can confirm (pods an operator creates) are
/// severity info: under their own heading, in JSON as "info", and outside
/// the exit status unless `--fail-on info`.
#[test]
fn findings_to_confirm_in_the_cluster_do_not_fail_by_default() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/manifests/M5D/fail-operator-pods.yaml");
    let lint = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .arg("lint")
            .arg("--manifests")
            .arg(&file)
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let out = lint(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.starts_with("Confirm in the cluster (severity info:"), "{text}");
    assert!(
        text.ends_with("2 findings (0 high, 0 medium, 0 low, 2 to confirm in the cluster) in 1 release (0 workloads, 2 Services, 0 network policies).\n"),
        "{text}"
    );
    assert_eq!(lint(&["--fail-on", "info"]).status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&lint(&["-o", "json"]).stdout).unwrap();
    let severities: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["info", "info"]);
}

/// `-o policyreport` is about what runs in a cluster, and `--apply` only
/// writes its reports: anything else is one line, exit 2, before any work.
#[test]
fn policy_reports_are_for_a_cluster_and_apply_is_for_them() {
    assert_eq!(
        usage_error(netaudit(&[
            "lint",
            "--manifests",
            "testdata/fix/shop.yaml",
            "-o",
            "policyreport"
        ])),
        "error: -o policyreport reports on what runs in a cluster: add --cluster, or use `netaudit audit`"
    );
    assert_eq!(
        usage_error(netaudit(&["lint", "--manifests", "testdata/fix/shop.yaml", "--apply"])),
        "error: --apply applies the reports of -o policyreport: add -o policyreport"
    );
}
