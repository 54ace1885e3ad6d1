//! `networking.k8s.io/v1` NetworkPolicy, with the API server's defaulting
//! and validation.

use super::fields::{
    field, is_everywhere, is_quoted_number, label_selector, list, non_empty_list, port_value, strictly_within, strings,
    valid_cidr, PortValue,
};
use super::matcher::Matcher;
use super::rules::{
    Action, Flavor, Namespaces, Policy, PolicyPeer, PolicyPort, PolicyRule, PolicyScope, PortMatch, Problem, Side,
};
use crate::model::object::Object;
use crate::model::runtime::Protocol;
use crate::yaml::Node;

pub(super) fn parse(obj: &Object) -> Policy<'_> {
    let spec = match obj.root.get("spec") {
        Some(spec) if spec.is_map() => spec,
        other => {
            let line = other.map_or(obj.root.line, |n| n.line);
            return Policy::malformed(obj, Flavor::Kubernetes, line, "`spec` is missing or not a mapping");
        }
    };
    let mut problems = Vec::new();
    let pod_selector_node = field(spec, "podSelector");
    let pod_selector = pod_selector_node
        .map(|n| label_selector(n, "podSelector", &mut problems))
        .unwrap_or_default();
    let mut types: Vec<&str> = Vec::new();
    for t in list(spec, "policyTypes", &mut problems).unwrap_or_default() {
        match t.scalar_text() {
            Some(text @ ("Ingress" | "Egress")) => types.push(text),
            _ => problems.push(Problem {
                line: t.line,
                message: format!(
                    "policyTypes entry `{}` is neither Ingress nor Egress",
                    t.scalar_text().unwrap_or("?")
                ),
            }),
        }
    }
    let has_egress_rules = non_empty_list(spec, "egress", &mut Vec::new()).is_some();
    let (ingress, egress) = if types.is_empty() {
        (true, has_egress_rules)
    } else {
        (types.contains(&"Ingress"), types.contains(&"Egress"))
    };
    let mut side = |key: &str, peers_key: &str| Side {
        rules: list(spec, key, &mut problems)
            .unwrap_or_default()
            .iter()
            .map(|r| rule(r, peers_key, &mut problems))
            .collect(),
        isolates: true,
    };
    let ingress = ingress.then(|| side("ingress", "from"));
    let egress = egress.then(|| side("egress", "to"));
    Policy {
        obj,
        flavor: Flavor::Kubernetes,
        scope: PolicyScope::Namespace,
        pod_selector: Matcher::Labels(pod_selector),
        pod_selector_line: pod_selector_node.map_or(spec.line, |n| n.line),
        ingress,
        egress,
        order: None,
        problems,
        unevaluated: Vec::new(),
    }
}

fn rule(rule: &Node, peers_key: &str, problems: &mut Vec<Problem>) -> PolicyRule {
    let peers =
        non_empty_list(rule, peers_key, problems).map(|peers| peers.iter().filter_map(|p| peer(p, problems)).collect());
    let ports =
        non_empty_list(rule, "ports", problems).map(|ports| ports.iter().filter_map(|p| port(p, problems)).collect());
    PolicyRule::new(Action::Allow, peers, ports, &[], rule.line)
}

fn peer(node: &Node, problems: &mut Vec<Problem>) -> Option<PolicyPeer> {
    let ip_block = field(node, "ipBlock");
    let namespaces = field(node, "namespaceSelector").map(|n| label_selector(n, "namespaceSelector", problems));
    let pods = field(node, "podSelector").map(|n| label_selector(n, "podSelector", problems));
    let mut problem = |message: &str| {
        problems.push(Problem {
            line: node.line,
            message: message.into(),
        });
        None
    };
    match (ip_block, namespaces.is_some() || pods.is_some()) {
        (Some(block), false) => {
            let cidr = block.get("cidr").and_then(Node::scalar_text).unwrap_or("").to_string();
            let except = strings(block, "except");
            if !valid_cidr(&cidr) || !except.iter().all(|e| valid_cidr(e)) {
                return problem(&format!(
                    "ipBlock `{cidr}` is not a valid CIDR (or one of its `except` is not)"
                ));
            }
            if let Some(outside) = except.iter().find(|e| !strictly_within(e, &cidr)) {
                return problem(&format!(
                    "ipBlock `except` entry `{outside}` is not a strict subset of its `cidr` `{cidr}`"
                ));
            }
            Some(PolicyPeer::Addresses {
                includes_pods: is_everywhere(&cidr) && except.is_empty(),
                cidr,
                except,
            })
        }
        (None, true) => Some(PolicyPeer::Pods {
            namespaces: namespaces.map_or(Namespaces::Own, |s| Namespaces::Selected(Matcher::Labels(s))),
            pods: pods.map(Matcher::Labels),
        }),
        (Some(_), true) => problem("a peer with both ipBlock and a selector"),
        (None, false) => problem("a peer with none of podSelector, namespaceSelector, ipBlock"),
    }
}

fn port(node: &Node, problems: &mut Vec<Problem>) -> Option<PolicyPort> {
    let mut problem = |message: String| {
        problems.push(Problem {
            line: node.line,
            message,
        });
        None
    };
    let protocol = match node.get("protocol").and_then(Node::scalar_text) {
        None => Protocol::Tcp,
        Some(text) => match Protocol::parse(text) {
            Some(protocol) => protocol,
            None => return problem(format!("protocol `{text}` is not TCP, UDP or SCTP")),
        },
    };
    let end_port = field(node, "endPort");
    if let Some(quoted) = field(node, "port").filter(|n| is_quoted_number(n)) {
        // `port` is an IntOrString: a string is a port name, and a name
        // needs a letter.
        return problem(format!(
            "port `\"{}\"` is a quoted number: the API server reads a string as a port name, which needs a letter",
            quoted.scalar_text().unwrap_or("")
        ));
    }
    if end_port.is_some_and(|n| n.as_i64().is_none()) {
        return problem("endPort is not an integer".into());
    }
    let port = match field(node, "port").map(port_value) {
        None if end_port.is_some() => return problem("endPort without port".into()),
        None => PortMatch::Any,
        Some(Err(message)) => return problem(message),
        Some(Ok(PortValue::Name(_))) if end_port.is_some() => {
            return problem("endPort with a named port".into());
        }
        Some(Ok(PortValue::Name(name))) => PortMatch::Named(name),
        Some(Ok(PortValue::Number(start))) => match end_port.map(port_value) {
            None => PortMatch::Range(start, start),
            Some(Ok(PortValue::Number(end))) if end >= start => PortMatch::Range(start, end),
            Some(_) => return problem(format!("endPort is not a port number at least {start}")),
        },
    };
    Some(PolicyPort { protocol, port })
}
