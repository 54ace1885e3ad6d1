//! The cluster-wide policy APIs of Kubernetes SIG Network
//! (`policy.networking.k8s.io`): `AdminNetworkPolicy` and
//! `BaselineAdminNetworkPolicy` (`v1alpha1`), and `ClusterNetworkPolicy`
//! (`v1alpha2`), the API that replaces both, with what their CRDs validate
//! (kubernetes-sigs/network-policy-api: `apis/v1alpha1`, `apis/v1alpha2`,
//! `config/crd/standard`).
//!
//! Semantics:
//! - `spec.subject` selects pods: `namespaces` (a label selector: every pod
//!   of those namespaces) or `pods` (`namespaceSelector` and `podSelector`).
//!   hostNetwork pods are never selected.
//! - An AdminNetworkPolicy, or a ClusterNetworkPolicy of `tier: Admin`, is
//!   evaluated before every NetworkPolicy, in `priority` order (0-1000,
//!   lower first), then rule by rule; the first rule that matches decides:
//!   Allow (`Accept`) lets the connection through whatever the
//!   NetworkPolicies say, Deny drops it, Pass hands it to the NetworkPolicy
//!   tier. A policy with no matching rule does not isolate: the connection
//!   goes on.
//! - The BaselineAdminNetworkPolicy (one per cluster, named `default`), or a
//!   ClusterNetworkPolicy of `tier: Baseline`, decides only for pods no
//!   NetworkPolicy isolates in that direction (Allow/Accept, Deny; a
//!   Baseline Pass goes on to the default, which allows).
//! - Rules: `action`, `from`/`to` peers (at least one), and optional ports
//!   (`ports` in v1alpha1: `portNumber {protocol, port}`, `namedPort`,
//!   `portRange {protocol, start, end}`; `protocols` in v1alpha2: `tcp`/
//!   `udp`/`sctp` with `destinationPort {number | range}`, or
//!   `destinationNamedPort`). Peers: `namespaces`, `pods`, and for egress
//!   `nodes`, `networks` (CIDRs, which match pod addresses too) and
//!   `domainNames` (not evaluated: taken as outside the cluster, with a note).

use super::fields::{field, is_everywhere, label_selector, list, valid_cidr};
use super::matcher::Matcher;
use super::rules::{
    Action, Entity, Flavor, Namespaces, Policy, PolicyPeer, PolicyPort, PolicyRule, PolicyScope, PortMatch, Problem,
    Side,
};
use crate::model::object::Object;
use crate::model::runtime::Protocol;
use crate::model::selector::Selector;
use crate::yaml::Node;

/// Which of the three kinds, for what their schemas say differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Admin,
    Baseline,
    /// `ClusterNetworkPolicy` (`v1alpha2`).
    Cluster,
}

impl Api {
    fn of(kind: &str) -> Api {
        match kind {
            "AdminNetworkPolicy" => Api::Admin,
            "BaselineAdminNetworkPolicy" => Api::Baseline,
            _ => Api::Cluster,
        }
    }

    /// The CRDs' `maxItems` of `ingress`, `egress`, `from`, `to` and ports.
    fn max_items(self) -> usize {
        match self {
            Api::Admin | Api::Baseline => 100,
            Api::Cluster => 25,
        }
    }

    fn actions(self) -> &'static str {
        match self {
            Api::Admin => "Allow, Deny or Pass",
            Api::Baseline => "Allow or Deny",
            Api::Cluster => "Accept, Deny or Pass",
        }
    }

    fn egress_peers(self) -> &'static str {
        match self {
            Api::Baseline => "namespaces, pods, nodes, networks",
            Api::Admin | Api::Cluster => "namespaces, pods, nodes, networks, domainNames",
        }
    }
}

/// The problems found so far.
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, line: u32, message: impl Into<String>) {
        self.0.push(Problem {
            line,
            message: message.into(),
        });
    }
}

pub(super) fn parse(obj: &Object) -> Policy<'_> {
    let api = Api::of(&obj.kind);
    let spec = match obj.root.get("spec") {
        Some(spec) if spec.is_map() => spec,
        other => {
            let line = other.map_or(obj.root.line, |n| n.line);
            let flavor = if api == Api::Baseline {
                Flavor::Baseline
            } else {
                Flavor::Admin
            };
            return Policy::malformed(obj, flavor, line, "`spec` is missing or not a mapping");
        }
    };
    let mut problems = Problems(Vec::new());
    if api == Api::Baseline && obj.name != "default" {
        let line = obj.root.path(&["metadata", "name"]).map_or(obj.root.line, |n| n.line);
        problems.add(
            line,
            format!(
                "a BaselineAdminNetworkPolicy must be named `default` (one per cluster), not `{}`",
                obj.name
            ),
        );
    }
    let flavor = tier(spec, api, &mut problems);
    let order = match api {
        Api::Baseline => None,
        Api::Admin | Api::Cluster => priority(spec, &mut problems),
    };
    let (scope, pod_selector, pod_selector_line) = subject(spec, api, &mut problems);
    let ingress = side(spec, true, api, &mut problems);
    let egress = side(spec, false, api, &mut problems);
    Policy {
        obj,
        flavor,
        scope,
        pod_selector,
        pod_selector_line,
        ingress,
        egress,
        order,
        problems: problems.0,
        unevaluated: Vec::new(),
    }
}

/// Admin or Baseline: the kind's, or a ClusterNetworkPolicy's `spec.tier`.
fn tier(spec: &Node, api: Api, problems: &mut Problems) -> Flavor {
    match api {
        Api::Admin => Flavor::Admin,
        Api::Baseline => Flavor::Baseline,
        Api::Cluster => match field(spec, "tier").map(|n| (n, n.scalar_text())) {
            Some((_, Some("Admin"))) => Flavor::Admin,
            Some((_, Some("Baseline"))) => Flavor::Baseline,
            Some((node, text)) => {
                problems.add(
                    node.line,
                    format!("`tier` `{}` is neither Admin nor Baseline", text.unwrap_or("?")),
                );
                Flavor::Admin
            }
            None => {
                problems.add(spec.line, "`tier` is missing (Admin or Baseline)");
                Flavor::Admin
            }
        },
    }
}

/// `spec.priority`: required, an integer in 0-1000 (lower first).
fn priority(spec: &Node, problems: &mut Problems) -> Option<f64> {
    let Some(node) = field(spec, "priority") else {
        problems.add(spec.line, "`priority` is missing (0-1000)");
        return None;
    };
    match node.as_i64() {
        Some(n) if (0..=1000).contains(&n) => Some(n as f64),
        _ => {
            problems.add(
                node.line,
                format!(
                    "`priority` `{}` is not an integer in 0-1000",
                    node.scalar_text().unwrap_or("?")
                ),
            );
            None
        }
    }
}

/// Which pods the policy applies to: exactly one of `namespaces`, `pods`.
fn subject(spec: &Node, api: Api, problems: &mut Problems) -> (PolicyScope, Matcher, u32) {
    let nothing = (PolicyScope::Cluster(None), Matcher::everything(), spec.line);
    let Some(subject) = field(spec, "subject") else {
        problems.add(spec.line, "`subject` is missing");
        return nothing;
    };
    match set_fields(subject).as_slice() {
        [("namespaces", node)] => {
            let namespaces = label_selector(node, "subject.namespaces", &mut problems.0);
            (
                PolicyScope::Cluster(Some(Matcher::Labels(namespaces))),
                Matcher::everything(),
                node.line,
            )
        }
        [("pods", node)] => {
            let (namespaces, pods, line) = namespaced_pod(node, "subject.pods", api, problems);
            (
                PolicyScope::Cluster(Some(Matcher::Labels(namespaces))),
                Matcher::Labels(pods),
                line,
            )
        }
        _ => {
            problems.add(subject.line, "`subject` must set exactly one of `namespaces`, `pods`");
            nothing
        }
    }
}

/// The fields of a mapping that are set (a null is pruned by the API server).
fn set_fields(node: &Node) -> Vec<(&str, &Node)> {
    node.entries()
        .iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(key, value)| (key.text.as_str(), value))
        .collect()
}

/// A `pods` subject or peer: the namespace and pod selectors, and the line
/// of the pod selector. v1alpha1 requires both; v1alpha2 only `podSelector`
/// (no `namespaceSelector`: every namespace).
fn namespaced_pod(node: &Node, what: &str, api: Api, problems: &mut Problems) -> (Selector, Selector, u32) {
    if !node.is_map() {
        problems.add(node.line, format!("`{what}` is not a mapping"));
        return (Selector::default(), Selector::default(), node.line);
    }
    let mut selector = |key: &str, required: bool| match field(node, key) {
        Some(n) => (label_selector(n, &format!("{what}.{key}"), &mut problems.0), n.line),
        None => {
            if required {
                problems.add(node.line, format!("`{what}.{key}` is missing"));
            }
            (Selector::default(), node.line)
        }
    };
    let (namespaces, _) = selector("namespaceSelector", api != Api::Cluster);
    let (pods, line) = selector("podSelector", true);
    (namespaces, pods, line)
}

/// One direction's rules; `None` when there are none (the policy then does
/// not affect that direction).
fn side(spec: &Node, ingress: bool, api: Api, problems: &mut Problems) -> Option<Side> {
    let key = if ingress { "ingress" } else { "egress" };
    let rules = list(spec, key, &mut problems.0)?;
    if rules.len() > api.max_items() {
        problems.add(
            rules[0].line,
            format!(
                "`{key}` has {} rules, more than the {} allowed",
                rules.len(),
                api.max_items()
            ),
        );
    }
    (!rules.is_empty()).then(|| Side {
        rules: rules.iter().map(|r| rule(r, ingress, api, problems)).collect(),
        // No matching rule: the connection goes on to the next tier.
        isolates: false,
    })
}

fn rule(node: &Node, ingress: bool, api: Api, problems: &mut Problems) -> PolicyRule {
    if !node.is_map() {
        problems.add(node.line, "a rule is not a mapping");
        return PolicyRule::new(Action::Deny, Some(Vec::new()), None, &[], node.line);
    }
    if let Some(name) = field(node, "name").and_then(Node::scalar_text) {
        if name.chars().count() > 100 {
            problems.add(node.line, "a rule's `name` is longer than 100 characters");
        }
    }
    let action = action(node, api, problems);
    let peers_key = if ingress { "from" } else { "to" };
    let listed = list(node, peers_key, &mut problems.0).unwrap_or_default();
    if listed.is_empty() {
        problems.add(
            node.line,
            format!("`{peers_key}` is missing or empty: a rule names at least one peer"),
        );
    } else if listed.len() > api.max_items() {
        problems.add(
            node.line,
            format!("`{peers_key}` has more than the {} peers allowed", api.max_items()),
        );
    }
    let mut peers = Peers::default();
    for peer in listed {
        peers.add(peer, ingress, api, problems);
    }
    let (ports, named) = match api {
        Api::Admin | Api::Baseline => ports_v1alpha1(node, api, problems),
        Api::Cluster => protocols_v1alpha2(node, problems),
    };
    if named && peers.without_named_ports {
        problems.add(
            node.line,
            "networks/nodes/domainNames peers cannot be set with named ports (they have none)",
        );
    }
    PolicyRule::new(action, Some(peers.peers), ports, &peers.unevaluated, node.line)
}

fn action(node: &Node, api: Api, problems: &mut Problems) -> Action {
    let text = field(node, "action").and_then(Node::scalar_text);
    match (api, text) {
        (Api::Admin | Api::Baseline, Some("Allow")) | (Api::Cluster, Some("Accept")) => Action::Allow,
        (_, Some("Deny")) => Action::Deny,
        (Api::Admin | Api::Cluster, Some("Pass")) => Action::Pass,
        (_, text) => {
            let what = text.map_or("is missing".to_string(), |t| format!("`{t}` is not"));
            problems.add(node.line, format!("rule action {what} {}", api.actions()));
            Action::Deny
        }
    }
}

/// The peers of one rule, and what they say about it.
#[derive(Default)]
struct Peers {
    peers: Vec<PolicyPeer>,
    unevaluated: Vec<String>,
    /// A `networks`, `nodes` or `domainNames` peer: no named port applies.
    without_named_ports: bool,
}

impl Peers {
    /// A peer sets exactly one field.
    fn add(&mut self, node: &Node, ingress: bool, api: Api, problems: &mut Problems) {
        let allowed = if ingress {
            "namespaces, pods"
        } else {
            api.egress_peers()
        };
        let [(key, value)] = set_fields(node).as_slice()[..] else {
            problems.add(node.line, format!("a peer must set exactly one of {allowed}"));
            return;
        };
        match key {
            "namespaces" => self.peers.push(PolicyPeer::Pods {
                namespaces: Namespaces::Selected(Matcher::Labels(label_selector(value, "namespaces", &mut problems.0))),
                pods: None,
            }),
            "pods" => {
                let (namespaces, pods, _) = namespaced_pod(value, "pods", api, problems);
                self.peers.push(PolicyPeer::Pods {
                    namespaces: Namespaces::Selected(Matcher::Labels(namespaces)),
                    pods: Some(Matcher::Labels(pods)),
                });
            }
            // Node labels are not known: a selector is taken to match every
            // node, with a note (an empty one does match them all).
            "nodes" if !ingress => {
                let selector = label_selector(value, "nodes", &mut problems.0);
                if !selector.is_empty() {
                    self.unevaluated
                        .push(format!("`nodes` {} (node labels are not known)", selector.display()));
                }
                self.without_named_ports = true;
                self.peers.push(PolicyPeer::Entity(Entity::Host));
                self.peers.push(PolicyPeer::Entity(Entity::RemoteNode));
            }
            "networks" if !ingress => {
                self.without_named_ports = true;
                for cidr in bounded_strings(value, "networks", problems) {
                    if !valid_cidr(&cidr) {
                        problems.add(value.line, format!("`networks` entry `{cidr}` is not a valid CIDR"));
                        continue;
                    }
                    self.peers.push(PolicyPeer::Addresses {
                        includes_pods: is_everywhere(&cidr),
                        cidr,
                        except: Vec::new(),
                    });
                }
            }
            "domainNames" if !ingress && api != Api::Baseline => {
                self.without_named_ports = true;
                let names = bounded_strings(value, "domainNames", problems);
                self.unevaluated.push(format!(
                    "`domainNames` {} (the addresses they resolve to are not known)",
                    names.join(", ")
                ));
                self.peers.push(PolicyPeer::Entity(Entity::World));
            }
            other => problems.add(
                node.line,
                format!(
                    "`{other}` is not an {} peer (one of {allowed})",
                    if ingress { "ingress" } else { "egress" }
                ),
            ),
        }
    }
}

/// A list of 1 to 25 strings (`networks`, `domainNames`).
fn bounded_strings(node: &Node, what: &str, problems: &mut Problems) -> Vec<String> {
    let items = node.as_seq();
    if !node.is_seq() || items.is_empty() || items.len() > 25 {
        problems.add(node.line, format!("`{what}` is not a list of 1 to 25 entries"));
    }
    items
        .iter()
        .filter_map(|item| {
            let text = item.scalar_text();
            if text.is_none() {
                problems.add(item.line, format!("a `{what}` entry is not a string"));
            }
            text.map(str::to_string)
        })
        .collect()
}

/// The ports of a rule, in one of the two shapes: each a mapping that sets
/// exactly one field. `true` with them when one is a named port.
fn port_entries<'n>(
    rule: &'n Node,
    key: &str,
    api: Api,
    problems: &mut Problems,
) -> Option<Vec<(&'n str, &'n Node, u32)>> {
    let entries = list(rule, key, &mut problems.0)?;
    if entries.is_empty() || entries.len() > api.max_items() {
        problems.add(
            rule.line,
            format!(
                "`{key}` must list 1 to {} entries (absent: every port)",
                api.max_items()
            ),
        );
    }
    let mut found = Vec::new();
    for entry in entries {
        match set_fields(entry).as_slice() {
            [(name, value)] => found.push((*name, *value, entry.line)),
            _ => problems.add(entry.line, format!("a `{key}` entry must set exactly one field")),
        }
    }
    Some(found)
}

/// A named port, whatever its protocol: the destination's container port
/// of that name says which.
fn named(name: &str) -> Vec<PolicyPort> {
    [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]
        .into_iter()
        .map(|protocol| PolicyPort {
            protocol,
            port: PortMatch::Named(name.to_string()),
        })
        .collect()
}

/// v1alpha1 `ports`: `portNumber {protocol, port}`, `namedPort`,
/// `portRange {protocol, start, end}` (protocol TCP by default).
fn ports_v1alpha1(rule: &Node, api: Api, problems: &mut Problems) -> (Option<Vec<PolicyPort>>, bool) {
    let Some(entries) = port_entries(rule, "ports", api, problems) else {
        return (None, false);
    };
    let mut ports = Vec::new();
    let mut has_named = false;
    for (key, value, line) in entries {
        match key {
            "portNumber" => {
                let protocol = protocol(value, problems);
                if let (Some(protocol), Some(port)) = (protocol, number(value, "port", problems)) {
                    ports.push(PolicyPort {
                        protocol,
                        port: PortMatch::Range(port, port),
                    });
                }
            }
            "namedPort" => {
                has_named = true;
                ports.extend(named(value.scalar_text().unwrap_or("")));
            }
            "portRange" => {
                let protocol = protocol(value, problems);
                if let (Some(protocol), Some(range)) = (protocol, range(value, problems)) {
                    ports.push(PolicyPort { protocol, port: range });
                }
            }
            other => problems.add(
                line,
                format!("`{other}` is not a port (portNumber, namedPort or portRange)"),
            ),
        }
    }
    (Some(ports), has_named)
}

/// v1alpha2 `protocols`: `tcp`/`udp`/`sctp` with a `destinationPort`
/// (`number` or `range`), or `destinationNamedPort`.
fn protocols_v1alpha2(rule: &Node, problems: &mut Problems) -> (Option<Vec<PolicyPort>>, bool) {
    let Some(entries) = port_entries(rule, "protocols", Api::Cluster, problems) else {
        return (None, false);
    };
    let mut ports = Vec::new();
    let mut has_named = false;
    for (key, value, line) in entries {
        let protocol = match key {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            "destinationNamedPort" => {
                has_named = true;
                ports.extend(named(value.scalar_text().unwrap_or("")));
                continue;
            }
            other => {
                problems.add(
                    line,
                    format!("`{other}` is not a protocol (tcp, udp, sctp or destinationNamedPort)"),
                );
                continue;
            }
        };
        let Some(destination) = field(value, "destinationPort") else {
            problems.add(value.line, format!("`{key}` needs a `destinationPort`"));
            continue;
        };
        let port = match set_fields(destination).as_slice() {
            [("number", _)] => number(destination, "number", problems).map(|n| PortMatch::Range(n, n)),
            [("range", range_node)] => range(range_node, problems),
            _ => {
                problems.add(
                    destination.line,
                    "`destinationPort` must set exactly one of `number`, `range`",
                );
                None
            }
        };
        if let Some(port) = port {
            ports.push(PolicyPort { protocol, port });
        }
    }
    (Some(ports), has_named)
}

/// v1alpha1's `protocol`: TCP when absent.
fn protocol(node: &Node, problems: &mut Problems) -> Option<Protocol> {
    match field(node, "protocol").map(|n| (n, n.scalar_text())) {
        None => Some(Protocol::Tcp),
        Some((_, Some(text @ ("TCP" | "UDP" | "SCTP")))) => Protocol::parse(text),
        Some((n, text)) => {
            problems.add(
                n.line,
                format!("protocol `{}` is not TCP, UDP or SCTP", text.unwrap_or("?")),
            );
            None
        }
    }
}

/// A required port number field, 1-65535.
fn number(node: &Node, key: &str, problems: &mut Problems) -> Option<u16> {
    let Some(value) = field(node, key) else {
        problems.add(node.line, format!("`{key}` is missing"));
        return None;
    };
    let port = value.as_i64().and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0);
    if port.is_none() {
        problems.add(
            value.line,
            format!(
                "`{key}` `{}` is not a port number in 1-65535",
                value.scalar_text().unwrap_or("?")
            ),
        );
    }
    port
}

/// `start` and `end`, both required, `start < end`.
fn range(node: &Node, problems: &mut Problems) -> Option<PortMatch> {
    let start = number(node, "start", problems);
    let end = number(node, "end", problems);
    match (start, end) {
        (Some(start), Some(end)) if start < end => Some(PortMatch::Range(start, end)),
        (Some(start), Some(end)) => {
            problems.add(
                node.line,
                format!("port range start {start} is not below its end {end}"),
            );
            None
        }
        _ => None,
    }
}
