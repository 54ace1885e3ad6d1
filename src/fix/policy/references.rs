//! Who talks to whom: a workload refers to a Service when the Service's name
//! or cluster DNS name appears in its env values, arguments, commands or the
//! ConfigMaps it reads.

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
    references
}

/// Texts where a workload may name the Services it talks to, with where
/// each comes from: env values, args and commands of every container, and
/// the ConfigMaps it reads.
fn referring_texts(index: &Index<'_>, workload: &Workload<'_>) -> Vec<(String, String)> {
    let mut texts = Vec::new();
    let spec = workload.pod_spec;
    let add_config_map = |texts: &mut Vec<(String, String)>, name: &str, key: Option<&str>| {
        let Some(cm) = index.config_map(name, workload.obj) else {
            return;
        };
        for (k, v) in &cm.data {
            if key.is_none_or(|key| key == k) {
                texts.push((format!("ConfigMap `{name}` key {k}"), v.clone()));
            }
        }
    };
    let containers = ["containers", "initContainers"]
        .iter()
        .flat_map(|k| spec.get(k).map(Node::as_seq).unwrap_or_default());
    for c in containers {
        let cname = c.get("name").and_then(Node::scalar_text).unwrap_or("");
        for field in ["command", "args"] {
            for arg in c.get(field).map(Node::as_seq).unwrap_or_default() {
                if let Some(text) = arg.scalar_text() {
                    texts.push((format!("the {field} of container `{cname}`"), text.to_string()));
                }
            }
        }
        for env in c.get("env").map(Node::as_seq).unwrap_or_default() {
            let name = env.get("name").and_then(Node::scalar_text).unwrap_or("");
            if names_no_host(name) {
                continue;
            }
            if let Some(value) = env.get("value").and_then(Node::scalar_text) {
                texts.push((format!("env {name} of container `{cname}`"), value.to_string()));
            }
            if let Some(r) = env.path(&["valueFrom", "configMapKeyRef"]) {
                if let Some(cm) = r.get("name").and_then(Node::scalar_text) {
                    add_config_map(&mut texts, cm, r.get("key").and_then(Node::scalar_text));
                }
            }
        }
        for from in c.get("envFrom").map(Node::as_seq).unwrap_or_default() {
            if let Some(cm) = from.path(&["configMapRef", "name"]).and_then(Node::scalar_text) {
                add_config_map(&mut texts, cm, None);
            }
        }
    }
    for volume in spec.get("volumes").map(Node::as_seq).unwrap_or_default() {
        if let Some(cm) = volume.path(&["configMap", "name"]).and_then(Node::scalar_text) {
            add_config_map(&mut texts, cm, None);
        }
        for source in volume
            .path(&["projected", "sources"])
            .map(Node::as_seq)
            .unwrap_or_default()
        {
            if let Some(cm) = source.path(&["configMap", "name"]).and_then(Node::scalar_text) {
                add_config_map(&mut texts, cm, None);
            }
        }
    }
    texts
}

/// Whether an environment variable's name says its value is not an
/// address (`POSTGRES_DB`, `MYSQL_DATABASE`, `REPMGR_NODE_NAME`,
/// `DEFAULT_SHUTDOWN_IMAGE`): a database, user or image named like a
/// Service is not a reference to it.
fn names_no_host(variable: &str) -> bool {
    const NOT_ADDRESSES: [&str; 18] = [
        "NAME", "USER", "DBUSER", "USERNAME", "PASSWORD", "PASSWD", "PASS", "DBPASS", "SECRET", "TOKEN", "KEY",
        "DATABASE", "DBNAME", "DB", "IMAGE", "PATH", "DIR", "FILE",
    ];
    let upper = variable.to_ascii_uppercase();
    let last = upper.rsplit(['_', '.', '-']).next().unwrap_or(&upper);
    NOT_ADDRESSES.contains(&last)
}

/// Host-name-like tokens of a text: runs of letters, digits, `-`, `.` (and
/// `_`, which no host name has, so `db_host` is not read as `db`), in the
/// places a host can be. The text is cut into words (at blanks, quotes,
/// `=`, `,`, `;` and brackets); a word that starts with `/` is a file path
/// (`/opt/bitnami/wordpress` names no Service), and of a URL only the
/// authority counts: `http://db.shop:5432/x` gives `db.shop` and `5432`.
/// `ns/svc` stays two tokens (`--default-backend-service=ns/svc`).
pub(super) fn hostnames(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || "\"'`=,;()[]{}<>".contains(c))
        .filter(|word| !word.starts_with('/'))
        .map(|word| match word.split_once("://") {
            Some((_, rest)) => rest.split('/').next().unwrap_or_default(),
            None => word,
        })
        .flat_map(|word| word.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))))
        .map(|t| t.trim_matches('.'))
        .filter(|t| !t.is_empty())
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
