use super::support::{describe, pod_labels_subject};
use super::{declare_check, Finding};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// Finds workloads that no NetworkPolicy of their namespace restricts
    /// ingress to: no `networking.k8s.io/v1` NetworkPolicy whose `podSelector`
    /// selects the pods and whose `policyTypes` contains `Ingress` (or is
    /// absent, which implies Ingress). An Egress-only policy does not count; a
    /// policy with `podSelector: {}` covers every pod of its namespace.
    /// When the chart ships a NetworkPolicy that its values switch off (a
    /// values key such as `networkPolicy.enabled: false`), the finding says
    /// which key turns it on. One finding per workload (summaries count the
    /// chart once).
    ///
    /// ## Why is this bad?
    /// Kubernetes allows all traffic between pods by default. Without a
    /// policy, an attacker who controls any pod in the cluster can connect to
    /// every port of these pods: lateral movement, data interception and
    /// spoofing, privilege escalation through unauthenticated admin ports.
    ///
    /// ## Example
    /// ```yaml
    /// # values.yaml
    /// networkPolicy:
    ///   enabled: false    # the chart has a policy, but it is off by default
    /// ```
    ///
    /// ## How to fix
    /// Enable the chart's NetworkPolicy if it has one, or add a policy that
    /// selects the workload's pods, denies ingress by default and allows only
    /// the ports and peers the workload needs.
    pub static M6 = {
        id: "M6",
        name: "missing-network-policy",
        severity: Medium,
        analysis: Static,
        scope: OneRelease,
        counting: OncePerInput,
        summary: "a workload is not selected by any NetworkPolicy of its namespace that restricts ingress",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    for workload in &index.workloads {
        if index.policies.iter().any(|p| p.covers(workload)) {
            continue;
        }
        let toggles = &index.inputs[workload.obj.input].netpol_toggles;
        let help = if toggles.is_empty() {
            "add a NetworkPolicy that selects these pods, denies ingress by default and allows only the ports and peers they need".to_string()
        } else {
            let keys: Vec<String> = toggles
                .iter()
                .map(|t| format!("`{}: false` ({}:{})", t.path, t.file, t.line))
                .collect();
            let sets: Vec<String> = toggles.iter().map(|t| format!("--set {}=true", t.path)).collect();
            format!(
                "the chart ships a NetworkPolicy switched off by {}: turn it on with {}",
                keys.join(", "),
                sets.join(" ")
            )
        };
        findings.push(Finding::new(
            &M6,
            format!(
                "{} is not selected by any NetworkPolicy restricting ingress in namespace `{}`",
                describe(workload.obj),
                workload.obj.namespace
            ),
            help,
            vec![pod_labels_subject(workload)],
        ));
    }
}
