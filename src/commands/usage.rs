//! Usage errors (what clap refuses) as one line on stderr, and the name the
//! user runs netaudit by: `helm netaudit` when Helm runs it as a plugin.
//!
//! The line is built from the error's context (the argument, the value,
//! the possible values, clap's suggestions), never from clap's rendered
//! text, which spreads them over several lines with a usage block.

use crate::cli::Cli;
use crate::model::terminal::for_terminal_line;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::CommandFactory;
use std::ffi::OsString;

/// How the user runs netaudit, for hints and usage lines: `helm NAME` when
/// Helm runs it as the plugin NAME, else `netaudit`. Helm 3 and 4 set
/// `HELM_PLUGIN_NAME` (plugin.yaml's `name`) and `HELM_PLUGIN_DIR` for a
/// plugin's command (docs/helm-plugin.md). Helm 4 also sets them for a
/// post-renderer plugin, which is no helm command: `post-render.sh` unsets
/// the name. A name Helm would refuse is not one.
pub fn program() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (var("HELM_PLUGIN_NAME"), var("HELM_PLUGIN_DIR")) {
        (Some(name), Some(_)) => program_name(Some(&name)),
        _ => program_name(None),
    }
}

fn program_name(plugin: Option<&str>) -> String {
    // Helm's own rule for plugin names: ^[A-Za-z0-9_-]+$.
    let valid = |name: &&str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    match plugin.filter(valid) {
        Some(name) => format!("helm {name}"),
        None => "netaudit".to_string(),
    }
}

/// The line (without `error: ` and the newline) a usage error prints:
/// clap's message, the possible values, its suggestions and tips, and
/// where to read more, `PROGRAM SUBCOMMAND --help` when the subcommand
/// given exists, else `PROGRAM --help`. Escaped for a terminal, one line.
pub fn one_line(err: &clap::Error, program: &str, args: &[OsString]) -> String {
    let mut line = message(err);
    if let Some(values) = strings(err, ContextKind::ValidValue).filter(|v| !v.is_empty()) {
        line.push_str(&format!(" [possible values: {}]", values.join(", ")));
    }
    let suggested: Vec<String> = [
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedValue,
    ]
    .into_iter()
    .filter_map(|kind| strings(err, kind))
    .flatten()
    .map(|s| format!("`{s}`"))
    .collect();
    if !suggested.is_empty() {
        line.push_str(&format!("; did you mean {}?", suggested.join(" or ")));
    }
    for tip in strings(err, ContextKind::Suggested).unwrap_or_default() {
        line.push_str(&format!("; tip: {tip}"));
    }
    let subcommand = args
        .get(1)
        .and_then(|arg| arg.to_str())
        .filter(|name| *name != "help" && Cli::command().find_subcommand(name).is_some());
    match subcommand {
        Some(name) => line.push_str(&format!(" (see `{program} {name} --help`)")),
        None => line.push_str(&format!(" (see `{program} --help`)")),
    }
    for_terminal_line(&line).into_owned()
}

/// clap's message for the error, from its context, in clap's words.
fn message(err: &clap::Error) -> String {
    let text = |kind| match err.get(kind) {
        Some(ContextValue::String(text)) => Some(text.as_str()),
        _ => None,
    };
    let number = |kind| match err.get(kind) {
        Some(ContextValue::Number(n)) => Some(*n),
        _ => None,
    };
    let arg = text(ContextKind::InvalidArg);
    let value = text(ContextKind::InvalidValue);
    let were = |n: isize| if n > 1 { "were provided" } else { "was provided" };
    let specific = match err.kind() {
        ErrorKind::InvalidValue => match (arg, value) {
            (Some(arg), Some("")) => Some(format!("a value is required for '{arg}' but none was supplied")),
            (Some(arg), Some(value)) => Some(format!("invalid value '{value}' for '{arg}'")),
            _ => None,
        },
        ErrorKind::ValueValidation => match (arg, value) {
            (Some(arg), Some(value)) => Some(match std::error::Error::source(err) {
                Some(source) => format!("invalid value '{value}' for '{arg}': {source}"),
                None => format!("invalid value '{value}' for '{arg}'"),
            }),
            _ => None,
        },
        ErrorKind::UnknownArgument => arg.map(|arg| format!("unexpected argument '{arg}' found")),
        ErrorKind::InvalidSubcommand => {
            text(ContextKind::InvalidSubcommand).map(|sub| format!("unrecognized subcommand '{sub}'"))
        }
        ErrorKind::MissingRequiredArgument => strings(err, ContextKind::InvalidArg)
            .filter(|args| !args.is_empty())
            .map(|args| {
                format!(
                    "the following required arguments were not provided: {}",
                    args.join(", ")
                )
            }),
        ErrorKind::MissingSubcommand => text(ContextKind::InvalidSubcommand)
            .map(|sub| format!("'{sub}' requires a subcommand but one was not provided")),
        ErrorKind::TooManyValues => match (arg, value) {
            (Some(arg), Some(value)) => Some(format!(
                "unexpected value '{value}' for '{arg}' found; no more were expected"
            )),
            _ => None,
        },
        ErrorKind::TooFewValues => match (
            arg,
            number(ContextKind::ActualNumValues),
            number(ContextKind::MinValues),
        ) {
            (Some(arg), Some(actual), Some(min)) => Some(format!(
                "{min} values required by '{arg}'; only {actual} {}",
                were(actual)
            )),
            _ => None,
        },
        ErrorKind::WrongNumberOfValues => {
            match (
                arg,
                number(ContextKind::ActualNumValues),
                number(ContextKind::ExpectedNumValues),
            ) {
                (Some(arg), Some(actual), Some(expected)) => Some(format!(
                    "{expected} values required for '{arg}' but {actual} {}",
                    were(actual)
                )),
                _ => None,
            }
        }
        ErrorKind::NoEquals => arg.map(|arg| format!("equal sign is needed when assigning values to '{arg}'")),
        ErrorKind::ArgumentConflict => conflict(err),
        _ => None,
    };
    specific
        .or_else(|| err.kind().as_str().map(str::to_string))
        .or_else(|| std::error::Error::source(err).map(|source| source.to_string()))
        .unwrap_or_else(|| "invalid arguments".to_string())
}

fn conflict(err: &clap::Error) -> Option<String> {
    let what = match (
        err.get(ContextKind::InvalidArg),
        err.get(ContextKind::InvalidSubcommand),
    ) {
        (Some(ContextValue::String(arg)), _) => format!("the argument '{arg}'"),
        (_, Some(ContextValue::String(sub))) => format!("the subcommand '{sub}'"),
        _ => return None,
    };
    let prior = strings(err, ContextKind::PriorArg).unwrap_or_default();
    Some(match prior.as_slice() {
        [] => format!("{what} cannot be used with one or more of the other specified arguments"),
        [only] if what == format!("the argument '{only}'") => format!("{what} cannot be used multiple times"),
        [only] => format!("{what} cannot be used with '{only}'"),
        many => format!(
            "{what} cannot be used with {}",
            many.iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", ")
        ),
    })
}

/// A context value as a list of plain strings (clap's styled ones without
/// their styles).
fn strings(err: &clap::Error, kind: ContextKind) -> Option<Vec<String>> {
    Some(match err.get(kind)? {
        ContextValue::String(text) => vec![text.clone()],
        ContextValue::Strings(texts) => texts.clone(),
        ContextValue::StyledStr(text) => vec![text.to_string()],
        ContextValue::StyledStrs(texts) => texts.iter().map(ToString::to_string).collect(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &[&str]) -> String {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let err = Cli::command().try_get_matches_from(&args).expect_err("a usage error");
        one_line(&err, "netaudit", &args)
    }

    #[test]
    fn the_program_is_helm_and_the_plugin_name_under_helm() {
        assert_eq!(program_name(None), "netaudit");
        assert_eq!(program_name(Some("netaudit")), "helm netaudit");
        assert_eq!(program_name(Some("my_audit-2")), "helm my_audit-2");
        for not_a_name in ["", "net audit", "a\u{1b}[2Jb", "../x"] {
            assert_eq!(program_name(Some(not_a_name)), "netaudit", "{not_a_name:?}");
        }
    }

    #[test]
    fn conflicts_name_both_arguments() {
        assert_eq!(
            line(&["netaudit", "fix", "x", "--check", "--output-dir", "d"]),
            "the argument '--check' cannot be used with '--output-dir <DIR>' (see `netaudit fix --help`)"
        );
    }

    #[test]
    fn a_validator_s_reason_is_kept() {
        assert_eq!(
            line(&["netaudit", "install", "x", "--runs", "9"]),
            "invalid value '9' for '--runs <RUNS>': 9 is not in 1..=5 (see `netaudit install --help`)"
        );
    }

    #[test]
    fn a_similar_flag_is_suggested() {
        assert_eq!(
            line(&["netaudit", "lint", "x", "--outptu", "json"]),
            "unexpected argument '--outptu' found; did you mean `--output`? (see `netaudit lint --help`)"
        );
    }

    #[test]
    fn what_the_user_typed_stays_on_one_line_and_inert() {
        let text = line(&["netaudit", "lint", "-o", "x\n\u{1b}[2J"]);
        assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text}");
        assert!(
            text.starts_with("invalid value 'x\\n\\u{1b}[2J' for '--output <OUTPUT>'"),
            "{text}"
        );
    }
}
