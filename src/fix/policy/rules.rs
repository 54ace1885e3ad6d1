//! The ingress and egress rules of one workload's policy, and the peers and
//! ports they name.

use super::flavors::{Flavor, HostNaming};
use super::intent::{numbered, Peer, PeerNamespace, Rule, RulePort};
use super::observed::Reached;
use super::references::{aliased_service, clients};
use super::selectors::{key_rank, selector_of, INSTANCE_KEYS};
use super::{describe, display_port, service_targets, targets_of, Context, EgressMode, PolicyOptions, Port};
use crate::checks;
use crate::model::{Labels, Protocol, Service, TargetPort, Workload};
use std::collections::{BTreeMap, BTreeSet};

/// Where a rule's traffic may come from (ingress) or go to (egress).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Peers {
    Anywhere,
    /// Pods of the monitoring namespace (`--monitoring-namespace`), else of any namespace.
    Monitoring,
    Release,
    /// Any pod of any namespace: the clients of a port are unknown and no
    /// other workload of the release can be one.
    Cluster,
    Workloads(BTreeSet<usize>),
}

impl<'a> Context<'_, 'a> {
    /// The ingress rules: every declared, observed or exposed port, from
    /// whoever may connect to it.
    pub(super) fn ingress(&self, wi: usize, options: &PolicyOptions, explanations: &mut Vec<String>) -> Vec<Rule> {
        let index = self.index;
        let workload = &index.workloads[wi];
        let namespace = workload.obj.namespace.as_str();
        let mut ports: BTreeMap<Port, Vec<String>> = BTreeMap::new();
        for p in workload.ports() {
            ports.entry((p.protocol, p.number)).or_default().push("declared".into());
        }
        for port in options.observed_ports.get(&workload.reference()).into_iter().flatten() {
            ports
                .entry(*port)
                .or_default()
                .push("observed open by the probe".into());
        }
        for (w, port) in self.exposed.keys().chain(self.proxied.keys()) {
            if *w == wi {
                ports.entry(*port).or_default();
            }
        }
        // What a Service of the release forwards to is reachable for its
        // clients, declared or not (M5B: ports.patch.yaml declares it).
        let own_services = index
            .services
            .iter()
            .filter(|s| s.obj.input == workload.obj.input && s.selects(workload));
        for service in own_services {
            let check = if service.headless { &checks::M5C } else { &checks::M5B };
            for sp in &service.ports {
                let (numbers, assumed) = targets_of(index, service, sp, workload);
                for number in numbers {
                    let sources = ports.entry((sp.protocol, number)).or_default();
                    if let (true, TargetPort::Name(name)) = (assumed, &sp.target) {
                        sources.push(format!(
                            "target `{name}` of {}, which no container declares: assumed to be {number} like the Service's port ({}: ports.patch.yaml declares it under that name; check it)",
                            describe(service.obj),
                            check.id
                        ));
                    } else if !workload.declares_number(number, sp.protocol) {
                        sources.push(format!(
                            "target of {}, declared by no container ({}: ports.patch.yaml declares it)",
                            describe(service.obj),
                            check.id
                        ));
                    }
                }
            }
        }
        let mut rules: BTreeMap<Peers, (BTreeSet<Port>, Vec<String>)> = BTreeMap::new();
        let mut add_rule = |peers: Peers, port: &Port, why: String| {
            let rule = rules.entry(peers).or_default();
            rule.0.insert(*port);
            rule.1.push(why);
        };
        let serving: Vec<(usize, &Service<'a>)> = index
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| s.selects(workload))
            .collect();
        let targets = |service: &Service<'a>| service_targets(index, service, workload);
        // Clients unknown: the release's workloads whose own destinations
        // are unknown too, or, when there is none, anyone in the cluster.
        let (unknown, whom) = if self.may_have_release_clients(wi) {
            (
                Peers::Release,
                "allowed from the whole release (clients in other releases or namespaces, like the applications of a database chart, are not: add them)",
            )
        } else {
            (
                Peers::Cluster,
                "no other workload of the release can be a client (each one names the Services it uses), so its clients are elsewhere: allowed from any pod of any namespace (narrow it to the clients' namespaces)",
            )
        };
        for (port, sources) in &ports {
            let shown = if sources.is_empty() {
                display_port(port)
            } else {
                format!("{} ({})", display_port(port), sources.join(", "))
            };
            if let Some(whys) = self.exposed.get(&(wi, *port)) {
                for why in whys {
                    add_rule(Peers::Anywhere, port, format!("ingress: {why}"));
                }
                continue;
            }
            if let Some((controllers, whys)) = self.proxied.get(&(wi, *port)) {
                for why in whys {
                    add_rule(Peers::Workloads(controllers.clone()), port, format!("ingress: {why}"));
                }
            }
            let behind: Vec<usize> = serving
                .iter()
                .filter(|(_, s)| targets(s).contains(port))
                .map(|(si, _)| *si)
                .collect();
            if behind.is_empty() {
                add_rule(
                    unknown.clone(),
                    port,
                    format!("ingress: port {shown} is not behind any Service: {whom}"),
                );
                continue;
            }
            let unreferenced: Vec<String> = behind
                .iter()
                .filter(|si| clients(index, &self.references, **si).is_empty())
                .map(|&si| describe(index.services[si].obj))
                .collect();
            if !unreferenced.is_empty() {
                add_rule(
                    unknown.clone(),
                    port,
                    format!(
                        "ingress: port {shown} is the target of {}, which no other workload refers to (no env value, argument, command or ConfigMap names it): {whom}",
                        unreferenced.join(", ")
                    ),
                );
                continue;
            }
            // A reference that names ports (`zk:2181`) reaches those only;
            // a port that none of the references names stays open to all
            // of them (never wider: its clients may be among them).
            let (mut from, mut evidence) = self.referrers_of_port(wi, port, &behind, true);
            if from.is_empty() {
                (from, evidence) = self.referrers_of_port(wi, port, &behind, false);
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
        // Prometheus scrapes from its own namespace, whoever else may connect.
        for ((w, port), whys) in &self.scraped {
            if *w == wi {
                for why in whys {
                    add_rule(Peers::Monitoring, port, format!("ingress: {why}"));
                }
            }
        }
        if let Some((mesh, why)) = &self.meshes[wi] {
            for &port in mesh.admin {
                add_rule(
                    Peers::Monitoring,
                    &(Protocol::Tcp, port),
                    format!(
                        "ingress: port {port}/TCP is the admin port of the {} proxy its pods get ({why}), scraped by the mesh's Prometheus",
                        mesh.name
                    ),
                );
            }
        }
        // What a probe saw connect, from the workload it came from.
        let mut observed_clients = false;
        for o in self.observed.iter().filter(|o| o.to == Reached::Workload(wi)) {
            observed_clients = true;
            add_rule(
                Peers::Workloads(BTreeSet::from([o.from])),
                &o.port,
                format!(
                    "ingress: port {} from {}, {}",
                    display_port(&o.port),
                    describe(index.workloads[o.from].obj),
                    o.why
                ),
            );
        }
        if ports.is_empty() && !observed_clients {
            explanations.push("ingress: no declared or observed port: all ingress is denied".into());
        }
        let mut ingress = Vec::new();
        for (peers, (rule_ports, whys)) in rules {
            let from = match peers {
                Peers::Anywhere => None,
                Peers::Monitoring => Some(vec![match &options.monitoring_namespace {
                    Some(namespace) => {
                        explanations.push(format!("ingress: the monitoring namespace is `{namespace}`"));
                        namespace_pods(PeerNamespace::Named(namespace.clone()))
                    }
                    None => {
                        explanations.push(
                            "ingress: scraped ports from any namespace: pass --monitoring-namespace NAME to allow only Prometheus's".into(),
                        );
                        namespace_pods(PeerNamespace::Every)
                    }
                }]),
                // Without guesses (to tell which flows only a guess allows):
                // no rule for the whole release or the cluster.
                Peers::Release | Peers::Cluster if options.without_guesses => continue,
                Peers::Cluster => Some(vec![namespace_pods(PeerNamespace::Every)]),
                Peers::Release => {
                    let (peers, how) = self.release_peers(workload.obj.input, namespace);
                    explanations.push(format!("ingress: the whole release is {how}"));
                    Some(peers)
                }
                Peers::Workloads(set) => {
                    let mut from = Vec::new();
                    for &w in &set {
                        let peer = &index.workloads[w];
                        if peer.host_network_line.is_some() {
                            explanations.push(format!(
                                "ingress: {} uses hostNetwork: its traffic comes from its node's address, so {} may connect to {}{}",
                                describe(peer.obj),
                                options.flavor.constructs().nodes,
                                rule_ports.iter().map(display_port).collect::<Vec<_>>().join(", "),
                                NARROW_TO_NODES
                            ));
                            from.push(Peer::Nodes);
                        } else {
                            from.push(self.workload_peer(w, namespace, explanations));
                        }
                    }
                    from.dedup();
                    Some(from)
                }
            };
            explanations.extend(whys);
            let ports = numbered(rule_ports.iter().copied());
            match from {
                Some(from) if from.is_empty() => {
                    explanations.push(format!(
                        "ingress on {} dropped: no peer could be selected",
                        rule_ports.iter().map(display_port).collect::<Vec<_>>().join(", ")
                    ));
                }
                Some(from) => ingress.push(Rule::new(from, ports)),
                None => ingress.push(Rule::from_anywhere(ports)),
            }
        }
        ingress
    }

    /// The egress rules: DNS, the Services the workload refers to, and (in
    /// [`EgressMode::Dns`]) the whole release when it refers to none.
    pub(super) fn egress(&self, wi: usize, options: &PolicyOptions, explanations: &mut Vec<String>) -> Vec<Rule> {
        let mode = options.egress;
        let index = self.index;
        let workload = &index.workloads[wi];
        let namespace = workload.obj.namespace.as_str();
        let constructs = options.flavor.constructs();
        let mut egress = vec![Rule::new(
            vec![Peer::ClusterDns],
            numbered([(Protocol::Udp, 53), (Protocol::Tcp, 53)]),
        )];
        explanations.push(format!(
            "egress: DNS (53/UDP, 53/TCP) to the cluster DNS ({}); nothing outside the cluster is allowed: add rules by hand if the application needs it",
            constructs.dns
        ));
        if let Some(why) = &self.api_callers[wi] {
            egress.extend(api_server_rules(options));
            explanations.push(api_server_explanation(options, why));
        }
        if let Some(why) = &self.controllers[wi] {
            egress.push(Rule::new(vec![namespace_pods(PeerNamespace::Every)], Vec::new()));
            explanations.push(format!(
                "egress: any pod in any namespace, because {why}: it proxies to the backends of Ingresses and routes everywhere in the cluster"
            ));
        }
        if let Some(scraping) = &self.scraping[wi] {
            egress.extend(self.scrape_rules(wi, scraping, options, explanations));
        }
        if let Some((mesh, why)) = &self.meshes[wi] {
            let ports: BTreeSet<Port> = mesh.control_plane.iter().map(|(p, _)| (Protocol::Tcp, *p)).collect();
            egress.push(Rule::new(
                vec![namespace_pods(PeerNamespace::Named(mesh.namespace.to_string()))],
                numbered(ports),
            ));
            let named: Vec<String> = mesh
                .control_plane
                .iter()
                .map(|(p, what)| format!("{p}/TCP ({what})"))
                .collect();
            explanations.push(format!(
                "egress: {} on {}, because the pods get its proxy ({why}); another namespace if your mesh runs elsewhere",
                mesh.control_plane_name(),
                named.join(", ")
            ));
        }
        egress.extend(self.observed_egress(wi, options, explanations));
        for url in &self.unresolved[wi] {
            let guess = mode == EgressMode::Dns && !options.without_guesses;
            match url.port.filter(|_| guess) {
                Some(port) => {
                    egress.push(Rule::new(
                        vec![namespace_pods(PeerNamespace::Every)],
                        numbered([(Protocol::Tcp, port)]),
                    ));
                    explanations.push(format!(
                        "egress: any pod of any namespace on {port}/TCP, because `{}` (in {}) names `{}`, which is no Service of these manifests (another release's, one an operator creates?): narrow it to the pods behind it",
                        url.url, url.place, url.host
                    ));
                }
                None => explanations.push(format!(
                    "egress: `{}` (in {}) names `{}`, which is no Service of these manifests: not allowed; if it is in the cluster, add egress to the pods behind it",
                    url.url, url.place, url.host
                )),
            }
        }
        let mut referenced = false;
        for (si, referrers) in &self.references {
            let Some((_, place)) = referrers.iter().find(|(w, _)| *w == wi) else {
                continue;
            };
            referenced = true;
            let service = &index.services[*si];
            if aliased_service(index, service).is_some() {
                // The aliased Service has the reference too (its own rule).
                continue;
            }
            if let Some(aliased) = service.aliased_namespace() {
                egress.push(Rule::new(
                    vec![namespace_pods(PeerNamespace::Named(aliased.to_string()))],
                    Vec::new(),
                ));
                explanations.push(format!(
                    "egress: {} (referred to in {place}) is an ExternalName for `{}`, a Service of namespace {aliased}: any port of any pod of that namespace (its target ports are not known here); narrow it to the pods and ports behind that Service",
                    describe(service.obj),
                    service.external_name().unwrap_or_default()
                ));
                continue;
            }
            let Some(selector) = service.selector.as_ref().filter(|s| s.expressions.is_empty()) else {
                let what = describe(service.obj);
                explanations.push(match (service.external_name(), options.flavor.constructs().hosts) {
                    (Some(host), HostNaming::ByName(by_name)) => {
                        // The client connects to the host on the Service's `port`.
                        let ports = numbered(service.ports.iter().map(|p| (p.protocol, p.port)));
                        egress.push(Rule::new(vec![Peer::Host(host.to_string())], ports));
                        format!(
                            "egress: {what} (referred to in {place}) is an ExternalName for `{host}`, outside the cluster: allowed by name, {by_name}"
                        )
                    }
                    (Some(host), HostNaming::Cannot(why)) => format!(
                        "egress: {what} (referred to in {place}) is an ExternalName for `{host}`, outside the cluster: not allowed, since {why}; add a rule for its addresses by hand"
                    ),
                    (None, _) => format!(
                        "egress: {what} (referred to in {place}) has no selector (manual endpoints): its destination cannot be selected, not allowed"
                    ),
                });
                continue;
            };
            let backends: Vec<&Workload<'a>> = index.workloads.iter().filter(|w| service.selects(w)).collect();
            let mut numbers = BTreeSet::new();
            let mut names = BTreeSet::new();
            for sp in &service.ports {
                let mut resolved = false;
                for backend in &backends {
                    for number in targets_of(index, service, sp, backend).0 {
                        numbers.insert((sp.protocol, number));
                        resolved = true;
                    }
                }
                if !resolved {
                    match &sp.target {
                        TargetPort::Number(n) => {
                            numbers.insert((sp.protocol, *n));
                        }
                        TargetPort::Name(n) => {
                            names.insert((sp.protocol, n.clone()));
                        }
                    }
                }
            }
            let mut ports = numbered(numbers);
            ports.extend(
                names
                    .into_iter()
                    .map(|(protocol, name)| RulePort::Named(protocol, name)),
            );
            let mut to = vec![peer(&selector.match_labels, &service.obj.namespace, namespace)];
            if let Some(node) = backends.iter().find(|b| b.host_network_line.is_some()) {
                to.push(Peer::Nodes);
                explanations.push(format!(
                    "egress: {} behind {} uses hostNetwork: it listens on its node's address, so {} is allowed on the Service's target ports{NARROW_TO_NODES}",
                    describe(node.obj),
                    describe(service.obj),
                    options.flavor.constructs().nodes
                ));
            }
            egress.push(Rule::new(to, ports));
            explanations.push(format!(
                "egress: to the pods of {} on its target ports, because {} refers to it in {place}",
                describe(service.obj),
                describe(workload.obj)
            ));
        }
        if !referenced {
            match mode {
                EgressMode::Dns if options.without_guesses => {}
                EgressMode::Dns => {
                    let (peers, how) = self.release_peers(workload.obj.input, namespace);
                    if !peers.is_empty() {
                        egress.push(Rule::new(peers, Vec::new()));
                    }
                    explanations.push(format!(
                        "egress: {} refers to no Service (no env value, argument, command or ConfigMap names one): allowed to any port of the whole {how}",
                        describe(workload.obj)
                    ));
                    if self.scraping[wi].is_none() {
                        egress.extend(self.release_nodes(workload.obj.input, options, explanations));
                    }
                }
                _ => explanations.push(format!(
                    "egress: {} refers to no Service: DNS only (strict egress mode)",
                    describe(workload.obj)
                )),
            }
        }
        egress
    }

    /// Egress for a scraper (see [`discovery`](super::discovery)): any port
    /// of the pods of the namespaces it discovers (their ports are known
    /// only once relabelled), the kubelets for role `node`, and the
    /// release's hostNetwork workloads (their endpoints are node addresses).
    fn scrape_rules(
        &self,
        wi: usize,
        scraping: &super::discovery::Scraping,
        options: &PolicyOptions,
        explanations: &mut Vec<String>,
    ) -> Vec<Rule> {
        let workload = &self.index.workloads[wi];
        let mut rules = Vec::new();
        if scraping.scrapes_pods() {
            let to: Vec<Peer> = match &scraping.namespaces {
                None => vec![namespace_pods(PeerNamespace::Every)],
                Some(names) => names
                    .iter()
                    .map(|n| namespace_pods(PeerNamespace::Named(n.clone())))
                    .collect(),
            };
            rules.push(Rule::new(to, Vec::new()));
            explanations.push(format!(
                "egress: any port of the {}, because {} scrapes what it discovers at runtime: {scraping} (the ports are known only once relabelled; narrow it to your targets' ports)",
                scraping.targets(),
                describe(workload.obj)
            ));
            rules.extend(self.release_nodes(workload.obj.input, options, explanations));
        }
        if scraping.scrapes_nodes() {
            rules.push(Rule::new(vec![Peer::Nodes], numbered([KUBELET])));
            explanations.push(format!(
                "egress: the kubelets ({}, the port role `node` discovers) at {}, because {} scrapes nodes{NARROW_TO_NODES}",
                display_port(&KUBELET),
                options.flavor.constructs().nodes,
                describe(workload.obj)
            ));
        }
        rules
    }

    /// A peer selecting one workload's pods, seen from a policy in
    /// `namespace`. Pods without labels can only be selected with every pod
    /// of their namespace (said in `explanations`).
    pub(super) fn workload_peer(&self, wi: usize, namespace: &str, explanations: &mut Vec<String>) -> Peer {
        let workload = &self.index.workloads[wi];
        let labels = match &self.selectors[wi] {
            Ok(labels) => labels,
            Err(_) => &workload.pod_labels,
        };
        if labels.is_empty() {
            explanations.push(format!(
                "note: the pods of {} have no labels: only a selector of every pod of namespace {} includes them; label them to narrow this",
                describe(workload.obj),
                workload.obj.namespace
            ));
        }
        peer(labels, &workload.obj.namespace, namespace)
    }

    /// Can a port of workload `wi` whose clients nothing names have a client
    /// in the release? See [`Context::release_clients`].
    fn may_have_release_clients(&self, wi: usize) -> bool {
        !self.release_clients(wi).is_empty()
    }

    /// Egress to the hostNetwork workloads of a release (the input
    /// `input`): they listen on their nodes' addresses, which only an
    /// ipBlock matches, so any address on their declared ports.
    fn release_nodes(&self, input: usize, options: &PolicyOptions, explanations: &mut Vec<String>) -> Vec<Rule> {
        let mut rules = Vec::new();
        for node in self
            .index
            .workloads
            .iter()
            .filter(|w| w.obj.input == input && w.host_network_line.is_some())
        {
            let ports: BTreeSet<Port> = node.ports().map(|p| (p.protocol, p.number)).collect();
            if ports.is_empty() {
                continue;
            }
            explanations.push(format!(
                "egress: {} of the release uses hostNetwork: {} on {}, its declared ports (it listens on its node's address){NARROW_TO_NODES}",
                describe(node.obj),
                options.flavor.constructs().nodes,
                ports.iter().map(display_port).collect::<Vec<_>>().join(", ")
            ));
            rules.push(Rule::new(vec![Peer::Nodes], numbered(ports)));
        }
        rules
    }

    /// Peers selecting the pods of a release (the input `input`), and how.
    fn release_peers(&self, input: usize, namespace: &str) -> (Vec<Peer>, String) {
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
                        .all(|&m| index.workloads[m].pod_labels.get(k) == Some(*v))
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
                let mut notes = Vec::new();
                let named: Vec<String> = members
                    .iter()
                    .map(|&m| {
                        peers.push(self.workload_peer(m, namespace, &mut notes));
                        describe(index.workloads[m].obj)
                    })
                    .collect();
                how.extend(notes);
                how.push(format!(
                    "no label is common to all of its pods in namespace {ns}: one peer per workload ({})",
                    named.join(", ")
                ));
            }
        }
        (peers, format!("release `{release}` ({})", how.join("; ")))
    }
}

/// The kubelet's port: where Prometheus's role `node` finds the nodes.
pub(super) const KUBELET: Port = (Protocol::Tcp, 10250);

/// Egress to the API server: each `--api-server` range on its port (else
/// TCP 443 and 6443), or, without `--api-server`, wherever it is on those two.
pub(super) fn api_server_rules(options: &PolicyOptions) -> Vec<Rule> {
    let ports = |port: Option<u16>| -> Vec<RulePort> {
        match port {
            Some(p) => numbered([(Protocol::Tcp, p)]),
            None => numbered([(Protocol::Tcp, 443), (Protocol::Tcp, 6443)]),
        }
    };
    if options.api_server.is_empty() {
        return vec![Rule::new(vec![Peer::ApiServer { cidr: None }], ports(None))];
    }
    options
        .api_server
        .iter()
        .map(|a| {
            Rule::new(
                vec![Peer::ApiServer {
                    cidr: Some(a.cidr.clone()),
                }],
                ports(a.port),
            )
        })
        .collect()
}

/// Why a workload's policy lets it reach the API server, and how the
/// flavor says where that is.
pub(super) fn api_server_explanation(options: &PolicyOptions, why: &str) -> String {
    match (options.flavor, options.api_server.is_empty()) {
        (Flavor::Kubernetes, true) => format!(
            "egress: the Kubernetes API server, because {why}: {} (the API server is not a pod); narrow it with `--api-server CIDR[:PORT]` or `--cluster` (`kubectl get endpoints kubernetes -n default` shows the address)",
            options.flavor.constructs().api_server
        ),
        (Flavor::Kubernetes, false) => {
            let at: Vec<&str> = options.api_server.iter().map(|a| a.cidr.as_str()).collect();
            format!("egress: the Kubernetes API server at {}, because {why}", at.join(", "))
        }
        (flavor, _) => format!(
            "egress: the Kubernetes API server, because {why}: {}",
            flavor.constructs().api_server
        ),
    }
}

/// What ends an explanation of a rule that names every node.
const NARROW_TO_NODES: &str = ": narrow it to your nodes' addresses";

/// Every pod of `namespace`.
fn namespace_pods(namespace: PeerNamespace) -> Peer {
    Peer::Pods {
        namespace,
        labels: None,
    }
}

/// Pods by their labels, in another namespace than the policy's when they are.
fn peer(labels: &Labels, pods_namespace: &str, policy_namespace: &str) -> Peer {
    Peer::Pods {
        namespace: if pods_namespace == policy_namespace {
            PeerNamespace::Own
        } else {
            PeerNamespace::Named(pods_namespace.to_string())
        },
        labels: Some(labels.clone()),
    }
}
