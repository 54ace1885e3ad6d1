//! `cilium.io/v2` CiliumNetworkPolicy. Endpoint selectors are of the
//! policy's namespace unless they name `k8s:io.kubernetes.pod.namespace`;
//! the API server and the nodes are entities; the DNS rule goes through
//! Cilium's DNS proxy, which lets every name be asked (`matchPattern: "*"`)
//! and tells Cilium the addresses of the hosts `toFQDNs` names.

use super::super::intent::{numbered, port_runs, Intent, Peer, PeerNamespace, PortRun, Rule, RulePort};
use super::{Resource, BASELINE_NAME, DNS_LABEL, DNS_NAMESPACE};
use crate::model::{Labels, Protocol};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

const API_VERSION: &str = "cilium.io/v2";
/// The label Cilium gives every endpoint: its namespace.
const POD_NAMESPACE: &str = "k8s:io.kubernetes.pod.namespace";
/// The CRD's limit of ports in one `toPorts` entry.
const MAX_PORTS: usize = 40;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    endpoint_selector: EndpointSelector,
    ingress: Vec<IngressRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    egress: Option<Vec<EgressRule>>,
}

#[derive(Serialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct EndpointSelector {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    match_labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    match_expressions: Vec<Expression>,
}

#[derive(Serialize, Clone)]
struct Expression {
    key: &'static str,
    operator: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    values: Vec<String>,
}

/// The peers of one rule, in Cilium's fields.
#[derive(Default)]
struct Peers {
    endpoints: Vec<EndpointSelector>,
    entities: Vec<&'static str>,
    cidrs: Vec<String>,
    /// Egress only, and alone in its rule (Cilium takes `toFQDNs` with no other peer field).
    hosts: Vec<Fqdn>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fqdn {
    match_name: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct IngressRule {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    from_endpoints: Vec<EndpointSelector>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    from_entities: Vec<&'static str>,
    #[serde(rename = "fromCIDR", skip_serializing_if = "Vec::is_empty")]
    from_cidr: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    to_ports: Vec<PortRule>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct EgressRule {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    to_endpoints: Vec<EndpointSelector>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    to_entities: Vec<&'static str>,
    #[serde(rename = "toCIDR", skip_serializing_if = "Vec::is_empty")]
    to_cidr: Vec<String>,
    #[serde(rename = "toFQDNs", skip_serializing_if = "Vec::is_empty")]
    to_fqdns: Vec<Fqdn>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    to_ports: Vec<PortRule>,
}

#[derive(Serialize)]
struct PortRule {
    ports: Vec<PortProtocol>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<L7Rules>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PortProtocol {
    port: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_port: Option<u16>,
    protocol: String,
}

#[derive(Serialize)]
struct L7Rules {
    dns: Vec<DnsRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DnsRule {
    match_pattern: &'static str,
}

pub(super) fn write(intent: &Intent) -> Value {
    let ingress: Vec<IngressRule> = intent
        .ingress
        .iter()
        .flat_map(split)
        // No host is a source: a rule of hosts alone would be one of every peer.
        .filter(|(peers, _)| peers.hosts.is_empty())
        .map(|(peers, to_ports)| IngressRule {
            from_endpoints: peers.endpoints,
            from_entities: peers.entities,
            from_cidr: peers.cidrs,
            to_ports,
        })
        .collect();
    let egress = intent.egress.as_ref().map(|rules| {
        let egress: Vec<EgressRule> = rules
            .iter()
            .flat_map(split)
            .map(|(peers, to_ports)| EgressRule {
                to_endpoints: peers.endpoints,
                to_entities: peers.entities,
                to_cidr: peers.cidrs,
                to_fqdns: peers.hosts,
                to_ports,
            })
            .collect();
        // `[{}]`: the direction is isolated and nothing is allowed.
        if egress.is_empty() {
            vec![EgressRule::default()]
        } else {
            egress
        }
    });
    let spec = Spec {
        endpoint_selector: labels_selector(&intent.pod_labels),
        ingress: if ingress.is_empty() {
            vec![IngressRule::default()]
        } else {
            ingress
        },
        egress,
    };
    Resource::write(
        API_VERSION,
        "CiliumNetworkPolicy",
        &intent.name,
        Some(&intent.namespace),
        spec,
    )
}

/// One rule of the intent as Cilium rules: the DNS peer alone with its DNS
/// rules, every other peer together.
fn split(rule: &Rule) -> Vec<(Peers, Vec<PortRule>)> {
    let Some(list) = &rule.peers else {
        let peers = Peers {
            entities: vec!["all"],
            ..Peers::default()
        };
        return vec![(peers, port_rules(&rule.ports, false))];
    };
    let mut out = Vec::new();
    let mut peers = Peers::default();
    let mut hosts = Vec::new();
    for peer in list {
        match peer {
            Peer::Pods { namespace, labels } => peers.endpoints.push(endpoints(namespace, labels.as_ref())),
            Peer::Nodes => peers.entities.extend(["host", "remote-node"]),
            Peer::ApiServer { .. } => peers.entities.push("kube-apiserver"),
            Peer::Cidr(cidr) => peers.cidrs.push(cidr.clone()),
            Peer::Host(name) => hosts.push(Fqdn {
                match_name: name.clone(),
            }),
            Peer::ClusterDns => {
                let dns = Peers {
                    endpoints: vec![endpoints(
                        &PeerNamespace::Named(DNS_NAMESPACE.to_string()),
                        Some(&Labels::from([(DNS_LABEL.0.to_string(), DNS_LABEL.1.to_string())])),
                    )],
                    ..Peers::default()
                };
                out.push((dns, port_rules(&rule.ports, true)));
            }
        }
    }
    peers.entities.dedup();
    if !(peers.endpoints.is_empty() && peers.entities.is_empty() && peers.cidrs.is_empty()) {
        out.push((peers, port_rules(&rule.ports, false)));
    }
    if !hosts.is_empty() {
        let hosts = Peers {
            hosts,
            ..Peers::default()
        };
        out.push((hosts, port_rules(&rule.ports, false)));
    }
    out
}

fn labels_selector(labels: &Labels) -> EndpointSelector {
    EndpointSelector {
        match_labels: labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        match_expressions: Vec::new(),
    }
}

fn endpoints(namespace: &PeerNamespace, labels: Option<&Labels>) -> EndpointSelector {
    let mut selector = labels.map(labels_selector).unwrap_or_default();
    match namespace {
        PeerNamespace::Own => {}
        PeerNamespace::Named(name) => {
            selector.match_labels.insert(POD_NAMESPACE.to_string(), name.clone());
        }
        PeerNamespace::Every => selector.match_expressions.push(Expression {
            key: POD_NAMESPACE,
            operator: "Exists",
            values: Vec::new(),
        }),
    }
    selector
}

/// `toPorts`: the ports in entries of at most [`MAX_PORTS`]; with `dns`,
/// each entry asks Cilium's DNS proxy, which allows every name.
fn port_rules(ports: &[RulePort], dns: bool) -> Vec<PortRule> {
    let listed: Vec<PortProtocol> = port_runs(ports)
        .into_iter()
        .map(|run| {
            let (port, end_port) = match &run {
                PortRun::Single(_, n) => (n.to_string(), None),
                PortRun::Range(_, start, end) => (start.to_string(), Some(*end)),
                PortRun::Named(_, name) => (name.to_string(), None),
            };
            PortProtocol {
                port,
                end_port,
                protocol: run.protocol().to_string(),
            }
        })
        .collect();
    let mut rules = Vec::new();
    let mut listed = listed.into_iter().peekable();
    while listed.peek().is_some() {
        rules.push(PortRule {
            ports: listed.by_ref().take(MAX_PORTS).collect(),
            rules: dns.then(|| L7Rules {
                dns: vec![DnsRule { match_pattern: "*" }],
            }),
        });
    }
    rules
}

/// A CiliumClusterwideNetworkPolicy isolating every pod of `namespaces`,
/// egress to the cluster DNS allowed (through the DNS proxy).
pub(super) fn baseline(namespaces: &[String]) -> Value {
    let mut dns = EgressRule::default();
    let (peers, to_ports) = split(&Rule::new(
        vec![Peer::ClusterDns],
        numbered([(Protocol::Udp, 53), (Protocol::Tcp, 53)]),
    ))
    .remove(0);
    dns.to_endpoints = peers.endpoints;
    dns.to_ports = to_ports;
    let spec = Spec {
        endpoint_selector: EndpointSelector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![Expression {
                key: POD_NAMESPACE,
                operator: "In",
                values: namespaces.to_vec(),
            }],
        },
        ingress: vec![IngressRule::default()],
        egress: Some(vec![dns]),
    };
    Resource::write(API_VERSION, "CiliumClusterwideNetworkPolicy", BASELINE_NAME, None, spec)
}
