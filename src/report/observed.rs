//! The flows a probe observed, in words: a section of the human report
//! (the first few), and the whole table of `install --probe --flows`,
//! grouped by where they went as `reach` groups its rows.

use crate::model::words::count;
use crate::model::{AskedName, ChartTests, Exercise, ObservedFlow};

/// `--exercise`: how many Service ports answered the client, which did not.
pub fn exercise(exercise: Option<&Exercise>) -> String {
    let Some(exercise) = exercise else {
        return String::new();
    };
    let answered = exercise.tried.iter().filter(|t| t.answered).count();
    let mut text = format!(
        "exercise: {answered} of {} answered a client pod",
        count(exercise.tried.len(), "Service port", "Service ports")
    );
    let silent: Vec<String> = exercise
        .tried
        .iter()
        .filter(|t| !t.answered)
        .map(|t| format!("Service `{}` {}/{}", t.service, t.port, t.protocol))
        .collect();
    if !silent.is_empty() {
        text.push_str(&format!("; no answer from {}", silent.join(", ")));
    }
    if let Some(why) = &exercise.failed {
        text.push_str(&format!(" ({why})"));
    }
    text.push('\n');
    text
}

/// `--run-tests`: how many of the chart's test hooks passed, which did not
/// and why.
pub fn tests(tests: Option<&ChartTests>) -> String {
    let Some(tests) = tests else {
        return String::new();
    };
    let passed = tests.ran.iter().filter(|t| t.passed).count();
    let mut text = if tests.ran.is_empty() && tests.failed.is_none() {
        "tests: the chart has no test hook (`helm.sh/hook: test`)".to_string()
    } else {
        format!(
            "tests: {passed} of {} passed",
            count(tests.ran.len(), "test hook", "test hooks")
        )
    };
    let failed: Vec<String> = tests
        .ran
        .iter()
        .filter(|t| !t.passed)
        .map(|t| match &t.detail {
            Some(why) => format!("{} `{}` ({why})", t.kind, t.name),
            None => format!("{} `{}`", t.kind, t.name),
        })
        .collect();
    if !failed.is_empty() {
        text.push_str(&format!("; failed: {}", failed.join(", ")));
    }
    if let Some(why) = &tests.failed {
        text.push_str(&format!(" ({why})"));
    }
    text.push('\n');
    text
}

/// The flows the probe saw, one line each, at most [`SHOWN_FLOWS`] (the
/// JSON report has them all).
pub fn section(flows: &[ObservedFlow]) -> String {
    if flows.is_empty() {
        return String::new();
    }
    let mut text = format!("observed flows ({}):\n", flows.len());
    for flow in flows.iter().take(SHOWN_FLOWS) {
        // Logged DNS queries are counted one by one, not by socket.
        let connections = flow.seen();
        text.push_str(&format!(
            "  {} -> {} port {}/{}{}: {connections}{}, first after {:.1} s\n",
            client(flow),
            flow.to,
            flow.port,
            flow.protocol,
            flow.process.as_ref().map(|p| format!(" ({p})")).unwrap_or_default(),
            if flow.completed { "" } else { ", never answered" },
            flow.first_seen_ms as f64 / 1000.0
        ));
        if !flow.names.is_empty() {
            text.push_str(&asked_names(&flow.names));
        }
    }
    if flows.len() > SHOWN_FLOWS {
        text.push_str(&format!(
            "  … and {} more (-o json lists them all)\n",
            flows.len() - SHOWN_FLOWS
        ));
    }
    text
}

/// The names a flow to the cluster DNS asked for: those answered, and how
/// many were not (the resolver's search-path tries, as a rule).
fn asked_names(names: &[AskedName]) -> String {
    let answered: Vec<&str> = names.iter().filter(|n| n.answered).map(|n| n.name.as_str()).collect();
    let unanswered = names.len() - answered.len();
    let mut line = String::from("    names:");
    if answered.is_empty() {
        line.push_str(" none answered");
    } else {
        let shown = answered.len().min(SHOWN_NAMES);
        line.push(' ');
        line.push_str(&answered[..shown].join(", "));
        if answered.len() > shown {
            line.push_str(&format!(" and {} more", answered.len() - shown));
        }
    }
    if unanswered > 0 {
        line.push_str(&format!(
            " ({unanswered} other {} unanswered)",
            if unanswered == 1 { "name" } else { "names" }
        ));
    }
    line.push('\n');
    line
}

/// A flow's client, and who ran it when not the application
/// (`Pod/default/netaudit-exercise (exercise)`, a test hook's `(test)`).
fn client(flow: &ObservedFlow) -> String {
    match flow.origin {
        Some(origin) => format!("{} ({origin})", flow.from),
        None => flow.from.to_string(),
    }
}

/// How many answered names a DNS flow's line lists.
const SHOWN_NAMES: usize = 6;

/// How many observed flows the human report lists.
const SHOWN_FLOWS: usize = 20;

/// Every observed flow, a row each, grouped by destination and port (as
/// `reach` lists who may reach each port, this lists who did): the client
/// workload, what it took (connections, or queries), its process, when it
/// was first seen, and whether it was ever answered. The DNS's names follow
/// its rows.
pub fn table(flows: &[ObservedFlow]) -> String {
    if flows.is_empty() {
        return "No flow observed: no pod connected to anything while the probe watched.\n".to_string();
    }
    let mut rows: Vec<&ObservedFlow> = flows.iter().collect();
    rows.sort_by(|a, b| {
        (a.to.to_string(), a.port, a.protocol, a.from.to_string()).cmp(&(
            b.to.to_string(),
            b.port,
            b.protocol,
            b.from.to_string(),
        ))
    });
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|f| {
            [
                format!("{} {}/{}", f.to, f.port, f.protocol),
                client(f),
                f.seen(),
                f.process.clone().unwrap_or_else(|| "-".into()),
                format!("{:.1} s", f.first_seen_ms as f64 / 1000.0),
                if f.completed { "yes" } else { "NO" }.to_string(),
            ]
        })
        .collect();
    let header = ["to", "from", "seen", "process", "first", "answered"];
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |row: &[String]| {
        let mut text = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:width$}  "));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let unanswered = rows.iter().filter(|f| !f.completed).count();
    let mut out = format!(
        "Flows the pods made while the probe watched ({}{}):\n",
        count(rows.len(), "flow", "flows"),
        if unanswered > 0 {
            format!(", {unanswered} never answered: blocked, or nothing listens")
        } else {
            String::new()
        }
    );
    out.push_str(&line(&header.map(String::from)));
    let mut previous: Option<String> = None;
    for (flow, row) in rows.iter().zip(&cells) {
        // A destination port is named once, on its first row.
        let mut row = row.clone();
        if previous.as_deref() == Some(row[0].as_str()) {
            row[0] = String::new();
        } else {
            previous = Some(row[0].clone());
        }
        out.push_str(&line(&row));
        if !flow.names.is_empty() {
            out.push_str(&asked_names(&flow.names));
        }
    }
    out
}
