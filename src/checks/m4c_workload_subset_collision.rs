use super::support::{
    describe, is_governing_service, pod_labels_subject, selected_workloads, service_selector_subject,
};
use super::{declare_check, Finding};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// Finds Services whose selector selects two or more different workloads of
    /// the Service's own release: the workloads share a subset of labels and the
    /// Service selects on just that subset. One finding per Service.
    /// (Workloads of another release selected by the Service are reported as M4G.)
    ///
    /// Not reported for a headless Service that is the governing Service
    /// (`spec.serviceName`) of every StatefulSet it selects: charts such as
    /// Bitnami's Redis and Valkey run primary and replica StatefulSets under
    /// one governing Service on purpose, so that all their pods get DNS names
    /// in one domain. The spec counts this as M4C; on real charts it is the
    /// documented pattern rather than a collision, so it is exempt here as it
    /// is in M4B.
    ///
    /// ## Why is this bad?
    /// Traffic sent to the Service is load-balanced over pods of unrelated
    /// workloads. Requests meant for the API land on the worker, which may
    /// accept them, log them or answer them: a man in the middle by
    /// configuration. Any compromise of the less trusted workload intercepts
    /// the other's traffic.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: {name: shop}
    /// spec:
    ///   selector: {app.kubernetes.io/name: shop}   # api and worker pods alike
    /// ```
    ///
    /// ## How to fix
    /// Add a label that distinguishes the intended workload (for example
    /// `app.kubernetes.io/component: api`) to the Service's selector.
    pub static M4C = {
        id: "M4C",
        name: "workload-subset-collision",
        severity: High,
        analysis: Static,
        scope: OneRelease,
        counting: PerFinding,
        summary: "one Service selects two or more different workloads of its release",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    for service in &index.services {
        let own: Vec<_> = selected_workloads(index, service)
            .into_iter()
            .filter(|w| w.obj.input == service.obj.input)
            .collect();
        if own.len() < 2 || own.iter().all(|w| is_governing_service(w, service)) {
            continue;
        }
        let names: Vec<String> = own.iter().map(|w| describe(w.obj)).collect();
        let mut subjects = vec![service_selector_subject(
            service,
            &format!(" selects {} workloads", own.len()),
        )];
        subjects.extend(own.iter().map(|w| pod_labels_subject(w)));
        findings.push(
            Finding::new(
                &M4C,
                format!(
                    "{} selects {} workloads: {}",
                    describe(service.obj),
                    own.len(),
                    names.join(", ")
                ),
                "add a label to the selector that only the intended workload's pods carry".into(),
                subjects,
            )
            .exposing_workloads(),
        );
    }
}
