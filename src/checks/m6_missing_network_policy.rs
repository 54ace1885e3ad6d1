use super::support::{describe, pod_labels_subject};
use super::{declare_check, Finding};
use crate::model::{Index, PodPick, Policy, ValuesToggle};

declare_check! {
    /// ## What it does
    /// Finds workloads that no policy restricts ingress to. Three kinds count:
    /// a `networking.k8s.io/v1` NetworkPolicy of the workload's namespace
    /// whose `podSelector` selects the pods and whose `policyTypes` contains
    /// `Ingress` (or is absent, which implies Ingress); a Cilium
    /// `CiliumNetworkPolicy` whose `endpointSelector` selects them and that
    /// has `ingress` rules (even an empty list) or `ingressDeny`; a Calico
    /// `NetworkPolicy` (`projectcalico.org/v3`, `crd.projectcalico.org/v1`)
    /// whose `selector` selects them and whose `types` include `Ingress`.
    /// The cluster-wide kinds (`CiliumClusterwideNetworkPolicy`, Calico
    /// `GlobalNetworkPolicy`) count for every namespace they select. So do
    /// the cluster-wide tiers of `policy.networking.k8s.io`
    /// (`AdminNetworkPolicy`, `BaselineAdminNetworkPolicy`,
    /// `ClusterNetworkPolicy`) whose `subject` selects the pods, but only
    /// with an ingress rule whose action is `Deny`: they do not isolate, so
    /// one whose rules only allow (`Allow`, `Accept`) or hand over (`Pass`)
    /// leaves every other connection as open as no policy does. An
    /// Egress-only policy does not count; a malformed policy (NP3) protects
    /// nothing. hostNetwork workloads are left to M7: no policy applies to
    /// them. When the chart ships a NetworkPolicy that its values switch off
    /// (a values key such as `networkPolicy.enabled: false`), the finding
    /// says which key turns it on: for a chart on disk, only the keys whose
    /// policy can select the workload, a subchart's under its alias
    /// (`kube-state-metrics.networkPolicy.enabled`) and a key of the chart
    /// itself for the workloads of the template directory that reads it.
    /// One finding per workload (summaries count the chart once).
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
        summary: "a workload (not in the host's network) is not selected by any Kubernetes, Cilium, Calico or admin-tier policy that restricts ingress",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    for (position, workload) in index.workloads.iter().enumerate() {
        if workload.host_network_line.is_some() {
            continue;
        }
        let open_pods = match Policy::left_open(index.policies_selecting(position), workload) {
            PodPick::None => continue,
            PodPick::All => None,
            PodPick::Some(ordinals) => Some(ordinals),
        };
        let toggles: Vec<&ValuesToggle> = index.inputs[workload.obj.input]
            .netpol_toggles
            .iter()
            .filter(|t| t.may_select(workload.obj))
            .collect();
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
        let message = match open_pods {
            None => format!(
                "{} is not selected by any policy restricting ingress in namespace `{}`",
                describe(workload.obj),
                workload.obj.namespace
            ),
            Some(ordinals) => {
                let names: Vec<String> = ordinals
                    .iter()
                    .map(|&i| format!("`{}`", workload.pod_name(i)))
                    .collect();
                format!(
                    "{}: pod{} {} {} not selected by any policy restricting ingress in namespace `{}` (a policy selects only the others)",
                    describe(workload.obj),
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", "),
                    if names.len() == 1 { "is" } else { "are" },
                    workload.obj.namespace
                )
            }
        };
        findings.push(Finding::new(&M6, message, help, vec![pod_labels_subject(workload)]).exposing_workloads());
    }
}
