//! Ports reached from outside the pod network: targets of NodePort and
//! LoadBalancer Services, Ingress backends, and Services the API server
//! calls (webhooks, aggregated APIs, CRD conversion). Their policies allow
//! them from anywhere.

use super::{describe, display_port, Port};
use crate::model::{BackendPort, Index, Service};
use std::collections::BTreeMap;

/// (workload index, port) -> why it is exposed.
pub(super) type Exposed = BTreeMap<(usize, Port), Vec<String>>;

pub(super) fn find(index: &Index<'_>) -> Exposed {
    let mut exposed = Exposed::new();
    let selected = |service: &Service<'_>| -> Vec<usize> {
        (0..index.workloads.len())
            .filter(|&i| service.selects(&index.workloads[i]))
            .collect()
    };
    for service in &index.services {
        let kind = service.service_type();
        if kind != "NodePort" && kind != "LoadBalancer" {
            continue;
        }
        for wi in selected(service) {
            for port in &service.ports {
                for number in service.target_numbers(port, &index.workloads[wi]) {
                    let target = (port.protocol, number);
                    let why = format!(
                        "port {} is the target of {} (type {kind}) port {}: reachable from outside the cluster, allowed from anywhere",
                        display_port(&target),
                        describe(service.obj),
                        port.port
                    );
                    exposed.entry((wi, target)).or_default().push(why);
                }
            }
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
            for service_port in service.ports.iter().filter(|p| p.port == hook.port) {
                for wi in selected(service) {
                    for number in service.target_numbers(service_port, &index.workloads[wi]) {
                        let target = (service_port.protocol, number);
                        let why = format!(
                            "port {} is the target of {} port {}, which {} tells the API server to call: the API server is not a pod, allowed from anywhere",
                            display_port(&target),
                            describe(service.obj),
                            service_port.port,
                            describe(hook.obj)
                        );
                        exposed.entry((wi, target)).or_default().push(why);
                    }
                }
            }
        }
    }
    for ingress in &index.ingresses {
        for (name, port) in &ingress.backends {
            let services = index
                .services
                .iter()
                .filter(|s| s.obj.namespace == ingress.obj.namespace && &s.obj.name == name);
            for service in services {
                let ports = service.ports.iter().filter(|p| match port {
                    BackendPort::Number(n) => p.port == *n,
                    BackendPort::Name(n) => p.name.as_deref() == Some(n.as_str()),
                    BackendPort::Any => true,
                });
                for service_port in ports {
                    for wi in selected(service) {
                        for number in service.target_numbers(service_port, &index.workloads[wi]) {
                            let target = (service_port.protocol, number);
                            let why = format!(
                                "port {} is the backend of {} (through {} port {}): ingress controllers run outside the release, allowed from anywhere",
                                display_port(&target),
                                describe(ingress.obj),
                                describe(service.obj),
                                service_port.port
                            );
                            exposed.entry((wi, target)).or_default().push(why);
                        }
                    }
                }
            }
        }
    }
    exposed
}
