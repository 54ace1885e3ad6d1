//! The corpus across values (`examples/values_corpus.rs`): what only some
//! values of the charts bring, what some values remove, the keys most
//! often involved, and the summary table (the paper's Table 2) with the
//! defaults next to every value explored.

use crate::checks::REGISTRY;
use crate::engine::values_space::{Explored, Outcome};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// One chart of the corpus, explored.
pub struct ChartExplored {
    pub dataset: String,
    pub chart: String,
    pub explored: Explored,
}

/// The static checks' IDs, in the registry's order.
fn checks() -> Vec<&'static str> {
    REGISTRY.iter().filter(|c| !c.runtime_only()).map(|c| c.id).collect()
}

/// Findings by check and description (`M6`, `M6 Deployment/web/web`).
type Described = BTreeSet<(String, String)>;

/// The distinct findings some rendered variant of `explored` brings, and
/// those it removes.
fn changed(explored: &Explored) -> (Described, Described) {
    let mut brought = BTreeSet::new();
    let mut removed = BTreeSet::new();
    for variant in &explored.variants {
        if let Outcome::Rendered { appears, removes, .. } = &variant.outcome {
            brought.extend(appears.iter().map(|f| (f.check.clone(), f.describe())));
            removed.extend(removes.iter().map(|f| (f.check.clone(), f.describe())));
        }
    }
    (brought, removed)
}

/// Whether some rendered variant has a finding of `check` (or, `None`, any).
fn in_some_variant(explored: &Explored, check: Option<&str>) -> bool {
    explored.variants.iter().any(|v| match &v.outcome {
        Outcome::Rendered { counts, .. } => match check {
            Some(check) => counts.get(check).is_some_and(|n| *n > 0),
            None => counts.values().any(|n| *n > 0),
        },
        _ => false,
    })
}

/// The report, in Markdown. `how` says how it was made (the command, the
/// machine, the wall time).
pub fn markdown(charts: &[ChartExplored], how: &str) -> String {
    let checks = checks();
    let mut out = String::from("# The corpus across values\n\n");
    out.push_str(how);
    out.push_str("\n\n");

    let (mut rendered, mut failed, mut timed_out, mut left_out) = (0, 0, 0, 0);
    for c in charts {
        left_out += c.explored.left_out;
        for v in &c.explored.variants {
            match v.outcome {
                Outcome::Rendered { .. } => rendered += 1,
                Outcome::Failed { .. } => failed += 1,
                Outcome::TimedOut { .. } => timed_out += 1,
            }
        }
    }
    let _ = writeln!(
        out,
        "{} charts explored; {rendered} variants rendered, {failed} refused by helm (a `required` or `fail` of the chart, \
         or a chart that breaks under that value), {timed_out} stopped at the render timeout, {left_out} beyond `--max-renders`.\n",
        charts.len()
    );

    out.push_str("## Findings only some values bring, and findings some values remove\n\n");
    out.push_str(
        "Per check: the distinct findings that some variant brings and the defaults lack, the charts that have \
         such a finding and none of that check with their defaults, and the distinct findings of the defaults that \
         some variant removes.\n\n",
    );
    out.push_str("| check | findings only off the defaults | charts only off the defaults | findings some values remove |\n|---|---:|---:|---:|\n");
    for check in &checks {
        let (mut brought, mut only_charts, mut removed) = (0, 0, 0);
        for c in charts {
            let (b, r) = changed(&c.explored);
            let here = b.iter().filter(|(k, _)| k == check).count();
            brought += here;
            removed += r.iter().filter(|(k, _)| k == check).count();
            let in_defaults = c.explored.defaults_counts.get(*check).is_some_and(|n| *n > 0);
            only_charts += usize::from(here > 0 && !in_defaults);
        }
        let _ = writeln!(out, "| {check} | {brought} | {only_charts} | {removed} |");
    }

    out.push_str("\n## The keys most often involved\n\n");
    out.push_str(
        "A setting counts for a chart when flipping that key alone brings or removes a finding there. Keys are \
         named short so that charts and subcharts count together: a toggle by its section \
         (`redis.networkPolicy.enabled` as `networkPolicy.enabled`), another key by its last part \
         (`server.hostNetwork` as `hostNetwork`).\n\n",
    );
    let mut keys: BTreeMap<String, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for c in charts {
        for v in &c.explored.variants {
            let (Outcome::Rendered { appears, removes, .. }, [setting]) = (&v.outcome, v.settings.as_slice()) else {
                continue;
            };
            let key = format!("{}={}", short_key(&setting.key.key), setting.value);
            let entry = keys.entry(key).or_default();
            if !appears.is_empty() {
                entry.0.insert(&c.chart);
            }
            if !removes.is_empty() {
                entry.1.insert(&c.chart);
            }
        }
    }
    let mut ranked: Vec<(&String, usize, usize)> = keys
        .iter()
        .map(|(k, (b, r))| (k, b.len(), r.len()))
        .filter(|(_, b, r)| b + r > 0)
        .collect();
    ranked.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then(a.0.cmp(b.0)));
    out.push_str("| setting | charts where it brings findings | charts where it removes findings |\n|---|---:|---:|\n");
    for (key, b, r) in ranked.iter().take(25) {
        let _ = writeln!(out, "| `{key}` | {b} | {r} |");
    }

    out.push_str("\n## The summary table across values\n\n");
    out.push_str(
        "Per dataset: charts affected with their defaults, and with their defaults or any value explored; per \
         check, charts with a finding of it, `defaults / across values`.\n\n",
    );
    let _ = writeln!(
        out,
        "| dataset | charts | affected | {} |\n|---|---:|---|{}",
        checks.join(" | "),
        "---|".repeat(checks.len())
    );
    let mut datasets: Vec<&str> = charts.iter().map(|c| c.dataset.as_str()).collect();
    datasets.dedup();
    for dataset in datasets {
        let of: Vec<&ChartExplored> = charts.iter().filter(|c| c.dataset == dataset).collect();
        let defaults_affected = of.iter().filter(|c| c.explored.defaults > 0).count();
        let across = of
            .iter()
            .filter(|c| c.explored.defaults > 0 || in_some_variant(&c.explored, None))
            .count();
        let cells: Vec<String> = checks
            .iter()
            .map(|check| {
                let d = of
                    .iter()
                    .filter(|c| c.explored.defaults_counts.get(*check).is_some_and(|n| *n > 0))
                    .count();
                let v = of
                    .iter()
                    .filter(|c| {
                        c.explored.defaults_counts.get(*check).is_some_and(|n| *n > 0)
                            || in_some_variant(&c.explored, Some(check))
                    })
                    .count();
                format!("{d} / {v}")
            })
            .collect();
        let _ = writeln!(
            out,
            "| {dataset} | {} | {defaults_affected} / {across} | {} |",
            of.len(),
            cells.join(" | ")
        );
    }
    out
}

/// How the key table names a key: a toggle by its section and `enabled`
/// (`redis.networkPolicy.enabled` → `networkPolicy.enabled`), any other key
/// by its last part (`server.hostNetwork` → `hostNetwork`), so the same
/// setting in different charts and subcharts counts together.
fn short_key(key: &str) -> String {
    let parts: Vec<&str> = key.split('.').collect();
    match parts.as_slice() {
        [.., section, "enabled"] => format!("{section}.enabled"),
        [.., last] => last.to_string(),
        [] => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Severity;
    use crate::engine::values_space::{FindingRef, VariantReport};
    use crate::model::{Setting, ValuesKey};

    fn finding(check: &str, object: &str) -> FindingRef {
        FindingRef {
            check: check.into(),
            severity: Severity::Medium,
            objects: vec![object.into()],
            port: None,
            message: String::new(),
            guarded_by: Vec::new(),
            reads: Vec::new(),
        }
    }

    fn variant(key: &str, appears: Vec<FindingRef>, removes: Vec<FindingRef>) -> VariantReport {
        let mut counts = BTreeMap::new();
        for f in &appears {
            *counts.entry(f.check.clone()).or_insert(0) += 1;
        }
        VariantReport {
            settings: vec![Setting {
                key: ValuesKey {
                    key: key.into(),
                    file: None,
                    line: None,
                },
                value: "true".into(),
                default: "false".into(),
                string: false,
            }],
            outcome: Outcome::Rendered {
                findings: appears.len(),
                counts,
                appears,
                removes,
                exposure: Vec::new(),
            },
        }
    }

    #[test]
    fn values_findings_keys_and_the_summary_are_counted_per_chart() {
        let m6 = |o: &str| finding("M6", o);
        let web = ChartExplored {
            dataset: "bitnami".into(),
            chart: "web".into(),
            explored: Explored {
                chart: "web".into(),
                defaults: 1,
                defaults_counts: BTreeMap::from([("M6".to_string(), 1)]),
                variants: vec![
                    variant(
                        "hostNetwork",
                        vec![finding("M7", "Deployment/web/web")],
                        vec![m6("Deployment/web/web")],
                    ),
                    variant("networkPolicy.enabled", Vec::new(), vec![m6("Deployment/web/web")]),
                ],
                ..Explored::default()
            },
        };
        let db = ChartExplored {
            dataset: "bitnami".into(),
            chart: "db".into(),
            explored: Explored {
                chart: "db".into(),
                variants: vec![variant(
                    "cache.networkPolicy.enabled",
                    vec![m6("Deployment/db/cache")],
                    Vec::new(),
                )],
                ..Explored::default()
            },
        };
        let text = markdown(&[web, db], "made by a test");
        assert!(text.contains("2 charts explored; 3 variants rendered"), "{text}");
        assert!(text.contains("| M7 | 1 | 1 | 0 |"), "{text}");
        // M6 of web is removed by two variants: one finding.
        assert!(text.contains("| M6 | 1 | 1 | 1 |"), "{text}");
        assert!(text.contains("| `networkPolicy.enabled=true` | 1 | 1 |"), "{text}");
        assert!(text.contains("| `hostNetwork=true` | 1 | 1 |"), "{text}");
        // web is affected with its defaults, db only with a value.
        let row = text.lines().find(|l| l.starts_with("| bitnami |")).unwrap();
        assert!(row.starts_with("| bitnami | 2 | 1 / 2 |"), "{row}");
    }
}
