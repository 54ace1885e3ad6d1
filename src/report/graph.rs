//! The release as a graph, for the pictures (`-o html`, `-o dot`): its
//! workloads, Services and policies, who may reach whom, and the findings
//! on the objects they are about.
//!
//! Who may reach whom is the reachability matrix (`reach`) folded per
//! workload: a workload is open to outside addresses, to any pod, or only
//! to some. Edges between workloads are drawn only to the ports that are
//! not open to any pod (those are open to every workload anyway, which the
//! node's colour says): what is left is who the policies let in.

use crate::checks::{Finding, Severity};
use crate::model::Index;
use crate::reach::matrix::{Matrix, Others, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// At most this many workloads are drawn; beyond, the picture would be a
/// hairball and the matrix too costly for a picture (`reach` answers).
pub const MAX_DRAWN: usize = 250;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeKind {
    /// Addresses outside the cluster.
    Outside,
    /// A pod of another namespace that no policy names.
    AnyPod,
    Service,
    Workload,
    Policy,
    /// Another object a finding is about (an Ingress, a Pod template's owner…).
    Other,
}

/// Who may open a connection to a workload, at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Openness {
    /// Addresses outside the cluster (and so any pod), or the host network.
    Outside,
    /// Any pod of the cluster.
    AnyPod,
    /// Only the pods and workloads the policies name.
    Restricted,
}

impl Openness {
    /// Who may connect to one destination port, at most.
    pub fn of(others: &Others) -> Openness {
        match (others.from_outside, others.from_any_pod) {
            (true, _) => Openness::Outside,
            (false, true) => Openness::AnyPod,
            (false, false) => Openness::Restricted,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Openness::Outside => "outside",
            Openness::AnyPod => "any-pod",
            Openness::Restricted => "restricted",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Openness::Outside => "reachable from outside the cluster",
            Openness::AnyPod => "reachable from any pod",
            Openness::Restricted => "reachable only from what the policies name",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    /// `Kind/namespace/name`, or `(outside)` / `(any pod)`.
    pub id: String,
    pub kind: NodeKind,
    /// The name shown: `name` (with its kind and namespace beside).
    pub label: String,
    pub detail: String,
    /// Workloads only.
    pub openness: Option<Openness>,
    /// The positions in the report's findings of those about this object.
    pub findings: Vec<usize>,
}

impl Node {
    /// The severity of its most severe finding, if any.
    pub fn worst(&self, findings: &[Finding<'_>]) -> Option<Severity> {
        self.findings.iter().map(|f| findings[*f].severity).max()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// The source may open connections to the destination's ports.
    Reaches,
    /// A Service or a policy selects the workload's pods.
    Selects,
}

#[derive(Debug, Clone)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
    /// The ports, for [`EdgeKind::Reaches`] (`8080/TCP`, `any port`).
    pub ports: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Workloads not drawn (more than [`MAX_DRAWN`]).
    pub left_out: usize,
}

impl Graph {
    /// The graph of `index`, the `findings` placed on their first object.
    pub fn of(index: &Index<'_>, findings: &[Finding<'_>]) -> Graph {
        if index.workloads.len() > MAX_DRAWN {
            return Graph {
                left_out: index.workloads.len(),
                ..Graph::default()
            };
        }
        Graph::with_matrix(index, &Matrix::of(index), findings)
    }

    /// [`Graph::of`] with the matrix of `index` already computed (whole:
    /// every destination, every source).
    pub fn with_matrix(index: &Index<'_>, matrix: &Matrix, findings: &[Finding<'_>]) -> Graph {
        let mut graph = Graph::default();
        let outside = graph.add(
            NodeKind::Outside,
            "(outside)",
            "outside the cluster",
            "addresses outside the cluster",
        );
        let any_pod = graph.add(NodeKind::AnyPod, "(any pod)", "any pod", "a pod of another namespace");
        let workload_nodes: Vec<usize> = index
            .workloads
            .iter()
            .map(|w| {
                graph.add_object(
                    NodeKind::Workload,
                    &w.obj.id(),
                    &w.obj.kind,
                    &w.obj.namespace,
                    &w.obj.name,
                )
            })
            .collect();
        // Per destination workload: openness and the ports open to each source.
        let mut open: Vec<Option<Openness>> = vec![None; index.workloads.len()];
        let mut ports_from: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
        for row in &matrix.rows {
            let to = row.workload;
            let port = port_of(row);
            let openness = Openness::of(&row.others);
            open[to] = Some(open[to].map_or(openness, |o| o.min(openness)));
            let mut sources: Vec<usize> = Vec::new();
            if row.others.from_outside {
                sources.push(outside);
            }
            if row.others.from_any_pod {
                sources.push(any_pod);
            } else {
                sources.extend(
                    row.from_workloads
                        .iter()
                        .enumerate()
                        .filter(|(from, allowed)| **allowed && *from != to)
                        .map(|(from, _)| workload_nodes[from]),
                );
            }
            for source in sources {
                ports_from
                    .entry((source, workload_nodes[to]))
                    .or_default()
                    .push(port.clone());
            }
        }
        for (w, openness) in open.into_iter().enumerate() {
            graph.nodes[workload_nodes[w]].openness = Some(openness.unwrap_or(Openness::Restricted));
        }
        for ((from, to), ports) in ports_from {
            graph.edges.push(Edge {
                from,
                to,
                kind: EdgeKind::Reaches,
                ports,
            });
        }
        for service in &index.services {
            let node = graph.add_object(
                NodeKind::Service,
                &service.obj.id(),
                "Service",
                &service.obj.namespace,
                &service.obj.name,
            );
            for (w, workload) in index.workloads.iter().enumerate() {
                if service.selects(workload) {
                    graph.select(node, workload_nodes[w]);
                }
            }
        }
        for policy in &index.policies {
            let node = graph.add_object(
                NodeKind::Policy,
                &policy.obj.id(),
                &policy.obj.kind,
                &policy.obj.namespace,
                &policy.obj.name,
            );
            for (w, workload) in index.workloads.iter().enumerate() {
                if policy.selects(workload) {
                    graph.select(node, workload_nodes[w]);
                }
            }
        }
        let by_id: BTreeMap<String, usize> = graph.nodes.iter().enumerate().map(|(i, n)| (n.id.clone(), i)).collect();
        for (position, finding) in findings.iter().enumerate() {
            let object = finding.primary().object;
            let node = match by_id.get(&object.id()) {
                Some(node) => *node,
                None => graph.add_object(
                    NodeKind::Other,
                    &object.id(),
                    &object.kind,
                    &object.namespace,
                    &object.name,
                ),
            };
            graph.nodes[node].findings.push(position);
        }
        graph
    }

    fn add(&mut self, kind: NodeKind, id: &str, label: &str, detail: &str) -> usize {
        self.nodes.push(Node {
            id: id.to_string(),
            kind,
            label: label.to_string(),
            detail: detail.to_string(),
            openness: None,
            findings: Vec::new(),
        });
        self.nodes.len() - 1
    }

    fn add_object(&mut self, kind: NodeKind, id: &str, object_kind: &str, namespace: &str, name: &str) -> usize {
        self.add(kind, id, name, &format!("{object_kind} in {namespace}"))
    }

    fn select(&mut self, from: usize, to: usize) {
        self.edges.push(Edge {
            from,
            to,
            kind: EdgeKind::Selects,
            ports: Vec::new(),
        });
    }

    /// The graph in Graphviz's language (`dot -Tsvg`): workloads coloured
    /// by who may reach them, the findings' checks in their labels.
    pub fn dot(&self, findings: &[Finding<'_>]) -> String {
        let mut out = String::from("digraph release {\n  rankdir=LR;\n  node [fontname=\"sans-serif\", fontsize=10];\n  edge [fontname=\"sans-serif\", fontsize=9];\n");
        if self.left_out > 0 {
            let _ = writeln!(
                out,
                "  label={};",
                dot_string(&format!(
                    "{} workloads: too many to draw (at most {MAX_DRAWN}); `netaudit reach -o dot` draws the grouped rows",
                    self.left_out
                ))
            );
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let checks: BTreeSet<&str> = node.findings.iter().map(|f| findings[*f].check.id).collect();
            let mut label = format!("{}\n{}", node.label, node.detail);
            if !checks.is_empty() {
                label.push_str(&format!("\n{}", checks.into_iter().collect::<Vec<_>>().join(" ")));
            }
            let (shape, color) = match (node.kind, node.openness) {
                (NodeKind::Outside, _) => ("octagon", "#d62728"),
                (NodeKind::AnyPod, _) => ("octagon", "#ff7f0e"),
                (NodeKind::Service, _) => ("ellipse", "#1f77b4"),
                (NodeKind::Policy, _) => ("note", "#9467bd"),
                (NodeKind::Other, _) => ("box", "#7f7f7f"),
                (NodeKind::Workload, Some(Openness::Outside)) => ("box", "#d62728"),
                (NodeKind::Workload, Some(Openness::AnyPod)) => ("box", "#ff7f0e"),
                (NodeKind::Workload, _) => ("box", "#2ca02c"),
            };
            let _ = writeln!(
                out,
                "  n{i} [label={}, shape={shape}, color=\"{color}\"{}];",
                dot_string(&label),
                if node.findings.is_empty() { "" } else { ", penwidth=2" }
            );
        }
        for edge in &self.edges {
            match edge.kind {
                EdgeKind::Reaches => {
                    let _ = writeln!(
                        out,
                        "  n{} -> n{} [label={}];",
                        edge.from,
                        edge.to,
                        dot_string(&edge.ports.join(", "))
                    );
                }
                EdgeKind::Selects => {
                    let _ = writeln!(out, "  n{} -> n{} [style=dashed, arrowhead=none];", edge.from, edge.to);
                }
            }
        }
        out.push_str("}\n");
        out
    }
}

/// A matrix row's port: `8080/TCP`, or `any port` (the workload declares none).
pub fn port_of(row: &Row) -> String {
    match (row.port, row.protocol) {
        (Some(port), Some(protocol)) => format!("{port}/{}", protocol.as_str()),
        _ => "any port".to_string(),
    }
}

/// A Graphviz quoted string.
fn dot_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
