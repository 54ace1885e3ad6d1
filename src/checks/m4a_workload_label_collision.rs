use super::support::{collision_finding_parts, describe, pod_labels_subject, workload_collisions, Collision};
use super::{declare_check, Finding, Subject};
use crate::model::selector::display_labels;
use crate::model::{Index, Labels, Workload};
use std::collections::{BTreeMap, BTreeSet};

declare_check! {
    /// ## What it does
    /// Finds two different workloads (compute units) in one namespace whose
    /// labels collide: the `spec.selector` of one controller selects the pod
    /// labels of the other, or both pod templates carry exactly the same labels.
    /// One finding per unordered pair of workloads of the same release, except
    /// that three or more workloads with the same labels (hook Jobs, say), or
    /// that one selector shared by several workloads collides with (the
    /// Deployments of a chart that all select `{app: airflow}`), are one
    /// finding naming them all; summaries still count every pair.
    ///
    /// ## Why is this bad?
    /// Kubernetes has no notion of "this pod belongs to that workload" other
    /// than labels. When labels collide, a Deployment may adopt or scale away
    /// another workload's pods, and every Service, NetworkPolicy or
    /// PodDisruptionBudget written for one workload silently applies to the
    /// other. An attacker who controls the pods of one workload then receives
    /// traffic meant for the other (man in the middle, server impersonation),
    /// or a NetworkPolicy opened for one lets traffic reach the other.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// metadata: {name: api}
    /// spec:
    ///   selector:
    ///     matchLabels: {app: shop}        # selects the worker's pods too
    ///   template:
    ///     metadata: {labels: {app: shop, component: api}}
    /// ---
    /// kind: Deployment
    /// metadata: {name: worker}
    /// spec:
    ///   selector:
    ///     matchLabels: {app: shop, component: worker}
    ///   template:
    ///     metadata: {labels: {app: shop, component: worker}}
    /// ```
    ///
    /// ## How to fix
    /// Give every workload a label that only its own pods carry (for example
    /// `app.kubernetes.io/component`) and put that label in its selector and
    /// in every Service and NetworkPolicy that targets it.
    pub static M4A = {
        id: "M4A",
        name: "workload-label-collision",
        severity: High,
        analysis: Static,
        scope: OneRelease,
        counting: PerFinding,
        summary: "two workloads of one release in one namespace have colliding labels: one's selector selects the other's pods, or their pod labels are identical",
        run: run,
    };
}

const HELP: &str = "give each workload a label only its own pods carry and use it in its selector";

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    // Workloads with identical labels, by release, namespace and labels,
    // and workloads one selector collides with, by release, namespace and
    // selector: the members (positions, so in workload order) and how many
    // pairs they make.
    let mut identical: BTreeMap<(usize, &str, &Labels), Group> = BTreeMap::new();
    let mut selected: BTreeMap<(usize, &str, String), Group> = BTreeMap::new();
    for (first, second, why) in workload_collisions(index) {
        if first.obj.input != second.obj.input {
            continue; // across releases: M4G
        }
        let (input, namespace) = (first.obj.input, first.obj.namespace.as_str());
        let (members, pairs) = match (&why, &first.selector) {
            (Collision::IdenticalLabels, _) => identical.entry((input, namespace, &first.pod_labels)).or_default(),
            (Collision::SelectorSelectsOther, Some(selector)) => {
                selected.entry((input, namespace, selector.display())).or_default()
            }
            (Collision::SelectorSelectsOther, None) => continue,
        };
        members.extend([index.workload_position(first), index.workload_position(second)]);
        *pairs += 1;
    }
    for ((_, _, labels), (members, pairs)) in identical {
        let members: Vec<&Workload<'a>> = members.into_iter().map(|i| &index.workloads[i]).collect();
        let finding = match members.as_slice() {
            [first, second] => pair_finding(first, second, &Collision::IdenticalLabels),
            many => Finding::new(
                &M4A,
                format!(
                    "{} workloads have identical pod labels ({}): {}",
                    many.len(),
                    display_labels(labels),
                    names(many)
                ),
                HELP.into(),
                many.iter().map(|w| pod_labels_subject(w)).collect(),
            )
            .counting_as(pairs),
        };
        findings.push(finding.exposing_workloads());
    }
    for ((_, _, selector), (members, pairs)) in selected {
        let members: Vec<&Workload<'a>> = members.into_iter().map(|i| &index.workloads[i]).collect();
        let shares = |w: &Workload<'_>| w.selector.as_ref().is_some_and(|s| s.display() == selector);
        let (sharing, others): (Vec<&Workload<'a>>, Vec<&Workload<'a>>) = members.iter().partition(|w| shares(w));
        let finding = match (sharing.as_slice(), others.as_slice()) {
            ([first], [second]) | ([first, second], []) => {
                pair_finding(first, second, &Collision::SelectorSelectsOther)
            }
            _ => {
                let message = if others.is_empty() {
                    format!(
                        "{} workloads share the selector {selector}, which selects the pods of every one of them: {}",
                        sharing.len(),
                        names(&sharing)
                    )
                } else if let [one] = sharing.as_slice() {
                    format!(
                        "the selector of {} also selects the pods of {}",
                        describe(one.obj),
                        names(&others)
                    )
                } else {
                    format!(
                        "the selector {selector} of {} also selects the pods of {}",
                        names(&sharing),
                        names(&others)
                    )
                };
                let selectors = sharing.iter().map(|w| {
                    Subject::block(
                        w.obj,
                        w.selector_line,
                        w.selector_end_line,
                        format!("selector of {}", describe(w.obj)),
                    )
                });
                // A selector of one workload only selects the others' pods.
                let selected = if sharing.len() == 1 { &others } else { &members };
                let pods = selected.iter().map(|w| pod_labels_subject(w));
                Finding::new(&M4A, message, HELP.into(), selectors.chain(pods).collect()).counting_as(pairs)
            }
        };
        findings.push(finding.exposing_workloads());
    }
}

/// The members of a group (positions in the index's workloads) and how
/// many colliding pairs they make.
type Group = (BTreeSet<usize>, usize);

fn pair_finding<'a>(first: &Workload<'a>, second: &Workload<'a>, why: &Collision) -> Finding<'a> {
    let (message, subjects) = collision_finding_parts(first, second, why);
    Finding::new(&M4A, message, HELP.into(), subjects)
}

/// "Deployment `a`, Deployment `b`".
fn names(workloads: &[&Workload<'_>]) -> String {
    workloads.iter().map(|w| describe(w.obj)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use crate::model::{Detail, Input, Manifests};

    /// The airflow shape: one finding for the four Deployments, counted as
    /// their six pairs in summaries.
    #[test]
    fn one_shared_selector_is_one_finding_counted_per_pair() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/manifests/M4A/fail-shared-selector.yaml"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let manifests = Manifests::load(vec![Input::new("t", "t", "default", text)], Detail::Checks).unwrap();
        let index = manifests.index();
        let mut findings = Vec::new();
        super::run(&index, &mut findings);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].counts_as, 6);
    }
}
