//! Pieces several checks share.

use super::Subject;
use crate::model::selector::display_labels;
use crate::model::{
    Index, Object, PortKey, ProcessName, Protocol, RunPorts, Selector, Service, ServicePort, TargetPort, Workload,
};
use std::collections::{BTreeMap, BTreeSet};

/// "Deployment `web`": how messages name an object.
pub fn describe(object: &Object) -> String {
    format!("{} `{}`", object.kind, object.name)
}

/// A custom resource in `namespace` whose operator creates pods that
/// `selector` selects (no workload renders them), as a message part, the
/// help, and the resource's side of the finding.
pub struct OperatedPods<'a> {
    pub message: String,
    pub help: String,
    pub subject: Subject<'a>,
}

pub fn operated_pods<'a>(index: &Index<'a>, namespace: &str, selector: &Selector) -> Option<OperatedPods<'a>> {
    index
        .custom_resources
        .iter()
        .filter(|r| r.obj.namespace == namespace)
        .find_map(|resource| {
            let promise = resource.promises(selector)?;
            let name = describe(resource.obj);
            Some(OperatedPods {
                message: format!("only the pods an operator creates for {name}: {}", promise.reason),
                help: format!(
                    "nothing to change if the operator of {name} runs in the cluster; `netaudit lint --cluster` checks \
                     the selector against the pods that run"
                ),
                subject: Subject::new(resource.obj, promise.line, format!("pods of {name}")),
            })
        })
}

pub fn pod_labels_subject<'a>(workload: &Workload<'a>) -> Subject<'a> {
    let label = if workload.pod_labels.is_empty() {
        format!("{}: pods have no labels", describe(workload.obj))
    } else {
        format!("pod labels of {}", describe(workload.obj))
    };
    Subject::block(
        workload.obj,
        workload.pod_labels_line,
        workload.pod_labels_end_line,
        label,
    )
}

pub fn service_selector_subject<'a>(service: &Service<'a>, what: &str) -> Subject<'a> {
    Subject::block(
        service.obj,
        service.selector_line,
        service.selector_end_line,
        format!("selector of {}{what}", describe(service.obj)),
    )
}

pub use crate::model::Collision;

/// Every colliding unordered pair of different workloads in one namespace
/// ([`Index::workload_collisions`], computed once for M4A and M4G).
pub fn workload_collisions<'s, 'a>(
    index: &'s Index<'a>,
) -> impl Iterator<Item = (&'s Workload<'a>, &'s Workload<'a>, Collision)> + 's {
    index
        .workload_collisions()
        .iter()
        .map(|&(first, second, why)| (&index.workloads[first], &index.workloads[second], why))
}

/// Subjects and message for a colliding pair.
pub fn collision_finding_parts<'a>(
    first: &Workload<'a>,
    second: &Workload<'a>,
    why: &Collision,
) -> (String, Vec<Subject<'a>>) {
    match why {
        Collision::SelectorSelectsOther => (
            format!(
                "the selector of {} also selects the pods of {}",
                describe(first.obj),
                describe(second.obj)
            ),
            vec![
                Subject::block(
                    first.obj,
                    first.selector_line,
                    first.selector_end_line,
                    format!("selector of {}", describe(first.obj)),
                ),
                pod_labels_subject(second),
            ],
        ),
        Collision::IdenticalLabels => (
            format!(
                "{} and {} have identical pod labels ({})",
                describe(first.obj),
                describe(second.obj),
                display_labels(&first.pod_labels)
            ),
            vec![pod_labels_subject(first), pod_labels_subject(second)],
        ),
    }
}

/// The Services (with a selector) that select a workload.
pub fn services_selecting<'s, 'a>(
    index: &'s Index<'a>,
    workload: &'s Workload<'a>,
) -> impl Iterator<Item = &'s Service<'a>> {
    index.services_selecting(workload)
}

/// The workloads a Service selects.
pub fn selected_workloads<'s, 'a>(index: &'s Index<'a>, service: &'s Service<'a>) -> Vec<&'s Workload<'a>> {
    index.selected_by(service).collect()
}

/// For each port of a Service, the selected workloads of its own release that
/// do not declare its target (M5B for normal Services, M5C for headless ones).
/// Services that select nothing are M5D's business and are skipped here;
/// workloads of other releases are M4G's.
pub fn undeclared_targets<'s, 'a>(
    index: &'s Index<'a>,
    service: &'s Service<'a>,
) -> Vec<(&'s ServicePort, Vec<&'s Workload<'a>>)> {
    let mut selected = selected_workloads(index, service);
    selected.retain(|w| w.obj.input == service.obj.input);
    if selected.is_empty() {
        return Vec::new();
    }
    service
        .ports
        .iter()
        .filter_map(|port| {
            let lacking: Vec<_> = selected
                .iter()
                .copied()
                .filter(|w| match &port.target {
                    TargetPort::Number(n) => !w.declares_number(*n, port.protocol),
                    TargetPort::Name(name) => !w.declares_name(name, port.protocol),
                })
                .collect();
            (!lacking.is_empty()).then_some((port, lacking))
        })
        .collect()
}

/// The finding for one Service port whose target is not declared.
pub fn undeclared_target_finding<'a>(
    check: &'static super::CheckInfo,
    service: &Service<'a>,
    port: &ServicePort,
    lacking: &[&Workload<'a>],
) -> super::Finding<'a> {
    let what = match &port.target {
        TargetPort::Number(n) => format!("port {n}/{}", port.protocol),
        TargetPort::Name(name) => format!("the port named {name:?} ({})", port.protocol),
    };
    let names: Vec<String> = lacking.iter().map(|w| describe(w.obj)).collect();
    let mut subjects = vec![Subject::block(
        service.obj,
        port.line,
        port.end_line,
        format!("{} port {} targets {}", describe(service.obj), port.port, port.target),
    )];
    subjects.extend(lacking.iter().map(|w| {
        let declared: Vec<String> = w
            .ports()
            .map(|p| match &p.name {
                Some(name) => format!("{}/{} ({name})", p.number, p.protocol),
                None => format!("{}/{}", p.number, p.protocol),
            })
            .collect();
        let declared = if declared.is_empty() {
            "no ports".to_string()
        } else {
            declared.join(", ")
        };
        Subject::new(
            w.obj,
            w.containers_line,
            format!("{} declares {declared}", describe(w.obj)),
        )
    }));
    super::Finding::new(
        check,
        format!(
            "{} port {} targets {what}, which {} not declare",
            describe(service.obj),
            port.port,
            if names.len() == 1 { format!("{} does", names[0]) } else { format!("{} do", names.join(", ")) }
        ),
        format!(
            "declare {what} in the container that serves it (containers[].ports), or point targetPort at a declared port"
        ),
        subjects,
    )
    .with_port(port.port)
    .exposing(match &port.target {
        TargetPort::Number(n) => vec![(*n, port.protocol)],
        // A name no workload declares: no number to ask about.
        TargetPort::Name(_) => Vec::new(),
    })
}

/// Is `service` the governing Service of `workload`: the headless Service a
/// StatefulSet names in `spec.serviceName`, which gives its pods DNS names?
pub fn is_governing_service(workload: &Workload<'_>, service: &Service<'_>) -> bool {
    workload.obj.kind == "StatefulSet"
        && service.headless
        && workload.obj.namespace == service.obj.namespace
        && workload
            .obj
            .root
            .path(&["spec", "serviceName"])
            .and_then(crate::yaml::Node::scalar_text)
            == Some(service.obj.name.as_str())
}

/// The probe runs in which this workload's pods were probed (empty for a
/// static audit, or when none of its pods became ready).
pub fn probed_runs(index: &Index<'_>, workload: &Workload<'_>) -> Vec<RunPorts> {
    let Some(observations) = index.runtime else {
        return Vec::new();
    };
    observations
        .ports_per_run(&workload.reference())
        .into_iter()
        .flatten()
        .collect()
}

/// Why an open, undeclared port is dynamic (M2) rather than merely undeclared (M1).
pub enum Dynamic {
    /// Open in some probe runs and not in others.
    MovedBetweenRuns,
    /// In the pod's ephemeral port range.
    EphemeralRange(u16, u16),
}

/// An open port no container of the workload declares.
pub struct UndeclaredPort {
    pub protocol: Protocol,
    pub port: u16,
    /// Containers seen holding the socket.
    pub holders: Vec<String>,
    /// Processes seen holding it.
    pub processes: Vec<ProcessName>,
    pub dynamic: Option<Dynamic>,
}

/// The open ports of a probed workload that it does not declare (M1, M2).
pub fn undeclared_open_ports(index: &Index<'_>, workload: &Workload<'_>) -> Vec<UndeclaredPort> {
    let runs = probed_runs(index, workload);
    let mut all: BTreeMap<PortKey, BTreeSet<String>> = BTreeMap::new();
    let mut processes: BTreeMap<PortKey, BTreeSet<ProcessName>> = BTreeMap::new();
    for run in &runs {
        for (key, holders) in &run.ports {
            all.entry(*key).or_default().extend(holders.iter().cloned());
        }
        for (key, held_by) in &run.processes {
            processes.entry(*key).or_default().extend(held_by.iter().cloned());
        }
    }
    all.into_iter()
        .filter(|((protocol, port), _)| !workload.declares_number(*port, *protocol))
        .map(|((protocol, port), holders)| {
            let in_every_run = runs.iter().all(|r| r.ports.contains_key(&(protocol, port)));
            let ephemeral = runs
                .iter()
                .filter_map(|r| r.ephemeral_range)
                .find(|(low, high)| (*low..=*high).contains(&port));
            let dynamic = if !in_every_run {
                Some(Dynamic::MovedBetweenRuns)
            } else {
                ephemeral.map(|(low, high)| Dynamic::EphemeralRange(low, high))
            };
            UndeclaredPort {
                protocol,
                port,
                holders: holders.into_iter().collect(),
                processes: processes
                    .remove(&(protocol, port))
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
                dynamic,
            }
        })
        .collect()
}

/// " (container `web`, process `epmd` (`epmd -daemon`))", with each part
/// only when known; "" when nothing is.
pub fn holders_text(holders: &[String], processes: &[ProcessName]) -> String {
    let mut parts = Vec::new();
    match holders {
        [] => {}
        [one] => parts.push(format!("container `{one}`")),
        many => parts.push(format!(
            "containers {}",
            many.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        )),
    }
    match processes {
        [] => {}
        [one] => parts.push(format!("process {one}")),
        many => parts.push(format!(
            "processes {}",
            many.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        )),
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// The port a Service port's target resolves to in a workload: the number,
/// or the number of the container port carrying that name.
pub fn resolve_target(workload: &Workload<'_>, port: &ServicePort) -> Option<u16> {
    match &port.target {
        TargetPort::Number(n) => Some(*n),
        TargetPort::Name(name) => workload.port_named(name, port.protocol),
    }
}

/// Selected workloads (own release, probed) in which a Service port's target is
/// not open in any probe run: M5A, and the runtime half of M5C.
pub fn closed_targets<'s, 'a>(
    index: &'s Index<'a>,
    service: &'s Service<'a>,
) -> Vec<(&'s ServicePort, Vec<(&'s Workload<'a>, u16)>)> {
    if index.runtime.is_none() {
        return Vec::new();
    }
    let selected: Vec<_> = selected_workloads(index, service)
        .into_iter()
        .filter(|w| w.obj.input == service.obj.input)
        .collect();
    service
        .ports
        .iter()
        // The probe reads TCP and UDP sockets only: an SCTP target is never judged closed.
        .filter(|port| port.protocol != Protocol::Sctp)
        .filter_map(|port| {
            let protocol = port.protocol;
            let closed: Vec<_> = selected
                .iter()
                .filter_map(|w| {
                    let target = resolve_target(w, port)?;
                    let runs = probed_runs(index, w);
                    (!runs.is_empty() && !runs.iter().any(|r| r.ports.contains_key(&(protocol, target))))
                        .then_some((*w, target))
                })
                .collect();
            (!closed.is_empty()).then_some((port, closed))
        })
        .collect()
}

/// The finding for a Service port whose target is closed at runtime.
pub fn closed_target_finding<'a>(
    check: &'static super::CheckInfo,
    service: &Service<'a>,
    port: &ServicePort,
    closed: &[(&Workload<'a>, u16)],
) -> super::Finding<'a> {
    let mut subjects = vec![Subject::block(
        service.obj,
        port.line,
        port.end_line,
        format!("{} port {} targets {}", describe(service.obj), port.port, port.target),
    )];
    subjects.extend(closed.iter().map(|(w, target)| {
        Subject::new(
            w.obj,
            w.containers_line,
            format!(
                "no process of {} listens on {target}/{}",
                describe(w.obj),
                port.protocol
            ),
        )
    }));
    let names: Vec<String> = closed
        .iter()
        .map(|(w, t)| format!("{} ({t}/{})", describe(w.obj), port.protocol))
        .collect();
    super::Finding::new(
        check,
        format!(
            "{} port {} targets a port nothing listens on at runtime: {}",
            describe(service.obj),
            port.port,
            names.join(", ")
        ),
        "point targetPort at the port the application really opens, or configure the application to listen on it"
            .into(),
        subjects,
    )
    .with_port(port.port)
    .exposing(closed.iter().map(|(_, target)| (*target, port.protocol)).collect())
}
