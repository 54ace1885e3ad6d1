//! `cilium.io/v2` CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy.
//!
//! Semantics (Cilium's policy language reference):
//! - `endpointSelector` selects pods (of the policy's namespace for a
//!   CiliumNetworkPolicy); `spec` or each of `specs` is one policy;
//!   `nodeSelector` makes a host policy, which selects no pod.
//! - A policy with `ingress` (even `[]`) or `ingressDeny` isolates its pods
//!   for ingress, unless `enableDefaultDeny.ingress` is false; the same for
//!   egress.
//! - A rule's peers are the union of `fromEndpoints`, `fromEntities`,
//!   `fromCIDR`, `fromCIDRSet`; a rule with none of them but `toPorts` allows
//!   every peer on those ports; an empty rule (`{}`) allows nothing.
//! - `ingressDeny` wins over every allow.
//! - Label keys may carry a source prefix (`k8s:`, `any:`); the namespace
//!   is the label `io.kubernetes.pod.namespace`, namespace labels are
//!   `io.cilium.k8s.namespace.labels.<key>`; `reserved:<entity>` names an
//!   entity. `fromEndpoints` without a namespace label means the policy's
//!   namespace (every namespace for the cluster-wide kind).
//! - CIDR rules never match pods managed by Cilium.
//! - `toFQDNs` names hosts outside the cluster (`matchName`,
//!   `matchPattern`); Cilium allows the addresses its DNS proxy saw them
//!   resolve to, never a pod's.

use super::fields::{field, is_port_name, label_selector, list, strings, valid_cidr};
use super::matcher::Matcher;
use super::rules::{
    Action, Entity, Flavor, HostName, Namespaces, Policy, PolicyPeer, PolicyPort, PolicyRule, PolicyScope, PortMatch,
    Problem, Side,
};
use crate::model::object::Object;
use crate::model::runtime::Protocol;
use crate::model::selector::{Requirement, Selector, NAMESPACE_NAME_LABEL};
use crate::yaml::Node;

const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
const NAMESPACE_LABEL_PREFIX: &str = "io.cilium.k8s.namespace.labels.";

pub(super) fn parse(obj: &Object) -> Vec<Policy<'_>> {
    let cluster_wide = obj.kind == "CiliumClusterwideNetworkPolicy";
    let mut specs: Vec<&Node> = obj.root.get("spec").filter(|s| !s.is_null()).into_iter().collect();
    specs.extend(obj.root.get("specs").map(Node::as_seq).unwrap_or_default());
    if specs.is_empty() {
        return vec![Policy::malformed(
            obj,
            Flavor::Cilium,
            obj.root.line,
            "neither `spec` nor `specs`",
        )];
    }
    specs
        .into_iter()
        .filter(|spec| field(spec, "nodeSelector").is_none())
        .map(|spec| parse_spec(obj, spec, cluster_wide))
        .collect()
}

fn parse_spec<'a>(obj: &'a Object, spec: &Node, cluster_wide: bool) -> Policy<'a> {
    let mut problems = Vec::new();
    let mut unevaluated = Vec::new();
    let selector_node = field(spec, "endpointSelector");
    if selector_node.is_none() {
        problems.push(Problem {
            line: spec.line,
            message: "no `endpointSelector` (nor `nodeSelector`)".into(),
        });
    }
    let selector = selector_node.map(|n| split(n, "endpointSelector", &mut problems));
    let (pods, namespaces) = match selector {
        Some(Split {
            pods,
            namespaces,
            entity,
        }) => {
            if entity.is_some() {
                unevaluated.push("an endpointSelector on a reserved identity".to_string());
            }
            (pods, namespaces)
        }
        None => (Selector::default(), None),
    };
    let scope = if cluster_wide {
        PolicyScope::Cluster(namespaces.map(Matcher::Labels))
    } else {
        PolicyScope::Namespace
    };
    let default_deny = |direction: &str| {
        spec.path(&["enableDefaultDeny", direction])
            .and_then(Node::as_bool)
            .unwrap_or(true)
    };
    let mut side = |allow: &str, deny: &str, prefix: &str, direction: &str| {
        let allow_rules = list(spec, allow, &mut problems);
        let deny_rules = list(spec, deny, &mut problems);
        if allow_rules.is_none() && deny_rules.is_none() {
            return None;
        }
        let mut rules: Vec<PolicyRule> = Vec::new();
        for (nodes, action) in [(deny_rules, Action::Deny), (allow_rules, Action::Allow)] {
            for node in nodes.unwrap_or_default() {
                rules.push(rule(node, prefix, action, cluster_wide, &mut problems));
            }
        }
        Some(Side {
            rules,
            isolates: default_deny(direction),
        })
    };
    let ingress = side("ingress", "ingressDeny", "from", "ingress");
    let egress = side("egress", "egressDeny", "to", "egress");
    Policy {
        obj,
        flavor: Flavor::Cilium,
        scope,
        pod_selector: Matcher::Labels(pods),
        pod_selector_line: selector_node.map_or(spec.line, |n| n.line),
        ingress,
        egress,
        order: None,
        problems,
        unevaluated,
    }
}

/// A Cilium endpoint selector split into what it asks of the pods, of
/// their namespace, and the reserved entity it names (if any).
struct Split {
    pods: Selector,
    namespaces: Option<Selector>,
    entity: Option<Entity>,
}

fn split(node: &Node, what: &str, problems: &mut Vec<Problem>) -> Split {
    let selector = label_selector(node, what, problems);
    let mut pods = Selector::default();
    let mut namespaces = Selector::default();
    let mut entity = None;
    for (key, value) in selector.match_labels {
        match classify(&key) {
            Key::Pod(key) => {
                pods.match_labels.insert(key, value);
            }
            Key::Namespace(key) => {
                namespaces.match_labels.insert(key, value);
            }
            Key::Reserved(name) => match Entity::parse(&name) {
                Some(e) => entity = Some(e),
                None => problems.push(Problem {
                    line: node.line,
                    message: format!("{what}: unknown reserved label `reserved:{name}`"),
                }),
            },
        }
    }
    for req in selector.expressions {
        match classify(&req.key) {
            Key::Pod(key) => pods.expressions.push(Requirement { key, ..req }),
            Key::Namespace(key) => namespaces.expressions.push(Requirement { key, ..req }),
            // An expression on a reserved identity: select nothing of ours.
            Key::Reserved(_) => pods.expressions.push(Requirement {
                values: Vec::new(),
                operator: crate::model::selector::Operator::In,
                ..req
            }),
        }
    }
    Split {
        pods,
        namespaces: (!namespaces.is_empty()).then_some(namespaces),
        entity,
    }
}

enum Key {
    Pod(String),
    Namespace(String),
    Reserved(String),
}

fn classify(key: &str) -> Key {
    if let Some(name) = key.strip_prefix("reserved:") {
        return Key::Reserved(name.to_string());
    }
    let bare = ["k8s:", "any:", "unspec:", "container:"]
        .iter()
        .find_map(|p| key.strip_prefix(p))
        .unwrap_or(key);
    if bare == POD_NAMESPACE {
        Key::Namespace(NAMESPACE_NAME_LABEL.to_string())
    } else if let Some(label) = bare.strip_prefix(NAMESPACE_LABEL_PREFIX) {
        Key::Namespace(label.to_string())
    } else {
        Key::Pod(bare.to_string())
    }
}

fn rule(node: &Node, prefix: &str, action: Action, cluster_wide: bool, problems: &mut Vec<Problem>) -> PolicyRule {
    let key = |suffix: &str| format!("{prefix}{suffix}");
    let mut peers = Vec::new();
    let mut any_peer_field = false;
    let mut unevaluated: Vec<String> = Vec::new();
    if let Some(endpoints) = list(node, &key("Endpoints"), problems) {
        any_peer_field = true;
        for e in endpoints {
            let Split {
                pods,
                namespaces,
                entity,
            } = split(e, &key("Endpoints"), problems);
            if let Some(entity) = entity {
                peers.push(PolicyPeer::Entity(entity));
                continue;
            }
            let namespaces = match namespaces {
                Some(selector) => Namespaces::Selected(Matcher::Labels(selector)),
                None if cluster_wide => Namespaces::Selected(Matcher::everything()),
                None => Namespaces::Own,
            };
            peers.push(PolicyPeer::Pods {
                namespaces,
                pods: Some(Matcher::Labels(pods)),
            });
        }
    }
    if let Some(entities) = list(node, &key("Entities"), problems) {
        any_peer_field = true;
        for e in entities {
            let text = e.scalar_text().unwrap_or("");
            match Entity::parse(text) {
                Some(entity) => peers.push(PolicyPeer::Entity(entity)),
                None => problems.push(Problem {
                    line: e.line,
                    message: format!("unknown entity `{text}`"),
                }),
            }
        }
    }
    let mut cidr = |cidr: &str, except: Vec<String>, line: u32, problems: &mut Vec<Problem>| {
        if valid_cidr(cidr) && except.iter().all(|e| valid_cidr(e)) {
            peers.push(PolicyPeer::Addresses {
                cidr: cidr.to_string(),
                except,
                includes_pods: false,
            });
        } else {
            problems.push(Problem {
                line,
                message: format!("`{cidr}` is not a valid CIDR (or one of its `except` is not)"),
            });
        }
    };
    if let Some(cidrs) = list(node, &key("CIDR"), problems) {
        any_peer_field = true;
        for c in cidrs {
            cidr(c.scalar_text().unwrap_or(""), Vec::new(), c.line, problems);
        }
    }
    if let Some(sets) = list(node, &key("CIDRSet"), problems) {
        any_peer_field = true;
        for set in sets {
            match set.get("cidr").and_then(Node::scalar_text) {
                Some(text) => cidr(text, strings(set, "except"), set.line, problems),
                None => unevaluated.push(format!("a {} entry without `cidr`", key("CIDRSet"))),
            }
        }
    }
    if prefix == "to" {
        if let Some(fqdns) = list(node, "toFQDNs", problems) {
            any_peer_field = true;
            let names: Vec<HostName> = fqdns.iter().filter_map(|f| host_name(f, problems)).collect();
            if !names.is_empty() {
                peers.push(PolicyPeer::Hosts(names));
            }
        }
    }
    // Peers we do not evaluate: with no other peer field, the rule is
    // taken as naming every peer (the note says so).
    for other in ["Requires", "Groups", "Nodes", "Services"] {
        if field(node, &key(other)).is_some() {
            unevaluated.push(format!("`{}`", key(other)));
        }
    }
    if field(node, "authentication").is_some() {
        unevaluated.push("`authentication`".to_string());
    }
    let ports = to_ports(node, &mut unevaluated, problems);
    let has_icmps = field(node, "icmps").is_some();
    let peers = match (any_peer_field, &ports, has_icmps) {
        (true, _, _) => Some(peers),
        (false, _, _) if !unevaluated.is_empty() => None,
        // Ports (or ICMP) without peers: every peer.
        (false, Some(_), _) | (false, None, true) => None,
        // `{}`: nothing.
        (false, None, false) => Some(Vec::new()),
    };
    // ICMP only: no TCP/UDP port.
    let ports = ports.or_else(|| has_icmps.then(Vec::new));
    PolicyRule::new(action, peers, ports, &unevaluated, node.line)
}

/// A `toFQDNs` entry: `matchName` or `matchPattern`.
fn host_name(entry: &Node, problems: &mut Vec<Problem>) -> Option<HostName> {
    let text = |key: &str| entry.get(key).and_then(Node::scalar_text).map(str::to_string);
    match (text("matchName"), text("matchPattern")) {
        (Some(name), None) => Some(HostName::Exactly(name)),
        (None, Some(pattern)) => Some(HostName::Pattern(pattern)),
        _ => {
            problems.push(Problem {
                line: entry.line,
                message: "a `toFQDNs` entry needs one of `matchName` and `matchPattern`".to_string(),
            });
            None
        }
    }
}

/// Are these L7 rules DNS rules that let every name be asked
/// (`dns: [{matchPattern: "*"}]`)? They filter nothing: the DNS proxy
/// answers every query, so the connection is all there is to decide.
fn asks_any_name(rules: &Node) -> bool {
    rules.entries().iter().all(|(key, dns)| {
        key.text == "dns"
            && !dns.as_seq().is_empty()
            && dns.as_seq().iter().any(|rule| {
                rule.entries().len() == 1 && rule.get("matchPattern").and_then(Node::scalar_text) == Some("*")
            })
    })
}

fn to_ports(node: &Node, unevaluated: &mut Vec<String>, problems: &mut Vec<Problem>) -> Option<Vec<PolicyPort>> {
    let entries = list(node, "toPorts", problems)?;
    let mut ports = Vec::new();
    for entry in entries {
        if entry
            .get("rules")
            .is_some_and(|r| !r.entries().is_empty() && !asks_any_name(r))
        {
            unevaluated.push("L7 rules (the connection is allowed, requests are filtered)".to_string());
        }
        let listed = list(entry, "ports", problems).unwrap_or_default();
        if listed.is_empty() {
            ports.extend(all_protocols(PortMatch::Any));
        }
        for p in listed {
            let protocol = p.get("protocol").and_then(Node::scalar_text).unwrap_or("ANY");
            let port_text = p.get("port").and_then(Node::scalar_text).unwrap_or("0");
            let port = match port_text.parse::<u32>() {
                Ok(0) => PortMatch::Any,
                Ok(n @ 1..=65535) => {
                    let end = p
                        .get("endPort")
                        .and_then(Node::as_i64)
                        .and_then(|e| u16::try_from(e).ok())
                        .unwrap_or(n as u16);
                    PortMatch::Range(n as u16, end.max(n as u16))
                }
                Ok(_) => {
                    problems.push(Problem {
                        line: p.line,
                        message: format!("port {port_text} is not in 0-65535"),
                    });
                    continue;
                }
                Err(_) if is_port_name(port_text) => PortMatch::Named(port_text.to_string()),
                Err(_) => {
                    problems.push(Problem {
                        line: p.line,
                        message: format!("port `{port_text}` is neither a number nor a port name"),
                    });
                    continue;
                }
            };
            match protocol.to_ascii_uppercase().as_str() {
                "ANY" => ports.extend(all_protocols(port)),
                text => match Protocol::parse(text) {
                    Some(protocol) => ports.push(PolicyPort { protocol, port }),
                    None if text == "ICMP" || text == "ICMPV6" => {}
                    None => problems.push(Problem {
                        line: p.line,
                        message: format!("protocol `{protocol}` is not TCP, UDP, SCTP or ANY"),
                    }),
                },
            }
        }
    }
    Some(ports)
}

fn all_protocols(port: PortMatch) -> Vec<PolicyPort> {
    [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]
        .into_iter()
        .map(|protocol| PolicyPort {
            protocol,
            port: port.clone(),
        })
        .collect()
}
