use super::support::{describe, holders_text, undeclared_open_ports, Dynamic};
use super::{declare_check, Finding, Subject};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// With `install --probe`: finds undeclared open ports that are dynamic:
    /// open in one probe run and not in the other (the pods are restarted
    /// between the two runs), or inside the pod's ephemeral port range
    /// (`/proc/sys/net/ipv4/ip_local_port_range`), where the kernel picks
    /// ports for `bind(0)`. Reported instead of M1 for that port. One finding
    /// per workload and port. (`audit` probes once without restarting, so
    /// there only the ephemeral-range rule applies.)
    ///
    /// ## Why is this bad?
    /// A port chosen at random on every start cannot be declared, so no
    /// NetworkPolicy can allow it precisely: policies end up opening wide
    /// port ranges, and the random port is reachable from every pod until
    /// they do. Control and signalling channels of worker/controller systems
    /// and reverse connections are typical.
    ///
    /// ## Example
    /// A worker that announces `0.0.0.0:0` for its data channel: run 1 sees
    /// 41873/TCP, run 2 sees 38211/TCP.
    ///
    /// ## How to fix
    /// Pin the port in the application's settings (most systems have an
    /// option for it), declare it, and allow it in the NetworkPolicy.
    pub static M2 = {
        id: "M2",
        name: "dynamic-port",
        severity: High,
        analysis: Runtime,
        scope: OneRelease,
        counting: PerFinding,
        summary: "an undeclared port changes between probe runs or lies in the ephemeral range",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    for workload in &index.workloads {
        for open in undeclared_open_ports(index, workload) {
            let Some(dynamic) = &open.dynamic else { continue };
            let what = format!("{}/{}", open.port, open.protocol.as_str());
            let why = match dynamic {
                Dynamic::MovedBetweenRuns => "it was open in one probe run and not in the other".to_string(),
                Dynamic::EphemeralRange(low, high) => format!("it lies in the ephemeral port range {low}-{high}"),
            };
            findings.push(
                Finding::new(
                    &M2,
                    format!(
                        "{} opens {what}{} dynamically: {why}",
                        describe(workload.obj),
                        holders_text(&open.holders)
                    ),
                    "pin the port in the application's settings, declare it, and allow it in the NetworkPolicy".into(),
                    vec![Subject::new(
                        workload.obj,
                        workload.containers_line,
                        format!("{} opens {what}", describe(workload.obj)),
                    )],
                )
                .with_port(open.port)
                .with_socket(open.protocol, open.holders.clone()),
            );
        }
    }
}
