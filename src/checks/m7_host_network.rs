use super::support::describe;
use super::{declare_check, Finding, Subject};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// Finds workloads whose pod template sets `hostNetwork: true`. One
    /// finding per workload. (With `install --probe`, the sockets the node had
    /// before the install are subtracted before M1/M2/M3 are judged.)
    ///
    /// ## Why is this bad?
    /// The pod shares the node's network namespace: every port it opens is
    /// opened on the node's addresses, it can reach node-local services, and
    /// NetworkPolicies do not apply to it. A compromised host-network pod
    /// bypasses the cluster's network controls.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   template:
    ///     spec:
    ///       hostNetwork: true
    /// ```
    ///
    /// ## How to fix
    /// Drop `hostNetwork` unless the workload truly needs the node's network
    /// (CNI agents, some node exporters). If it does, declare its ports, pin
    /// them, and restrict the node's firewall instead of relying on policies.
    pub static M7 = {
        id: "M7",
        name: "host-network",
        severity: High,
        analysis: Static,
        scope: OneRelease,
        counting: PerFinding,
        summary: "the pod template sets hostNetwork: true",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    for workload in &index.workloads {
        let Some(line) = workload.host_network_line else {
            continue;
        };
        findings.push(
            Finding::new(
                &M7,
                format!(
                    "{} runs its pods in the node's network namespace (hostNetwork: true)",
                    describe(workload.obj)
                ),
                "remove hostNetwork: true unless the workload needs the node's network".into(),
                vec![Subject::new(workload.obj, line, "hostNetwork: true")],
            )
            .exposing_workloads(),
        );
    }
}
