//! The flows an application needs, as its manifests say: what a policy set
//! must allow for the application to keep working. Read from the same
//! evidence the generator uses (Service references, exposure, webhooks,
//! RBAC bindings, monitors, ingress classes), so that the engine
//! ([`crate::reach::flows::verify`]) can check any policy set, generated or
//! hand-written, against it. The question's types ([`Need`], [`Source`],
//! [`Destination`]) are the engine's ([`crate::reach::need`]).

use super::exposure;
use super::references::{aliased_service, clients, names_port, peers};
use super::{describe, display_port, targets_of, Context, PolicyOptions, Port};
use crate::model::{control_plane_pods, Index, Protocol, Service, ServicePods, TargetPort, Workload};
use crate::reach::need::{Destination, Need, Source};

/// Every flow the manifests say the application needs. `options` gives the
/// API server's ports (`--api-server`) and the monitoring namespace. Read
/// before any generated policy is added: the chart's own policies, where
/// they restrict a side, replace the guesses on that side.
pub fn needs(index: &Index<'_>, options: &PolicyOptions) -> Vec<Need> {
    let ctx = Context::new(index);
    let mut needs = Vec::new();
    // Where the chart's own policies restrict a side, they say what is
    // needed there: no guess is added on that side.
    let ingress_restricted = |w: &Workload<'_>| index.policies.iter().any(|p| p.ingress.is_some() && p.selects(w));
    let release_of = |backend: usize| Source::Release {
        release: index.release_of(index.workloads[backend].obj).to_string(),
        members: ctx
            .release_clients(backend)
            .into_iter()
            .map(|w| index.workloads[w].reference())
            .collect(),
    };
    let to_workload = |w: &Workload<'_>, port: Port, from: Source, why: String, guessed: bool| Need {
        from,
        to: Destination::Workload(w.reference()),
        protocol: port.0,
        port: Some(port.1),
        why,
        guessed,
        observed: false,
    };
    for (si, service) in index.services.iter().enumerate() {
        if let Some(host) = service.external_name() {
            if aliased_service(index, service).is_some() {
                // Its references count for the Service it aliases.
                continue;
            }
            let target = match service.aliased_namespace() {
                Some(namespace) => Destination::Outside(format!("namespace {namespace}")),
                None => Destination::Host(host.to_string()),
            };
            let ports: Vec<(Protocol, Option<u16>)> = match service.ports.as_slice() {
                [] => vec![(Protocol::Tcp, None)],
                ports => ports.iter().map(|p| (p.protocol, Some(p.port))).collect(),
            };
            for (client, place) in ctx.references.get(&si).into_iter().flatten() {
                let client = &index.workloads[*client];
                for (protocol, port) in &ports {
                    needs.push(Need {
                        from: Source::Workload(client.reference()),
                        to: target.clone(),
                        protocol: *protocol,
                        port: *port,
                        why: format!(
                            "{} names {} in {place}, an ExternalName for `{host}`",
                            describe(client.obj),
                            describe(service.obj)
                        ),
                        guessed: false,
                        observed: false,
                    });
                }
            }
            continue;
        }
        let service_clients = clients(index, &ctx.references, si);
        if !index.workloads.iter().any(|w| service.selects(w)) {
            let names = |wi: usize, service_port: u16| names_port(&ctx.named_ports, si, wi, service_port);
            needs.extend(to_pods_of(index, service, &service_clients, names));
            continue;
        }
        let backends = index
            .workloads
            .iter()
            .enumerate()
            .filter(|(_, w)| w.obj.input == service.obj.input && service.selects(w));
        let service_peers = peers(index, &ctx.references, si);
        for (backend_index, backend) in backends {
            // A port number netaudit assumes (a named target no container
            // declares) is not held against the chart's own policies.
            let ports = service.ports.iter().flat_map(|sp| {
                let (numbers, assumed) = targets_of(index, service, sp, backend);
                let guessed_against_chart = assumed && ingress_restricted(backend);
                numbers
                    .into_iter()
                    .filter(move |_| !guessed_against_chart)
                    .map(move |n| (sp.port, (sp.protocol, n)))
            });
            // A reference that names ports (`zk:2181`) needs those only.
            let names = |wi: usize, service_port: u16| names_port(&ctx.named_ports, si, wi, service_port);
            for (service_port, port) in ports {
                for (client, place) in service_clients.iter().filter(|(c, _)| names(*c, service_port)) {
                    let client = &index.workloads[*client];
                    let why = format!("{} names {} in {place}", describe(client.obj), describe(service.obj));
                    needs.push(to_workload(
                        backend,
                        port,
                        Source::Workload(client.reference()),
                        why,
                        false,
                    ));
                }
                if service_clients.is_empty() && !ingress_restricted(backend) {
                    let why = format!(
                        "port {} is the target of {}, whose clients nothing names",
                        display_port(&port),
                        describe(service.obj)
                    );
                    let (from, why) = match release_of(backend_index) {
                        Source::Release { members, .. } if members.is_empty() => (
                            Source::Outside,
                            format!("{why}, and no other workload of the release can be one: they are elsewhere"),
                        ),
                        release => (release, why),
                    };
                    needs.push(to_workload(backend, port, from, why, true));
                }
                for (peer, place) in service_peers.iter().filter(|(p, _)| names(*p, service_port)) {
                    let peer = &index.workloads[*peer];
                    let why = format!(
                        "{} names its own {} in {place} (peers of a cluster)",
                        describe(peer.obj),
                        describe(service.obj)
                    );
                    needs.push(to_workload(
                        backend,
                        port,
                        Source::Workload(peer.reference()),
                        why,
                        false,
                    ));
                }
            }
        }
    }
    let monitoring_is_audited = options
        .monitoring_namespace
        .as_ref()
        .is_some_and(|ns| index.workloads.iter().any(|w| &w.obj.namespace == ns));
    let scraped = if monitoring_is_audited {
        exposure::Exposed::new()
    } else {
        ctx.scraped.clone()
    };
    for ((wi, port), (controllers, whys)) in &ctx.proxied {
        for &controller in controllers {
            let from = Source::Workload(index.workloads[controller].reference());
            needs.push(to_workload(&index.workloads[*wi], *port, from, whys.join("; "), false));
        }
    }
    for ((wi, port), whys) in ctx.exposed.iter().chain(scraped.iter()) {
        let why = whys.join("; ");
        needs.push(to_workload(&index.workloads[*wi], *port, Source::Outside, why, false));
    }
    // As `--api-server` says; a range without a port, or none given: the
    // two ports API servers listen on.
    let mut api_ports: Vec<u16> = options
        .api_server
        .iter()
        .flat_map(|a| a.port.map_or(vec![443, 6443], |p| vec![p]))
        .collect();
    if api_ports.is_empty() {
        api_ports = vec![443, 6443];
    }
    api_ports.sort_unstable();
    api_ports.dedup();
    for (wi, workload) in index.workloads.iter().enumerate() {
        let from = Source::Workload(workload.reference());
        let to = |to: Destination, protocol: Protocol, port: Option<u16>, why: String| Need {
            from: from.clone(),
            to,
            protocol,
            port,
            why,
            guessed: false,
            observed: false,
        };
        if ctx.names_a_service[wi] {
            let why = format!("{} names Services by their DNS names", describe(workload.obj));
            needs.push(to(
                Destination::Outside("cluster DNS".to_string()),
                Protocol::Udp,
                Some(53),
                why,
            ));
        }
        if let Some(why) = ctx.api_callers[wi].clone() {
            for port in &api_ports {
                needs.push(to(Destination::ApiServer, Protocol::Tcp, Some(*port), why.clone()));
            }
        }
        if let Some(why) = &ctx.controllers[wi] {
            let why = format!("{why}: it proxies to backends in any namespace");
            needs.push(to(
                Destination::Outside("other namespaces".to_string()),
                Protocol::Tcp,
                None,
                why,
            ));
        }
        if let Some(scraping) = &ctx.scraping[wi] {
            let why = format!(
                "{} scrapes what it discovers at runtime: {scraping}",
                describe(workload.obj)
            );
            // Namespaces of the manifests hold only the manifests' pods,
            // whose scraped ports have needs of their own.
            let elsewhere = scraping
                .namespaces
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| index.workloads_in(n).next().is_none()));
            if scraping.scrapes_pods() && elsewhere {
                needs.push(to(
                    Destination::Outside(scraping.targets()),
                    Protocol::Tcp,
                    None,
                    why.clone(),
                ));
            }
            // What the manifests say is scraped, it scrapes where it discovers.
            for ((target, port), whys) in &ctx.scraped {
                let target = &index.workloads[*target];
                let discovered = scraping
                    .namespaces
                    .as_ref()
                    .is_none_or(|names| names.contains(&target.obj.namespace));
                if discovered && scraping.scrapes_pods() {
                    let why = format!("{why}; {}", whys.join("; "));
                    needs.push(to_workload(target, *port, from.clone(), why, false));
                }
            }
            if scraping.scrapes_nodes() {
                let (protocol, port) = super::rules::KUBELET;
                needs.push(to(
                    Destination::Outside("kubelets".to_string()),
                    protocol,
                    Some(port),
                    why,
                ));
            }
        }
        if let Some((mesh, why)) = &ctx.meshes[wi] {
            for (port, what) in mesh.control_plane {
                let why = format!(
                    "the {} proxy of {} ({why}) calls its {what}",
                    mesh.name,
                    describe(workload.obj)
                );
                needs.push(to(
                    Destination::Outside(mesh.control_plane_name()),
                    Protocol::Tcp,
                    Some(*port),
                    why,
                ));
            }
            for port in mesh.admin {
                let why = format!(
                    "port {port}/TCP is the admin port of the {} proxy of {} ({why}), scraped by the mesh's Prometheus",
                    mesh.name,
                    describe(workload.obj)
                );
                needs.push(to_workload(
                    workload,
                    (Protocol::Tcp, *port),
                    Source::Outside,
                    why,
                    false,
                ));
            }
        }
        for url in &ctx.unresolved[wi] {
            needs.push(Need {
                from: from.clone(),
                to: Destination::Unknown(format!("host {}", url.host)),
                protocol: Protocol::Tcp,
                port: url.port,
                why: format!("{} names `{}` in {}", describe(workload.obj), url.url, url.place),
                guessed: false,
                observed: false,
            });
        }
    }
    needs.extend(super::observed::needs(index, &options.observed_flows));
    needs.sort();
    needs.dedup();
    needs
}

/// The flows from each client of `service` to the pods it selects, which
/// no workload of the manifests runs (see [`Destination::ServicePods`]).
/// A selector with expressions has no single set of labels to stand in
/// for its pods: those flows are [`Destination::Unknown`].
fn to_pods_of(
    index: &Index<'_>,
    service: &Service<'_>,
    service_clients: &[&(usize, String)],
    names: impl Fn(usize, u16) -> bool,
) -> Vec<Need> {
    let Some(selector) = service.selector.as_ref().filter(|s| !s.match_labels.is_empty()) else {
        return Vec::new();
    };
    let namespace = &service.obj.namespace;
    let creator = index
        .custom_resources
        .iter()
        .filter(|r| &r.obj.namespace == namespace)
        .find(|r| r.promises(selector).is_some())
        .map(|r| format!("the pods the operator of {} creates", describe(r.obj)))
        .or_else(|| {
            control_plane_pods(namespace, selector)
                .map(|(pods, _)| format!("the cluster's own {} pods", pods.component))
        })
        .unwrap_or_else(|| "pods that no workload of these manifests runs (another release's?)".into());
    let ports: Vec<(Option<String>, Protocol, u16)> = service
        .ports
        .iter()
        .map(|sp| match &sp.target {
            TargetPort::Number(n) => (None, sp.protocol, *n),
            TargetPort::Name(name) => (Some(name.clone()), sp.protocol, sp.port),
        })
        .collect();
    let service_ports: Vec<u16> = service.ports.iter().map(|sp| sp.port).collect();
    let to = if selector.expressions.is_empty() {
        Destination::ServicePods(ServicePods {
            namespace: namespace.clone(),
            service: service.obj.name.clone(),
            labels: selector.match_labels.clone(),
            ports: ports.clone(),
        })
    } else {
        Destination::Unknown(format!(
            "pods of Service {namespace}/{} (a selector with expressions)",
            service.obj.name
        ))
    };
    let mut needs = Vec::new();
    for (wi, place) in service_clients {
        let client = &index.workloads[*wi];
        let named = ports.iter().zip(&service_ports).filter(|(_, sp)| names(*wi, **sp));
        for ((_, protocol, port), _) in named {
            needs.push(Need {
                from: Source::Workload(client.reference()),
                to: to.clone(),
                protocol: *protocol,
                port: Some(*port),
                why: format!(
                    "{} names {} in {place}, which selects {creator}",
                    describe(client.obj),
                    describe(service.obj)
                ),
                guessed: false,
                observed: false,
            });
        }
    }
    needs
}
