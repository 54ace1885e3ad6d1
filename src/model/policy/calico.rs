//! Calico `NetworkPolicy` and `GlobalNetworkPolicy` (`projectcalico.org/v3`,
//! and the `crd.projectcalico.org/v1` objects behind them).
//!
//! Semantics (Calico's policy reference):
//! - `selector` (absent: `all()`) selects the pods, of the policy's
//!   namespace for a NetworkPolicy, of the namespaces `namespaceSelector`
//!   selects (absent: all) for a GlobalNetworkPolicy.
//! - `types` absent: Ingress, plus Egress when there are egress rules
//!   (Egress alone when there are only egress rules).
//! - Policies apply in `order` (lower first, absent last); Kubernetes
//!   policies sit at order 1000. The first rule that matches decides:
//!   Allow, Deny, Pass (on to the namespace profile, which allows); Log goes
//!   on. A pod some policy selects and no rule allows is denied.
//! - A rule matches when every field it sets matches: `protocol`,
//!   `source.selector`/`namespaceSelector`/`nets`, `destination.ports`.
//!   Without `namespaceSelector`, `source.selector` means the policy's
//!   namespace (every namespace for a GlobalNetworkPolicy).

use super::calico_selector::Expr;
use super::{
    field, is_everywhere, list, strings, valid_cidr, Action, Flavor, Matcher, Namespaces, Policy, PolicyPeer,
    PolicyPort, PolicyRule, PolicyScope, PortMatch, Problem, Side,
};
use crate::model::runtime::Protocol;
use crate::model::yaml::Node;
use crate::model::Object;

pub(super) fn parse(obj: &Object) -> Policy<'_> {
    let global = obj.kind == "GlobalNetworkPolicy";
    let spec = match obj.root.get("spec") {
        Some(spec) if spec.is_map() => spec,
        other => {
            let line = other.map_or(obj.root.line, |n| n.line);
            return Policy::malformed(obj, Flavor::Calico, line, "`spec` is missing or not a mapping");
        }
    };
    let mut problems = Vec::new();
    let mut unevaluated = Vec::new();
    let selector_node = field(spec, "selector");
    let pod_selector = selector_node
        .map(|n| expression(n, "selector", &mut problems))
        .unwrap_or_else(|| Matcher::Calico(Expr::All, String::new()));
    let scope = if global {
        PolicyScope::Cluster(
            field(spec, "namespaceSelector").map(|n| expression(n, "namespaceSelector", &mut problems)),
        )
    } else {
        PolicyScope::Namespace
    };
    match spec.get("tier").and_then(Node::scalar_text) {
        None | Some("default") => {}
        Some(tier) => unevaluated.push(format!("tier `{tier}` (the order of tiers is not known)")),
    }
    if field(spec, "serviceAccountSelector").is_some() {
        unevaluated.push("`serviceAccountSelector`".to_string());
    }
    let order = field(spec, "order").and_then(|n| n.scalar_text()?.trim().parse::<f64>().ok());
    let ingress_rules = list(spec, "ingress", &mut problems).unwrap_or_default();
    let egress_rules = list(spec, "egress", &mut problems).unwrap_or_default();
    let (mut ingress, mut egress) = (false, false);
    match list(spec, "types", &mut problems) {
        Some(types) if !types.is_empty() => {
            for t in types {
                match t.scalar_text() {
                    Some("Ingress") => ingress = true,
                    Some("Egress") => egress = true,
                    other => problems.push(Problem {
                        line: t.line,
                        message: format!("types entry `{}` is neither Ingress nor Egress", other.unwrap_or("?")),
                    }),
                }
            }
        }
        _ => {
            egress = !egress_rules.is_empty();
            ingress = !ingress_rules.is_empty() || !egress;
        }
    }
    let mut side = |rules: &[Node], ingress: bool| Side {
        rules: rules.iter().map(|r| rule(r, ingress, global, &mut problems)).collect(),
        isolates: true,
    };
    let ingress = ingress.then(|| side(ingress_rules, true));
    let egress = egress.then(|| side(egress_rules, false));
    Policy {
        obj,
        flavor: Flavor::Calico,
        scope,
        pod_selector,
        pod_selector_line: selector_node.map_or(spec.line, |n| n.line),
        ingress,
        egress,
        order,
        problems,
        unevaluated,
    }
}

fn expression(node: &Node, what: &str, problems: &mut Vec<Problem>) -> Matcher {
    let text = node.scalar_text().unwrap_or("");
    match Expr::parse(text) {
        Ok(expr) if node.scalar_text().is_some() => Matcher::Calico(expr, text.to_string()),
        result => {
            let message = match result {
                Err(e) => format!("{what} `{text}`: {e}"),
                Ok(_) => format!("{what} is not a string"),
            };
            problems.push(Problem {
                line: node.line,
                message,
            });
            // Selects nothing: `global()` matches no pod.
            Matcher::Calico(Expr::Global, text.to_string())
        }
    }
}

/// One rule; `ingress`: the peer is `source` (else `destination`).
fn rule(node: &Node, ingress: bool, global: bool, problems: &mut Vec<Problem>) -> PolicyRule {
    let mut unevaluated: Vec<String> = Vec::new();
    let action_text = node.get("action").and_then(Node::scalar_text).unwrap_or("");
    let action = match action_text.to_ascii_lowercase().as_str() {
        "allow" => Action::Allow,
        "deny" => Action::Deny,
        "pass" => Action::Pass,
        "log" => Action::Log,
        _ => {
            problems.push(Problem {
                line: node.line,
                message: format!("rule action `{action_text}` is not Allow, Deny, Log or Pass"),
            });
            Action::Deny
        }
    };
    let (peer_key, local_key) = if ingress {
        ("source", "destination")
    } else {
        ("destination", "source")
    };
    let empty = Node {
        value: crate::model::yaml::Value::Null,
        line: node.line,
    };
    let peer = field(node, peer_key).unwrap_or(&empty);
    let local = field(node, local_key).unwrap_or(&empty);
    for key in [
        "notSelector",
        "notNets",
        "serviceAccounts",
        "services",
        "notPorts",
        "ports",
    ] {
        if field(peer, key).is_some() {
            unevaluated.push(format!("`{peer_key}.{key}`"));
        }
    }
    for key in [
        "selector",
        "namespaceSelector",
        "nets",
        "notSelector",
        "notNets",
        "serviceAccounts",
        "services",
        "notPorts",
    ] {
        if field(local, key).is_some() {
            unevaluated.push(format!("`{local_key}.{key}`"));
        }
    }
    for key in ["http", "notProtocol", "notICMP", "ipVersion"] {
        if field(node, key).is_some() {
            unevaluated.push(format!("`{key}`"));
        }
    }
    let selector = field(peer, "selector").map(|n| expression(n, &format!("{peer_key}.selector"), problems));
    let namespace_selector =
        field(peer, "namespaceSelector").map(|n| expression(n, &format!("{peer_key}.namespaceSelector"), problems));
    let nets = strings(peer, "nets");
    if let Some(bad) = nets.iter().find(|n| !valid_cidr(n)) {
        problems.push(Problem {
            line: node.line,
            message: format!("`{peer_key}.nets` entry `{bad}` is not a valid CIDR"),
        });
    }
    let peers = match (selector, namespace_selector, nets.is_empty()) {
        (None, None, true) => None,
        (None, None, false) => Some(
            nets.into_iter()
                .map(|cidr| PolicyPeer::Addresses {
                    includes_pods: is_everywhere(&cidr),
                    cidr,
                    except: Vec::new(),
                })
                .collect(),
        ),
        (pods, namespaces, nets_empty) => {
            if !nets_empty {
                unevaluated.push(format!("`{peer_key}.nets` together with a selector"));
            }
            let namespaces = match namespaces {
                Some(matcher) => Namespaces::Selected(matcher),
                None if global => Namespaces::Selected(Matcher::Calico(Expr::All, String::new())),
                None => Namespaces::Own,
            };
            Some(vec![PolicyPeer::Pods { namespaces, pods }])
        }
    };
    let ports = ports(node, problems);
    PolicyRule::new(action, peers, ports, &unevaluated, node.line)
}

/// `protocol` and `destination.ports` (numbers, `"from:to"` ranges, names).
fn ports(node: &Node, problems: &mut Vec<Problem>) -> Option<Vec<PolicyPort>> {
    let protocol_node = field(node, "protocol");
    let protocol_text = protocol_node.and_then(Node::scalar_text).unwrap_or("");
    let protocol = match protocol_text.to_ascii_uppercase().as_str() {
        "" => None,
        "TCP" | "6" => Some(Some(Protocol::Tcp)),
        "UDP" | "17" | "UDPLITE" | "136" => Some(Some(Protocol::Udp)),
        "SCTP" | "132" => Some(Some(Protocol::Sctp)),
        // ICMP and other protocols carry no TCP/UDP port.
        _ => Some(None),
    };
    let listed = node.path(&["destination", "ports"]).filter(|n| !n.is_null());
    let Some(listed) = listed else {
        return match protocol {
            None => None,
            Some(Some(protocol)) => Some(vec![PolicyPort {
                protocol,
                port: PortMatch::Any,
            }]),
            Some(None) => Some(Vec::new()),
        };
    };
    let Some(Some(protocol)) = protocol else {
        problems.push(Problem {
            line: listed.line,
            message: "`destination.ports` needs `protocol` TCP, UDP or SCTP".into(),
        });
        return Some(Vec::new());
    };
    let mut ports = Vec::new();
    for p in listed.as_seq() {
        let text = p.scalar_text().unwrap_or("").trim();
        let number = |t: &str| t.trim().parse::<u16>().ok().filter(|n| *n > 0);
        let port = match text.split_once(':') {
            Some((start, end)) => match (number(start), number(end)) {
                (Some(start), Some(end)) if end >= start => Some(PortMatch::Range(start, end)),
                _ => None,
            },
            None => match number(text) {
                Some(n) => Some(PortMatch::Range(n, n)),
                None if super::is_port_name(text) => Some(PortMatch::Named(text.to_string())),
                None => None,
            },
        };
        match port {
            Some(port) => ports.push(PolicyPort { protocol, port }),
            None => problems.push(Problem {
                line: p.line,
                message: format!("port `{text}` is not a number, a range or a port name"),
            }),
        }
    }
    Some(ports)
}
