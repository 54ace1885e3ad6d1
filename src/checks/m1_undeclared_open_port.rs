use super::support::{describe, holders_text, undeclared_open_ports};
use super::{declare_check, Finding, Subject};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// With `install --probe`: finds ports that are open in a workload's pods
    /// (TCP listening, or UDP bound and unconnected, on a non-loopback
    /// address) but that no container of the pod declares with the same
    /// number and protocol. Ports that move between probe runs or lie in the
    /// ephemeral range are reported as M2 instead. One finding per workload
    /// and port (replicas count once).
    ///
    /// ## Why is this bad?
    /// Kubernetes does not restrict ports to the declared ones: an open port is
    /// reachable by every pod of the cluster unless a NetworkPolicy forbids
    /// it, and it is invisible to reviewers and to tools that trust the
    /// declarations, including NetworkPolicy generators. Admin, debug and
    /// metrics ports that listen on all interfaces are the typical case: an
    /// attacker in any pod reaches them (sensitive information, command and
    /// control).
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: app
    ///     ports: [{containerPort: 8080}]   # the app also listens on 9090 (admin)
    /// ```
    ///
    /// ## How to fix
    /// Declare the port (`containers[].ports`, with a name) so policies and
    /// reviewers see it, or make the application listen on loopback only, or
    /// switch the feature off.
    pub static M1 = {
        id: "M1",
        name: "undeclared-open-port",
        severity: High,
        analysis: Runtime,
        scope: OneRelease,
        counting: PerFinding,
        summary: "a port is open in a pod but no container of the pod declares it",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    for workload in &index.workloads {
        for open in undeclared_open_ports(index, workload)
            .into_iter()
            .filter(|p| p.dynamic.is_none())
        {
            let what = format!("{}/{}", open.port, open.protocol.as_str());
            findings.push(
                Finding::new(
                    &M1,
                    format!("{} listens on {what}{}, which no container declares", describe(workload.obj), holders_text(&open.holders, &open.processes)),
                    format!("declare {what} in containers[].ports of the container that opens it, or make it listen on loopback only"),
                    vec![Subject::new(workload.obj, workload.containers_line, format!("{} opens {what}", describe(workload.obj)))],
                )
                .with_port(open.port)
                .with_socket(open.protocol, open.holders.clone())
                .with_processes(open.processes.clone())
                .exposing(vec![(open.port, open.protocol)]),
            );
        }
    }
}
