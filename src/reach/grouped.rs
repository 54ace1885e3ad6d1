//! `reach` at cluster scale: destination ports that share an answer are
//! one row, and the audited sources are named by groups (workloads every
//! row treats alike), so the view grows with the workloads, not with
//! their square. `--to` and `--from` ask about a part of the cluster;
//! `--summary` counts per namespace.

use super::classes::Classes;
use super::matrix::{Others, Reachability, Reached};
use crate::model::{Index, Protocol, Selector, Workload};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A part of the cluster: `--to`/`--from`.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// `Kind/namespace/name` (the kind in any case).
    Workload {
        kind: String,
        namespace: String,
        name: String,
    },
    Namespace(String),
    /// Pods whose labels a selector (kubectl's text form) matches.
    Labels(Selector),
}

impl Part {
    /// `Kind/namespace/name`, a namespace name, or a label selector
    /// (`app=web,tier in (a,b)`).
    pub fn parse(text: &str) -> Result<Part, String> {
        let text = text.trim();
        let is_name = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        };
        let pieces: Vec<&str> = text.split('/').collect();
        if let [kind, namespace, name] = pieces.as_slice() {
            if is_name(kind) && is_name(namespace) && is_name(name) {
                return Ok(Part::Workload {
                    kind: kind.to_string(),
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                });
            }
        }
        if is_name(text) && !text.contains('.') {
            return Ok(Part::Namespace(text.to_string()));
        }
        Selector::parse_text(text).map(Part::Labels).map_err(|e| {
            format!("`{text}` is neither a workload (Kind/namespace/name), a namespace nor a label selector: {e}")
        })
    }

    pub fn matches(&self, workload: &Workload<'_>) -> bool {
        match self {
            Part::Workload { kind, namespace, name } => {
                workload.obj.kind.eq_ignore_ascii_case(kind)
                    && &workload.obj.namespace == namespace
                    && &workload.obj.name == name
            }
            Part::Namespace(namespace) => &workload.obj.namespace == namespace,
            Part::Labels(selector) => selector.matches(&workload.pod_labels),
        }
    }
}

/// Is a workload in one of the parts asked (none asked: every workload)?
pub fn in_parts(parts: &[Part], workload: &Workload<'_>) -> bool {
    parts.is_empty() || parts.iter().any(|p| p.matches(workload))
}

/// One destination port of a row.
#[derive(Debug, Serialize)]
pub struct To {
    pub workload: String,
    pub port: Option<u16>,
    pub protocol: Option<Protocol>,
}

/// Destination ports with the same answer.
#[derive(Debug, Serialize)]
pub struct Row {
    /// How many destination ports, of how many workloads, in how many namespaces.
    pub ports: usize,
    pub workloads: usize,
    pub namespaces: usize,
    pub to: Vec<To>,
    /// Every audited workload (of `--from`) may connect.
    pub from_all_workloads: bool,
    /// The source groups that may (positions in [`Grouped::sources`]).
    pub from_sources: Vec<usize>,
    /// How many audited workloads those groups hold.
    pub from_workload_count: usize,
    #[serde(flatten)]
    pub others: Others,
    /// The policies that let the sources in, over the row's ports.
    pub policies: Vec<String>,
    /// What the answers rest on that is not evaluated, over the row's ports.
    pub notes: Vec<String>,
}

/// Audited workloads that every row treats alike.
#[derive(Debug, Serialize)]
pub struct SourceGroup {
    pub count: usize,
    pub namespaces: usize,
    pub workloads: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Grouped {
    /// `2`: rows of destination ports sharing an answer, sources by group.
    pub version: u32,
    /// How many audited workloads (after `--from`) the rows judge.
    pub workloads: usize,
    pub rows: Vec<Row>,
    pub sources: Vec<SourceGroup>,
}

impl Grouped {
    /// The rows of `reach` whose destinations are in `to`, judged for the
    /// sources in `from` (rows none of them reaches are left out when
    /// `from` asks for a part).
    pub fn of(reach: &Reachability, classes: &Classes, index: &Index<'_>, to: &[Part], from: &[Part]) -> Grouped {
        let workloads = &index.workloads;
        let chosen: Vec<bool> = workloads.iter().map(|w| in_parts(from, w)).collect();
        let chosen_count = chosen.iter().filter(|c| **c).count();
        // Rows: destination ports by answer, in input order.
        // The same reachability makes one row, whichever policies say so
        // (the row lists them all).
        let mut row_of: HashMap<&Reached, usize> = HashMap::new();
        let mut members: Vec<(usize, Vec<usize>)> = Vec::new();
        for (d, dest) in reach.destinations.iter().enumerate() {
            if !in_parts(to, &workloads[dest.workload]) {
                continue;
            }
            let answer = &reach.answers[dest.answer];
            let row = *row_of.entry(&answer.reached).or_insert_with(|| {
                members.push((dest.answer, Vec::new()));
                members.len() - 1
            });
            members[row].1.push(d);
        }
        // Sources: the classes a row lets in, grouped by the rows that do.
        // Every class, those no row lets in too: the groups partition the
        // workloads `from` asks about.
        let mut rows_of_class: Vec<Vec<usize>> = vec![Vec::new(); classes.source.len()];
        for (row, (answer, _)) in members.iter().enumerate() {
            let answer = &reach.answers[*answer];
            match answer.reached.others.host_network {
                // Everyone: no policy applies to a hostNetwork pod.
                true => rows_of_class.iter_mut().for_each(|rows| rows.push(row)),
                false => answer
                    .reached
                    .sources
                    .iter()
                    .for_each(|c| rows_of_class[c as usize].push(row)),
            }
        }
        let mut group_of: HashMap<Vec<usize>, usize> = HashMap::new();
        let mut groups: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
        for (class, rows) in rows_of_class.into_iter().enumerate() {
            let chosen_members: Vec<usize> = classes.source.members[class]
                .iter()
                .copied()
                .filter(|&i| chosen[i])
                .collect();
            if chosen_members.is_empty() {
                continue;
            }
            let group = *group_of.entry(rows.clone()).or_insert_with(|| {
                groups.push((rows, Vec::new()));
                groups.len() - 1
            });
            groups[group].1.extend(chosen_members);
        }
        // Groups in the order of their first workload.
        for (_, members) in &mut groups {
            members.sort_unstable();
        }
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by_key(|&g| groups[g].1[0]);
        let mut position = vec![0; groups.len()];
        for (new, &old) in order.iter().enumerate() {
            position[old] = new;
        }
        let mut from_sources: Vec<Vec<usize>> = vec![Vec::new(); members.len()];
        for (g, (rows, _)) in groups.iter().enumerate() {
            for &row in rows {
                from_sources[row].push(position[g]);
            }
        }
        let sources: Vec<SourceGroup> = order
            .iter()
            .map(|&g| {
                let members = &groups[g].1;
                SourceGroup {
                    count: members.len(),
                    namespaces: count_namespaces(members.iter().map(|&i| &workloads[i])),
                    workloads: members.iter().map(|&i| workloads[i].obj.id()).collect(),
                }
            })
            .collect();
        let mut rows = Vec::new();
        for ((answer, dests), mut groups_in) in members.into_iter().zip(from_sources) {
            groups_in.sort_unstable();
            let answer = &reach.answers[answer];
            let from_workload_count: usize = groups_in.iter().map(|&g| sources[g].count).sum();
            let from_all = chosen_count > 0 && from_workload_count == chosen_count;
            if !from.is_empty() && groups_in.is_empty() {
                continue;
            }
            let dest_workloads: BTreeSet<usize> = dests.iter().map(|&d| reach.destinations[d].workload).collect();
            let mut policies = BTreeSet::new();
            let mut notes = BTreeSet::new();
            let mut said: BTreeSet<usize> = BTreeSet::new();
            for &d in &dests {
                let answer = reach.destinations[d].answer;
                if said.insert(answer) {
                    policies.extend(reach.answers[answer].policies.iter().cloned());
                    notes.extend(reach.answers[answer].notes.iter().cloned());
                }
            }
            rows.push(Row {
                ports: dests.len(),
                workloads: dest_workloads.len(),
                namespaces: count_namespaces(dest_workloads.iter().map(|&i| &workloads[i])),
                to: dests
                    .iter()
                    .map(|&d| {
                        let dest = &reach.destinations[d];
                        To {
                            workload: workloads[dest.workload].obj.id(),
                            port: dest.port.map(|p| p.0),
                            protocol: dest.port.map(|p| p.1),
                        }
                    })
                    .collect(),
                from_all_workloads: from_all,
                from_workload_count,
                from_sources: groups_in,
                others: answer.reached.others.clone(),
                policies: policies.into_iter().collect(),
                notes: notes.into_iter().collect(),
            });
        }
        Grouped {
            version: 2,
            workloads: chosen_count,
            rows,
            sources,
        }
    }
}

fn count_namespaces<'w, 'a: 'w>(workloads: impl Iterator<Item = &'w Workload<'a>>) -> usize {
    workloads
        .map(|w| w.obj.namespace.as_str())
        .collect::<BTreeSet<_>>()
        .len()
}

/// How many destination ports are open to what, and of how many workloads.
#[derive(Debug, Default, Clone, Serialize)]
pub struct PortCounts {
    pub workloads: usize,
    pub ports: usize,
    /// Ports an arbitrary pod of another namespace may connect to.
    pub open_to_any_pod: usize,
    /// Ports an address outside the cluster may connect to.
    pub open_to_outside: usize,
    /// Ports a policy restricts ingress to so that neither an arbitrary pod
    /// nor an address outside may connect (hostNetwork ones never are).
    pub isolated: usize,
    /// Ports of hostNetwork pods (no policy applies).
    pub host_network: usize,
}

impl PortCounts {
    /// Workloads, ports, open to any pod, to outside, isolated,
    /// hostNetwork: the columns of the tables.
    pub fn cells(&self) -> [usize; 6] {
        [
            self.workloads,
            self.ports,
            self.open_to_any_pod,
            self.open_to_outside,
            self.isolated,
            self.host_network,
        ]
    }

    fn add(&mut self, other: &PortCounts) {
        self.workloads += other.workloads;
        self.ports += other.ports;
        self.open_to_any_pod += other.open_to_any_pod;
        self.open_to_outside += other.open_to_outside;
        self.isolated += other.isolated;
        self.host_network += other.host_network;
    }
}

/// Per namespace: how many destination ports are open to what.
#[derive(Debug, Default, Serialize)]
pub struct NamespaceSummary {
    pub namespace: String,
    #[serde(flatten)]
    pub counts: PortCounts,
}

/// `reach --explore-values`: one render's ports, summed over its namespaces.
#[derive(Debug, Default, Clone, Serialize)]
pub struct VariantReach {
    /// `(defaults)`, or the variant's settings (`hostNetwork=true`).
    pub values: String,
    /// Why the variant has no row (helm's reason, or the timeout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_rendered: Option<String>,
    #[serde(flatten)]
    pub counts: PortCounts,
}

impl VariantReach {
    /// The namespaces' rows of one render, summed.
    pub fn of(values: String, rows: &[NamespaceSummary]) -> VariantReach {
        let mut total = PortCounts::default();
        for row in rows {
            total.add(&row.counts);
        }
        VariantReach {
            values,
            not_rendered: None,
            counts: total,
        }
    }
}

/// `reach --summary`: a row per namespace of the destinations in `to`.
pub fn summary(reach: &Reachability, index: &Index<'_>, to: &[Part]) -> Vec<NamespaceSummary> {
    let mut by_namespace: BTreeMap<&str, (NamespaceSummary, BTreeSet<usize>)> = BTreeMap::new();
    for dest in &reach.destinations {
        let workload = &index.workloads[dest.workload];
        if !in_parts(to, workload) {
            continue;
        }
        let answer = &reach.answers[dest.answer];
        let (row, seen) = by_namespace.entry(&workload.obj.namespace).or_default();
        seen.insert(dest.workload);
        let (row, others) = (&mut row.counts, &answer.reached.others);
        row.ports += 1;
        row.open_to_any_pod += usize::from(others.from_any_pod);
        row.open_to_outside += usize::from(others.from_outside);
        row.isolated += usize::from(!others.unrestricted && !others.from_any_pod && !others.from_outside);
        row.host_network += usize::from(others.host_network);
    }
    by_namespace
        .into_iter()
        .map(|(namespace, (mut row, seen))| {
            row.namespace = namespace.to_string();
            row.counts.workloads = seen.len();
            row
        })
        .collect()
}
