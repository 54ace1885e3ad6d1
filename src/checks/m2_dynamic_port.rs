use super::support::{describe, holders_text, probed_runs, undeclared_open_ports, Dynamic, UndeclaredPort};
use super::{declare_check, Finding, Subject};
use crate::model::Index;
use crate::model::{ProcessName, Protocol};
use std::collections::BTreeMap;

declare_check! {
    /// ## What it does
    /// With `install --probe`: finds undeclared open ports that are dynamic:
    /// open in one probe run and not in the other (the pods are restarted
    /// between the two runs), or inside the pod's ephemeral port range
    /// (`/proc/sys/net/ipv4/ip_local_port_range`), where the kernel picks
    /// ports for `bind(0)`. Reported instead of M1 for those ports. One
    /// finding per workload, container and protocol (one listener that
    /// picks a new number at every start is one finding), listing the ports
    /// seen in each run and the rule that fired. (`audit` probes once without
    /// restarting, so there only the ephemeral-range rule applies.)
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
    /// 41873/TCP, run 2 sees 38211/TCP: "opens dynamic TCP ports (container
    /// `worker`): 41873 -> 38211 in runs 1 -> 2 (they change between runs)".
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
        let dynamic: Vec<UndeclaredPort> = undeclared_open_ports(index, workload)
            .into_iter()
            .filter(|p| p.dynamic.is_some())
            .collect();
        if dynamic.is_empty() {
            continue;
        }
        let runs = probed_runs(index, workload);
        // One listener: the same holders, the same protocol.
        let mut listeners: BTreeMap<(Vec<String>, Protocol), Vec<&UndeclaredPort>> = BTreeMap::new();
        for port in &dynamic {
            listeners
                .entry((port.holders.clone(), port.protocol))
                .or_default()
                .push(port);
        }
        for ((holders, protocol), ports) in listeners {
            let mut processes: Vec<ProcessName> = ports.iter().flat_map(|p| p.processes.iter().cloned()).collect();
            processes.sort();
            processes.dedup();
            let per_run: Vec<String> = runs
                .iter()
                .map(|run| {
                    let seen: Vec<String> = ports
                        .iter()
                        .filter(|p| run.ports.contains_key(&(protocol, p.port)))
                        .map(|p| p.port.to_string())
                        .collect();
                    if seen.is_empty() {
                        "-".to_string()
                    } else {
                        seen.join("+")
                    }
                })
                .collect();
            let seen = match per_run.as_slice() {
                [one] => one.clone(),
                many => format!(
                    "{} in runs {}",
                    many.join(" -> "),
                    (1..=many.len()).map(|r| r.to_string()).collect::<Vec<_>>().join(" -> ")
                ),
            };
            let mut rules = Vec::new();
            if ports
                .iter()
                .any(|p| matches!(p.dynamic, Some(Dynamic::MovedBetweenRuns)))
            {
                rules.push("they change between probe runs".to_string());
            }
            let ephemeral: Vec<String> = ports
                .iter()
                .filter_map(|p| match p.dynamic {
                    Some(Dynamic::EphemeralRange(low, high)) => {
                        Some(format!("{} in the ephemeral port range {low}-{high}", p.port))
                    }
                    _ => None,
                })
                .collect();
            rules.extend(ephemeral);
            let why = rules.join("; ");
            let proto = protocol.as_str();
            findings.push(
                Finding::new(
                    &M2,
                    format!(
                        "{} opens dynamic {proto} ports{}: {seen} ({why})",
                        describe(workload.obj),
                        holders_text(&holders, &processes)
                    ),
                    "pin the port in the application's settings, declare it, and allow it in the NetworkPolicy".into(),
                    vec![Subject::new(
                        workload.obj,
                        workload.containers_line,
                        format!("{} opens dynamic {proto} ports", describe(workload.obj)),
                    )],
                )
                .with_port(ports[0].port)
                .with_socket(protocol, holders)
                .with_processes(processes)
                .exposing(ports.iter().map(|p| (p.port, protocol)).collect()),
            );
        }
    }
}
