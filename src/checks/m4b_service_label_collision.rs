use super::support::{
    describe, is_governing_service, pod_labels_subject, service_selector_subject, services_selecting,
};
use super::{declare_check, Finding};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// Finds workloads selected by two or more Services. The governing
    /// headless Service of a StatefulSet (the headless Service named by
    /// `spec.serviceName`) does not count towards the two: it exists to give
    /// pods stable DNS names. A non-headless Service named there does count.
    /// ExternalName Services and Services without a selector select nothing and
    /// are skipped. Only Services of the workload's own release count: a
    /// Service of another release that selects it is a global collision (M4G).
    /// One finding per workload.
    ///
    /// ## Why is this bad?
    /// Each Service is a separate way into the same pods, usually with its own
    /// ports and its own exposure (a `metrics` Service, a `LoadBalancer`, a
    /// second headless Service). Often it is an accident of generic selectors,
    /// and it means every port of the pod is reachable under names that network
    /// policies, meshes and reviewers do not expect.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: {name: api}
    /// spec: {selector: {app: api}, ports: [{port: 80, targetPort: 8080}]}
    /// ---
    /// kind: Service
    /// metadata: {name: api-debug}
    /// spec: {selector: {app: api}, ports: [{port: 5005}]}   # also the api pods
    /// ```
    ///
    /// ## How to fix
    /// Merge the Services into one with several named ports, or make their
    /// selectors select disjoint pods. When two Services are intended, say so
    /// with `netaudit.io/ignore: "M4B: <why>"` on the workload or a Service.
    pub static M4B = {
        id: "M4B",
        name: "service-label-collision",
        severity: High,
        analysis: Static,
        scope: OneRelease,
        counting: PerFinding,
        summary: "two or more Services select the same workload (a StatefulSet's governing headless Service does not count)",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    for workload in &index.workloads {
        let services: Vec<_> = services_selecting(index, workload)
            .filter(|s| s.obj.input == workload.obj.input && !is_governing_service(workload, s))
            .collect();
        if services.len() < 2 {
            continue;
        }
        let names: Vec<String> = services.iter().map(|s| format!("`{}`", s.obj.name)).collect();
        let mut subjects = vec![pod_labels_subject(workload)];
        subjects.extend(services.iter().map(|s| service_selector_subject(s, "")));
        findings.push(
            Finding::new(
                &M4B,
                format!(
                    "{} is selected by {} Services: {}",
                    describe(workload.obj),
                    services.len(),
                    names.join(", ")
                ),
                "merge the Services into one with several ports, or make their selectors disjoint".into(),
                subjects,
            )
            .exposing_workloads(),
        );
    }
}
