//! Ports reached from outside the pod network: targets of NodePort and
//! LoadBalancer Services, Ingress backends, and Services the API server
//! calls (webhooks, aggregated APIs, CRD conversion). Their policies allow
//! them from anywhere.

use super::{describe, display_port, targets_of, Port};
use crate::model::{BackendPort, Index, MonitorPort, MonitorTargets, Protocol, Service, ServicePort};
use std::collections::{BTreeMap, BTreeSet};

/// (workload index, port) -> why it is exposed.
pub(super) type Exposed = BTreeMap<(usize, Port), Vec<String>>;

/// Ingress backends whose controller is a workload of the same release:
/// (backend workload, port) -> (the controllers, why).
pub(super) type Proxied = BTreeMap<(usize, Port), (BTreeSet<usize>, Vec<String>)>;

/// The exposed ports, and the Ingress backends the release's own
/// controllers proxy to (`controllers`: per workload, why it is one).
pub(super) fn find(index: &Index<'_>, controllers: &[Option<String>]) -> (Exposed, Proxied) {
    let mut exposed = Exposed::new();
    let mut proxied = Proxied::new();
    for service in &index.services {
        let kind = service.service_type();
        if kind != "NodePort" && kind != "LoadBalancer" {
            continue;
        }
        for (wi, port, target) in forwarded(index, service, |_| true) {
            let why = format!(
                "port {} is the target of {} (type {kind}) port {}: reachable from outside the cluster, allowed from anywhere",
                display_port(&target),
                describe(service.obj),
                port.port
            );
            push_once(exposed.entry((wi, target)).or_default(), why);
        }
    }
    // The API server calls webhooks and aggregated APIs; it is not a pod, so
    // no podSelector can name it.
    for hook in &index.webhooks {
        let services = index
            .services
            .iter()
            .filter(|s| s.obj.namespace == hook.namespace && s.obj.name == hook.service);
        for service in services {
            for (wi, port, target) in forwarded(index, service, |p| p.port == hook.port) {
                let why = format!(
                    "port {} is the target of {} port {}, which {} tells the API server to call: the API server is not a pod, allowed from anywhere",
                    display_port(&target),
                    describe(service.obj),
                    port.port,
                    describe(hook.obj)
                );
                push_once(exposed.entry((wi, target)).or_default(), why);
            }
        }
    }
    for ingress in &index.ingresses {
        // The class is the release's own: its controllers are the clients.
        let own_class = ingress.class.as_ref().filter(|class| {
            index
                .routing_classes
                .iter()
                .any(|c| c.obj.input == ingress.obj.input && c.obj.kind == "IngressClass" && &c.obj.name == *class)
        });
        let own_controllers: BTreeSet<usize> = match own_class {
            Some(_) => (0..index.workloads.len())
                .filter(|&wi| controllers[wi].is_some() && index.workloads[wi].obj.input == ingress.obj.input)
                .collect(),
            None => BTreeSet::new(),
        };
        for (name, port) in &ingress.backends {
            let services = index
                .services
                .iter()
                .filter(|s| s.obj.namespace == ingress.obj.namespace && &s.obj.name == name);
            for service in services {
                let named = |p: &ServicePort| match port {
                    BackendPort::Number(n) => p.port == *n,
                    BackendPort::Name(n) => p.name.as_deref() == Some(n.as_str()),
                    BackendPort::Any => true,
                };
                for (wi, service_port, target) in forwarded(index, service, named) {
                    let backend = format!(
                        "port {} is the backend of {} (through {} port {})",
                        display_port(&target),
                        describe(ingress.obj),
                        describe(service.obj),
                        service_port.port
                    );
                    if let Some(class) = own_class.filter(|_| !own_controllers.is_empty()) {
                        let names: Vec<String> = own_controllers
                            .iter()
                            .map(|&c| describe(index.workloads[c].obj))
                            .collect();
                        let why = format!(
                            "{backend}, of IngressClass `{class}`, which {} of the release implements: allowed from it",
                            names.join(", ")
                        );
                        let entry = proxied.entry((wi, target)).or_default();
                        entry.0.extend(&own_controllers);
                        push_once(&mut entry.1, why);
                    } else {
                        let why = format!(
                            "{backend}: its ingress controller runs outside the release, allowed from anywhere"
                        );
                        push_once(exposed.entry((wi, target)).or_default(), why);
                    }
                }
            }
        }
    }
    (exposed, proxied)
}

/// What `service` forwards, on its ports that `which` keeps: (selected
/// workload, Service port, target port on that workload).
fn forwarded<'s>(
    index: &Index<'_>,
    service: &'s Service<'_>,
    which: impl Fn(&ServicePort) -> bool,
) -> Vec<(usize, &'s ServicePort, Port)> {
    let mut out = Vec::new();
    for port in service.ports.iter().filter(|p| which(p)) {
        for (wi, workload) in index.workloads.iter().enumerate().filter(|(_, w)| service.selects(w)) {
            for number in targets_of(index, service, port, workload).0 {
                out.push((wi, port, (port.protocol, number)));
            }
        }
    }
    out
}

/// An Ingress routes several paths to one backend: one reason each.
fn push_once(whys: &mut Vec<String>, why: String) {
    if !whys.contains(&why) {
        whys.push(why);
    }
}

/// Ports Prometheus scrapes: named by a ServiceMonitor or PodMonitor of the
/// manifests, or by a pod's `prometheus.io/scrape: "true"` and
/// `prometheus.io/port` annotations. (workload, port) -> why.
pub(super) fn scraped(index: &Index<'_>) -> Exposed {
    let mut scraped = Exposed::new();
    for (wi, workload) in index.workloads.iter().enumerate() {
        let annotation = |key: &str| workload.pod_annotations.get(key).map(String::as_str);
        if annotation("prometheus.io/scrape") == Some("true") {
            if let Some(port) = annotation("prometheus.io/port").and_then(|p| p.trim().parse::<u16>().ok()) {
                let why = format!(
                    "port {port}/TCP is scraped by Prometheus (the pods' prometheus.io/scrape and prometheus.io/port annotations)"
                );
                scraped.entry((wi, (Protocol::Tcp, port))).or_default().push(why);
            }
        }
    }
    // The same annotations on a Service: Prometheus's
    // `kubernetes-service-endpoints` job scrapes the pods behind it, on the
    // annotated port, else on every target port. Charts often annotate the
    // Service's own port number: that is its target port.
    for service in &index.services {
        if service.obj.annotation("prometheus.io/scrape") != Some("true") {
            continue;
        }
        let port = service
            .obj
            .annotation("prometheus.io/port")
            .and_then(|p| p.trim().parse::<u16>().ok());
        for (wi, workload) in index.workloads.iter().enumerate().filter(|(_, w)| service.selects(w)) {
            let numbers: Vec<u16> = match port {
                Some(port) => match service.ports.iter().find(|sp| sp.port == port) {
                    Some(sp) => super::targets_of(index, service, sp, workload).0,
                    None => vec![port],
                },
                None => super::service_targets(index, service, workload)
                    .into_iter()
                    .filter(|(protocol, _)| *protocol == Protocol::Tcp)
                    .map(|(_, n)| n)
                    .collect(),
            };
            for number in numbers {
                let why = format!(
                    "port {number}/TCP is scraped by Prometheus (the prometheus.io/scrape annotation of {})",
                    describe(service.obj)
                );
                scraped.entry((wi, (Protocol::Tcp, number))).or_default().push(why);
            }
        }
    }
    for monitor in &index.monitors {
        let mut add = |wi: usize, number: u16, via: String| {
            let target = (Protocol::Tcp, number);
            let why = format!(
                "port {} is scraped by {}{via}",
                display_port(&target),
                describe(monitor.obj)
            );
            scraped.entry((wi, target)).or_default().push(why);
        };
        match &monitor.targets {
            MonitorTargets::Services(selector) => {
                let services = index.services.iter().filter(|s| {
                    monitor.watches(&s.obj.namespace)
                        && selector.matches(&crate::model::selector::labels_of_object(s.obj))
                });
                for service in services {
                    for (wi, workload) in index.workloads.iter().enumerate().filter(|(_, w)| service.selects(w)) {
                        for port in &monitor.ports {
                            let numbers: Vec<u16> = match port {
                                MonitorPort::Name(name) => service
                                    .ports
                                    .iter()
                                    .filter(|p| p.name.as_deref() == Some(name.as_str()))
                                    .flat_map(|p| targets_of(index, service, p, workload).0)
                                    .collect(),
                                MonitorPort::Number(n) => vec![*n],
                            };
                            for number in numbers {
                                add(wi, number, format!(" through {}", describe(service.obj)));
                            }
                        }
                    }
                }
            }
            MonitorTargets::Pods(selector) => {
                let pods = index
                    .workloads
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| monitor.watches(&w.obj.namespace) && w.pods_selected_by(selector));
                for (wi, workload) in pods {
                    for port in &monitor.ports {
                        let number = match port {
                            MonitorPort::Name(name) => workload.port_named(name, Protocol::Tcp),
                            MonitorPort::Number(n) => Some(*n),
                        };
                        if let Some(number) = number {
                            add(wi, number, String::new());
                        }
                    }
                }
            }
        }
    }
    scraped
}
