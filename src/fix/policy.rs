//! NetworkPolicy generation for `helm netaudit fix` (spec: "Remediation").
//!
//! One `networking.k8s.io/v1` NetworkPolicy per workload, named
//! `<workload>-netaudit`, whose `podSelector` selects exactly that workload's
//! pods (checked with [`Workload::pods_selected_by`] against every other
//! workload of the namespace). Ingress is default-deny plus:
//!
//! - ports targeted by NodePort/LoadBalancer Services or by Ingress backends:
//!   from anywhere (those are reached from outside the cluster);
//! - ports behind a Service some workload refers to (its name or cluster DNS
//!   name appears in an env value, an argument, a command or a ConfigMap the
//!   workload reads): only from the referring workloads;
//! - every other declared (or observed) port: from the pods of the release.
//!
//! Egress ([`EgressMode`]): DNS to the cluster DNS, plus the pods of the
//! Services the workload refers to; in [`EgressMode::Dns`] the whole release
//! when nothing can be inferred, in [`EgressMode::Strict`] nothing more.
//! Egress outside the cluster is never allowed: an application that needs it
//! must have its policy extended by hand (the explanation says so).
//!
//! Workloads whose pods cannot be selected alone (M4A: identical labels, or
//! labels that are a superset of another workload's) and hostNetwork
//! workloads are [`Generated::Skipped`] with the reason.

use crate::model::selector::display_labels;
use crate::model::yaml::Node;
use crate::model::{Index, Labels, Object, Selector, Service, ServicePort, TargetPort, Workload};
use crate::probe::{Protocol, WorkloadRef};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What the egress section allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EgressMode {
    /// DNS (UDP/TCP 53 to the cluster DNS), the pods behind the Services the
    /// workload refers to, and the whole release's pods for a workload whose
    /// references cannot be inferred.
    #[default]
    Dns,
    /// DNS plus the inferred Service references only: no fallback to the
    /// whole release (a workload that refers to nothing gets DNS only).
    Strict,
    /// No egress section: `policyTypes: [Ingress]`, egress unrestricted.
    None,
}

#[derive(Debug, Clone, Default)]
pub struct PolicyOptions {
    pub egress: EgressMode,
    /// Ports a probe saw open, per workload (allowed like declared ones).
    pub observed_ports: BTreeMap<WorkloadRef, Vec<(Protocol, u16)>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Generated {
    Policy {
        workload: WorkloadRef,
        /// A complete `networking.k8s.io/v1` NetworkPolicy.
        policy: Value,
        /// Why each rule is there, one sentence each (the YAML comment).
        explanations: Vec<String>,
    },
    Skipped {
        workload: WorkloadRef,
        reason: String,
    },
}

impl Generated {
    pub fn workload(&self) -> &WorkloadRef {
        match self {
            Generated::Policy { workload, .. } | Generated::Skipped { workload, .. } => workload,
        }
    }
}

pub fn workload_ref(workload: &Workload<'_>) -> WorkloadRef {
    WorkloadRef {
        kind: workload.obj.kind.clone(),
        namespace: workload.obj.namespace.clone(),
        name: workload.obj.name.clone(),
    }
}

/// Label keys whose values change with every chart upgrade: used in a
/// selector only when nothing else makes it unique.
const VOLATILE_KEYS: &[&str] = &[
    "helm.sh/chart",
    "chart",
    "app.kubernetes.io/version",
    "version",
    "heritage",
    "app.kubernetes.io/managed-by",
    "pod-template-hash",
    "controller-revision-hash",
];

/// Label keys that name the release (added to a minimal selector so that a
/// second install of the same chart in the namespace is not selected).
const INSTANCE_KEYS: &[&str] = &["app.kubernetes.io/instance", "release"];

/// Preferred keys first, volatile ones last.
fn key_rank(key: &str) -> (u8, &str) {
    let rank = match key {
        "app.kubernetes.io/name" => 0,
        "app.kubernetes.io/instance" => 1,
        "app.kubernetes.io/component" => 2,
        "app" => 3,
        "component" => 4,
        "release" => 5,
        k if VOLATILE_KEYS.contains(&k) => 9,
        _ => 6,
    };
    (rank, key)
}

/// Largest number of labels combined when looking for a minimal selector.
const MAX_SUBSET: usize = 4;
/// Keys considered for minimal subsets (the most preferred ones).
const MAX_CANDIDATE_KEYS: usize = 12;

fn selector_of(labels: &Labels) -> Selector {
    Selector {
        match_labels: labels.clone(),
        expressions: Vec::new(),
    }
}

/// The smallest (preferred) subset of `workload`'s pod labels that selects
/// none of `others`' pods, plus the release's instance label when the
/// workload has one. `Err` with the workloads the full label set also
/// selects when there is none (labels only narrow: if the full set selects
/// another workload, every subset does).
fn unique_labels<'w, 'a>(
    workload: &Workload<'a>,
    others: &[&'w Workload<'a>],
) -> Result<Labels, Vec<&'w Workload<'a>>> {
    let full = selector_of(&workload.pod_labels);
    let colliding: Vec<&Workload<'a>> = others.iter().copied().filter(|o| o.pods_selected_by(&full)).collect();
    if !colliding.is_empty() {
        return Err(colliding);
    }
    let mut keys: Vec<&str> = workload.pod_labels.keys().map(String::as_str).collect();
    keys.sort_by_key(|k| key_rank(k));
    keys.truncate(MAX_CANDIDATE_KEYS);
    let excludes_all = |subset: &[usize]| {
        let labels: Labels = subset
            .iter()
            .map(|&i| (keys[i].to_string(), workload.pod_labels[keys[i]].clone()))
            .collect();
        let selector = selector_of(&labels);
        (!others.iter().any(|o| o.pods_selected_by(&selector))).then_some(labels)
    };
    for size in 1..=keys.len().min(MAX_SUBSET) {
        if let Some(mut labels) = combinations(keys.len(), size).find_map(|c| excludes_all(&c)) {
            for key in INSTANCE_KEYS {
                if let Some(value) = workload.pod_labels.get(*key) {
                    labels.insert((*key).to_string(), value.clone());
                }
            }
            return Ok(labels);
        }
    }
    Ok(workload.pod_labels.clone())
}

/// Index combinations of `size` out of `n`, in lexicographic order.
fn combinations(n: usize, size: usize) -> impl Iterator<Item = Vec<usize>> {
    let mut current: Option<Vec<usize>> = (size <= n).then(|| (0..size).collect());
    std::iter::from_fn(move || {
        let out = current.clone()?;
        let mut next = out.clone();
        let mut i = size;
        loop {
            if i == 0 {
                current = None;
                break;
            }
            i -= 1;
            if next[i] < n - size + i {
                next[i] += 1;
                for j in i + 1..size {
                    next[j] = next[j - 1] + 1;
                }
                current = Some(next);
                break;
            }
        }
        Some(out)
    })
}

/// "Deployment `web`".
fn describe(object: &Object) -> String {
    format!("{} `{}`", object.kind, object.name)
}

/// A port as a policy names it: protocol and number.
type Port = (String, i64);

fn display_port(port: &Port) -> String {
    format!("{}/{}", port.1, port.0)
}

/// Where a rule's traffic may come from (ingress) or go to (egress).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Peers {
    Anywhere,
    Release,
    Workloads(BTreeSet<usize>),
}

/// Everything computed once for all policies.
struct Context<'s, 'a> {
    index: &'s Index<'a>,
    /// Per workload: its unique pod selector, or the workloads it collides with.
    selectors: Vec<Result<Labels, Vec<usize>>>,
    /// Per Service (index in `index.services`): the workloads referring to it, with where.
    references: BTreeMap<usize, Vec<(usize, String)>>,
    /// Ports reachable from outside the cluster: (workload, port) -> why.
    exposed: BTreeMap<(usize, Port), Vec<String>>,
    /// Problems reading the extra kinds (ConfigMaps, Ingresses).
    notes: Vec<String>,
}

fn workload_position(index: &Index<'_>, workload: &Workload<'_>) -> usize {
    index
        .workloads
        .iter()
        .position(|w| std::ptr::eq(w, workload))
        .expect("workload of the index")
}

/// The workload's ports a Service port reaches: the number, or the
/// container ports of that name.
fn target_ports(workload: &Workload<'_>, port: &ServicePort) -> Vec<Port> {
    match &port.target {
        TargetPort::Number(n) => vec![(port.protocol.clone(), *n)],
        TargetPort::Name(name) => workload
            .ports()
            .filter(|p| p.name.as_deref() == Some(name.as_str()) && p.protocol == port.protocol)
            .map(|p| (p.protocol.clone(), p.number))
            .collect(),
    }
}

fn service_type<'a>(service: &Service<'a>) -> &'a str {
    service
        .obj
        .root
        .path(&["spec", "type"])
        .and_then(Node::scalar_text)
        .unwrap_or("ClusterIP")
}

impl<'s, 'a> Context<'s, 'a> {
    fn new(index: &'s Index<'a>) -> Context<'s, 'a> {
        let mut notes = Vec::new();
        let mut extra = Vec::new();
        for (i, input) in index.inputs.iter().enumerate() {
            match crate::model::load_objects_of_kinds(i, input, &["ConfigMap", "Ingress"]) {
                Ok(objects) => extra.extend(objects.into_iter().filter(|o| !o.is_helm_test_hook())),
                Err(e) => notes.push(format!("ConfigMaps and Ingresses of {} not read: {e}", input.name)),
            }
        }
        let selectors = index
            .workloads
            .iter()
            .map(|w| {
                let others: Vec<&Workload<'a>> = index
                    .workloads_in(&w.obj.namespace)
                    .filter(|o| !std::ptr::eq(*o, w))
                    .collect();
                unique_labels(w, &others)
                    .map_err(|colliding| colliding.iter().map(|c| workload_position(index, c)).collect())
            })
            .collect();
        let mut ctx = Context {
            index,
            selectors,
            references: BTreeMap::new(),
            exposed: BTreeMap::new(),
            notes,
        };
        ctx.find_references(&extra);
        ctx.find_exposed(&extra);
        ctx
    }

    /// Which workloads refer to which Services.
    fn find_references(&mut self, extra: &[Object]) {
        let config_maps: Vec<&Object> = extra.iter().filter(|o| o.kind == "ConfigMap").collect();
        for (wi, workload) in self.index.workloads.iter().enumerate() {
            let texts = referring_texts(workload, &config_maps);
            for (si, service) in self.index.services.iter().enumerate() {
                let found = texts
                    .iter()
                    .find(|(_, text)| hostnames(text).any(|h| refers_to(h, service, &workload.obj.namespace)));
                if let Some((place, _)) = found {
                    self.references.entry(si).or_default().push((wi, place.clone()));
                }
            }
        }
    }

    /// Ports of NodePort/LoadBalancer Services and of Ingress backends.
    fn find_exposed(&mut self, extra: &[Object]) {
        let index = self.index;
        let selected = |service: &Service<'a>| -> Vec<usize> {
            (0..index.workloads.len())
                .filter(|&i| service.selects(&index.workloads[i]))
                .collect()
        };
        for service in &index.services {
            let kind = service_type(service);
            if kind != "NodePort" && kind != "LoadBalancer" {
                continue;
            }
            for wi in selected(service) {
                for port in &service.ports {
                    for target in target_ports(&index.workloads[wi], port) {
                        let why = format!(
                            "port {} is the target of {} (type {kind}) port {}: reachable from outside the cluster, allowed from anywhere",
                            display_port(&target),
                            describe(service.obj),
                            port.port
                        );
                        self.exposed.entry((wi, target)).or_default().push(why);
                    }
                }
            }
        }
        for ingress in extra.iter().filter(|o| o.kind == "Ingress") {
            for (name, port) in ingress_backends(&ingress.root) {
                let services = index
                    .services
                    .iter()
                    .filter(|s| s.obj.namespace == ingress.namespace && s.obj.name == name);
                for service in services {
                    let ports = service.ports.iter().filter(|p| match &port {
                        BackendPort::Number(n) => p.port == *n,
                        BackendPort::Name(n) => p.name.as_deref() == Some(n.as_str()),
                        BackendPort::Any => true,
                    });
                    for service_port in ports {
                        for wi in selected(service) {
                            for target in target_ports(&index.workloads[wi], service_port) {
                                let why = format!(
                                    "port {} is the backend of {} (through {} port {}): ingress controllers run outside the release, allowed from anywhere",
                                    display_port(&target),
                                    describe(ingress),
                                    describe(service.obj),
                                    service_port.port
                                );
                                self.exposed.entry((wi, target)).or_default().push(why);
                            }
                        }
                    }
                }
            }
        }
    }

    /// A peer selecting one workload's pods, seen from a policy in `namespace`.
    fn workload_peer(&self, wi: usize, namespace: &str) -> Option<Value> {
        let workload = &self.index.workloads[wi];
        let labels = match &self.selectors[wi] {
            Ok(labels) => labels,
            Err(_) => &workload.pod_labels,
        };
        if labels.is_empty() {
            return None;
        }
        Some(peer(labels, &workload.obj.namespace, namespace))
    }

    /// Peers selecting the pods of a release (the input `input`), and how.
    fn release_peers(&self, input: usize, namespace: &str) -> (Vec<Value>, String) {
        let index = self.index;
        let release = &index.inputs[input].release;
        let mut by_namespace: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (wi, w) in index.workloads.iter().enumerate() {
            if w.obj.input == input {
                by_namespace.entry(w.obj.namespace.as_str()).or_default().push(wi);
            }
        }
        let mut peers = Vec::new();
        let mut how = Vec::new();
        for (ns, members) in by_namespace {
            let outsiders: Vec<&Workload<'a>> = index.workloads_in(ns).filter(|w| w.obj.input != input).collect();
            let mut common: Vec<(&String, &String)> = index.workloads[members[0]]
                .pod_labels
                .iter()
                .filter(|(k, v)| {
                    members
                        .iter()
                        .all(|&m| index.workloads[m].pod_labels.get(*k) == Some(*v))
                })
                .filter(|(k, v)| {
                    let selector = selector_of(&Labels::from([((*k).clone(), (*v).clone())]));
                    !outsiders.iter().any(|o| o.pods_selected_by(&selector))
                })
                .collect();
            common.sort_by_key(|(k, _)| {
                let pos = INSTANCE_KEYS.iter().position(|i| i == k).unwrap_or(INSTANCE_KEYS.len());
                (pos, key_rank(k))
            });
            if let Some((k, v)) = common.first() {
                let labels = Labels::from([((*k).clone(), (*v).clone())]);
                peers.push(peer(&labels, ns, namespace));
                how.push(format!("pods labelled {k}={v} in namespace {ns}"));
            } else {
                let named: Vec<String> = members
                    .iter()
                    .filter_map(|&m| {
                        let p = self.workload_peer(m, namespace)?;
                        peers.push(p);
                        Some(describe(index.workloads[m].obj))
                    })
                    .collect();
                how.push(format!(
                    "no label is common to all of its pods in namespace {ns}: one peer per workload ({})",
                    named.join(", ")
                ));
            }
        }
        (peers, format!("release `{release}` ({})", how.join("; ")))
    }

    fn generate(&self, wi: usize, options: &PolicyOptions, names: &BTreeMap<String, usize>) -> Generated {
        let index = self.index;
        let workload = &index.workloads[wi];
        let reference = workload_ref(workload);
        let skipped = |reason: String| Generated::Skipped {
            workload: reference.clone(),
            reason,
        };
        if workload.host_network_line.is_some() {
            return skipped(format!(
                "{} uses hostNetwork: its pods share the node's network namespace and NetworkPolicies do not apply to them (M7)",
                describe(workload.obj)
            ));
        }
        if workload.pod_labels.is_empty() {
            return skipped(format!(
                "the pods of {} have no labels: a policy cannot select them without selecting every pod of namespace {}",
                describe(workload.obj),
                workload.obj.namespace
            ));
        }
        let pod_labels = match &self.selectors[wi] {
            Ok(labels) => labels.clone(),
            Err(colliding) => {
                let names: Vec<String> = colliding.iter().map(|&c| describe(index.workloads[c].obj)).collect();
                return skipped(format!(
                    "no pod selector selects {} without also selecting the pods of {} (M4A: their pod labels are identical or a superset of {}): make the labels unique first",
                    describe(workload.obj),
                    names.join(", "),
                    display_labels(&workload.pod_labels)
                ));
            }
        };
        let namespace = workload.obj.namespace.as_str();
        let mut explanations = vec![format!(
            "NetworkPolicy for {} (namespace {namespace}, release `{}`): selects its pods by {}, which no other workload's pods carry",
            describe(workload.obj),
            index.release_of(workload.obj),
            display_labels(&pod_labels)
        )];
        explanations.extend(self.notes.iter().cloned());

        // Ingress.
        let mut ports: BTreeMap<Port, Vec<String>> = BTreeMap::new();
        for p in workload.ports() {
            ports
                .entry((p.protocol.clone(), p.number))
                .or_default()
                .push("declared".into());
        }
        if let Some(observed) = options.observed_ports.get(&reference) {
            for (protocol, number) in observed {
                ports
                    .entry((protocol.as_str().to_string(), i64::from(*number)))
                    .or_default()
                    .push("observed open by the probe".into());
            }
        }
        for (w, port) in self.exposed.keys() {
            if *w == wi {
                ports.entry(port.clone()).or_default();
            }
        }
        let mut rules: BTreeMap<Peers, (BTreeSet<Port>, Vec<String>)> = BTreeMap::new();
        let mut add_rule = |peers: Peers, port: &Port, why: String| {
            let rule = rules.entry(peers).or_default();
            rule.0.insert(port.clone());
            rule.1.push(why);
        };
        let serving: Vec<(usize, &Service<'a>)> = index
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| s.selects(workload))
            .collect();
        for (port, sources) in &ports {
            let shown = if sources.is_empty() {
                display_port(port)
            } else {
                format!("{} ({})", display_port(port), sources.join(", "))
            };
            if let Some(whys) = self.exposed.get(&(wi, port.clone())) {
                for why in whys {
                    add_rule(Peers::Anywhere, port, format!("ingress: {why}"));
                }
                continue;
            }
            let behind: Vec<usize> = serving
                .iter()
                .filter(|(_, s)| s.ports.iter().any(|sp| target_ports(workload, sp).contains(port)))
                .map(|(si, _)| *si)
                .collect();
            if behind.is_empty() {
                add_rule(
                    Peers::Release,
                    port,
                    format!("ingress: port {shown} is not behind any Service: allowed from the whole release"),
                );
                continue;
            }
            let unreferenced: Vec<String> = behind
                .iter()
                .filter(|si| !self.references.contains_key(si))
                .map(|&si| describe(index.services[si].obj))
                .collect();
            if !unreferenced.is_empty() {
                add_rule(
                    Peers::Release,
                    port,
                    format!(
                        "ingress: port {shown} is the target of {}, which no workload refers to (no env value, argument, command or ConfigMap names it): allowed from the whole release",
                        unreferenced.join(", ")
                    ),
                );
                continue;
            }
            let mut from = BTreeSet::new();
            let mut evidence = Vec::new();
            for si in &behind {
                for (referrer, place) in &self.references[si] {
                    from.insert(*referrer);
                    evidence.push(format!(
                        "{} refers to {} in {place}",
                        describe(index.workloads[*referrer].obj),
                        describe(index.services[*si].obj)
                    ));
                }
            }
            add_rule(
                Peers::Workloads(from),
                port,
                format!(
                    "ingress: port {shown} only from the workloads that refer to its Service ({})",
                    evidence.join("; ")
                ),
            );
        }
        for (_, service) in &serving {
            for sp in &service.ports {
                let targets = target_ports(workload, sp);
                if targets.is_empty() || targets.iter().any(|t| !ports.contains_key(t)) {
                    explanations.push(format!(
                        "not allowed: {} port {} targets {} ({}), which {} does not declare (M5B): declare it to have it allowed",
                        describe(service.obj),
                        sp.port,
                        sp.target,
                        sp.protocol,
                        describe(workload.obj)
                    ));
                }
            }
        }
        if ports.is_empty() {
            explanations.push("ingress: no declared or observed port: all ingress is denied".into());
        }
        let mut ingress = Vec::new();
        for (peers, (rule_ports, whys)) in rules {
            let from = match peers {
                Peers::Anywhere => None,
                Peers::Release => {
                    let (peers, how) = self.release_peers(workload.obj.input, namespace);
                    explanations.push(format!("ingress: the whole release is {how}"));
                    Some(peers)
                }
                Peers::Workloads(set) => {
                    for &w in &set {
                        if index.workloads[w].host_network_line.is_some() {
                            explanations.push(format!(
                                "note: {} uses hostNetwork: its traffic comes from the node's address, which a podSelector does not match",
                                describe(index.workloads[w].obj)
                            ));
                        }
                    }
                    Some(set.iter().filter_map(|&w| self.workload_peer(w, namespace)).collect())
                }
            };
            explanations.extend(whys);
            let mut rule = Map::new();
            if let Some(from) = from {
                if from.is_empty() {
                    explanations.push(format!(
                        "ingress on {} dropped: no peer could be selected",
                        rule_ports.iter().map(display_port).collect::<Vec<_>>().join(", ")
                    ));
                    continue;
                }
                rule.insert("from".into(), Value::Array(from));
            }
            rule.insert("ports".into(), Value::Array(port_values(&rule_ports)));
            ingress.push(Value::Object(rule));
        }

        // Egress.
        let mut policy_types = vec![json!("Ingress")];
        let mut spec = Map::new();
        spec.insert("podSelector".into(), json!({ "matchLabels": pod_labels }));
        spec.insert("ingress".into(), Value::Array(ingress));
        if options.egress != EgressMode::None {
            policy_types.push(json!("Egress"));
            let egress = self.egress(wi, options.egress, &mut explanations);
            spec.insert("egress".into(), Value::Array(egress));
        } else {
            explanations.push("egress: not restricted (egress mode none)".into());
        }
        spec.insert("policyTypes".into(), Value::Array(policy_types));
        let name = if names.get(&workload.obj.name).copied().unwrap_or(0) > 1 {
            format!("{}-{}-netaudit", workload.obj.name, workload.obj.kind.to_lowercase())
        } else {
            format!("{}-netaudit", workload.obj.name)
        };
        let policy = json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": { "name": name, "namespace": namespace },
            "spec": Value::Object(spec),
        });
        Generated::Policy {
            workload: reference,
            policy,
            explanations,
        }
    }

    fn egress(&self, wi: usize, mode: EgressMode, explanations: &mut Vec<String>) -> Vec<Value> {
        let index = self.index;
        let workload = &index.workloads[wi];
        let namespace = workload.obj.namespace.as_str();
        let mut egress = vec![json!({
            "to": [{ "namespaceSelector": {}, "podSelector": { "matchLabels": { "k8s-app": "kube-dns" } } }],
            "ports": [{ "protocol": "UDP", "port": 53 }, { "protocol": "TCP", "port": 53 }],
        })];
        explanations.push(
            "egress: DNS (53/UDP, 53/TCP) to the cluster DNS (pods labelled k8s-app=kube-dns in any namespace); nothing outside the cluster is allowed: add rules by hand if the application needs it"
                .into(),
        );
        let mut referenced = false;
        for (si, referrers) in &self.references {
            let Some((_, place)) = referrers.iter().find(|(w, _)| *w == wi) else {
                continue;
            };
            referenced = true;
            let service = &index.services[*si];
            let Some(selector) = service.selector.as_ref().filter(|s| s.expressions.is_empty()) else {
                explanations.push(format!(
                    "egress: {} (referred to in {place}) has no selector (ExternalName or manual endpoints): its destination cannot be selected, not allowed",
                    describe(service.obj)
                ));
                continue;
            };
            let backends: Vec<&Workload<'a>> = index.workloads.iter().filter(|w| service.selects(w)).collect();
            let mut numbers = BTreeSet::new();
            let mut names = BTreeSet::new();
            for sp in &service.ports {
                let mut resolved = false;
                for backend in &backends {
                    for target in target_ports(backend, sp) {
                        numbers.insert(target);
                        resolved = true;
                    }
                }
                if !resolved {
                    match &sp.target {
                        TargetPort::Number(n) => {
                            numbers.insert((sp.protocol.clone(), *n));
                        }
                        TargetPort::Name(n) => {
                            names.insert((sp.protocol.clone(), n.clone()));
                        }
                    }
                }
            }
            let mut ports = port_values(&numbers);
            ports.extend(
                names
                    .iter()
                    .map(|(protocol, name)| json!({ "protocol": protocol, "port": name })),
            );
            let mut rule = Map::new();
            rule.insert(
                "to".into(),
                json!([peer(&selector.match_labels, &service.obj.namespace, namespace)]),
            );
            if !ports.is_empty() {
                rule.insert("ports".into(), Value::Array(ports));
            }
            egress.push(Value::Object(rule));
            explanations.push(format!(
                "egress: to the pods of {} on its target ports, because {} refers to it in {place}",
                describe(service.obj),
                describe(workload.obj)
            ));
        }
        if !referenced {
            match mode {
                EgressMode::Dns => {
                    let (peers, how) = self.release_peers(workload.obj.input, namespace);
                    if !peers.is_empty() {
                        egress.push(json!({ "to": peers }));
                    }
                    explanations.push(format!(
                        "egress: {} refers to no Service (no env value, argument, command or ConfigMap names one): allowed to any port of the whole {how}",
                        describe(workload.obj)
                    ));
                }
                _ => explanations.push(format!(
                    "egress: {} refers to no Service: DNS only (strict egress mode)",
                    describe(workload.obj)
                )),
            }
        }
        egress
    }
}

/// `{podSelector}` plus a `namespaceSelector` when the pods live in another
/// namespace than the policy.
fn peer(labels: &Labels, pods_namespace: &str, policy_namespace: &str) -> Value {
    let mut peer = Map::new();
    if pods_namespace != policy_namespace {
        peer.insert(
            "namespaceSelector".into(),
            json!({ "matchLabels": { "kubernetes.io/metadata.name": pods_namespace } }),
        );
    }
    peer.insert("podSelector".into(), json!({ "matchLabels": labels }));
    Value::Object(peer)
}

/// `ports[]` entries; runs of three or more consecutive numbers of one
/// protocol become a `port`/`endPort` range.
fn port_values(ports: &BTreeSet<Port>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut iter = ports.iter().peekable();
    while let Some((protocol, start)) = iter.next() {
        let mut end = *start;
        while let Some((p, n)) = iter.peek() {
            if p == protocol && *n == end + 1 {
                end = *n;
                iter.next();
            } else {
                break;
            }
        }
        if end - start >= 2 {
            out.push(json!({ "protocol": protocol, "port": start, "endPort": end }));
        } else {
            for n in *start..=end {
                out.push(json!({ "protocol": protocol, "port": n }));
            }
        }
    }
    out
}

/// Texts where a workload may name the Services it talks to, with where
/// each comes from: env values, args and commands of every container, and
/// the ConfigMaps it reads.
fn referring_texts(workload: &Workload<'_>, config_maps: &[&Object]) -> Vec<(String, String)> {
    let mut texts = Vec::new();
    let spec = workload.pod_spec;
    let namespace = &workload.obj.namespace;
    let config_map = |name: &str| {
        config_maps
            .iter()
            .find(|c| c.name == name && &c.namespace == namespace && c.input == workload.obj.input)
            .or_else(|| config_maps.iter().find(|c| c.name == name && &c.namespace == namespace))
    };
    let add_config_map = |texts: &mut Vec<(String, String)>, name: &str, key: Option<&str>| {
        let Some(cm) = config_map(name) else { return };
        for (k, v) in cm.root.get("data").map(Node::entries).unwrap_or_default() {
            if key.is_none_or(|key| key == k.text) {
                if let Some(text) = v.scalar_text() {
                    texts.push((format!("ConfigMap `{name}` key {}", k.text), text.to_string()));
                }
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

/// Host-name-like tokens of a text: runs of letters, digits, `-`, `.` (and
/// `_`, which no host name has, so `db_host` is not read as `db`): so
/// `http://db.shop:5432/x` gives `http`, `db.shop`, `5432`, `x`.
fn hostnames(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        .map(|t| t.trim_matches('.'))
        .filter(|t| !t.is_empty())
}

/// Does a host name name this Service, as seen from a pod in
/// `from_namespace`? `svc` (same namespace), `svc.ns`, `svc.ns.svc`,
/// `svc.ns.svc.<cluster domain>`, and for headless Services the same with
/// a pod's host name in front (`kafka-0.kafka-headless`).
fn refers_to(host: &str, service: &Service<'_>, from_namespace: &str) -> bool {
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

enum BackendPort {
    Number(i64),
    Name(String),
    Any,
}

/// `(service name, port)` of every backend of an Ingress (networking.k8s.io/v1
/// and the old `serviceName`/`servicePort` shape).
fn ingress_backends(root: &Node) -> Vec<(String, BackendPort)> {
    let mut backends = Vec::new();
    let spec = root.get("spec");
    let mut add = |backend: &Node| {
        if let Some(service) = backend.get("service") {
            let Some(name) = service.get("name").and_then(Node::scalar_text) else {
                return;
            };
            let port = match service.get("port") {
                Some(p) => match (
                    p.get("number").and_then(Node::as_i64),
                    p.get("name").and_then(Node::scalar_text),
                ) {
                    (Some(n), _) => BackendPort::Number(n),
                    (None, Some(n)) => BackendPort::Name(n.to_string()),
                    _ => BackendPort::Any,
                },
                None => BackendPort::Any,
            };
            backends.push((name.to_string(), port));
        } else if let Some(name) = backend.get("serviceName").and_then(Node::scalar_text) {
            let port = match backend.get("servicePort") {
                Some(p) => match p.as_i64() {
                    Some(n) => BackendPort::Number(n),
                    None => p
                        .scalar_text()
                        .map_or(BackendPort::Any, |n| BackendPort::Name(n.to_string())),
                },
                None => BackendPort::Any,
            };
            backends.push((name.to_string(), port));
        }
    };
    for key in ["defaultBackend", "backend"] {
        if let Some(b) = spec.and_then(|s| s.get(key)) {
            add(b);
        }
    }
    for rule in spec.and_then(|s| s.get("rules")).map(Node::as_seq).unwrap_or_default() {
        for path in rule.path(&["http", "paths"]).map(Node::as_seq).unwrap_or_default() {
            if let Some(b) = path.get("backend") {
                add(b);
            }
        }
    }
    backends
}

/// One result per workload of the index, in the index's order.
pub fn generate(index: &Index<'_>, options: &PolicyOptions) -> Vec<Generated> {
    let ctx = Context::new(index);
    // Names used by more than one workload of a namespace get the kind in
    // the policy's name.
    let mut names: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for w in &index.workloads {
        names
            .entry((w.obj.namespace.clone(), w.obj.name.clone()))
            .or_default()
            .insert(w.obj.kind.clone());
    }
    (0..index.workloads.len())
        .map(|wi| {
            let w = &index.workloads[wi];
            let clashes: BTreeMap<String, usize> = names
                .iter()
                .filter(|((ns, _), _)| *ns == w.obj.namespace)
                .map(|((_, name), kinds)| (name.clone(), kinds.len()))
                .collect();
            ctx.generate(wi, options, &clashes)
        })
        .collect()
}

/// Multi-document YAML: each policy preceded by a `#` comment block with
/// its explanations; skipped workloads as comments.
pub fn to_yaml(generated: &[Generated]) -> String {
    let mut out = String::new();
    for item in generated {
        match item {
            Generated::Policy {
                policy, explanations, ..
            } => {
                out.push_str("---\n");
                for line in explanations.iter().flat_map(|e| e.lines()) {
                    out.push_str("# ");
                    out.push_str(line);
                    out.push('\n');
                }
                emit(policy, 0, &mut out);
            }
            Generated::Skipped { workload, reason } => {
                out.push_str(&format!(
                    "# No NetworkPolicy for {}/{}/{}:\n",
                    workload.kind, workload.namespace, workload.name
                ));
                for line in reason.lines() {
                    out.push_str("#   ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// One value as block YAML (the writer [`to_yaml`] uses), e.g. for patches
/// and patched objects.
pub fn value_to_yaml(value: &Value) -> String {
    let mut out = String::new();
    emit(value, 0, &mut out);
    out
}

/// A YAML scalar: plain when it cannot be read as anything but this string,
/// else double-quoted (JSON strings are valid YAML double-quoted scalars).
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => {
            let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
                );
            if plain {
                s.clone()
            } else {
                Value::String(s.clone()).to_string()
            }
        }
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        other => other.to_string(),
    }
}

fn is_block(value: &Value) -> bool {
    matches!(value, Value::Object(m) if !m.is_empty()) || matches!(value, Value::Array(a) if !a.is_empty())
}

/// Block YAML at `indent` spaces (sequences at their key's indentation, as kubectl writes them).
fn emit(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                out.push_str(&pad);
                out.push_str(&scalar(&Value::String(key.clone())));
                out.push(':');
                match v {
                    Value::Object(_) if is_block(v) => {
                        out.push('\n');
                        emit(v, indent + 2, out);
                    }
                    Value::Array(_) if is_block(v) => {
                        out.push('\n');
                        emit(v, indent, out);
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&scalar(v));
                        out.push('\n');
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                if is_block(item) {
                    let mut nested = String::new();
                    emit(item, indent + 2, &mut nested);
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&nested[indent + 2..]);
                } else {
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&scalar(item));
                    out.push('\n');
                }
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Input, Object};

    const SHOP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: api}}
  template:
    metadata:
      labels: {app.kubernetes.io/instance: shop, app.kubernetes.io/name: api, tier: backend}
    spec:
      containers:
      - name: api
        image: api
        ports: [{name: http, containerPort: 8080}]
        env:
        - {name: DB_HOST, value: db.shop.svc.cluster.local}
        - {name: MODE, value: production}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: db}}
  template:
    metadata:
      labels: {app.kubernetes.io/instance: shop, app.kubernetes.io/name: db, tier: backend}
    spec:
      containers:
      - {name: db, image: pg, ports: [{containerPort: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  selector: {app.kubernetes.io/name: db}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app.kubernetes.io/name: api}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: web}}
  template:
    metadata:
      labels: {app.kubernetes.io/instance: shop, app.kubernetes.io/name: web}
    spec:
      containers:
      - {name: web, image: web, ports: [{name: http, containerPort: 80}, {containerPort: 53, protocol: UDP}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app.kubernetes.io/name: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: admin}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: admin}}
  template:
    metadata:
      labels: {app.kubernetes.io/instance: shop, app.kubernetes.io/name: admin}
    spec:
      containers:
      - name: admin
        image: admin
        ports: [{containerPort: 9000}]
        envFrom: [{configMapRef: {name: admin-config}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: admin-config}
data:
  API_URL: "http://api:80/v1"
---
apiVersion: v1
kind: Service
metadata: {name: admin}
spec:
  selector: {app.kubernetes.io/name: admin}
  ports: [{name: ui, port: 9000}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: admin}
spec:
  rules:
  - http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: admin, port: {name: ui}}}
"#;

    fn objects(text: &str) -> (Vec<Input>, Vec<Object>) {
        let inputs = vec![Input::new("shop.yaml", "shop", "shop", text.to_string())];
        let objects = crate::audit::load(&inputs).unwrap();
        (inputs, objects)
    }

    fn run(text: &str, options: &PolicyOptions) -> Vec<Generated> {
        let (inputs, objects) = objects(text);
        let index = Index::new(&inputs, &objects);
        let generated = generate(&index, options);
        for g in &generated {
            if let Generated::Policy { policy, .. } = g {
                validate(policy);
            }
        }
        generated
    }

    fn policy_of<'g>(generated: &'g [Generated], name: &str) -> (&'g Value, &'g [String]) {
        generated
            .iter()
            .find_map(|g| match g {
                Generated::Policy {
                    workload,
                    policy,
                    explanations,
                } if workload.name == name => Some((policy, explanations.as_slice())),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no policy for {name}: {generated:#?}"))
    }

    fn skipped<'g>(generated: &'g [Generated], name: &str) -> &'g str {
        generated
            .iter()
            .find_map(|g| match g {
                Generated::Skipped { workload, reason } if workload.name == name => Some(reason.as_str()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{name} not skipped: {generated:#?}"))
    }

    /// The ingress rule allowing a port (protocol, number).
    fn ingress_rule<'p>(policy: &'p Value, protocol: &str, port: i64) -> &'p Value {
        policy["spec"]["ingress"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["ports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["protocol"] == protocol && p["port"] == port)
            })
            .unwrap_or_else(|| panic!("no rule for {port}/{protocol}: {policy:#}"))
    }

    fn is_dns_label(s: &str, max: usize) -> bool {
        !s.is_empty()
            && s.len() <= max
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && !s.starts_with(['-', '.'])
            && !s.ends_with(['-', '.'])
    }

    fn check_selector(selector: &Value) {
        let selector = selector.as_object().expect("a LabelSelector is an object");
        for (k, v) in selector {
            assert!(
                k == "matchLabels" || k == "matchExpressions",
                "unknown LabelSelector field {k}"
            );
            if k == "matchLabels" {
                for (key, value) in v.as_object().unwrap() {
                    let name = key.rsplit('/').next().unwrap();
                    assert!(!name.is_empty() && name.len() <= 63, "label key {key}");
                    let value = value.as_str().expect("label values are strings");
                    assert!(value.len() <= 63, "label value {value}");
                }
            }
        }
    }

    fn check_peers(peers: &Value) {
        for peer in peers.as_array().unwrap() {
            let peer = peer.as_object().unwrap();
            assert!(!peer.is_empty());
            for (k, v) in peer {
                assert!(
                    k == "podSelector" || k == "namespaceSelector" || k == "ipBlock",
                    "peer field {k}"
                );
                check_selector(v);
            }
        }
    }

    fn check_ports(ports: &Value) {
        for port in ports.as_array().unwrap() {
            let port = port.as_object().unwrap();
            for k in port.keys() {
                assert!(["protocol", "port", "endPort"].contains(&k.as_str()), "port field {k}");
            }
            assert!(["TCP", "UDP", "SCTP"].contains(&port["protocol"].as_str().unwrap()));
            match &port["port"] {
                Value::Number(n) => assert!((1..=65535).contains(&n.as_i64().unwrap())),
                Value::String(s) => assert!(is_dns_label(s, 15)),
                other => panic!("port {other}"),
            }
            if let Some(end) = port.get("endPort") {
                assert!(end.as_i64().unwrap() >= port["port"].as_i64().unwrap());
            }
        }
    }

    /// The policy is a valid networking.k8s.io/v1 NetworkPolicy: k8s-openapi
    /// reads it without dropping any field (it ignores unknown ones, so the
    /// re-serialized value must equal the original), and the values are in
    /// range.
    fn validate(policy: &Value) {
        use k8s_openapi::api::networking::v1::NetworkPolicy;
        let typed: NetworkPolicy = serde_json::from_value(policy.clone()).expect("a v1 NetworkPolicy");
        let back = serde_json::to_value(&typed).unwrap();
        assert_eq!(&back, policy, "fields lost in the round trip (unknown or misshapen)");
        assert_eq!(policy["apiVersion"], "networking.k8s.io/v1");
        assert_eq!(policy["kind"], "NetworkPolicy");
        assert!(is_dns_label(policy["metadata"]["name"].as_str().unwrap(), 253));
        assert!(is_dns_label(policy["metadata"]["namespace"].as_str().unwrap(), 63));
        let spec = &policy["spec"];
        check_selector(&spec["podSelector"]);
        assert!(!spec["podSelector"]["matchLabels"].as_object().unwrap().is_empty());
        let types: Vec<&str> = spec["policyTypes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(types.contains(&"Ingress"));
        assert_eq!(types.contains(&"Egress"), spec.get("egress").is_some());
        for (section, peers) in [("ingress", "from"), ("egress", "to")] {
            for rule in spec.get(section).and_then(Value::as_array).into_iter().flatten() {
                if let Some(p) = rule.get(peers) {
                    check_peers(p);
                }
                if let Some(p) = rule.get("ports") {
                    check_ports(p);
                }
            }
        }
    }

    #[test]
    fn selects_exactly_the_workload_with_a_minimal_label_set() {
        let generated = run(SHOP, &PolicyOptions::default());
        let (policy, explanations) = policy_of(&generated, "api");
        assert_eq!(policy["metadata"], json!({"name": "api-netaudit", "namespace": "shop"}));
        assert_eq!(
            policy["spec"]["podSelector"],
            json!({"matchLabels": {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/name": "api"}})
        );
        assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert!(explanations[0].contains("selects its pods by"), "{explanations:?}");
        assert_eq!(generated.len(), 4);
    }

    #[test]
    fn label_collisions_are_skipped_naming_the_other_workload() {
        let text = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec:
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: c, image: i}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: b}
spec:
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: c, image: i}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: c}
spec:
  template:
    metadata: {labels: {app: y}}
    spec: {containers: [{name: c, image: i}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    metadata: {labels: {app: y, tier: t}}
    spec: {containers: [{name: c, image: i}]}
"#;
        let generated = run(text, &PolicyOptions::default());
        assert!(skipped(&generated, "a").contains("Deployment `b`"));
        assert!(skipped(&generated, "b").contains("Deployment `a`"));
        let reason = skipped(&generated, "c");
        assert!(reason.contains("Deployment `d`") && reason.contains("M4A"), "{reason}");
        // d's labels are a superset of c's: d alone can still be selected.
        let (policy, _) = policy_of(&generated, "d");
        assert_eq!(policy["spec"]["podSelector"], json!({"matchLabels": {"tier": "t"}}));
    }

    #[test]
    fn host_network_workloads_are_skipped() {
        let text = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n  template:\n    metadata: {labels: {app: agent}}\n    spec:\n      hostNetwork: true\n      containers: [{name: c, image: i, ports: [{containerPort: 9100}]}]\n";
        let generated = run(text, &PolicyOptions::default());
        assert!(skipped(&generated, "agent").contains("hostNetwork"));
        assert!(to_yaml(&generated).contains("# No NetworkPolicy for DaemonSet/shop/agent:"));
    }

    #[test]
    fn declared_and_observed_ports_are_allowed() {
        let api = WorkloadRef {
            kind: "Deployment".into(),
            namespace: "shop".into(),
            name: "api".into(),
        };
        let options = PolicyOptions {
            observed_ports: BTreeMap::from([(api, vec![(Protocol::Tcp, 9090)])]),
            ..PolicyOptions::default()
        };
        let generated = run(SHOP, &options);
        let (policy, explanations) = policy_of(&generated, "api");
        ingress_rule(policy, "TCP", 8080);
        let observed = ingress_rule(policy, "TCP", 9090);
        assert_eq!(
            observed["from"],
            json!([{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "shop"}}}])
        );
        assert!(explanations
            .iter()
            .any(|e| e.contains("9090/TCP (observed open by the probe)") && e.contains("not behind any Service")));
        // web's UDP port keeps its protocol.
        let (web, _) = policy_of(&generated, "web");
        ingress_rule(web, "UDP", 53);
    }

    #[test]
    fn node_port_and_ingress_backends_are_allowed_from_anywhere() {
        let generated = run(SHOP, &PolicyOptions::default());
        let (web, explanations) = policy_of(&generated, "web");
        let rule = ingress_rule(web, "TCP", 80);
        assert!(rule.get("from").is_none(), "{rule}");
        assert!(explanations
            .iter()
            .any(|e| e.contains("Service `web` (type NodePort)") && e.contains("from anywhere")));
        // Not the UDP port: no Service exposes it.
        assert!(ingress_rule(web, "UDP", 53).get("from").is_some());

        let (admin, explanations) = policy_of(&generated, "admin");
        assert!(ingress_rule(admin, "TCP", 9000).get("from").is_none());
        assert!(
            explanations.iter().any(|e| e.contains("backend of Ingress `admin`")),
            "{explanations:?}"
        );
    }

    #[test]
    fn references_in_env_limit_ingress_to_the_referring_workloads() {
        let generated = run(SHOP, &PolicyOptions::default());
        let (db, explanations) = policy_of(&generated, "db");
        let rule = ingress_rule(db, "TCP", 5432);
        assert_eq!(
            rule["from"],
            json!([{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/name": "api"}}}])
        );
        assert!(explanations
            .iter()
            .any(|e| e.contains("Deployment `api` refers to Service `db` in env DB_HOST of container `api`")));
        // And through a ConfigMap (envFrom): admin -> api.
        let (api, explanations) = policy_of(&generated, "api");
        assert_eq!(
            ingress_rule(api, "TCP", 8080)["from"],
            json!([{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/name": "admin"}}}])
        );
        assert!(explanations
            .iter()
            .any(|e| e.contains("ConfigMap `admin-config` key API_URL")));
    }

    #[test]
    fn unreferenced_services_fall_back_to_the_whole_release() {
        let text = SHOP.replace("data:\n  API_URL: \"http://api:80/v1\"", "data: {}");
        let generated = run(&text, &PolicyOptions::default());
        let (api, explanations) = policy_of(&generated, "api");
        assert_eq!(
            ingress_rule(api, "TCP", 8080)["from"],
            json!([{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "shop"}}}])
        );
        assert!(
            explanations
                .iter()
                .any(|e| e.contains("Service `api`, which no workload refers to") && e.contains("whole release")),
            "{explanations:?}"
        );
    }

    #[test]
    fn egress_allows_dns_and_referenced_services() {
        let generated = run(SHOP, &PolicyOptions::default());
        let (api, _) = policy_of(&generated, "api");
        let egress = api["spec"]["egress"].as_array().unwrap();
        assert_eq!(
            egress[0],
            json!({
                "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            })
        );
        assert_eq!(
            egress[1],
            json!({
                "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "db"}}}],
                "ports": [{"protocol": "TCP", "port": 5432}],
            })
        );
        assert_eq!(egress.len(), 2);
        // db refers to nothing: Dns mode falls back to the release, Strict does not.
        let (db, _) = policy_of(&generated, "db");
        assert_eq!(db["spec"]["egress"].as_array().unwrap().len(), 2);
        let strict = run(
            SHOP,
            &PolicyOptions {
                egress: EgressMode::Strict,
                ..PolicyOptions::default()
            },
        );
        let (db, explanations) = policy_of(&strict, "db");
        assert_eq!(db["spec"]["egress"].as_array().unwrap().len(), 1);
        assert!(explanations.iter().any(|e| e.contains("DNS only")));
        let none = run(
            SHOP,
            &PolicyOptions {
                egress: EgressMode::None,
                ..PolicyOptions::default()
            },
        );
        let (db, _) = policy_of(&none, "db");
        assert!(db["spec"].get("egress").is_none());
        assert_eq!(db["spec"]["policyTypes"], json!(["Ingress"]));
    }

    #[test]
    fn host_names_match_cluster_dns_forms_only() {
        let (inputs, objects) = objects(SHOP);
        let index = Index::new(&inputs, &objects);
        let db = index.services.iter().find(|s| s.obj.name == "db").unwrap();
        let matches = |text: &str, ns: &str| hostnames(text).any(|h| refers_to(h, db, ns));
        for text in [
            "db",
            "db:5432",
            "postgres://u@db.shop:5432/x",
            "db.shop.svc",
            "DB.shop.svc.cluster.local.",
        ] {
            assert!(matches(text, "shop"), "{text}");
        }
        assert!(matches("db.shop.svc.cluster.local", "other"));
        assert!(!matches("db", "other"));
        for text in ["dbx", "db.example.com", "mydb.shop", "db.other", "db_host", "x.db.shop"] {
            assert!(!matches(text, "shop"), "{text}");
        }
    }

    #[test]
    fn yaml_output_reads_back_as_the_policies() {
        let generated = run(SHOP, &PolicyOptions::default());
        let yaml = to_yaml(&generated);
        let docs = crate::model::yaml::parse_documents(&yaml, 1).unwrap();
        let policies: Vec<&Value> = generated
            .iter()
            .filter_map(|g| match g {
                Generated::Policy { policy, .. } => Some(policy),
                Generated::Skipped { .. } => None,
            })
            .collect();
        let docs: Vec<Value> = docs.iter().filter(|d| !d.is_null()).map(Node::to_json).collect();
        assert_eq!(docs.iter().collect::<Vec<_>>(), policies);
        assert!(yaml.contains("---\n# NetworkPolicy for StatefulSet `db`"), "{yaml}");
    }

    #[test]
    fn consecutive_ports_become_ranges() {
        let ports: BTreeSet<Port> = [80, 8000, 8001, 8002, 9000, 9001]
            .into_iter()
            .map(|n| ("TCP".to_string(), n))
            .collect();
        assert_eq!(
            port_values(&ports),
            vec![
                json!({"protocol": "TCP", "port": 80}),
                json!({"protocol": "TCP", "port": 8000, "endPort": 8002}),
                json!({"protocol": "TCP", "port": 9000}),
                json!({"protocol": "TCP", "port": 9001}),
            ]
        );
    }
}
