//! Who talks to whom: a workload refers to a Service when the Service's name
//! or cluster DNS name appears in its env values, arguments, commands or the
//! ConfigMaps it reads.

use super::texts::{hostnames, referring_texts};
use crate::model::yaml::Node;
use crate::model::{Index, Service, Workload};
use std::collections::BTreeMap;

/// Per Service (index in `index.services`): the workloads (index in
/// `index.workloads`) that refer to it, with where. A workload behind the
/// Service itself (TLS names, `--publish-service`, peers of a cluster) is
/// listed too: it may call its peers, but it is never taken for the
/// Service's clients (see [`clients`]).
pub(super) type References = BTreeMap<usize, Vec<(usize, String)>>;

/// The workloads that refer to Service `si` and are not behind it.
pub(super) fn clients<'r>(index: &Index<'_>, references: &'r References, si: usize) -> Vec<&'r (usize, String)> {
    let service = &index.services[si];
    references
        .get(&si)
        .into_iter()
        .flatten()
        .filter(|(wi, _)| !service.selects(&index.workloads[*wi]))
        .collect()
}

/// The workloads behind Service `si` that name it themselves: peers of a
/// cluster (or TLS names, `--publish-service`), which may call each other.
pub(super) fn peers<'r>(index: &Index<'_>, references: &'r References, si: usize) -> Vec<&'r (usize, String)> {
    let service = &index.services[si];
    references
        .get(&si)
        .into_iter()
        .flatten()
        .filter(|(wi, _)| service.selects(&index.workloads[*wi]))
        .collect()
}

/// Why `workload` calls the Kubernetes API server, if it does: its
/// ServiceAccount is bound by a (Cluster)RoleBinding of the manifests, or it
/// takes part in leader election.
pub(super) fn calls_api_server(index: &Index<'_>, workload: &Workload<'_>) -> Option<String> {
    let account = workload.service_account();
    if let Some(binding) = index
        .bindings
        .iter()
        .find(|b| b.binds(&workload.obj.namespace, account))
    {
        return Some(format!(
            "its ServiceAccount `{account}` is bound by {} `{}`",
            binding.obj.kind, binding.obj.name
        ));
    }
    let spec = workload.pod_spec;
    let leader_election = ["containers", "initContainers"]
        .iter()
        .flat_map(|k| spec.get(k).map(Node::as_seq).unwrap_or_default())
        .flat_map(|c| ["command", "args"].map(|f| c.get(f).map(Node::as_seq).unwrap_or_default()))
        .flatten()
        .filter_map(Node::scalar_text)
        .filter(|arg| !arg.ends_with("=false"))
        .find(|arg| arg.starts_with("--leader-elect") || arg.starts_with("--enable-leader-election"));
    leader_election.map(|arg| format!("it takes part in leader election (`{arg}`)"))
}

pub(super) fn find(index: &Index<'_>) -> References {
    let mut references = References::new();
    for (wi, workload) in index.workloads.iter().enumerate() {
        let texts = referring_texts(index, workload);
        for (si, service) in index.services.iter().enumerate() {
            let found = texts
                .iter()
                .find(|(_, text)| hostnames(text).any(|h| refers_to(h, service, &workload.obj.namespace)));
            if let Some((place, _)) = found {
                references.entry(si).or_default().push((wi, place.clone()));
            }
        }
    }
    // A reference to an ExternalName alias of a Service of the manifests is
    // a reference to that Service.
    for (alias_index, alias) in index.services.iter().enumerate() {
        let (Some(target), Some(referrers)) = (aliased_service(index, alias), references.get(&alias_index).cloned())
        else {
            continue;
        };
        for (wi, place) in referrers {
            let place = format!("{place} (through ExternalName `{}`)", alias.obj.name);
            references.entry(target).or_default().push((wi, place));
        }
    }
    references
}

/// The Service of the manifests that an ExternalName Service aliases
/// (`externalName: db.shop.svc.cluster.local`), if any.
pub(super) fn aliased_service(index: &Index<'_>, alias: &Service<'_>) -> Option<usize> {
    let namespace = alias.aliased_namespace()?;
    let name = alias.external_name()?.split('.').next()?;
    index
        .services
        .iter()
        .position(|s| s.obj.name == name && s.obj.namespace == namespace && s.external_name().is_none())
}

/// Does a host name name this Service, as seen from a pod in
/// `from_namespace`? `svc` (same namespace), `svc.ns`, `svc.ns.svc`,
/// `svc.ns.svc.<cluster domain>`, and for headless Services the same with
/// a pod's host name in front (`kafka-0.kafka-headless`).
pub(super) fn refers_to(host: &str, service: &Service<'_>, from_namespace: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let name = service.obj.name.as_str();
    let ns = service.obj.namespace.as_str();
    let max_start = if service.headless { 1 } else { 0 };
    (0..=max_start.min(labels.len().saturating_sub(1))).any(|start| {
        if labels[start] != name {
            return false;
        }
        match &labels[start + 1..] {
            [] => ns == from_namespace,
            [n] => *n == ns,
            [n, "svc", ..] => *n == ns,
            _ => false,
        }
    })
}

/// Why `workload` is an ingress controller or gateway (it proxies to
/// backends in any namespace), if it is: its arguments name an
/// IngressClass or GatewayClass of the release (or its controller), or a
/// class of its own (`--ingress-class`, `--controller-class`, Traefik's
/// Kubernetes providers); or the release ships such a class and a
/// NodePort/LoadBalancer Service selects the workload (the data plane, like
/// Contour's Envoy).
pub(super) fn ingress_controller(index: &Index<'_>, workload: &Workload<'_>) -> Option<String> {
    let spec = workload.pod_spec;
    let args: Vec<&str> = ["containers", "initContainers"]
        .iter()
        .flat_map(|k| spec.get(k).map(Node::as_seq).unwrap_or_default())
        .flat_map(|c| ["command", "args"].map(|f| c.get(f).map(Node::as_seq).unwrap_or_default()))
        .flatten()
        .filter_map(Node::scalar_text)
        .collect();
    const CONTROLLER_FLAGS: [&str; 4] = [
        "--ingress-class",
        "--controller-class",
        "--providers.kubernetesingress",
        "--providers.kubernetesgateway",
    ];
    if let Some(arg) = args.iter().find(|a| CONTROLLER_FLAGS.iter().any(|f| a.starts_with(f))) {
        return Some(format!("it is an ingress controller (`{arg}`)"));
    }
    let classes: Vec<_> = index
        .routing_classes
        .iter()
        .filter(|c| c.obj.input == workload.obj.input)
        .collect();
    for class in &classes {
        let named = args.iter().any(|a| {
            (!class.controller.is_empty() && a.contains(class.controller.as_str()))
                || (a.contains("class") && a.ends_with(&format!("={}", class.obj.name)))
        });
        if named {
            return Some(format!("it implements {} `{}`", class.obj.kind, class.obj.name));
        }
    }
    let exposed = index.services.iter().any(|s| {
        matches!(s.service_type(), "NodePort" | "LoadBalancer")
            && s.obj.input == workload.obj.input
            && s.selects(workload)
    });
    match classes.first() {
        Some(class) if exposed => Some(format!(
            "the release ships {} `{}` and a NodePort/LoadBalancer Service selects it (the proxy)",
            class.obj.kind, class.obj.name
        )),
        _ => None,
    }
}
