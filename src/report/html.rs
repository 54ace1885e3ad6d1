//! `-o html`: one self-contained page (no request leaves it: a
//! Content-Security-Policy forbids any) with the release drawn as a graph
//! ([`super::graph`]), the findings with their YAML, and filters by check and
//! severity. The layout is computed here, in columns: who connects from
//! elsewhere (outside, any pod), then the Services and other objects, the
//! workloads, the policies; the flows between workloads are arcs beside
//! their column.

use super::escape_markup as escape;
use super::graph::{port_of, EdgeKind, Graph, NodeKind, Openness, MAX_DRAWN};
use crate::checks::{Finding, Severity};
use crate::engine::Audit;
use crate::model::secrets;
use crate::reach::matrix::Matrix;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

const STYLE: &str = include_str!("html/style.css");
const SCRIPT: &str = include_str!("html/script.js");

const NODE_WIDTH: f64 = 200.0;
const NODE_HEIGHT: f64 = 36.0;
const ROW: f64 = 48.0;
const TOP: f64 = 40.0;
/// The x of each column: sources, Services and others, workloads, policies
/// (with room for the arcs between workloads before the last).
const COLUMNS: [f64; 4] = [16.0, 270.0, 540.0, 940.0];
/// Lines of YAML shown around a finding's line.
const CONTEXT: u32 = 3;

/// A page's title: `what: shop, blog` (the inputs' names, the first three).
pub fn title(what: &str, inputs: &[crate::model::Input]) -> String {
    let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    match names.as_slice() {
        [] => what.to_string(),
        [a, b, c, _, ..] => format!("{what}: {a}, {b}, {c} and {} more", names.len() - 3),
        names => format!("{what}: {}", names.join(", ")),
    }
}

/// The report of an audit (`lint`, `audit`, `install --probe`).
pub fn audit(audit: &Audit<'_>, title: &str) -> String {
    let graph = Graph::of(&audit.index, &audit.findings);
    let mut body = String::new();
    body.push_str(&graph_section(&graph, &audit.findings));
    body.push_str(&findings_section(audit, &graph));
    let mut counts = String::new();
    for severity in [Severity::High, Severity::Medium, Severity::Low, Severity::Info] {
        let n = audit.findings.iter().filter(|f| f.severity == severity).count();
        let _ = write!(counts, "<span>{n} {}</span>", severity.as_str());
    }
    page(title, &counts, &body)
}

/// The report of `reach`: the graph of the whole `matrix`, and who may
/// connect to each port of `table` (the rows `--to`/`--from` ask for).
pub fn reach(index: &crate::model::Index<'_>, matrix: &Matrix, table: &Matrix, title: &str) -> String {
    let graph = Graph::with_matrix(index, matrix, &[]);
    let mut body = graph_section(&graph, &[]);
    body.push_str(&reach_section(table));
    let counts = format!(
        "<span>{} workloads</span><span>{} policies</span>",
        index.workloads.len(),
        index.policies.len()
    );
    page(title, &counts, &body)
}

fn page(title: &str, counts: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"netaudit {version}\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <header class=\"top\"><h1>{title}</h1><div class=\"counts\">{counts}</div></header>\n<main>\n{body}</main>\n\
         <script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        version = env!("CARGO_PKG_VERSION"),
        title = escape(title),
    )
}

fn graph_section(graph: &Graph, findings: &[Finding<'_>]) -> String {
    let mut out = String::from("<section id=\"graph\"><h2>Who may reach whom</h2>\n");
    if graph.left_out > 0 {
        let _ = writeln!(
            out,
            "<p class=\"empty\">{} workloads: too many to draw (at most {MAX_DRAWN}). <code>netaudit reach</code> answers for each port, <code>netaudit reach -o dot</code> draws the grouped rows.</p></section>",
            graph.left_out
        );
        return out;
    }
    out.push_str(
        "<p class=\"legend\"><span><i style=\"background:var(--outside)\"></i>reachable from outside the cluster</span>\
         <span><i style=\"background:var(--any-pod)\"></i>reachable from any pod</span>\
         <span><i style=\"background:var(--restricted)\"></i>only from what the policies name</span>\
         <span><i style=\"background:var(--service)\"></i>Service (dashed: selects)</span>\
         <span><i style=\"background:var(--policy)\"></i>policy (dashed: selects)</span>\
         <span>grey arcs: a workload may reach another's restricted ports. Click a node to see its flows and findings.</span></p>\n",
    );
    out.push_str("<div class=\"graph\">");
    out.push_str(&svg(graph, findings));
    out.push_str("</div></section>\n");
    out
}

/// Where each node goes: its column and its row.
fn layout(graph: &Graph) -> Vec<(f64, f64)> {
    let column = |kind: NodeKind| match kind {
        NodeKind::Outside | NodeKind::AnyPod => 0,
        NodeKind::Service | NodeKind::Other => 1,
        NodeKind::Workload => 2,
        NodeKind::Policy => 3,
    };
    let mut place = vec![(0.0, 0.0); graph.nodes.len()];
    // Workloads by their id (namespace order), then the rest by the mean row
    // of the workloads they select (fewer crossings), else by name.
    let mut workloads: Vec<usize> = (0..graph.nodes.len())
        .filter(|i| graph.nodes[*i].kind == NodeKind::Workload)
        .collect();
    workloads.sort_by(|a, b| graph.nodes[*a].id.cmp(&graph.nodes[*b].id));
    let mut row_of: BTreeMap<usize, f64> = BTreeMap::new();
    for (row, w) in workloads.iter().enumerate() {
        row_of.insert(*w, row as f64);
    }
    for col in [0, 1, 3] {
        let mut members: Vec<(f64, String, usize)> = (0..graph.nodes.len())
            .filter(|i| column(graph.nodes[*i].kind) == col)
            .map(|i| {
                let rows: Vec<f64> = graph
                    .edges
                    .iter()
                    .filter(|e| e.from == i)
                    .filter_map(|e| row_of.get(&e.to).copied())
                    .collect();
                let mean = match (col, rows.is_empty()) {
                    (0, _) => i as f64 - 1e9,
                    (_, true) => f64::MAX,
                    (_, false) => rows.iter().sum::<f64>() / rows.len() as f64,
                };
                (mean, graph.nodes[i].id.clone(), i)
            })
            .collect();
        members.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        for (row, (_, _, i)) in members.into_iter().enumerate() {
            place[i] = (COLUMNS[col], TOP + row as f64 * ROW);
        }
    }
    for (row, w) in workloads.iter().enumerate() {
        place[*w] = (COLUMNS[2], TOP + row as f64 * ROW);
    }
    place
}

fn svg(graph: &Graph, findings: &[Finding<'_>]) -> String {
    let place = layout(graph);
    let height = place.iter().map(|p| p.1).fold(TOP, f64::max) + ROW + 10.0;
    let width = COLUMNS[3] + NODE_WIDTH + 16.0;
    let mut out = format!(
        "<svg class=\"release\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"the release as a graph\">\n"
    );
    out.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto-start-reverse\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#7b8794\"/></marker></defs>\n",
    );
    for (col, title) in ["from elsewhere", "Services and objects", "workloads", "policies"]
        .iter()
        .enumerate()
    {
        let _ = writeln!(
            out,
            "<text class=\"column-title\" x=\"{}\" y=\"20\">{title}</text>",
            COLUMNS[col]
        );
    }
    if !graph.nodes.iter().any(|n| n.kind == NodeKind::Policy) {
        let _ = writeln!(
            out,
            "<text class=\"detail\" x=\"{}\" y=\"{}\">(no policy in the input)</text>",
            COLUMNS[3],
            TOP + 14.0
        );
    }
    // Edges first, under the nodes.
    for edge in &graph.edges {
        let (from, to) = (&graph.nodes[edge.from], &graph.nodes[edge.to]);
        let (fx, fy) = place[edge.from];
        let (tx, ty) = place[edge.to];
        let (fy, ty) = (fy + NODE_HEIGHT / 2.0, ty + NODE_HEIGHT / 2.0);
        let (class, path) = match (edge.kind, from.kind) {
            (EdgeKind::Reaches, NodeKind::Workload) => {
                // An arc on the right of the workloads' column.
                let x = fx + NODE_WIDTH;
                let bulge = 40.0 + ((fy - ty).abs() / 3.0).min(140.0);
                (
                    "reaches".to_string(),
                    format!("M{x},{fy} C{},{fy} {},{ty} {x},{ty}", x + bulge, x + bulge),
                )
            }
            (EdgeKind::Reaches, kind) => (
                format!(
                    "reaches from-{}",
                    if kind == NodeKind::Outside {
                        "outside"
                    } else {
                        "any-pod"
                    }
                ),
                curve(fx + NODE_WIDTH, fy, tx, ty),
            ),
            (EdgeKind::Selects, NodeKind::Policy) => ("selects policy".to_string(), curve(fx, fy, tx + NODE_WIDTH, ty)),
            (EdgeKind::Selects, _) => ("selects".to_string(), curve(fx + NODE_WIDTH, fy, tx, ty)),
        };
        let title = match edge.kind {
            EdgeKind::Reaches => format!("{} may reach {} on {}", from.id, to.id, edge.ports.join(", ")),
            EdgeKind::Selects => format!("{} selects {}", from.id, to.id),
        };
        let arrow = match edge.kind {
            EdgeKind::Reaches => " marker-end=\"url(#arrow)\"",
            EdgeKind::Selects => "",
        };
        let _ = writeln!(
            out,
            "<path class=\"edge {class}\" data-from=\"{}\" data-to=\"{}\" d=\"{path}\"{arrow}><title>{}</title></path>",
            edge.from,
            edge.to,
            escape(&title)
        );
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        let (x, y) = place[i];
        let kind = match node.kind {
            NodeKind::Outside => "outside",
            NodeKind::AnyPod => "any-pod",
            NodeKind::Service => "service",
            NodeKind::Workload => "workload",
            NodeKind::Policy => "policy",
            NodeKind::Other => "other",
        };
        let open = node
            .openness
            .map(|o| format!(" open-{}", o.as_str()))
            .unwrap_or_default();
        let checks: BTreeSet<&str> = node.findings.iter().map(|f| findings[*f].check.id).collect();
        let mut tooltip = format!("{}\n{}", node.id, node.detail);
        if let Some(openness) = node.openness {
            tooltip.push_str(&format!("\n{}", openness.words()));
        }
        if !checks.is_empty() {
            tooltip.push_str(&format!(
                "\nfindings: {}",
                checks.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        let _ = write!(
            out,
            "<g class=\"node kind-{kind}{open}\" data-node=\"{i}\" data-id=\"{}\" tabindex=\"0\" transform=\"translate({x},{y})\"><title>{}</title>\
             <rect width=\"{NODE_WIDTH}\" height=\"{NODE_HEIGHT}\" rx=\"5\"/>\
             <text x=\"8\" y=\"15\">{}</text><text class=\"detail\" x=\"8\" y=\"29\">{}</text>",
            escape(&node.id),
            escape(&tooltip),
            escape(&shorten(&node.label, 28)),
            escape(&shorten(&node.detail, 34)),
        );
        if let Some(worst) = node.worst(findings) {
            let _ = write!(
                out,
                "<g class=\"badge sev-{}\"><circle cx=\"{NODE_WIDTH}\" cy=\"0\" r=\"10\"/><text x=\"{NODE_WIDTH}\" y=\"4\" text-anchor=\"middle\">{}</text></g>",
                worst.as_str(),
                node.findings.len()
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>");
    out
}

/// A horizontal S-curve from one column to the next.
fn curve(x1: f64, y1: f64, x2: f64, y2: f64) -> String {
    let mid = (x1 + x2) / 2.0;
    format!("M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}")
}

fn findings_section(audit: &Audit<'_>, graph: &Graph) -> String {
    let mut out = String::from("<section id=\"findings\"><h2>Findings</h2>\n");
    if audit.findings.is_empty() {
        out.push_str("<p class=\"empty\">No finding.</p></section>\n");
        return out;
    }
    let checks: BTreeSet<&str> = audit.findings.iter().map(|f| f.check.id).collect();
    let severities: BTreeSet<Severity> = audit.findings.iter().map(|f| f.severity).collect();
    out.push_str("<form class=\"filters\" onsubmit=\"return false\"><fieldset><legend>Checks</legend>");
    for check in &checks {
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" data-filter=\"check\" value=\"{check}\" checked> {check}</label>"
        );
    }
    out.push_str("</fieldset><fieldset><legend>Severities</legend>");
    for severity in severities.iter().rev() {
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" data-filter=\"severity\" value=\"{0}\" checked> {0}</label>",
            severity.as_str()
        );
    }
    let _ = writeln!(
        out,
        "</fieldset><button type=\"button\" id=\"show-all\">Show all</button> <span id=\"shown\">{n} of {n} findings shown</span></form>",
        n = audit.findings.len()
    );
    let node_of: BTreeMap<usize, usize> = graph
        .nodes
        .iter()
        .enumerate()
        .flat_map(|(n, node)| node.findings.iter().map(move |f| (*f, n)))
        .collect();
    let lines = super::TemplateLines::default();
    let mut redacted: BTreeMap<usize, String> = BTreeMap::new();
    for (position, finding) in audit.findings.iter().enumerate() {
        let subject = finding.primary();
        let place = super::place(audit, &lines, subject);
        let node = node_of.get(&position).map(|n| n.to_string()).unwrap_or_default();
        let _ = write!(
            out,
            "<article class=\"finding sev-{sev}\" id=\"finding-{position}\" data-check=\"{check}\" data-severity=\"{sev}\" data-node=\"{node}\">\
             <header><span class=\"sev\">{sev}</span><code>{check}</code> {message}</header>\
             <p class=\"object\">{object} &middot; {file}:{line}</p>",
            sev = finding.severity.as_str(),
            check = finding.check.id,
            message = escape(&finding.message),
            object = escape(&finding.subjects.iter().map(|s| s.object.id()).collect::<Vec<_>>().join(", ")),
            file = escape(&place.file),
            line = place.line,
        );
        if let Some(exposure) = &finding.exposure {
            let _ = write!(out, "<p>exposure: {}</p>", escape(&exposure.describe()));
        }
        let _ = write!(out, "<p class=\"help\">{}</p>", escape(&finding.help));
        let input = subject.object.input;
        let text = redacted.entry(input).or_insert_with(|| {
            let original = &audit.index.inputs[input];
            let objects = crate::model::objects_of(audit.index.objects, input);
            secrets::redact(&original.text, &secrets::secret_values(objects)).into_owned()
        });
        out.push_str(&snippet(text, subject, place.line));
        out.push_str("</article>\n");
    }
    out.push_str("</section>\n");
    out
}

/// The lines of the subject's document around its line (secrets redacted),
/// the subject's lines marked and numbered so that its line is `at` (the
/// line the finding names: in the template file, or in the template's
/// rendered output), as the human report numbers them.
fn snippet(text: &str, subject: &crate::checks::Subject<'_>, at: u32) -> String {
    let shift = i64::from(at) - i64::from(subject.location.line);
    let (first, last) = subject.object.doc_lines;
    let from = subject.location.line.saturating_sub(CONTEXT).max(first);
    let to = (subject.end_line.max(subject.location.line) + CONTEXT).min(last);
    let mut out = String::from("<pre class=\"snippet\">");
    for (number, line) in (1u32..)
        .zip(text.lines())
        .skip(from as usize - 1)
        .take((to + 1 - from) as usize)
    {
        let mark = (subject.location.line..=subject.end_line.max(subject.location.line)).contains(&number);
        let _ = write!(
            out,
            "<span{}><b>{}</b>{}</span>",
            if mark { " class=\"mark\"" } else { "" },
            (i64::from(number) + shift).max(1),
            escape(line)
        );
    }
    out.push_str("</pre>");
    out
}

fn reach_section(matrix: &Matrix) -> String {
    let mut out = String::from(
        "<section id=\"reach\"><h2>Who may connect to each port</h2>\n<table class=\"reach\"><thead><tr><th>destination</th><th>port</th><th>who may connect</th><th>policies</th></tr></thead><tbody>\n",
    );
    for row in &matrix.rows {
        let port = port_of(row);
        let openness = Openness::of(&row.others);
        let mut who: Vec<String> = Vec::new();
        if openness == Openness::Restricted {
            who.extend(
                row.from_workloads
                    .iter()
                    .zip(&matrix.workloads)
                    .filter(|(allowed, _)| **allowed)
                    .map(|(_, w)| w.clone()),
            );
            who.extend(row.others.from_pods.iter().map(|p| {
                format!(
                    "pods {} of namespaces {}",
                    p.pods.as_deref().unwrap_or("(any)"),
                    p.namespaces
                )
            }));
        }
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{port}</td><td><span class=\"open {}\">{}</span>{}</td><td>{}</td></tr>",
            escape(&row.to),
            openness.as_str(),
            openness.words(),
            if who.is_empty() {
                String::new()
            } else {
                format!(": {}", escape(&who.join(", ")))
            },
            escape(&row.policies.join(", "))
        );
    }
    out.push_str("</tbody></table></section>\n");
    out
}

fn shorten(text: &str, max: usize) -> Cow<'_, str> {
    if text.chars().count() <= max {
        Cow::Borrowed(text)
    } else {
        let kept: String = text.chars().take(max - 1).collect();
        Cow::Owned(format!("{kept}…"))
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::config::Config;
    use crate::model::{Detail, Input, Manifests};

    /// What a chart writes is text in the page, never markup: a hostile
    /// annotation beside a finding's line stays inert in the snippet.
    #[test]
    fn a_hostile_chart_cannot_write_markup_into_the_page() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata:\n      labels: {app: web}\n      annotations: {note: \"</pre><script>alert(1)</script>\"}\n    spec:\n      hostNetwork: true\n      containers: [{name: web, image: web, ports: [{containerPort: 80}]}]\n";
        let manifests = Manifests::load(
            vec![Input::new("hostile.yaml", "r", "shop", text.to_string())],
            Detail::Checks,
        )
        .unwrap();
        let audit = crate::engine::run(&manifests, &Config::default(), None);
        assert!(!audit.findings.is_empty());
        let page = super::audit(&audit, "netaudit: <b>hostile</b>");
        assert_eq!(page.matches("<script").count(), 1, "only the report's own script");
        assert!(page.contains("&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("<title>netaudit: &lt;b&gt;hostile&lt;/b&gt;</title>"));
        assert!(page.contains("default-src 'none'"), "no request leaves the page");
    }

    /// Beyond what can be drawn, the page says so and lists the findings.
    #[test]
    fn too_many_workloads_are_not_drawn() {
        let pods: String = (0..=super::MAX_DRAWN)
            .map(|i| format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: big}}\nspec: {{containers: [{{name: c, image: i}}]}}\n"))
            .collect();
        let manifests = Manifests::load(vec![Input::new("big.yaml", "r", "big", pods)], Detail::Checks).unwrap();
        let audit = crate::engine::run(&manifests, &Config::default(), None);
        let page = super::audit(&audit, "big");
        assert!(page.contains(&format!("{} workloads: too many to draw", super::MAX_DRAWN + 1)));
        assert!(!page.contains("<svg"));
        assert_eq!(page.matches("<article class=\"finding").count(), audit.findings.len());
    }
}
