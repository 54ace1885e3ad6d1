//! The summary table: one row per input (chart/release), one column per
//! check, counted as the spec's "Counting for summaries" says: findings as
//! reported, except M6, counted once per chart.

use crate::checks::REGISTRY;
use crate::engine::Audit;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Summary {
    pub checks: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub counts: BTreeMap<String, usize>,
    pub affected: bool,
}

impl Row {
    pub fn count(&self, check: &str) -> usize {
        self.counts.get(check).copied().unwrap_or(0)
    }
}

impl Summary {
    pub fn of(audit: &Audit<'_>) -> Summary {
        // A static audit has no runtime columns.
        let probed = audit.index.runtime.is_some();
        let checks: Vec<String> = REGISTRY
            .iter()
            .filter(|c| probed || !c.runtime_only())
            .map(|c| c.id.to_string())
            .collect();
        // Per input; live objects (`lint --cluster`) are context, not a row.
        let rows = audit
            .index
            .inputs
            .iter()
            .zip(audit.counts())
            .filter(|(input, _)| !input.live)
            .map(|(input, counted)| Row {
                name: input.name.clone(),
                counts: checks
                    .iter()
                    .map(|c| (c.clone(), counted.get(c.as_str()).copied().unwrap_or(0)))
                    .collect(),
                affected: !counted.is_empty(),
            })
            .collect();
        Summary { checks, rows }
    }

    /// A Markdown table (readable as plain text too), with a total row when
    /// there is more than one input; `row` is what a row is ("chart", "release").
    pub fn to_markdown(&self, row: &str) -> String {
        let mut out = String::new();
        out.push_str(&format!("| {row} | affected | {} |\n", self.checks.join(" | ")));
        out.push_str(&format!("|---|---|{}\n", "---:|".repeat(self.checks.len())));
        for row in &self.rows {
            let counts: Vec<String> = self.checks.iter().map(|c| row.count(c).to_string()).collect();
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                crate::model::terminal::for_terminal_line(&row.name),
                if row.affected { "yes" } else { "no" },
                counts.join(" | ")
            ));
        }
        if self.rows.len() > 1 {
            let totals: Vec<String> = self
                .checks
                .iter()
                .map(|c| self.rows.iter().map(|r| r.count(c)).sum::<usize>().to_string())
                .collect();
            let affected = self.rows.iter().filter(|r| r.affected).count();
            out.push_str(&format!(
                "| **total ({} {row}s)** | {affected} | {} |\n",
                self.rows.len(),
                totals.join(" | ")
            ));
        }
        out
    }
}
