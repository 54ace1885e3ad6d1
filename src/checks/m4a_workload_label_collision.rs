use super::support::{collision_finding_parts, describe, pod_labels_subject, workload_collisions, Collision};
use super::{declare_check, Finding};
use crate::model::selector::display_labels;
use crate::model::{Index, Labels, Workload};
use std::collections::{BTreeMap, BTreeSet};

declare_check! {
    /// ## What it does
    /// Finds two different workloads (compute units) in one namespace whose
    /// labels collide: the `spec.selector` of one controller selects the pod
    /// labels of the other, or both pod templates carry exactly the same labels.
    /// One finding per unordered pair of workloads of the same release, except
    /// that three or more workloads with the same labels (hook Jobs, say) are
    /// one finding naming them all; summaries still count every pair.
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
    // Workloads with identical labels, by release, namespace and labels:
    // the members (positions, so in workload order) and how many pairs they make.
    let mut identical: BTreeMap<(usize, &str, &Labels), (BTreeSet<usize>, usize)> = BTreeMap::new();
    for (first, second, why) in workload_collisions(index) {
        if first.obj.input != second.obj.input {
            continue; // across releases: M4G
        }
        if why == Collision::IdenticalLabels {
            let key = (first.obj.input, first.obj.namespace.as_str(), &first.pod_labels);
            let (members, pairs) = identical.entry(key).or_default();
            members.extend([index.workload_position(first), index.workload_position(second)]);
            *pairs += 1;
            continue;
        }
        let (message, subjects) = collision_finding_parts(first, second, &why);
        findings.push(Finding::new(&M4A, message, HELP.into(), subjects).exposing_workloads());
    }
    for ((_, _, labels), (members, pairs)) in identical {
        let members: Vec<&Workload<'a>> = members.into_iter().map(|i| &index.workloads[i]).collect();
        let labels = display_labels(labels);
        let finding = match members.as_slice() {
            [first, second] => {
                let (message, subjects) = collision_finding_parts(first, second, &Collision::IdenticalLabels);
                Finding::new(&M4A, message, HELP.into(), subjects)
            }
            many => {
                let names: Vec<String> = many.iter().map(|w| describe(w.obj)).collect();
                Finding::new(
                    &M4A,
                    format!(
                        "{} workloads have identical pod labels ({labels}): {}",
                        many.len(),
                        names.join(", ")
                    ),
                    HELP.into(),
                    many.iter().map(|w| pod_labels_subject(w)).collect(),
                )
                .counting_as(pairs)
            }
        };
        findings.push(finding.exposing_workloads());
    }
}
