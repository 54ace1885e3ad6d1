//! `netaudit reach` in words and in the formats other tools read: the
//! matrix of a small input, the grouped rows of a large one, the summary
//! per namespace, CSV (a line per destination port) and Graphviz.

use crate::model::words::{count, thousands};
use crate::reach::grouped::{Grouped, NamespaceSummary, PortCounts, Row, VariantReach};
use crate::reach::matrix::Matrix;
use std::fmt::Write as _;

/// The matrix of a small input: the table, a legend of the columns above
/// it, and below it what the `~` cells and the notes stand for.
pub fn matrix(matrix: &Matrix) -> String {
    if matrix.rows.is_empty() {
        return "No workload in the input: nothing can be reached.\n".to_string();
    }
    let mut out = String::from("Who may open a connection to each workload port (. allowed, X blocked):\n");
    for (i, w) in matrix.workloads.iter().enumerate() {
        out.push_str(&format!("  {:>3}  {w}\n", i + 1));
    }
    out.push_str("  any  a pod of another namespace (~: only pods a policy names, listed below)\n");
    out.push_str("  out  an address outside the cluster\n\n");
    let destinations: Vec<String> = matrix
        .rows
        .iter()
        .map(|r| match (r.port, r.protocol) {
            (Some(port), Some(protocol)) => format!("{} {port}/{}", r.to, protocol.as_str()),
            _ => format!("{} (any port)", r.to),
        })
        .collect();
    let width = destinations.iter().map(String::len).max().unwrap_or(0).max(2);
    let column = |i: usize| format!("{:>3}", i + 1);
    let mut header = format!("{:width$}", "to");
    for i in 0..matrix.workloads.len() {
        header.push(' ');
        header.push_str(&column(i));
    }
    header.push_str("  any  out");
    out.push_str(header.trim_end());
    out.push('\n');
    let mut footnotes = Vec::new();
    for (row, destination) in matrix.rows.iter().zip(&destinations) {
        let mark = |allowed: bool| if allowed { "." } else { "X" };
        let mut line = format!("{destination:width$}");
        for &allowed in &row.from_workloads {
            line.push_str(&format!(" {:>3}", mark(allowed)));
        }
        let any = match (row.others.from_any_pod, row.others.from_pods.is_empty()) {
            (true, _) => ".",
            (false, false) => "~",
            (false, true) => "X",
        };
        line.push_str(&format!("  {any:>3}  {:>3}", mark(row.others.from_outside)));
        out.push_str(&line);
        out.push('\n');
        let why = if row.others.host_network {
            Some("hostNetwork: no policy applies".to_string())
        } else if row.others.unrestricted {
            Some("no policy restricts ingress".to_string())
        } else {
            None
        };
        let mut said: Vec<String> = why.into_iter().collect();
        if !row.others.from_any_pod {
            said.extend(row.others.from_pods.iter().map(|p| match &p.pods {
                Some(pods) => format!("~ pods `{pods}` of namespaces `{}`", p.namespaces),
                None => format!("~ any pod of namespaces `{}`", p.namespaces),
            }));
        }
        said.extend(row.notes.iter().cloned());
        if !said.is_empty() {
            footnotes.push(format!("{destination}: {}", said.join("; ")));
        }
    }
    if !footnotes.is_empty() {
        out.push('\n');
        for note in footnotes {
            out.push_str(&note);
            out.push('\n');
        }
    }
    out
}

/// How many names a human row shows before "and N more".
const NAMES_SHOWN: usize = 5;

/// Rows of destination ports that share an answer, the source groups below.
pub fn grouped(grouped: &Grouped) -> String {
    if grouped.rows.is_empty() {
        return "No destination port matches: nothing to show.\n".to_string();
    }
    let mut out =
        String::from("Who may open a connection to each workload port, ports with the same answer together:\n");
    for (i, row) in grouped.rows.iter().enumerate() {
        let _ = writeln!(
            out,
            "\nR{}  {} in {}: {}",
            i + 1,
            count(row.ports, "port", "ports") + &format!(" of {}", count(row.workloads, "workload", "workloads")),
            count(row.namespaces, "namespace", "namespaces"),
            sources_in_words(row, grouped)
        );
        let names: Vec<String> = row
            .to
            .iter()
            .take(NAMES_SHOWN)
            .map(|t| match (t.port, t.protocol) {
                (Some(port), Some(protocol)) => format!("{} {port}/{}", t.workload, protocol.as_str()),
                _ => format!("{} (any port)", t.workload),
            })
            .collect();
        let more = row.to.len().saturating_sub(NAMES_SHOWN);
        let _ = writeln!(out, "    {}{}", names.join(", "), and_more(more));
        if !row.others.from_any_pod && !row.others.from_pods.is_empty() {
            for pods in &row.others.from_pods {
                let _ = match &pods.pods {
                    Some(p) => writeln!(out, "    ~ pods `{p}` of namespaces `{}`", pods.namespaces),
                    None => writeln!(out, "    ~ any pod of namespaces `{}`", pods.namespaces),
                };
            }
        }
        if !row.policies.is_empty() {
            let _ = writeln!(out, "    policies: {}", row.policies.join(", "));
        }
        for note in &row.notes {
            let _ = writeln!(out, "    note: {note}");
        }
    }
    if !grouped.sources.is_empty() {
        out.push_str("\nSource groups (audited workloads every row treats alike):\n");
        for (i, group) in grouped.sources.iter().enumerate() {
            let shown: Vec<&str> = group.workloads.iter().take(NAMES_SHOWN).map(String::as_str).collect();
            let more = group.workloads.len().saturating_sub(NAMES_SHOWN);
            let _ = writeln!(
                out,
                "  S{}  {} in {}: {}{}",
                i + 1,
                count(group.count, "workload", "workloads"),
                count(group.namespaces, "namespace", "namespaces"),
                shown.join(", "),
                and_more(more)
            );
        }
    }
    out
}

/// Who may connect to a row's ports, in words.
fn sources_in_words(row: &Row, grouped: &Grouped) -> String {
    let mut said = Vec::new();
    if row.others.host_network {
        said.push("everyone (hostNetwork: no policy applies)".to_string());
        return said.join(", ");
    }
    if row.others.from_any_pod {
        said.push("any pod".to_string());
    } else if !row.others.from_pods.is_empty() {
        said.push("pods some policies name (~)".to_string());
    }
    if row.others.from_outside {
        said.push("outside".to_string());
    }
    if row.from_all_workloads {
        said.push(format!("every audited workload ({})", thousands(grouped.workloads)));
    } else if !row.from_sources.is_empty() {
        let groups: Vec<String> = row.from_sources.iter().map(|g| format!("S{}", g + 1)).collect();
        said.push(format!(
            "{} ({})",
            count(row.from_workload_count, "audited workload", "audited workloads"),
            groups.join(" ")
        ));
    }
    let mut text = match said.is_empty() {
        true => "no one".to_string(),
        false => format!("from {}", said.join(", ")),
    };
    if row.others.unrestricted {
        text.push_str(" (no policy restricts ingress)");
    }
    text
}

fn and_more(more: usize) -> String {
    match more {
        0 => String::new(),
        n => format!(" and {} more", thousands(n)),
    }
}

/// `reach --summary`: a table, a namespace a line.
pub fn summary(rows: &[NamespaceSummary]) -> String {
    if rows.is_empty() {
        return "No destination port matches: nothing to show.\n".to_string();
    }
    let lines = rows
        .iter()
        .map(|r| (r.namespace.clone(), Ok(r.counts.cells())))
        .collect();
    port_table(
        "Ports per namespace: open to any pod (of another namespace), to outside the cluster, isolated (from both by a policy):\n",
        "namespace",
        lines,
    )
}

/// `reach --explore-values`: a row per render of the chart's values.
pub fn variants(rows: &[VariantReach]) -> String {
    let lines = rows
        .iter()
        .map(|r| {
            (
                r.values.clone(),
                r.not_rendered.clone().map_or(Ok(r.counts.cells()), Err),
            )
        })
        .collect();
    port_table(
        "Ports of each render of the chart's values: open to any pod (of another namespace), to outside the cluster, isolated (from both by a policy):\n",
        "values",
        lines,
    )
}

/// The port counts' table of `--summary` and `--explore-values`: a name,
/// then workloads, ports, open to any pod, to outside, isolated,
/// hostNetwork, aligned; a row without counts says why after its name
/// (it widens no column).
fn port_table(title: &str, first: &str, rows: Vec<(String, Result<[usize; 6], String>)>) -> String {
    let header = ["workloads", "ports", "any pod", "outside", "isolated", "hostNetwork"].map(String::from);
    let cells: Vec<(String, Result<[String; 6], String>)> = std::iter::once((first.to_string(), Ok(header)))
        .chain(
            rows.into_iter()
                .map(|(name, counts)| (name, counts.map(|c| c.map(thousands)))),
        )
        .collect();
    let name_width = cells.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            cells
                .iter()
                .filter_map(|(_, r)| r.as_ref().ok().map(|r| r[c].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::from(title);
    for (name, row) in &cells {
        let mut line = format!("{name:<name_width$}");
        match row {
            Ok(row) => {
                for (cell, width) in row.iter().zip(&widths) {
                    let _ = write!(line, "  {cell:>width$}");
                }
            }
            Err(reason) => {
                let _ = write!(line, "  did not render: {reason}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `reach --explore-values -o csv`.
pub fn variants_csv(rows: &[VariantReach]) -> String {
    let mut out =
        String::from("values,not_rendered,workloads,ports,open_to_any_pod,open_to_outside,isolated,host_network\n");
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{}",
            field(&r.values),
            field(r.not_rendered.as_deref().unwrap_or("")),
            csv_counts(&r.counts)
        );
    }
    out
}

/// The counts of a row, comma-separated.
fn csv_counts(counts: &PortCounts) -> String {
    counts.cells().map(|n| n.to_string()).join(",")
}

/// `reach --summary -o csv`.
pub fn summary_csv(rows: &[NamespaceSummary]) -> String {
    let mut out = String::from("namespace,workloads,ports,open_to_any_pod,open_to_outside,isolated,host_network\n");
    for r in rows {
        let _ = writeln!(out, "{},{}", field(&r.namespace), csv_counts(&r.counts));
    }
    out
}

/// A CSV field, quoted when it must be (RFC 4180); a leading `=`, `+`,
/// `-` or `@` is prefixed with `'` so that a spreadsheet does not run it.
fn field(text: &str) -> String {
    let text = match text.starts_with(['=', '+', '-', '@']) {
        true => format!("'{text}"),
        false => text.to_string(),
    };
    match text.contains([',', '"', '\n', '\r']) {
        true => format!("\"{}\"", text.replace('"', "\"\"")),
        false => text,
    }
}

/// A line per destination port; `row` and `from_sources` refer to the
/// rows and source groups of `-o json`.
pub fn csv(grouped: &Grouped) -> String {
    let mut out = String::from(
        "workload,port,protocol,row,from_any_pod,from_outside,from_all_workloads,from_workloads,from_sources,host_network,unrestricted,policies,notes\n",
    );
    for (i, row) in grouped.rows.iter().enumerate() {
        let sources: Vec<String> = row.from_sources.iter().map(|g| format!("S{}", g + 1)).collect();
        let rest = [
            format!("R{}", i + 1),
            row.others.from_any_pod.to_string(),
            row.others.from_outside.to_string(),
            row.from_all_workloads.to_string(),
            row.from_workload_count.to_string(),
            field(&sources.join(" ")),
            row.others.host_network.to_string(),
            row.others.unrestricted.to_string(),
            field(&row.policies.join("; ")),
            field(&row.notes.join("; ")),
        ]
        .join(",");
        for to in &row.to {
            let port = to.port.map(|p| p.to_string()).unwrap_or_default();
            let protocol = to.protocol.map(|p| p.as_str().to_string()).unwrap_or_default();
            let _ = writeln!(out, "{},{port},{protocol},{rest}", field(&to.workload));
        }
    }
    out
}

/// A Graphviz digraph: source groups, any pod and outside on the left,
/// rows of destination ports on the right, an edge where a connection may
/// be opened.
pub fn dot(grouped: &Grouped) -> String {
    let quote = |text: &str| {
        format!(
            "\"{}\"",
            text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
        )
    };
    let mut out = String::from("digraph reach {\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n");
    out.push_str(
        "  any [label=\"any pod\", shape=ellipse];\n  outside [label=\"outside the cluster\", shape=ellipse];\n",
    );
    for (i, group) in grouped.sources.iter().enumerate() {
        let first = group.workloads.first().map(String::as_str).unwrap_or("");
        let label = match group.count {
            1 => format!("S{}\n{first}", i + 1),
            n => format!(
                "S{}\n{} workloads in {}\n{first}, …",
                i + 1,
                thousands(n),
                count(group.namespaces, "namespace", "namespaces")
            ),
        };
        let _ = writeln!(out, "  S{} [label={}];", i + 1, quote(&label));
    }
    for (i, row) in grouped.rows.iter().enumerate() {
        let first = row
            .to
            .first()
            .map(|t| match t.port {
                Some(port) => format!("{} {port}", t.workload),
                None => t.workload.clone(),
            })
            .unwrap_or_default();
        let label = match row.ports {
            1 => format!("R{}\n{first}", i + 1),
            n => format!(
                "R{}\n{} ports of {}\n{first}, …",
                i + 1,
                thousands(n),
                count(row.workloads, "workload", "workloads")
            ),
        };
        let _ = writeln!(out, "  R{} [label={}];", i + 1, quote(&label));
        if row.others.from_any_pod {
            let _ = writeln!(out, "  any -> R{};", i + 1);
        }
        if row.others.from_outside {
            let _ = writeln!(out, "  outside -> R{};", i + 1);
        }
        for g in &row.from_sources {
            let _ = writeln!(out, "  S{} -> R{};", g + 1, i + 1);
        }
    }
    out.push_str("}\n");
    out
}

/// One JSON object a line: each source group (`"kind": "sources"`), then
/// each row (`"kind": "row"`), as `-o json` has them.
pub fn json_lines(grouped: &Grouped) -> serde_json::Result<String> {
    let mut out = String::new();
    for (i, group) in grouped.sources.iter().enumerate() {
        let mut value = serde_json::to_value(group)?;
        value["kind"] = "sources".into();
        value["id"] = i.into();
        out.push_str(&serde_json::to_string(&value)?);
        out.push('\n');
    }
    for (i, row) in grouped.rows.iter().enumerate() {
        let mut value = serde_json::to_value(row)?;
        value["kind"] = "row".into();
        value["id"] = i.into();
        out.push_str(&serde_json::to_string(&value)?);
        out.push('\n');
    }
    Ok(out)
}
