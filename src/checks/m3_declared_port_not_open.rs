use super::support::{describe, probed_runs};
use super::{declare_check, Finding, Subject};
use crate::model::Index;
use crate::model::Protocol;

declare_check! {
    /// ## What it does
    /// With `install --probe`: finds declared container ports
    /// (`containers[].ports`, native sidecars included) that are not open in
    /// the workload's pods in any probe run after the pods became Ready (and
    /// a settle delay). Pods that never became Ready get a `probe-incomplete`
    /// note instead. For `hostNetwork` pods a port the node already had open
    /// before the install cannot be told apart and is not reported. SCTP
    /// ports are not judged (the probe reads TCP and UDP sockets only). One
    /// finding per workload and declared port.
    ///
    /// ## Why is this bad?
    /// The declaration is what Services, NetworkPolicies and reviewers trust.
    /// A declared port nobody listens on is an invitation: whoever manages to
    /// open it in the pod (a compromised sidecar, a debugging shell) receives
    /// the traffic Services and policies route to it (data interception,
    /// spoofing, exfiltration). It often marks a feature that is switched off
    /// at runtime but still declared.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    ///   - {name: cluster, containerPort: 7000}   # only used in cluster mode
    /// ```
    ///
    /// ## How to fix
    /// Declare the port only when the feature that opens it is enabled (same
    /// `if` in the template), or remove the declaration.
    pub static M3 = {
        id: "M3",
        name: "declared-port-not-open",
        severity: Low,
        analysis: Runtime,
        scope: OneRelease,
        counting: PerFinding,
        summary: "a declared container port is not open in the pod after it became Ready",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    let baseline: std::collections::BTreeSet<(Protocol, u16)> = index
        .runtime
        .map(|o| o.baseline.iter().map(|s| (s.protocol, s.port)).collect())
        .unwrap_or_default();
    for workload in &index.workloads {
        let runs = probed_runs(index, workload);
        if runs.is_empty() {
            continue;
        }
        for container in &workload.containers {
            for declared in &container.ports {
                let (protocol, number) = (declared.protocol, declared.number);
                if protocol == Protocol::Sctp {
                    // The probe reads TCP and UDP sockets only: an SCTP port
                    // can be neither seen open nor found closed.
                    continue;
                }
                let key = (protocol, number);
                if runs.iter().any(|r| r.ports.contains_key(&key))
                    || (workload.host_network_line.is_some() && baseline.contains(&key))
                {
                    continue;
                }
                let what = format!("{number}/{}", declared.protocol);
                findings.push(
                    Finding::new(
                        &M3,
                        format!(
                            "{} declares {what}{} in container `{}`, but nothing listens on it",
                            describe(workload.obj),
                            declared.name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default(),
                            container.name
                        ),
                        "declare the port only when the feature that opens it is enabled, or remove the declaration"
                            .into(),
                        vec![Subject::new(
                            workload.obj,
                            declared.line,
                            format!("{what} is declared but not open"),
                        )],
                    )
                    .with_port(number)
                    .with_socket(protocol, vec![container.name.clone()])
                    .exposing(vec![(number, protocol)]),
                );
            }
        }
    }
}
