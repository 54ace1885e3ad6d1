use super::support::{describe, operated_pods, pod_labels_subject, selected_workloads, service_selector_subject};
use super::{declare_check, Finding};
use crate::model::{control_plane_pods, Index, Selector, Service, Workload};

declare_check! {
    /// ## What it does
    /// Finds Services with a non-empty selector that select no workload in
    /// their namespace, among everything audited together. ExternalName
    /// Services and Services without a selector (endpoints managed by hand)
    /// are skipped. One finding per Service.
    ///
    /// Two kinds of pods are rendered by no workload yet may rightly be
    /// selected, and the message says so instead of "selects no workload":
    /// pods an operator creates for a custom resource of the release (a
    /// `Prometheus` whose `spec.podMetadata.labels` the selector uses, a
    /// Strimzi `Kafka` it names with `strimzi.io/cluster`), and the cluster's
    /// own control-plane pods in `kube-system` (`component: etcd`,
    /// `k8s-app: kube-dns`). A selector that a workload's pods would match
    /// but for labels their template lacks altogether (`vault-active:
    /// "true"`) is said to be waiting for the application to label its own
    /// pod at runtime, as leader elections do. The finding stays: until those pods run, the
    /// name is still unclaimed, and on a managed cluster the control-plane
    /// pods never do.
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
    for service in &index.services {
        if let Some(selector) = &service.selector {
            if selected_workloads(index, service).is_empty() {
                findings.push(finding(index, service, selector));
            }
        }
    }
}

fn finding<'a>(index: &Index<'a>, service: &Service<'a>, selector: &Selector) -> Finding<'a> {
    let (namespace, name) = (&service.obj.namespace, describe(service.obj));
    if let Some(operated) = operated_pods(index, namespace, selector) {
        return Finding::new(
            &M5D,
            format!(
                "{name} selects no workload in namespace `{namespace}`, {}",
                operated.message
            ),
            operated.help,
            vec![
                service_selector_subject(service, " matches no pod template"),
                operated.subject,
            ],
        );
    }
    if let Some((pods, label)) = control_plane_pods(namespace, selector) {
        return Finding::new(
            &M5D,
            format!(
                "{name} selects no workload of the release, only the cluster's own {} pods (`{label}`): {}",
                pods.component, pods.where_it_runs
            ),
            "on a cluster that does not run these pods, switch this Service off in the values".into(),
            vec![service_selector_subject(service, " matches control-plane pods only")],
        );
    }
    if let Some((workload, missing)) = labelled_at_runtime(index, service, selector) {
        return Finding::new(
            &M5D,
            format!(
                "{name} selects no workload in namespace `{namespace}` as rendered; it would select the pods of {} \
                 if they got {missing} at runtime (some applications label their own pod, e.g. the leader of an \
                 election)",
                describe(workload.obj)
            ),
            format!(
                "if the application sets {missing} on its pod itself, nothing to change (`netaudit audit` checks \
                 the running pods); else add it to the pod template or drop it from the selector"
            ),
            vec![
                service_selector_subject(service, " matches no pod template"),
                pod_labels_subject(workload),
            ],
        );
    }
    Finding::new(
        &M5D,
        format!("{name} selects no workload in namespace `{namespace}`"),
        "render the Service only together with its workload, or fix its selector".into(),
        vec![service_selector_subject(service, " matches no pod template")],
    )
}

/// A workload whose pods the selector would select but for labels their
/// template does not have at all (`vault-active=true`, `operator=leader`):
/// labels an application may set on its own pod. The first such workload,
/// with the missing labels as `k=v`.
fn labelled_at_runtime<'s, 'a>(
    index: &'s Index<'a>,
    service: &Service<'a>,
    selector: &Selector,
) -> Option<(&'s Workload<'a>, String)> {
    if !selector.expressions.is_empty() {
        return None;
    }
    index.workloads_in(&service.obj.namespace).find_map(|workload| {
        let mut matched = 0;
        let mut missing = Vec::new();
        for (key, value) in &selector.match_labels {
            match workload.pod_labels.get(key) {
                Some(have) if have == value => matched += 1,
                Some(_) => return None,
                None => missing.push(format!("`{key}={value}`")),
            }
        }
        (matched > 0 && !missing.is_empty()).then(|| (workload, missing.join(" and ")))
    })
}
