//! `networking.k8s.io/v1` NetworkPolicy, as typed `k8s-openapi` objects.

use super::super::intent::{port_runs, Intent, Peer, PeerNamespace, PortRun, Rule};
use super::{BASELINE_NAME, DNS_LABEL};
use crate::model::selector::NAMESPACE_NAME_LABEL;
use crate::model::Labels;
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(super) fn write(intent: &Intent) -> Value {
    let mut policy_types = vec!["Ingress".to_string()];
    let egress = intent.egress.as_ref().map(|rules| {
        policy_types.push("Egress".to_string());
        rules
            .iter()
            .filter_map(Rule::without_hosts)
            .map(|rule| NetworkPolicyEgressRule {
                to: rule.peers.as_ref().map(|p| peers(p)),
                ports: ports(&rule),
            })
            .collect()
    });
    let ingress = intent
        .ingress
        .iter()
        .filter_map(Rule::without_hosts)
        .map(|rule| NetworkPolicyIngressRule {
            from: rule.peers.as_ref().map(|p| peers(p)),
            ports: ports(&rule),
        })
        .collect();
    let policy = NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(intent.name.clone()),
            namespace: Some(intent.namespace.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: match_labels(&intent.pod_labels),
            ingress: Some(ingress),
            egress,
            policy_types: Some(policy_types),
        }),
    };
    // A typed object always serializes.
    serde_json::to_value(policy).unwrap_or(Value::Null)
}

fn match_labels(labels: &Labels) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        match_expressions: None,
    }
}

fn namespace_named(name: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(NAMESPACE_NAME_LABEL.to_string(), name.to_string())])),
        match_expressions: None,
    }
}

fn ip_block(cidr: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.to_string(),
            except: None,
        }),
        ..NetworkPolicyPeer::default()
    }
}

/// Every address: what a NetworkPolicy has for what is not a pod.
fn any_address() -> [NetworkPolicyPeer; 2] {
    [ip_block("0.0.0.0/0"), ip_block("::/0")]
}

fn peers(peers: &[Peer]) -> Vec<NetworkPolicyPeer> {
    let mut out = Vec::new();
    for peer in peers {
        match peer {
            Peer::Pods { namespace, labels } => out.push(NetworkPolicyPeer {
                namespace_selector: match namespace {
                    PeerNamespace::Own => None,
                    PeerNamespace::Named(name) => Some(namespace_named(name)),
                    PeerNamespace::Every => Some(LabelSelector::default()),
                },
                pod_selector: labels.as_ref().map(match_labels),
                ip_block: None,
            }),
            Peer::Nodes | Peer::ApiServer { cidr: None } => out.extend(any_address()),
            Peer::ApiServer { cidr: Some(cidr) } | Peer::Cidr(cidr) => out.push(ip_block(cidr)),
            Peer::ClusterDns => out.push(NetworkPolicyPeer {
                namespace_selector: Some(LabelSelector::default()),
                pod_selector: Some(match_labels(&Labels::from([(
                    DNS_LABEL.0.to_string(),
                    DNS_LABEL.1.to_string(),
                )]))),
                ip_block: None,
            }),
            // Left out before: see `Rule::without_hosts`.
            Peer::Host(_) => {}
        }
    }
    out
}

fn ports(rule: &Rule) -> Option<Vec<NetworkPolicyPort>> {
    if rule.ports.is_empty() {
        return None;
    }
    Some(port_runs(&rule.ports).into_iter().map(port).collect())
}

fn port(run: PortRun<'_>) -> NetworkPolicyPort {
    let (port, end_port) = match run {
        PortRun::Single(_, n) => (IntOrString::Int(n.into()), None),
        PortRun::Range(_, start, end) => (IntOrString::Int(start.into()), Some(end.into())),
        PortRun::Named(_, name) => (IntOrString::String(name.to_string()), None),
    };
    NetworkPolicyPort {
        protocol: Some(run.protocol().to_string()),
        port: Some(port),
        end_port,
    }
}

/// A ClusterNetworkPolicy of the Baseline tier: ingress denied from every
/// pod, egress denied everywhere but to the cluster DNS in kube-system.
pub(super) fn baseline(namespaces: &[String]) -> Value {
    // As the policies name it: in any namespace.
    let dns_pods = json!({
        "namespaceSelector": {},
        "podSelector": { "matchLabels": { DNS_LABEL.0: DNS_LABEL.1 } },
    });
    json!({
        "apiVersion": "policy.networking.k8s.io/v1alpha2",
        "kind": "ClusterNetworkPolicy",
        "metadata": { "name": BASELINE_NAME },
        "spec": {
            "tier": "Baseline",
            "priority": 0,
            "subject": { "namespaces": {
                "matchExpressions": [{ "key": NAMESPACE_NAME_LABEL, "operator": "In", "values": namespaces }]
            } },
            "ingress": [
                { "name": "deny-from-every-pod", "action": "Deny", "from": [{ "namespaces": {} }] },
            ],
            "egress": [
                {
                    "name": "cluster-dns",
                    "action": "Accept",
                    "to": [{ "pods": dns_pods }],
                    "protocols": [
                        { "udp": { "destinationPort": { "number": 53 } } },
                        { "tcp": { "destinationPort": { "number": 53 } } },
                    ],
                },
                {
                    "name": "deny-everything-else",
                    "action": "Deny",
                    "to": [{ "namespaces": {} }, { "networks": ["0.0.0.0/0", "::/0"] }],
                },
            ],
        },
    })
}
