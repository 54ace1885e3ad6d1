use super::support::{describe, selected_workloads, service_selector_subject};
use super::{declare_check, Finding};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// Finds Services with a non-empty selector that select no workload in
    /// their namespace, among everything audited together. ExternalName
    /// Services and Services without a selector (endpoints managed by hand)
    /// are skipped. One finding per Service.
    ///
    /// ## Why is this bad?
    /// Every request to the Service fails. Worse, the Service is a name
    /// waiting to be claimed: anyone who can create a pod with matching labels
    /// in the namespace receives the traffic of every client that trusts the
    /// Service's name.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: {name: search}
    /// spec:
    ///   selector: {app: search}   # the search Deployment is switched off
    /// ```
    ///
    /// ## How to fix
    /// Render the Service only when its workload is rendered (same `if` in
    /// the template), or fix its selector. When the pods come from elsewhere
    /// (an operator, another release), audit them together (`--manifests`).
    pub static M5D = {
        id: "M5D",
        name: "service-without-target",
        severity: Medium,
        analysis: Static,
        scope: OneRelease,
        counting: PerFinding,
        summary: "a Service with a non-empty selector selects no workload in its namespace",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    for service in index.services.iter().filter(|s| s.selector.is_some()) {
        if !selected_workloads(index, service).is_empty() {
            continue;
        }
        findings.push(Finding::new(
            &M5D,
            format!(
                "{} selects no workload in namespace `{}`",
                describe(service.obj),
                service.obj.namespace
            ),
            "render the Service only together with its workload, or fix its selector".into(),
            vec![service_selector_subject(service, " matches no pod template")],
        ));
    }
}
