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
    /// pods never do. Only the cluster can tell whether the operator's or
    /// the control plane's pods run, so those two are severity `info`
    /// (shown under "confirm in the cluster", outside the default exit
    /// status); `lint --cluster` decides: pods that run clear the finding,
    /// and without them it is back to the check's severity.
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
    // With `lint --cluster`, what runs was listed: pods that would match
    // were found (no finding), or none run.
    let cluster_listed = index.inputs.iter().any(|input| input.live);
    let confirm = |finding: Finding<'a>| {
        if cluster_listed {
            Finding {
                message: format!("{}; the cluster runs no such pod", finding.message),
                ..finding
            }
        } else {
            finding.to_confirm_in_the_cluster()
        }
    };
    if let Some(operated) = operated_pods(index, namespace, selector) {
        return confirm(Finding::new(
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
        ));
    }
    if let Some((pods, label)) = control_plane_pods(namespace, selector) {
        return confirm(Finding::new(
            &M5D,
            format!(
                "{name} selects no workload of the release, only the cluster's own {} pods (`{label}`): {}",
                pods.component, pods.where_it_runs
            ),
            "on a cluster that does not run these pods, switch this Service off in the values".into(),
            vec![service_selector_subject(service, " matches control-plane pods only")],
        ));
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

#[cfg(test)]
mod cluster_tests {
    use crate::checks::Severity;
    use crate::model::{Detail, Input, Manifests};

    /// What runs, as `lint --cluster` lists it (a live input), decides the
    /// findings only the cluster can confirm: the operator's pods running
    /// clear it; none running makes it the check's severity again.
    #[test]
    fn the_listed_cluster_confirms_or_clears_operator_pods() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/manifests/M5D/fail-operator-pods.yaml"
        );
        let chart = std::fs::read_to_string(path).unwrap();
        let statefulset = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: prometheus-release-name-prometheus, namespace: default}\nspec:\n  selector: {matchLabels: {prometheus: release-name-prometheus}}\n  template:\n    metadata: {labels: {app.kubernetes.io/name: prometheus, prometheus: release-name-prometheus}}\n    spec: {containers: [{name: prometheus, image: prometheus}]}\n";
        let findings = |live: Option<&str>| -> Vec<(Severity, String)> {
            let mut inputs = vec![Input::new("chart", "monitoring", "default", chart.clone())];
            if let Some(text) = live {
                let mut input = Input::new("cluster", "default", "default", text.to_string());
                input.live = true;
                inputs.push(input);
            }
            let manifests = Manifests::load(inputs, Detail::Checks).unwrap();
            let mut findings = Vec::new();
            super::run(&manifests.index(), &mut findings);
            findings.into_iter().map(|f| (f.severity, f.message)).collect()
        };
        let alone = findings(None);
        assert_eq!(alone.len(), 2);
        assert!(
            alone.iter().all(|(severity, _)| *severity == Severity::Info),
            "{alone:?}"
        );
        let running = findings(Some(statefulset));
        assert_eq!(running.len(), 1, "the Prometheus pods run: {running:?}");
        assert!(running[0].1.starts_with("Service `events-brokers`"), "{running:?}");
        assert_eq!(running[0].0, Severity::Medium);
        assert!(running[0].1.ends_with("; the cluster runs no such pod"), "{running:?}");
    }
}
