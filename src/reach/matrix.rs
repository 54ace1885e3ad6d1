//! `netaudit reach`: per workload port, which sources may connect, as a
//! truth table in the style of the Kubernetes network-policy e2e suite
//! (`.` allowed, `X` blocked).

use super::classes::{ClassId, ClassSet, Classes};
use super::evaluate::{Evaluator, Ports};
use super::exposure::Reachers;
use super::grouped::{in_parts, Part};
use crate::model::{Index, Protocol, Workload};
use serde::Serialize;
use std::collections::HashMap;

/// The whole view: one row per workload port.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    /// The audited workloads, in column order (`Kind/namespace/name`).
    pub workloads: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `Kind/namespace/name` of the destination.
    pub to: String,
    /// Its position in the index's workloads.
    #[serde(skip)]
    pub workload: usize,
    /// `None`: the workload declares no port; the row is about any port.
    pub port: Option<u16>,
    pub protocol: Option<Protocol>,
    /// Sources among the audited workloads, one flag per column.
    pub from_workloads: Vec<bool>,
    #[serde(flatten)]
    pub others: Others,
    pub policies: Vec<String>,
    pub notes: Vec<String>,
}

/// Who else may connect than the audited workloads, and why everyone may:
/// what a matrix row, a grouped row and an answer say alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Others {
    /// An arbitrary pod of another namespace.
    pub from_any_pod: bool,
    /// Pods of other namespaces a policy names (pod selector, namespaces).
    pub from_pods: Vec<NamedPods>,
    /// Addresses outside the cluster.
    pub from_outside: bool,
    /// hostNetwork: no policy applies.
    pub host_network: bool,
    /// No policy restricts ingress to it.
    pub unrestricted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct NamedPods {
    pub pods: Option<String>,
    pub namespaces: String,
}

/// Who may connect to one destination port, for a class of destinations:
/// the answer every member shares.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Answer {
    pub reached: Reached,
    pub policies: Vec<String>,
    pub notes: Vec<String>,
}

/// Who may connect (not which policies or notes say so): what the rows of
/// a grouped view share.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reached {
    /// Audited sources that may, by class (ids in [`Classes::source`]).
    pub sources: ClassSet,
    pub others: Others,
}

/// One destination port and its answer.
#[derive(Debug, Clone, Copy)]
pub struct Destination {
    /// Position of the workload in the index.
    pub workload: usize,
    /// `None`: the workload declares no port; the row is about any port.
    pub port: Option<(u16, Protocol)>,
    /// Position of its answer in [`Reachability::answers`].
    pub answer: usize,
}

/// Who may connect to every workload port of the input, computed once per
/// class of destinations and port; every source a class at a time.
pub struct Reachability {
    pub destinations: Vec<Destination>,
    pub answers: Vec<Answer>,
}

impl Reachability {
    pub fn of(eval: &Evaluator<'_, '_>, index: &Index<'_>) -> Reachability {
        let classes = eval.classes();
        let mut answers: Vec<Answer> = Vec::new();
        let mut known: HashMap<(ClassId, Option<(u16, Protocol)>), usize> = HashMap::new();
        let mut destinations = Vec::new();
        for (position, dest) in index.workloads.iter().enumerate() {
            for query in port_queries(dest) {
                let class = classes.ingress.of[position];
                let answer = *known.entry((class, query)).or_insert_with(|| {
                    answers.push(answer_for(eval, index, classes.ingress.representative(class), query));
                    answers.len() - 1
                });
                destinations.push(Destination {
                    workload: position,
                    port: query,
                    answer,
                });
            }
        }
        Reachability { destinations, answers }
    }

    /// Does `answer` let the workload at `source` connect?
    pub fn lets_in(&self, classes: &Classes, answer: &Answer, source: usize) -> bool {
        answer.reached.others.host_network || answer.reached.sources.contains(classes.source.of[source])
    }
}

/// The ports a row is about: each declared port, or any port when none is.
fn port_queries(dest: &Workload<'_>) -> Vec<Option<(u16, Protocol)>> {
    let mut ports: Vec<(u16, Protocol)> = dest.ports().map(|p| (p.number, p.protocol)).collect();
    ports.sort();
    ports.dedup();
    if ports.is_empty() {
        vec![None]
    } else {
        ports.into_iter().map(Some).collect()
    }
}

fn answer_for(eval: &Evaluator<'_, '_>, index: &Index<'_>, dest: usize, query: Option<(u16, Protocol)>) -> Answer {
    let host_network = index.workloads[dest].host_network_line.is_some();
    let mut reachers = Reachers::default();
    if !host_network {
        let ports = query.map_or(Ports::Some, |(port, protocol)| Ports::One(port, protocol));
        reachers.add(eval, index, dest, ports, true);
    }
    let everyone = host_network;
    Answer {
        reached: Reached {
            sources: reachers.sources,
            others: Others {
                from_any_pod: everyone || reachers.every_pod,
                from_pods: reachers
                    .pods
                    .into_iter()
                    .map(|(pods, namespaces)| NamedPods { pods, namespaces })
                    .collect(),
                from_outside: everyone || reachers.outside || reachers.unrestricted,
                host_network,
                unrestricted: reachers.unrestricted,
            },
        },
        policies: reachers.policies.into_iter().collect(),
        notes: reachers.notes.0.into_iter().collect(),
    }
}

impl Matrix {
    pub fn of(index: &Index<'_>) -> Matrix {
        Matrix::with(&Evaluator::new(index), index)
    }

    /// The matrix as `eval` answers it (with or without classes).
    pub fn with(eval: &Evaluator<'_, '_>, index: &Index<'_>) -> Matrix {
        Matrix::of_reach(&Reachability::of(eval, index), eval.classes(), index)
    }

    /// The matrix of answers already computed.
    pub fn of_reach(reach: &Reachability, classes: &Classes, index: &Index<'_>) -> Matrix {
        let rows = reach
            .destinations
            .iter()
            .map(|d| {
                let answer = &reach.answers[d.answer];
                Row {
                    to: index.workloads[d.workload].obj.id(),
                    workload: d.workload,
                    port: d.port.map(|q| q.0),
                    protocol: d.port.map(|q| q.1),
                    from_workloads: (0..index.workloads.len())
                        .map(|i| reach.lets_in(classes, answer, i))
                        .collect(),
                    others: answer.reached.others.clone(),
                    policies: answer.policies.clone(),
                    notes: answer.notes.clone(),
                }
            })
            .collect();
        Matrix {
            workloads: index.workloads.iter().map(|w| w.obj.id()).collect(),
            rows,
        }
    }

    /// The rows of the destinations in `to`, the columns of the sources in
    /// `from` (rows none of them may reach left out when `from` asks).
    pub fn restricted(self, index: &Index<'_>, to: &[Part], from: &[Part]) -> Matrix {
        let kept: Vec<bool> = index.workloads.iter().map(|w| in_parts(from, w)).collect();
        let by_id: HashMap<String, &Workload<'_>> = index.workloads.iter().map(|w| (w.obj.id(), w)).collect();
        let rows = self
            .rows
            .into_iter()
            .filter(|row| by_id.get(&row.to).is_some_and(|w| in_parts(to, w)))
            .map(|row| Row {
                from_workloads: row
                    .from_workloads
                    .iter()
                    .zip(&kept)
                    .filter(|(_, k)| **k)
                    .map(|(f, _)| *f)
                    .collect(),
                ..row
            })
            .filter(|row| from.is_empty() || row.from_workloads.iter().any(|f| *f))
            .collect();
        Matrix {
            workloads: self
                .workloads
                .into_iter()
                .zip(&kept)
                .filter(|(_, k)| **k)
                .map(|(w, _)| w)
                .collect(),
            rows,
        }
    }
}
