//! `projectcalico.org/v3` NetworkPolicy. A Calico rule has one protocol
//! and one peer, so an intent's rule becomes a rule per protocol and peer;
//! the API server is the Service `default/kubernetes` (`services`, whose
//! own ports Calico uses), the nodes any address.

use super::super::intent::{numbered, port_runs, Intent, Peer, PeerNamespace, PortRun, Rule};
use super::{Resource, BASELINE_NAME, DNS_LABEL, DNS_NAMESPACE};
use crate::model::policy::API_SERVER_SERVICE;
use crate::model::selector::CALICO_NAME;
use crate::model::{Labels, Protocol};
use serde::Serialize;
use serde_json::{json, Value};

const API_VERSION: &str = "projectcalico.org/v3";
/// Where the policies sit in Calico's order: where Calico puts Kubernetes
/// NetworkPolicies, so that they add to those as the Kubernetes flavor would.
const ORDER: u32 = 1000;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    order: u32,
    selector: String,
    types: Vec<&'static str>,
    ingress: Vec<CalicoRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    egress: Option<Vec<CalicoRule>>,
}

#[derive(Serialize, PartialEq)]
struct CalicoRule {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<EntityRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<EntityRule>,
}

#[derive(Serialize, Default, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
struct EntityRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace_selector: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    nets: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    services: Option<ServiceMatch>,
}

#[derive(Serialize, Clone, PartialEq)]
struct ServiceMatch {
    name: &'static str,
    namespace: &'static str,
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Ingress,
    Egress,
}

pub(super) fn write(intent: &Intent) -> Value {
    let mut types = vec!["Ingress"];
    let egress = intent.egress.as_ref().map(|rules| {
        types.push("Egress");
        rules_of(rules, Direction::Egress)
    });
    let spec = Spec {
        order: ORDER,
        selector: selector(&intent.pod_labels),
        types,
        ingress: rules_of(&intent.ingress, Direction::Ingress),
        egress,
    };
    Resource::write(
        API_VERSION,
        "NetworkPolicy",
        &intent.name,
        Some(&intent.namespace),
        spec,
    )
}

/// Calico's selector for pods carrying every one of `labels`.
fn selector(labels: &Labels) -> String {
    if labels.is_empty() {
        return "all()".to_string();
    }
    labels
        .iter()
        .map(|(k, v)| format!("{k} == '{v}'"))
        .collect::<Vec<_>>()
        .join(" && ")
}

fn rules_of(rules: &[Rule], direction: Direction) -> Vec<CalicoRule> {
    let mut out: Vec<CalicoRule> = Vec::new();
    for rule in rules.iter().filter_map(Rule::without_hosts) {
        for calico in split(&rule, direction) {
            if !out.contains(&calico) {
                out.push(calico);
            }
        }
    }
    out
}

/// One intent rule as Calico rules: per protocol of its ports (or one
/// without a protocol when it has none), per peer.
fn split(rule: &Rule, direction: Direction) -> Vec<CalicoRule> {
    let runs = port_runs(&rule.ports);
    let mut by_protocol: Vec<(Option<Protocol>, Vec<Value>)> = Vec::new();
    for run in &runs {
        let value = match run {
            PortRun::Single(_, n) => json!(n),
            PortRun::Range(_, start, end) => json!(format!("{start}:{end}")),
            PortRun::Named(_, name) => json!(name),
        };
        match by_protocol.iter_mut().find(|(p, _)| *p == Some(run.protocol())) {
            Some((_, values)) => values.push(value),
            None => by_protocol.push((Some(run.protocol()), vec![value])),
        }
    }
    if by_protocol.is_empty() {
        by_protocol.push((None, Vec::new()));
    }
    let peers: Vec<EntityRule> = match &rule.peers {
        None => vec![EntityRule::default()],
        Some(list) => list.iter().flat_map(entities).collect(),
    };
    let mut out = Vec::new();
    for peer in &peers {
        if peer.services.is_some() {
            // The Service's own ports: Calico takes no protocol or ports with it.
            out.push(calico_rule(None, peer.clone(), Vec::new(), direction));
            continue;
        }
        for (protocol, ports) in &by_protocol {
            out.push(calico_rule(*protocol, peer.clone(), ports.clone(), direction));
        }
    }
    out
}

fn calico_rule(protocol: Option<Protocol>, peer: EntityRule, ports: Vec<Value>, direction: Direction) -> CalicoRule {
    let (source, destination) = match direction {
        Direction::Ingress => {
            let destination = (!ports.is_empty()).then(|| EntityRule {
                ports,
                ..EntityRule::default()
            });
            (Some(peer).filter(|p| *p != EntityRule::default()), destination)
        }
        Direction::Egress => {
            let destination = EntityRule { ports, ..peer };
            (None, Some(destination).filter(|d| *d != EntityRule::default()))
        }
    };
    CalicoRule {
        action: "Allow",
        protocol: protocol.map(|p| p.to_string()),
        source,
        destination,
    }
}

fn named_namespace(name: &str) -> String {
    format!("{CALICO_NAME} == '{name}'")
}

/// A peer as Calico entity rules (the nodes: one per address family).
fn entities(peer: &Peer) -> Vec<EntityRule> {
    let nets = |cidr: &str| EntityRule {
        nets: vec![cidr.to_string()],
        ..EntityRule::default()
    };
    match peer {
        Peer::Pods { namespace, labels } => vec![EntityRule {
            // Every pod of the policy's namespace: `all()`, not no selector (everyone).
            selector: labels
                .as_ref()
                .map(selector)
                .or_else(|| (*namespace == PeerNamespace::Own).then(|| "all()".to_string())),
            namespace_selector: match namespace {
                PeerNamespace::Own => None,
                PeerNamespace::Named(name) => Some(named_namespace(name)),
                PeerNamespace::Every => Some("all()".to_string()),
            },
            ..EntityRule::default()
        }],
        Peer::Nodes => vec![nets("0.0.0.0/0"), nets("::/0")],
        Peer::Cidr(cidr) => vec![nets(cidr)],
        Peer::ApiServer { .. } => vec![EntityRule {
            services: Some(ServiceMatch {
                name: API_SERVER_SERVICE.1,
                namespace: API_SERVER_SERVICE.0,
            }),
            ..EntityRule::default()
        }],
        Peer::ClusterDns => vec![EntityRule {
            selector: Some(format!("{} == '{}'", DNS_LABEL.0, DNS_LABEL.1)),
            namespace_selector: Some(named_namespace(DNS_NAMESPACE)),
            ..EntityRule::default()
        }],
        // Left out before: see `Rule::without_hosts`.
        Peer::Host(_) => Vec::new(),
    }
}

/// Where the baseline sits in Calico's order: after the policies, so that
/// it decides only what none of them allows.
const BASELINE_ORDER: u32 = 2000;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GlobalSpec {
    order: u32,
    namespace_selector: String,
    types: Vec<&'static str>,
    ingress: Vec<CalicoRule>,
    egress: Vec<CalicoRule>,
}

/// A GlobalNetworkPolicy of `namespaces` that allows egress to the cluster
/// DNS and nothing else: the rest ends denied at the end of the tier.
pub(super) fn baseline(namespaces: &[String]) -> Value {
    let names: Vec<String> = namespaces.iter().map(|n| format!("'{n}'")).collect();
    let dns = Rule::new(
        vec![Peer::ClusterDns],
        numbered([(Protocol::Udp, 53), (Protocol::Tcp, 53)]),
    );
    let spec = GlobalSpec {
        order: BASELINE_ORDER,
        namespace_selector: format!("{CALICO_NAME} in {{{}}}", names.join(", ")),
        types: vec!["Ingress", "Egress"],
        ingress: Vec::new(),
        egress: rules_of(&[dns], Direction::Egress),
    };
    Resource::write(API_VERSION, "GlobalNetworkPolicy", BASELINE_NAME, None, spec)
}
