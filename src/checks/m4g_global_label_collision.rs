use super::support::{
    collision_finding_parts, describe, pod_labels_subject, selected_workloads, service_selector_subject,
    workload_collisions,
};
use super::{declare_check, Finding};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// Finds label collisions between different releases: an M4A (two
    /// workloads whose labels collide) or an M4C (a Service selecting
    /// workloads) where the two sides belong to different releases. It needs
    /// several releases audited together: a chart against what runs in the
    /// cluster (`helm netaudit lint mychart -n ns --cluster`), every
    /// installed release at once (`helm netaudit audit --all-namespaces`),
    /// or several inputs, for example
    /// `helm netaudit lint mychart --manifests <(helm get manifest other -n ns)`;
    /// `lint --separately` audits each input alone and so never finds it.
    /// (The paper writes this check `M4*`.)
    ///
    /// ## Why is this bad?
    /// Releases installed into the same namespace by different teams know
    /// nothing of each other's labels. Generic labels such as `app: web` or
    /// `component: server` make one release's Service send traffic to another
    /// release's pods, and let anyone who can deploy a pod with matching labels
    /// impersonate a service (server impersonation, man in the middle).
    ///
    /// ## Example
    /// Release `blog` has a Service with selector `{app: web}`; release `shop`
    /// in the same namespace runs a Deployment whose pods are labelled
    /// `{app: web, tier: frontend}`: the blog's Service also routes to the shop.
    ///
    /// ## How to fix
    /// Include the release in every selector and pod label set, as Helm's
    /// conventions do: `app.kubernetes.io/instance: {{ .Release.Name }}`.
    pub static M4G = {
        id: "M4G",
        name: "global-label-collision",
        severity: High,
        analysis: Static,
        scope: SeveralReleases,
        counting: PerFinding,
        summary: "an M4A or M4C collision whose two sides belong to different releases",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    const HELP: &str = "include the release (app.kubernetes.io/instance) in selectors and pod labels";
    for (first, second, why) in workload_collisions(index) {
        if first.obj.input == second.obj.input {
            continue;
        }
        let (message, subjects) = collision_finding_parts(first, second, &why);
        let message = format!(
            "across releases `{}` and `{}`: {message}",
            index.release_of(first.obj),
            index.release_of(second.obj)
        );
        findings.push(Finding::new(&M4G, message, HELP.into(), subjects).exposing_workloads());
    }
    for service in &index.services {
        let foreign: Vec<_> = selected_workloads(index, service)
            .into_iter()
            .filter(|w| w.obj.input != service.obj.input)
            .collect();
        if foreign.is_empty() {
            continue;
        }
        let names: Vec<String> = foreign
            .iter()
            .map(|w| format!("{} of release `{}`", describe(w.obj), index.release_of(w.obj)))
            .collect();
        let mut subjects = vec![service_selector_subject(service, "")];
        subjects.extend(foreign.iter().map(|w| pod_labels_subject(w)));
        findings.push(
            Finding::new(
                &M4G,
                format!(
                    "{} of release `{}` also selects {}",
                    describe(service.obj),
                    index.release_of(service.obj),
                    names.join(", ")
                ),
                HELP.into(),
                subjects,
            )
            .exposing_workloads(),
        );
    }
}
