//! `--explore-values` in words: what only some values bring, what some
//! values remove, and the variants that did not render.

use crate::engine::values_space::{Explored, FindingRef, Outcome, VariantReport};
use crate::model::ValuesKey;

/// `metrics.enabled (values.yaml:12), hostNetwork (values.yaml:3)`, the
/// files shown from the chart directory `chart` on.
pub fn keys(keys: &[ValuesKey], chart: &str) -> String {
    keys.iter().map(|k| k.located_in(chart)).collect::<Vec<_>>().join(", ")
}

/// A variant's settings, each with where its default is set:
/// `hostNetwork=true (values.yaml:3)`.
fn settings(variant: &VariantReport, chart: &str) -> String {
    variant
        .settings
        .iter()
        .map(|s| match s.key.place_in(chart) {
            Some(place) => format!("{}={} ({place})", s.key.key, s.value),
            None => format!("{}={}", s.key.key, s.value),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn workloads_phrase(findings: &[&FindingRef]) -> String {
    let objects: Vec<&str> = findings
        .iter()
        .filter_map(|f| f.objects.first().map(String::as_str))
        .collect();
    format!("{} ({})", count(objects.len(), "object"), objects.join(", "))
}

/// `M6 on 2 objects (Deployment/a/x, Deployment/a/y)`, a check a part.
fn by_check(findings: &[FindingRef]) -> Vec<String> {
    let mut grouped: Vec<(&str, Vec<&FindingRef>)> = Vec::new();
    for finding in findings {
        match grouped.iter_mut().find(|(c, _)| *c == finding.check) {
            Some((_, list)) => list.push(finding),
            None => grouped.push((&finding.check, vec![finding])),
        }
    }
    grouped
        .iter()
        .map(|(check, findings)| format!("{check} on {}", workloads_phrase(findings)))
        .collect()
}

fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The section of the human report.
pub fn section(explored: &Explored) -> String {
    let rendered = explored
        .variants
        .iter()
        .filter(|v| matches!(v.outcome, Outcome::Rendered { .. }))
        .count();
    let chart = explored.chart.as_str();
    let mut out = format!(
        "\nValues explored in {chart}: {rendered} of {} rendered{}\n",
        count(explored.variants.len(), "variant"),
        match explored.left_out {
            0 => String::new(),
            n => format!("; {} more beyond --max-renders not rendered", count(n, "variant")),
        }
    );
    out.push_str(&format!(
        "  In the defaults: {} (above)\n",
        count(explored.defaults, "finding")
    ));
    let only = explored.only_with_values();
    if !only.is_empty() {
        out.push_str("  Only with certain values:\n");
        for (finding, variants) in &only {
            out.push_str(&format!(
                "    {} ({}): {}\n",
                finding.describe(),
                finding.severity,
                finding.message
            ));
            let with: Vec<String> = variants.iter().map(|v| settings(v, chart)).collect();
            out.push_str(&format!("      with {}\n", with.join("; or ")));
            if !finding.guarded_by.is_empty() {
                out.push_str(&format!(
                    "      its object renders only with {}\n",
                    keys(&finding.guarded_by, chart)
                ));
            }
        }
    }
    let telling = explored.telling();
    let removing: Vec<&VariantReport> = telling
        .iter()
        .copied()
        .filter(|v| matches!(&v.outcome, Outcome::Rendered { removes, exposure, .. } if !removes.is_empty() || !exposure.is_empty()))
        .collect();
    if !removing.is_empty() {
        out.push_str("  Removed by certain values:\n");
        for variant in removing {
            let Outcome::Rendered {
                appears,
                removes,
                exposure,
                ..
            } = &variant.outcome
            else {
                continue;
            };
            let removed = by_check(removes);
            out.push_str(&format!("    {}:\n", settings(variant, chart)));
            if !removed.is_empty() {
                out.push_str(&format!("      removes {}\n", removed.join("; ")));
            }
            if !appears.is_empty() {
                let brought: Vec<String> = appears.iter().map(FindingRef::describe).collect();
                out.push_str(&format!("      and brings {} (above)\n", brought.join("; ")));
            }
            for change in exposure {
                out.push_str(&format!(
                    "      changes the exposure of {}: {} -> {}\n",
                    change.finding.describe(),
                    change.before,
                    change.after
                ));
            }
        }
    }
    let unchanged: Vec<String> = telling
        .iter()
        .filter(|v| {
            matches!(&v.outcome, Outcome::Rendered { appears, removes, exposure, .. }
                if appears.is_empty() && removes.is_empty() && exposure.is_empty())
        })
        .map(|v| v.describe())
        .collect();
    if !unchanged.is_empty() {
        out.push_str(&format!("  No finding changed with: {}\n", unchanged.join("; ")));
    }
    let failed: Vec<String> = explored
        .variants
        .iter()
        .filter_map(|variant| match &variant.outcome {
            Outcome::Failed { reason } => Some(format!("    {}: {reason}\n", variant.describe())),
            Outcome::TimedOut { seconds } => Some(format!(
                "    {}: stopped after {seconds} s (--render-timeout)\n",
                variant.describe()
            )),
            Outcome::Rendered { .. } => None,
        })
        .collect();
    if !failed.is_empty() {
        out.push_str("  Did not render:\n");
        out.extend(failed);
    }
    out
}

/// `--summary`: a row for the defaults and one per variant, a column per
/// check of `checks` (the summary table's), counted as the summary counts.
pub fn summary(explored: &Explored, checks: &[String]) -> String {
    let mut out = format!(
        "\n| values of {} | findings | {} |\n|---|---:|{}\n",
        crate::model::terminal::for_terminal_line(&explored.chart),
        checks.join(" | "),
        "---:|".repeat(checks.len())
    );
    let row = |name: &str, findings: usize, counts: &std::collections::BTreeMap<String, usize>| {
        let cells: Vec<String> = checks
            .iter()
            .map(|c| counts.get(c).copied().unwrap_or(0).to_string())
            .collect();
        format!(
            "| {} | {findings} | {} |\n",
            crate::model::terminal::for_terminal_line(name),
            cells.join(" | ")
        )
    };
    out.push_str(&row("(defaults)", explored.defaults, &explored.defaults_counts));
    for variant in &explored.variants {
        let name = variant.describe();
        match &variant.outcome {
            Outcome::Rendered { findings, counts, .. } => out.push_str(&row(&name, *findings, counts)),
            Outcome::Failed { .. } => out.push_str(&format!(
                "| {} | did not render |{}\n",
                crate::model::terminal::for_terminal_line(&name),
                " |".repeat(checks.len())
            )),
            Outcome::TimedOut { seconds } => out.push_str(&format!(
                "| {} | stopped after {seconds} s |{}\n",
                crate::model::terminal::for_terminal_line(&name),
                " |".repeat(checks.len())
            )),
        }
    }
    out
}

/// The variants that remove findings of the defaults and bring none: what
/// the chart's own values avoid, for `fix` to offer before its policies
/// (`--set networkPolicy.enabled=true (values.yaml:75): removes M6 on 6
/// objects (…)`), with how each is set.
pub fn advice(explored: &Explored) -> Vec<String> {
    explored
        .variants
        .iter()
        .filter_map(|variant| match &variant.outcome {
            Outcome::Rendered { appears, removes, .. } if appears.is_empty() && !removes.is_empty() => {
                let removed = by_check(removes);
                let flags: Vec<String> = variant
                    .settings
                    .iter()
                    .map(|s| {
                        let flag = if s.string { "--set-string" } else { "--set" };
                        let at = s
                            .key
                            .place_in(&explored.chart)
                            .map(|p| format!(" at {p}"))
                            .unwrap_or_default();
                        format!("{flag} {}={} (default {}{at})", s.key.key, s.value, s.default)
                    })
                    .collect();
                Some(format!("{}: removes {}", flags.join(" "), removed.join("; ")))
            }
            _ => None,
        })
        .collect()
}
