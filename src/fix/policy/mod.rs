//! NetworkPolicy generation for `helm netaudit fix` (spec: "Remediation").
//!
//! One `networking.k8s.io/v1` NetworkPolicy per workload, named
//! `<workload>-netaudit`, whose `podSelector` selects exactly that workload's
//! pods (`selectors`). Ingress is default-deny plus (`rules`):
//!
//! - ports targeted by NodePort/LoadBalancer Services, Ingress backends,
//!   webhooks and aggregated APIs (`exposure`): from anywhere (those are
//!   reached from outside the pod network);
//! - scraped ports (ServiceMonitor, PodMonitor, annotations): from the
//!   monitoring namespace;
//! - ports behind a Service some workload refers to (`references`: its name
//!   or cluster DNS name appears in an env value, an argument, a command or
//!   a ConfigMap the workload reads): only from the referring workloads;
//! - every other declared (or observed) port, and every port a Service
//!   forwards to: from the pods of the release.
//!
//! Egress ([`EgressMode`]): DNS to the cluster DNS, plus the pods of the
//! Services the workload refers to; in [`EgressMode::Dns`] the whole release
//! when nothing can be inferred, in [`EgressMode::Strict`] nothing more. The
//! API server for workloads that call it, any pod for ingress controllers.
//! Nothing else outside the cluster: an application that needs it must have
//! its policy extended by hand (the explanation says so).
//!
//! [`needs::needs`] lists, from the same evidence, the flows the application
//! needs, so that the evaluator can check any policy set against them.
//!
//! Workloads whose pods cannot be selected alone (M4A: identical labels, or
//! labels that are a superset of another workload's) and hostNetwork
//! workloads are [`Generated::Skipped`] with the reason.

mod discovery;
mod exposure;
pub mod flavors;
pub mod intent;
mod mesh;
pub mod needs;
pub mod observed;
mod references;
mod rules;
mod selectors;
mod texts;

use crate::checks;
use crate::model::selector::display_labels;
use crate::model::{
    Index, Labels, Object, PodPick, Policy, Protocol, Service, ServicePort, TargetPort, Workload, WorkloadRef,
};
use flavors::Flavor;
use intent::Intent;
use serde_json::Value;
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
    /// Dynamic ports a probe saw (M2), per workload: never written as fixed
    /// numbers (they change at every start), only explained.
    pub dynamic_ports: BTreeMap<WorkloadRef, Vec<(Protocol, u16)>>,
    /// Also generate a policy for a workload the chart's own NetworkPolicies
    /// already select (they add up: the union of both is allowed).
    pub also_covered: bool,
    /// Where Prometheus runs, for scraped ports; `None`: any namespace.
    pub monitoring_namespace: Option<String>,
    /// Leave out the rules that are guesses (the whole release, where
    /// nothing names a port's clients): what is left is what the chart says.
    pub without_guesses: bool,
    /// Where the API server is (`--api-server`); empty: any address, TCP 443 and 6443.
    pub api_server: Vec<ApiServer>,
    /// The flows a probe observed (`--from-report`): each one allowed, and needed.
    pub observed_flows: Vec<crate::model::ObservedFlow>,
    /// The language the policies are written in.
    pub flavor: Flavor,
    /// Also write the cluster-wide default of the release's namespaces (`fix --baseline`).
    pub baseline: bool,
}

/// An address range of the Kubernetes API server, and its port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiServer {
    /// `10.0.0.1/32`, `fd00::1/128`.
    pub cidr: String,
    /// `None`: 443 and 6443, the two ports API servers listen on.
    pub port: Option<u16>,
}

impl ApiServer {
    /// Exactly one address and port (`fix --cluster`).
    pub fn at(address: std::net::SocketAddr) -> ApiServer {
        let bits = if address.is_ipv4() { 32 } else { 128 };
        ApiServer {
            cidr: format!("{}/{bits}", address.ip()),
            port: Some(address.port()),
        }
    }

    /// `CIDR[:PORT]`: `10.96.0.1/32`, `192.168.1.10/32:6443`, `fd00::1/128:6443`.
    pub fn parse(text: &str) -> Result<ApiServer, String> {
        let bad =
            |why: &str| format!("invalid API server {text:?}: {why} (expected CIDR[:PORT], e.g. 10.96.0.1/32:6443)");
        let (address, rest) = text.rsplit_once('/').ok_or_else(|| bad("no /PREFIX"))?;
        let (prefix, port) = match rest.split_once(':') {
            Some((prefix, port)) => (prefix, Some(port)),
            None => (rest, None),
        };
        let address: std::net::IpAddr = address.parse().map_err(|_| bad("not an IP address"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| bad(&format!("the prefix length must be 0-{max}")))?;
        let port = match port {
            None => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("the port must be 1-65535"))?,
            ),
        };
        Ok(ApiServer {
            cidr: format!("{address}/{prefix}"),
            port,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Generated {
    Policy {
        workload: WorkloadRef,
        /// The complete policy, in the flavor asked for.
        policy: Value,
        /// Why each rule is there, one sentence each (the YAML comment).
        explanations: Vec<String>,
    },
    Skipped {
        workload: WorkloadRef,
        reason: String,
    },
    /// The chart's own NetworkPolicies already select the workload: a second
    /// policy would only add to what they allow (unless `also_covered`).
    Covered {
        workload: WorkloadRef,
        /// The names of the policies that select it.
        policies: Vec<String>,
    },
}

impl Generated {
    /// The policy and its explanations, if one was generated.
    pub fn as_policy(&self) -> Option<(&Value, &[String])> {
        match self {
            Generated::Policy {
                policy, explanations, ..
            } => Some((policy, explanations)),
            _ => None,
        }
    }

    pub fn workload(&self) -> &WorkloadRef {
        match self {
            Generated::Policy { workload, .. }
            | Generated::Skipped { workload, .. }
            | Generated::Covered { workload, .. } => workload,
        }
    }
}

/// "Deployment `web`".
fn describe(object: &Object) -> String {
    format!("{} `{}`", object.kind, object.name)
}

/// A port as a policy names it: protocol and number.
type Port = (Protocol, u16);

fn display_port(port: &Port) -> String {
    format!("{}/{}", port.1, port.0)
}

/// Everything computed once for all policies.
struct Context<'s, 'a> {
    index: &'s Index<'a>,
    /// Per workload: its unique pod selector, or the workloads it collides with.
    selectors: Vec<Result<Labels, Vec<usize>>>,
    references: references::References,
    /// The Service ports each reference names, where it names some.
    named_ports: references::NamedPorts,
    exposed: exposure::Exposed,
    /// Ingress backends the release's own controllers proxy to.
    proxied: exposure::Proxied,
    /// Ports Prometheus scrapes: (workload, port) -> why.
    scraped: exposure::Exposed,
    /// Per workload: why it calls the Kubernetes API server, if it does.
    api_callers: Vec<Option<String>>,
    /// Per workload: why it is an ingress controller or gateway, if it is.
    controllers: Vec<Option<String>>,
    /// Per workload: whether it names some Service (its destinations are known).
    names_a_service: Vec<bool>,
    /// Per workload: what it scrapes, discovered at runtime, if it does.
    scraping: Vec<Option<discovery::Scraping>>,
    /// Per workload: URLs of hosts in the cluster that no Service of the manifests is.
    unresolved: Vec<Vec<references::UnresolvedUrl>>,
    /// Per workload: the service mesh whose proxy its pods get, and why.
    meshes: Vec<Option<(mesh::Mesh, String)>>,
    /// The flows a probe observed (`--from-report`), resolved: allowed too.
    observed: Vec<observed::Observed>,
}

fn workload_position(index: &Index<'_>, workload: &Workload<'_>) -> usize {
    index
        .workloads
        .iter()
        .position(|w| std::ptr::eq(w, workload))
        .unwrap_or(usize::MAX)
}

impl<'s, 'a> Context<'s, 'a> {
    fn new(index: &'s Index<'a>) -> Context<'s, 'a> {
        // The pods of Services that select no workload: whoever runs them,
        // a workload's policy must not select them too.
        let unrendered: Vec<(&str, &Labels)> = index
            .services
            .iter()
            .filter_map(|s| {
                let selector = s
                    .selector
                    .as_ref()
                    .filter(|s| !s.match_labels.is_empty() && s.expressions.is_empty())?;
                (!index.workloads.iter().any(|w| s.selects(w)))
                    .then_some((s.obj.namespace.as_str(), &selector.match_labels))
            })
            .collect();
        let selectors = index
            .workloads
            .iter()
            .map(|w| {
                let others: Vec<&Workload<'a>> = index
                    .workloads_in(&w.obj.namespace)
                    .filter(|o| !std::ptr::eq(*o, w))
                    .collect();
                let unrendered: Vec<&Labels> = unrendered
                    .iter()
                    .filter(|(namespace, _)| *namespace == w.obj.namespace)
                    .map(|(_, labels)| *labels)
                    .collect();
                selectors::unique_labels(w, &others, &unrendered)
                    .map_err(|colliding| colliding.iter().map(|c| workload_position(index, c)).collect())
            })
            .collect();
        let controllers: Vec<Option<String>> = index
            .workloads
            .iter()
            .map(|w| references::ingress_controller(index, w))
            .collect();
        let (exposed, proxied) = exposure::find(index, &controllers);
        let texts: Vec<Vec<(String, String)>> = index
            .workloads
            .iter()
            .map(|w| texts::referring_texts(index, w))
            .collect();
        let references = references::find(index, &texts);
        let named_ports = references::named_ports(index, &texts, &references);
        let names_a_service = (0..index.workloads.len())
            .map(|wi| references.values().flatten().any(|(w, _)| *w == wi))
            .collect();
        Context {
            index,
            selectors,
            references,
            named_ports,
            names_a_service,
            exposed,
            proxied,
            scraped: exposure::scraped(index),
            api_callers: index
                .workloads
                .iter()
                .map(|w| references::calls_api_server(index, w))
                .collect(),
            controllers,
            scraping: index
                .workloads
                .iter()
                .zip(&texts)
                .map(|(w, texts)| discovery::scraping(texts, &w.obj.namespace))
                .collect(),
            unresolved: index
                .workloads
                .iter()
                .zip(&texts)
                .map(|(w, texts)| references::unresolved_urls(index, w, texts))
                .collect(),
            meshes: index.workloads.iter().map(mesh::injected).collect(),
            observed: Vec::new(),
        }
    }

    /// The workloads that may be the clients of a port of workload `wi`
    /// whose clients nothing names: the other workloads of its release
    /// whose own destinations are unknown (they name no Service), that are
    /// not on the host network, and whose egress no policy of the chart
    /// restricts (where one does, it says where they go).
    fn release_clients(&self, wi: usize) -> Vec<usize> {
        let index = self.index;
        let input = index.workloads[wi].obj.input;
        (0..index.workloads.len())
            .filter(|&other| {
                let w = &index.workloads[other];
                other != wi
                    && w.obj.input == input
                    && !self.names_a_service[other]
                    && w.host_network_line.is_none()
                    && !egress_restricted(index, w)
            })
            .collect()
    }

    /// Why no policy can be generated for workload `wi`, if so; else its pod selector.
    fn selector_for(&self, wi: usize) -> Result<Labels, String> {
        let index = self.index;
        let workload = &index.workloads[wi];
        if workload.host_network_line.is_some() {
            return Err(format!(
                "{} uses hostNetwork: its pods share the node's network namespace and NetworkPolicies do not apply to them ({})",
                describe(workload.obj),
                checks::M7.id
            ));
        }
        if workload.pod_labels.is_empty() {
            return Err(format!(
                "the pods of {} have no labels: a policy cannot select them without selecting every pod of namespace {}",
                describe(workload.obj),
                workload.obj.namespace
            ));
        }
        match &self.selectors[wi] {
            Ok(labels) => Ok(labels.clone()),
            Err(colliding) => {
                let names: Vec<String> = colliding.iter().map(|&c| describe(index.workloads[c].obj)).collect();
                Err(format!(
                    "no pod selector selects {} without also selecting the pods of {} ({}: their pod labels are identical or a superset of {}): make the labels unique first",
                    describe(workload.obj),
                    names.join(", "),
                    checks::M4A.id,
                    display_labels(&workload.pod_labels)
                ))
            }
        }
    }

    fn generate(&self, wi: usize, options: &PolicyOptions, names: &BTreeMap<String, usize>) -> Generated {
        let index = self.index;
        let workload = &index.workloads[wi];
        let reference = workload.reference();
        let covering: Vec<String> = index
            .policies
            .iter()
            // An admin or baseline policy is another tier: a NetworkPolicy
            // does not add to it, it decides where that one does not.
            .filter(|p| p.covers(workload) != PodPick::None && !p.flavor.is_admin_or_baseline())
            .map(|p| p.obj.name.clone())
            .collect();
        // Covered only when every pod is: a policy on some pods of a
        // StatefulSet leaves the others open.
        let namespace_policies = index.policies.iter().filter(|p| !p.flavor.is_admin_or_baseline());
        let every_pod_covered = Policy::left_open(namespace_policies, workload) == PodPick::None;
        if every_pod_covered && !options.also_covered && workload.host_network_line.is_none() {
            return Generated::Covered {
                workload: reference,
                policies: covering,
            };
        }
        let pod_labels = match self.selector_for(wi) {
            Ok(labels) => labels,
            Err(reason) => {
                return Generated::Skipped {
                    workload: reference,
                    reason,
                }
            }
        };
        let namespace = workload.obj.namespace.as_str();
        let mut explanations = vec![format!(
            "{} for {} (namespace {namespace}, release `{}`): selects its pods by {}, which no other workload's pods carry",
            options.flavor.policy_kind(),
            describe(workload.obj),
            index.release_of(workload.obj),
            display_labels(&pod_labels)
        )];
        let ingress = self.ingress(wi, options, &mut explanations);
        for (protocol, port) in options.dynamic_ports.get(&reference).into_iter().flatten() {
            explanations.push(format!(
                "not allowed: port {port}/{protocol} was open in the probe but is dynamic ({}): it changes at every start, so no fixed number is written; pin it in the application's settings and declare it",
                checks::M2.id
            ));
        }
        let egress = if options.egress != EgressMode::None {
            Some(self.egress(wi, options, &mut explanations))
        } else {
            explanations.push("egress: not restricted (egress mode none)".into());
            None
        };
        let name = if names.get(&workload.obj.name).copied().unwrap_or(0) > 1 {
            format!("{}-{}-netaudit", workload.obj.name, workload.obj.kind.to_lowercase())
        } else {
            format!("{}-netaudit", workload.obj.name)
        };
        let intent = Intent {
            name,
            namespace: namespace.to_string(),
            pod_labels,
            ingress,
            egress,
        };
        Generated::Policy {
            workload: reference,
            policy: options.flavor.write(&intent),
            explanations,
        }
    }
}

/// The ports a Service port reaches on `workload`: the declared target, or,
/// for a target name that no workload the Service selects declares, the
/// Service's port number (the usual convention, which `ports.patch.yaml`
/// declares under that name), with `true` for such a guess. A name that
/// another selected workload declares is that workload's port, not this
/// one's (a Service that selects more than it serves, M4C).
fn targets_of(
    index: &Index<'_>,
    service: &Service<'_>,
    port: &ServicePort,
    workload: &Workload<'_>,
) -> (Vec<u16>, bool) {
    let numbers = service.target_numbers(port, workload);
    let declared_elsewhere = || {
        index
            .workloads
            .iter()
            .any(|w| service.selects(w) && !service.target_numbers(port, w).is_empty())
    };
    match (&port.target, numbers.is_empty()) {
        (TargetPort::Name(_), true) if !declared_elsewhere() => (vec![port.port], true),
        _ => (numbers, false),
    }
}

/// Every port a Service forwards to on `workload` ([`targets_of`] each of its ports).
fn service_targets(index: &Index<'_>, service: &Service<'_>, workload: &Workload<'_>) -> Vec<Port> {
    service
        .ports
        .iter()
        .flat_map(|sp| {
            targets_of(index, service, sp, workload)
                .0
                .into_iter()
                .map(move |n| (sp.protocol, n))
        })
        .collect()
}

/// Do the chart's own policies restrict where `workload` may connect? Some
/// of the NetworkPolicy tier select it for egress and none of those allows
/// everything (`egress: [{}]`).
fn egress_restricted(index: &Index<'_>, workload: &Workload<'_>) -> bool {
    let mut selecting = index
        .policies
        .iter()
        .filter(|p| !p.flavor.is_admin_or_baseline())
        .filter_map(|p| p.egress.as_ref().filter(|_| p.selects(workload)))
        .peekable();
    selecting.peek().is_some()
        && !selecting
            .flat_map(|side| &side.rules)
            .any(|rule| rule.allows_everything())
}

/// One result per workload of the index, in the index's order.
pub fn generate(index: &Index<'_>, options: &PolicyOptions) -> Vec<Generated> {
    let mut ctx = Context::new(index);
    ctx.observed = observed::resolve(index, &options.observed_flows);
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

/// The cluster-wide default (`--baseline`) as a YAML document with its
/// explanation; empty without one.
pub fn baseline_yaml(outcome: &crate::fix::plan::Outcome) -> String {
    let Some((baseline, namespaces)) = &outcome.baseline else {
        return String::new();
    };
    format!(
        "---\n# The default of namespace(s) {} (--baseline): {}.\n\
         # Every pod there is denied all ingress and all egress but DNS (53/UDP, 53/TCP) to the cluster DNS\n\
         # ({}), unless a policy allows more.\n{}",
        namespaces.join(", "),
        outcome.options.flavor.baseline_kind(),
        outcome.options.flavor.constructs().dns,
        crate::yaml::writer::to_yaml(baseline)
    )
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
                out.push_str(&crate::yaml::writer::to_yaml(policy));
            }
            Generated::Covered { workload, policies } => {
                out.push_str(&format!(
                    "# No NetworkPolicy for {workload}: the chart's own NetworkPolicy {} already selects it \
                     (policies add up; --also-covered writes one anyway)\n",
                    policies.join(", ")
                ));
            }
            Generated::Skipped { workload, reason } => {
                out.push_str(&format!("# No NetworkPolicy for {workload}:\n"));
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

#[cfg(test)]
mod tests;

#[cfg(test)]
mod api_server_tests {
    use super::ApiServer;

    #[test]
    fn api_server_addresses() {
        let parsed = |t: &str| ApiServer::parse(t).map(|a| (a.cidr, a.port));
        assert_eq!(parsed("10.96.0.1/32"), Ok(("10.96.0.1/32".into(), None)));
        assert_eq!(parsed("192.168.1.0/24:6443"), Ok(("192.168.1.0/24".into(), Some(6443))));
        assert_eq!(parsed("fd00::1/128:443"), Ok(("fd00::1/128".into(), Some(443))));
        for bad in [
            "not-a-cidr",
            "10.0.0.1",
            "10.0.0.1/33",
            "10.0.0.1/32:0",
            "10.0.0.1/32:x",
            "host/32",
        ] {
            assert!(
                ApiServer::parse(bad).unwrap_err().starts_with("invalid API server"),
                "{bad}"
            );
        }
    }
}
