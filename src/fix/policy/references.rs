//! Who talks to whom: a workload refers to a Service when the Service's name
//! or cluster DNS name appears in its env values, arguments, commands or the
//! ConfigMaps it reads.

use super::describe;
use super::texts::hostnames;
use crate::model::{Index, Service, Workload};
use crate::yaml::Node;
use std::collections::{BTreeMap, BTreeSet};

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

/// Who refers to which Service; `texts`: each workload's
/// [`referring_texts`](super::texts::referring_texts), in the index's order.
pub(super) fn find(index: &Index<'_>, texts: &[Vec<(String, String)>]) -> References {
    let mut references = References::new();
    for (wi, workload) in index.workloads.iter().enumerate() {
        let texts = &texts[wi];
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

/// The Service ports a referrer names with the Service (`zk:2181`,
/// `zk-0.zk:2888:3888`, `http://web:8080`), by (Service, workload), when
/// every mention of the Service in the workload's texts names one of its
/// ports; a reference without a port (or only with ports the Service does
/// not have) is to the Service as a whole, and is not listed.
pub(super) type NamedPorts = BTreeMap<(usize, usize), BTreeSet<u16>>;

/// The [`NamedPorts`] of `references`.
pub(super) fn named_ports(index: &Index<'_>, texts: &[Vec<(String, String)>], references: &References) -> NamedPorts {
    let mut named = NamedPorts::new();
    for (&si, referrers) in references {
        let service = &index.services[si];
        for (wi, _) in referrers {
            let namespace = &index.workloads[*wi].obj.namespace;
            let mut ports = BTreeSet::new();
            let mut whole = false;
            for (_, text) in &texts[*wi] {
                for host in hostnames(text).filter(|h| refers_to(h, service, namespace)) {
                    // `hostnames` cuts `host` out of `text`: what follows it.
                    let start = (host.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
                    let rest = text.get(start + host.len()..).unwrap_or_default();
                    let named_here: Vec<u16> = ports_after(rest)
                        .into_iter()
                        .filter(|p| service.ports.iter().any(|sp| sp.port == *p))
                        .collect();
                    whole |= named_here.is_empty();
                    ports.extend(named_here);
                }
            }
            if !whole && !ports.is_empty() {
                named.insert((si, *wi), ports);
            }
        }
    }
    named
}

/// Whether workload `wi`'s reference to Service `si` takes in the Service
/// port `port`.
pub(super) fn names_port(named: &NamedPorts, si: usize, wi: usize, port: u16) -> bool {
    named.get(&(si, wi)).is_none_or(|ports| ports.contains(&port))
}

/// The ports right after a host: `:2888:3888/…` gives 2888 and 3888.
fn ports_after(text: &str) -> Vec<u16> {
    let mut ports = Vec::new();
    let mut rest = text;
    while let Some(after_colon) = rest.strip_prefix(':') {
        let digits = after_colon.len() - after_colon.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let Ok(port) = after_colon[..digits].parse() else {
            break;
        };
        ports.push(port);
        rest = &after_colon[digits..];
    }
    ports
}

impl super::Context<'_, '_> {
    /// The workloads that refer to the Services `behind` workload `wi`'s
    /// `port`, and why: clients and the peers of a cluster; with
    /// `named_only`, those whose reference takes in a Service port that
    /// targets `port` ([`names_port`]).
    pub(super) fn referrers_of_port(
        &self,
        wi: usize,
        port: &super::Port,
        behind: &[usize],
        named_only: bool,
    ) -> (BTreeSet<usize>, Vec<String>) {
        let index = self.index;
        let workload = &index.workloads[wi];
        let mut from = BTreeSet::new();
        let mut evidence = Vec::new();
        for &si in behind {
            let service = &index.services[si];
            let reaches_port = |referrer: usize| {
                !named_only
                    || service.ports.iter().any(|sp| {
                        sp.protocol == port.0
                            && service.target_numbers(sp, workload).contains(&port.1)
                            && names_port(&self.named_ports, si, referrer, sp.port)
                    })
            };
            for (referrer, place) in clients(index, &self.references, si) {
                if reaches_port(*referrer) {
                    from.insert(*referrer);
                    evidence.push(format!(
                        "{} refers to {} in {place}",
                        describe(index.workloads[*referrer].obj),
                        describe(service.obj)
                    ));
                }
            }
            // The peers of a cluster call each other through their own Service.
            for (peer, place) in peers(index, &self.references, si) {
                if reaches_port(*peer) {
                    from.insert(*peer);
                    evidence.push(format!(
                        "{} names its own {} in {place} (peers of a cluster)",
                        describe(index.workloads[*peer].obj),
                        describe(service.obj)
                    ));
                }
            }
        }
        (from, evidence)
    }
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

/// A URL in a workload's configuration whose host looks like a name inside
/// the cluster (one label, like `http://prometheus-operated:9090`, or
/// `….svc…`) and is no Service of the manifests: a flow netaudit cannot
/// tell (another release's Service, one an operator creates, a typo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UnresolvedUrl {
    /// Where: "ConfigMap `grafana` key datasources.yaml".
    pub place: String,
    pub url: String,
    pub host: String,
    /// The URL's port, else its scheme's (http 80, https 443).
    pub port: Option<u16>,
}

/// The [`UnresolvedUrl`]s of one workload's texts, each host once.
pub(super) fn unresolved_urls(
    index: &Index<'_>,
    workload: &Workload<'_>,
    texts: &[(String, String)],
) -> Vec<UnresolvedUrl> {
    let mut found: Vec<UnresolvedUrl> = Vec::new();
    for (place, text) in texts {
        for (url, host, port) in urls(text) {
            let in_cluster = !host.contains('.') || host.split('.').any(|label| label == "svc");
            // The API server's own Service: the RBAC binding says who calls it.
            let api_server = host == "kubernetes" || host.starts_with("kubernetes.default");
            let resolved = index
                .services
                .iter()
                .any(|s| refers_to(&host, s, &workload.obj.namespace));
            if in_cluster && !resolved && !api_server && host != "localhost" && !found.iter().any(|f| f.host == host) {
                found.push(UnresolvedUrl {
                    place: place.clone(),
                    url: url.to_string(),
                    host,
                    port,
                });
            }
        }
    }
    found
}

/// `scheme://host[:port]` URLs of a text, with the host (lowercase) and
/// port; URLs whose host is an address or templated (`$(VAR)`, `${VAR}`,
/// `{{ }}`) are left out.
fn urls(text: &str) -> impl Iterator<Item = (&str, String, Option<u16>)> {
    text.match_indices("://").filter_map(move |(at, _)| {
        let scheme_start = text[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let scheme = text[scheme_start..at].to_ascii_lowercase();
        let rest = &text[at + 3..];
        let end = rest
            .find(|c: char| c.is_whitespace() || "/?#\"'`,;()[]<>|".contains(c))
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        // Go's DSNs: `mysql://user:pw@tcp(db:3306)/app` (the host is inside).
        let dsn = rest[end..].starts_with('(');
        if scheme.is_empty() || authority.is_empty() || dsn || authority.contains(['$', '{', '}', '%']) {
            return None;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port.parse::<u16>().ok()?)),
            None => (authority, None),
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let is_name = host.chars().any(|c| c.is_ascii_alphabetic())
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
            && host.parse::<std::net::IpAddr>().is_err();
        if !is_name {
            return None;
        }
        let port = port.or(default_port(&scheme));
        Some((&text[scheme_start..at + 3 + end], host, port))
    })
}

/// The port a URL of `scheme` goes to when it names none.
fn default_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        "postgres" | "postgresql" => 5432,
        "mysql" | "mariadb" => 3306,
        "mongodb" => 27017,
        "redis" | "rediss" => 6379,
        "amqp" => 5672,
        "amqps" => 5671,
        "nats" => 4222,
        "ldap" => 389,
        "ldaps" => 636,
        "smtp" => 25,
        "memcached" => 11211,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::urls;

    #[test]
    fn ports_follow_a_host() {
        use super::ports_after;
        assert_eq!(ports_after(":2181"), [2181]);
        assert_eq!(ports_after(":2888:3888\nserver.2=…"), [2888, 3888]);
        assert_eq!(ports_after(":2181 and :99"), [2181]);
        assert_eq!(ports_after("/path:80"), Vec::<u16>::new());
        assert_eq!(ports_after(":http"), Vec::<u16>::new());
    }

    #[test]
    fn urls_give_their_host_and_port() {
        let found: Vec<(String, String, Option<u16>)> = urls(
            "url: http://prometheus-operated:9090/ and https://user:pw@Loki.Logs.svc.cluster.local/x, \
             grpc://collector:4317 ws://[::1]:80 http://10.0.0.1:80 http://$(HOST):80 http://{{ .host }} \
             tcp://db:notaport amqp://guest:guest@rabbitmq mysql://app:pw@tcp(db:3306)/app",
        )
        .map(|(url, host, port)| (url.to_string(), host, port))
        .collect();
        assert_eq!(
            found,
            [
                (
                    "http://prometheus-operated:9090".into(),
                    "prometheus-operated".into(),
                    Some(9090)
                ),
                (
                    "https://user:pw@Loki.Logs.svc.cluster.local".into(),
                    "loki.logs.svc.cluster.local".into(),
                    Some(443)
                ),
                ("grpc://collector:4317".into(), "collector".into(), Some(4317)),
                ("amqp://guest:guest@rabbitmq".into(), "rabbitmq".into(), Some(5672)),
            ]
        );
    }
}
