use super::support::{describe, operated_pods};
use super::{declare_check, Finding, Subject};
use crate::model::{Index, Matcher};

declare_check! {
    /// ## What it does
    /// Finds network policies (Kubernetes, Cilium, Calico, and the
    /// cluster-wide AdminNetworkPolicy, BaselineAdminNetworkPolicy and
    /// ClusterNetworkPolicy by their `subject`) whose pod selector selects no pod of the audited workloads it can apply to
    /// (its namespace; for a cluster-wide policy, the namespaces it
    /// selects), or selects only hostNetwork pods, which no policy applies
    /// to. A selector that selects everything (`podSelector: {}`, `all()`)
    /// is a namespace-wide default and is not reported. Malformed policies
    /// are NP3's. One finding per policy. When the selected pods are those
    /// an operator creates for a custom resource of the release (as M5D
    /// tells them), the message says so.
    ///
    /// ## Why is this bad?
    /// The policy protects nothing: a typo in a label, a label the chart's
    /// pods lost in a refactoring, or a policy written for pods that share
    /// the node's network. Reviewers see a policy and assume the workload
    /// is isolated; it is reachable from every pod.
    ///
    /// ## Example
    /// ```yaml
    /// kind: NetworkPolicy
    /// spec:
    ///   podSelector: {matchLabels: {app: postgresql}}   # the pods say app: postgres
    /// ```
    ///
    /// ## How to fix
    /// Select the pods by the labels their template really carries (the
    /// chart's selector labels helper), render the policy only together with
    /// its workload (the same `if` in the template), or remove it. For
    /// hostNetwork workloads, protect the node instead (M7). When the pods
    /// come from elsewhere (an operator's custom resource, another release),
    /// audit them together (`--manifests`).
    pub static NP1 = {
        id: "NP1",
        name: "policy-selects-no-pod",
        severity: Low,
        analysis: Static,
        scope: OneRelease,
        counting: PerFinding,
        summary: "a network policy selects no pod of the audited workloads, or only hostNetwork pods",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    let selection = index.policy_selection();
    for (position, policy) in index.policies.iter().enumerate() {
        // Every pod (of its namespaces): a default for pods to come.
        if !policy.is_valid() || policy.pod_selector.matches_all() {
            continue;
        }
        let selected: Vec<_> = selection.workloads_of[position]
            .iter()
            .map(|&i| &index.workloads[i])
            .collect();
        if selected.iter().any(|w| w.host_network_line.is_none()) {
            continue;
        }
        let whose = if policy.is_cluster_wide() {
            "the namespaces it applies to".to_string()
        } else {
            format!("namespace `{}`", policy.obj.namespace)
        };
        let operated = match &policy.pod_selector {
            Matcher::Labels(selector) if selected.is_empty() && !policy.is_cluster_wide() => {
                operated_pods(index, &policy.obj.namespace, selector)
            }
            _ => None,
        };
        if let Some(operated) = operated {
            findings.push(Finding::new(
                &NP1,
                format!(
                    "{} selects no pod of a workload in {whose}, {}",
                    policy.describe(),
                    operated.message
                ),
                operated.help,
                vec![
                    Subject::new(
                        policy.obj,
                        policy.pod_selector_line,
                        format!("selects {}: pods no workload renders", policy.pod_selector.display()),
                    ),
                    operated.subject,
                ],
            ));
            continue;
        }
        let (message, label) = if selected.is_empty() {
            (
                format!("{} selects no pod in {whose}", policy.describe()),
                format!("selects {}: no pod carries these labels", policy.pod_selector.display()),
            )
        } else {
            let names: Vec<String> = selected.iter().map(|w| describe(w.obj)).collect();
            (
                format!(
                    "{} selects only hostNetwork pods ({}), which no policy applies to",
                    policy.describe(),
                    names.join(", ")
                ),
                format!("selects {}: hostNetwork pods only", policy.pod_selector.display()),
            )
        };
        findings.push(Finding::new(
            &NP1,
            message,
            "select the pods by the labels their template carries, or remove the policy".into(),
            vec![Subject::new(policy.obj, policy.pod_selector_line, label)],
        ));
    }
}
