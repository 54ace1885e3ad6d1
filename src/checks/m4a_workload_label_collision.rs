use super::support::{collision_finding_parts, workload_collisions};
use super::{declare_check, Finding};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// Finds two different workloads (compute units) in one namespace whose
    /// labels collide: the `spec.selector` of one controller selects the pod
    /// labels of the other, or both pod templates carry exactly the same labels.
    /// One finding per unordered pair of workloads of the same release.
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

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    for (first, second, why) in workload_collisions(index) {
        if first.obj.input != second.obj.input {
            continue; // across releases: M4G
        }
        let (message, subjects) = collision_finding_parts(first, second, &why);
        findings.push(
            Finding::new(
                &M4A,
                message,
                "give each workload a label only its own pods carry and use it in its selector".into(),
                subjects,
            )
            .exposing_workloads(),
        );
    }
}
