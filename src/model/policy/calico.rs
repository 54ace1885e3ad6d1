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
//! - A rule matches when every field it sets matches: `protocol`, the
//!   peer's entity rule (`source` of an ingress rule, `destination` of an
//!   egress rule), the policy's own endpoint's (the other one), and
//!   `destination.ports`/`notPorts`. An entity rule's criteria hold
//!   together: `selector` and `namespaceSelector`, not `notSelector`,
//!   `nets`, not `notNets`, `serviceAccounts` (names and a selector on the
//!   ServiceAccount's labels), `services` (a Service's endpoints; as a
//!   destination on its ports; alone). Without `namespaceSelector`, the
//!   selectors mean the policy's namespace (every namespace for a
//!   GlobalNetworkPolicy); `notSelector` then excludes only there.
//! - Not evaluated (a note, and the lean of the question asked): source
//!   ports, `http`, `notProtocol`, `notICMP`, `ipVersion`, tiers other than
//!   `default`, `serviceAccountSelector`, `nets`/`notNets` on the policy's
//!   own pod, `namespaceSelector: global()` (network sets and host
//!   endpoints), a `serviceAccounts.selector` on labels other than the
//!   ServiceAccount's name.

use super::calico_selector::Expr;
use super::fields::{field, is_everywhere, is_port_name, list, strings, valid_cidr};
use super::matcher::Matcher;
use super::rules::{
    Action, Flavor, Namespaces, Policy, PolicyPeer, PolicyPort, PolicyRule, PolicyScope, PortMatch, Problem, Side,
};
use crate::model::object::Object;
use crate::model::runtime::Protocol;
use crate::model::selector::CALICO_NAME;
use crate::yaml::Node;

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
        rules: rules
            .iter()
            .map(|r| rule(r, ingress, obj, global, &mut problems))
            .collect(),
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
fn rule(node: &Node, ingress: bool, policy: &Object, global: bool, problems: &mut Vec<Problem>) -> PolicyRule {
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
        value: crate::yaml::Value::Null,
        line: node.line,
    };
    let peer = field(node, peer_key).unwrap_or(&empty);
    let local_node = field(node, local_key).unwrap_or(&empty);
    // Source ports are the client's, chosen at random: not evaluated.
    for key in ["ports", "notPorts"] {
        if field(node, "source").and_then(|s| field(s, key)).is_some() {
            unevaluated.push(format!("`source.{key}` (the client's port)"));
        }
    }
    for key in ["http", "notProtocol", "notICMP", "ipVersion"] {
        if field(node, key).is_some() {
            unevaluated.push(format!("`{key}`"));
        }
    }
    let context = Context {
        namespace: &policy.namespace,
        global,
    };
    let peers = entity(peer, peer_key, &context, problems).map(|peer| match peer {
        PolicyPeer::AnyOf(nets) => nets,
        peer => vec![peer],
    });
    // The policy's own pod: its address is not known.
    for key in ["nets", "notNets"] {
        if field(local_node, key).is_some() {
            unevaluated.push(format!(
                "`{local_key}.{key}` (the address of the policy's own pod is not known)"
            ));
        }
    }
    let local = entity(local_node, local_key, &context, problems).and_then(without_addresses);
    // Calico's validator: `services` only names the other end.
    if field(local_node, "services").is_some() {
        problems.push(Problem {
            line: node.line,
            message: format!(
                "`{local_key}.services` is not allowed in an {} rule",
                if ingress { "ingress" } else { "egress" }
            ),
        });
    }
    for (key, side) in [(peer_key, peer), (local_key, local_node)] {
        let global = field(side, "namespaceSelector")
            .and_then(Node::scalar_text)
            .is_some_and(|text| text.contains("global()"));
        if global {
            unevaluated.push(format!(
                "`{key}.namespaceSelector` global() (network sets and host endpoints are not read)"
            ));
        }
    }
    for (key, side) in [(peer_key, peer), (local_key, local_node)] {
        let reads_unknown_labels = field(side, "serviceAccounts")
            .and_then(|a| field(a, "selector"))
            .and_then(Node::scalar_text)
            .and_then(|text| Expr::parse(text).ok())
            .is_some_and(|e| e.reads_other_than(&[CALICO_NAME]));
        if reads_unknown_labels {
            unevaluated.push(format!(
                "`{key}.serviceAccounts.selector` on ServiceAccount labels other than their name"
            ));
        }
    }
    let destination_ports =
        field(node, "destination").is_some_and(|d| field(d, "ports").is_some() || field(d, "notPorts").is_some());
    if !ingress && destination_ports && field(peer, "services").is_some() {
        problems.push(Problem {
            line: node.line,
            message: "`destination.ports` and `destination.notPorts` cannot go with `destination.services` in an egress rule (the Service's ports are used)".into(),
        });
    }
    let listed = ports(node, "ports", problems);
    let mut rule = PolicyRule::new(action, peers, listed, &unevaluated, node.line);
    rule.local = local;
    rule.not_ports = ports(node, "notPorts", problems).unwrap_or_default();
    rule
}

/// An entity's criteria without those on addresses (`nets`, `notNets`).
fn without_addresses(peer: PolicyPeer) -> Option<PolicyPeer> {
    let on_addresses = |p: &PolicyPeer| {
        let mut addresses = false;
        p.each(&mut |q| addresses |= matches!(q, PolicyPeer::Addresses { .. }));
        addresses
    };
    match peer {
        PolicyPeer::AllOf(criteria) => {
            let mut kept: Vec<PolicyPeer> = criteria.into_iter().filter(|c| !on_addresses(c)).collect();
            match kept.len() {
                0 => None,
                1 => kept.pop(),
                _ => Some(PolicyPeer::AllOf(kept)),
            }
        }
        peer if on_addresses(&peer) => None,
        peer => Some(peer),
    }
}

/// What an entity rule's criteria mean in its policy.
struct Context<'c> {
    namespace: &'c str,
    global: bool,
}

/// An entity rule (`source` or `destination`): every criterion it sets,
/// together; `None` when it sets none (any endpoint).
fn entity(node: &Node, key: &str, context: &Context<'_>, problems: &mut Vec<Problem>) -> Option<PolicyPeer> {
    let mut criteria = Vec::new();
    let selector = field(node, "selector").map(|n| expression(n, &format!("{key}.selector"), problems));
    let namespace_selector =
        field(node, "namespaceSelector").map(|n| expression(n, &format!("{key}.namespaceSelector"), problems));
    let not_selector = field(node, "notSelector").map(|n| expression(n, &format!("{key}.notSelector"), problems));
    // Without a namespaceSelector, selectors pick endpoints of the policy's
    // namespace (every namespace for a GlobalNetworkPolicy).
    let namespaces = match namespace_selector.clone() {
        Some(matcher) => Namespaces::Selected(matcher),
        None if context.global => Namespaces::Selected(Matcher::Calico(Expr::All, String::new())),
        None => Namespaces::Own,
    };
    // As Calico converts it: in a namespaced policy, or with a
    // namespaceSelector, a `notSelector` also limits the rule to pods of
    // those namespaces; the `notSelector` itself is not namespaced.
    let namespaced = namespace_selector.is_some() || !context.global;
    if selector.is_some() || (namespaced && (not_selector.is_some() || namespace_selector.is_some())) {
        criteria.push(PolicyPeer::Pods {
            namespaces: namespaces.clone(),
            pods: selector.clone(),
        });
    }
    if let Some(not_selector) = not_selector.clone() {
        criteria.push(PolicyPeer::Not(Box::new(PolicyPeer::Pods {
            namespaces: Namespaces::Selected(Matcher::Calico(Expr::All, String::new())),
            pods: Some(not_selector),
        })));
    }
    let mut nets = |nets_key: &str| -> Option<PolicyPeer> {
        let nets = strings(node, nets_key);
        if let Some(bad) = nets.iter().find(|n| !valid_cidr(n)) {
            problems.push(Problem {
                line: node.line,
                message: format!("`{key}.{nets_key}` entry `{bad}` is not a valid CIDR"),
            });
        }
        let mut ranges: Vec<PolicyPeer> = nets
            .into_iter()
            .map(|cidr| PolicyPeer::Addresses {
                includes_pods: is_everywhere(&cidr),
                cidr,
                except: Vec::new(),
            })
            .collect();
        match ranges.len() {
            0 => None,
            1 => ranges.pop(),
            _ => Some(PolicyPeer::AnyOf(ranges)),
        }
    };
    let has_nets = nets("nets").inspect(|n| criteria.push(n.clone())).is_some();
    let has_not_nets = nets("notNets")
        .inspect(|n| criteria.push(PolicyPeer::Not(Box::new(n.clone()))))
        .is_some();
    let accounts = field(node, "serviceAccounts");
    if let Some(accounts) = accounts {
        let names = field(accounts, "names").map(|_| strings(accounts, "names"));
        let selector =
            field(accounts, "selector").map(|n| expression(n, &format!("{key}.serviceAccounts.selector"), problems));
        criteria.push(PolicyPeer::ServiceAccounts {
            namespaces: namespaces.clone(),
            names,
            selector,
        });
    }
    if let Some(services) = field(node, "services") {
        let set = [
            ("selector", selector.is_some()),
            ("notSelector", not_selector.is_some()),
            ("namespaceSelector", namespace_selector.is_some()),
            ("nets", has_nets),
            ("notNets", has_not_nets),
            ("serviceAccounts", accounts.is_some()),
        ];
        if let Some((other, _)) = set.iter().find(|(_, present)| *present) {
            problems.push(Problem {
                line: services.line,
                message: format!("`{key}.services` cannot go with `{key}.{other}`"),
            });
        }
        let text = |k: &str| services.get(k).and_then(Node::scalar_text).unwrap_or("").to_string();
        let name = text("name");
        if name.is_empty() {
            problems.push(Problem {
                line: services.line,
                message: format!("`{key}.services` without a `name`"),
            });
        }
        let namespace = match text("namespace") {
            namespace if namespace.is_empty() => context.namespace.to_string(),
            namespace => namespace,
        };
        criteria.push(PolicyPeer::Service { namespace, name });
    }
    match criteria.len() {
        0 => None,
        1 => criteria.pop(),
        _ => Some(PolicyPeer::AllOf(criteria)),
    }
}

/// `protocol` and `destination.ports` (or `destination.notPorts`, `key`):
/// numbers, `"from:to"` ranges, names. `None`: any port.
fn ports(node: &Node, key: &str, problems: &mut Vec<Problem>) -> Option<Vec<PolicyPort>> {
    let protocol_node = field(node, "protocol");
    let protocol_text = protocol_node.and_then(Node::scalar_text).unwrap_or("");
    let protocol = match protocol_text.to_ascii_uppercase().as_str() {
        "" => None,
        "TCP" | "6" => Some(Some(Protocol::Tcp)),
        "UDP" | "17" => Some(Some(Protocol::Udp)),
        "SCTP" | "132" => Some(Some(Protocol::Sctp)),
        // ICMP, UDPLite and other protocols: no TCP, UDP or SCTP port matches.
        _ => Some(None),
    };
    let listed = node.path(&["destination", key]).filter(|n| !n.is_null());
    let Some(listed) = listed else {
        if key == "notPorts" {
            return None;
        }
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
            message: format!("`destination.{key}` needs `protocol` TCP, UDP or SCTP"),
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
                None if is_port_name(text) => Some(PortMatch::Named(text.to_string())),
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
