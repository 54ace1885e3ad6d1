//! The flows a probe observed (`--from-report`, the report's
//! `probe.flows`): each is needed, whatever the manifests say or do not
//! say, so the policies allow it and `fix --check --from-report` holds any
//! policy set to it. What the manifests imply ([`super::needs`]) stays
//! needed too: a probe sees what the sandbox's few minutes exercised, the
//! manifests what the application may do later.

use super::intent::{numbered, Peer, Rule};
use super::rules::api_server_rules;
use super::{describe, display_port, Context, PolicyOptions, Port};
use crate::model::{FlowPeer, Index, ObservedFlow, WorkloadRef};
use crate::reach::need::{Destination, Need, Source};

/// Where an observed flow went, as the generator allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reached {
    /// A workload of the manifests (its index).
    Workload(usize),
    /// The cluster DNS: allowed to every workload already.
    ClusterDns,
    ApiServer,
    /// An address outside the cluster's pods (the sandbox's host, or beyond).
    Address(String),
    /// What the manifests do not hold: a workload or Service of the report
    /// that they lack.
    Elsewhere(String),
}

/// An observed flow of the manifests' workload `from`, resolved.
#[derive(Debug, Clone)]
pub(super) struct Observed {
    pub from: usize,
    pub to: Reached,
    pub port: Port,
    /// "observed by the probe: 4 connections (nc), first after 1.0 s".
    pub why: String,
}

/// The observed flows whose client is a workload of `index`, resolved; the
/// others (a report of other manifests) are left out: `fix` says so. The
/// flows of netaudit's own clients (`--exercise`) are not the
/// application's: never needed.
pub(super) fn resolve(index: &Index<'_>, flows: &[ObservedFlow]) -> Vec<Observed> {
    let position = |workload: &WorkloadRef| index.workloads.iter().position(|w| w.reference() == *workload);
    flows
        .iter()
        .filter(|flow| flow.origin.is_none())
        .filter_map(|flow| {
            let from = position(&flow.from)?;
            let to = match &flow.to {
                FlowPeer::Workload { workload } => match position(workload) {
                    Some(to) => Reached::Workload(to),
                    None => Reached::Elsewhere(workload.to_string()),
                },
                FlowPeer::Service { service } => Reached::Elsewhere(format!("Service `{service}`")),
                FlowPeer::ClusterDns => Reached::ClusterDns,
                FlowPeer::ApiServer => Reached::ApiServer,
                FlowPeer::Host => Reached::Address("the sandbox's host".into()),
                FlowPeer::Outside { address } => Reached::Address(address.to_string()),
            };
            Some(Observed {
                from,
                to,
                port: (flow.protocol, flow.port),
                why: why(flow),
            })
        })
        .collect()
}

/// The flows of `flows` that name no workload of `index` as their client.
pub fn unmatched<'f>(index: &Index<'_>, flows: &'f [ObservedFlow]) -> Vec<&'f ObservedFlow> {
    flows
        .iter()
        .filter(|f| f.origin.is_none() && !index.workloads.iter().any(|w| w.reference() == f.from))
        .collect()
}

/// Each observed flow as a needed flow.
pub(super) fn needs(index: &Index<'_>, flows: &[ObservedFlow]) -> Vec<Need> {
    resolve(index, flows)
        .into_iter()
        .map(|observed| {
            let to = match observed.to {
                Reached::Workload(w) => Destination::Workload(index.workloads[w].reference()),
                Reached::ClusterDns => Destination::Outside("cluster DNS".into()),
                Reached::ApiServer => Destination::ApiServer,
                Reached::Address(address) => Destination::Outside(address),
                Reached::Elsewhere(what) => Destination::Unknown(what),
            };
            Need {
                from: Source::Workload(index.workloads[observed.from].reference()),
                to,
                protocol: observed.port.0,
                port: Some(observed.port.1),
                why: observed.why,
                guessed: false,
                observed: true,
            }
        })
        .collect()
}

/// "observed by the probe: 4 connections (nc), first after 1.0 s"; the
/// DNS's queries with the names answered.
fn why(flow: &ObservedFlow) -> String {
    let seen = if flow.names.is_empty() {
        flow.seen()
    } else {
        let answered: Vec<&str> = flow
            .names
            .iter()
            .filter(|n| n.answered)
            .map(|n| n.name.as_str())
            .take(3)
            .collect();
        let asked = flow.seen();
        match answered.as_slice() {
            [] => asked,
            names => format!("{asked} ({})", names.join(", ")),
        }
    };
    let process = flow.process.as_ref().map(|p| format!(" by `{p}`")).unwrap_or_default();
    let answered = if flow.completed {
        ""
    } else {
        ", never answered (blocked, or nothing listened)"
    };
    format!(
        "observed by the probe: {seen}{process}, first after {:.1} s{answered}",
        flow.first_seen_ms as f64 / 1000.0
    )
}

impl Context<'_, '_> {
    /// Egress for what a probe saw workload `wi` connect to: the workload
    /// it reached, the API server, an address outside; the DNS is allowed
    /// to all already. What the manifests lack is explained, not allowed.
    pub(super) fn observed_egress(
        &self,
        wi: usize,
        options: &PolicyOptions,
        explanations: &mut Vec<String>,
    ) -> Vec<Rule> {
        let index = self.index;
        let namespace = index.workloads[wi].obj.namespace.as_str();
        let mut egress = Vec::new();
        for o in self.observed.iter().filter(|o| o.from == wi) {
            let port = display_port(&o.port);
            let ports = numbered([o.port]);
            match &o.to {
                Reached::Workload(to) => {
                    let to_peer = self.workload_peer(*to, namespace, explanations);
                    egress.push(Rule::new(vec![to_peer], ports));
                    explanations.push(format!(
                        "egress: to {} on {port}, {}",
                        describe(index.workloads[*to].obj),
                        o.why
                    ));
                }
                Reached::ClusterDns => {}
                Reached::ApiServer => {
                    if self.api_callers[wi].is_none() {
                        egress.extend(api_server_rules(options));
                    }
                    explanations.push(format!("egress: the Kubernetes API server, {}", o.why));
                }
                Reached::Address(address) => match address.parse::<std::net::IpAddr>() {
                    Ok(ip) => {
                        let cidr = if ip.is_ipv4() { format!("{ip}/32") } else { format!("{ip}/128") };
                        egress.push(Rule::new(vec![Peer::Cidr(cidr.clone())], ports));
                        explanations.push(format!("egress: {cidr} on {port}, outside the cluster's pods, {}", o.why));
                    }
                    Err(_) => explanations.push(format!(
                        "egress: {address} on {port} was observed ({}): not allowed, it is no address a policy can name",
                        o.why
                    )),
                },
                Reached::Elsewhere(what) => explanations.push(format!(
                    "egress: {what} on {port} was observed ({}), but it is not in these manifests: not allowed; add it by hand if it is needed",
                    o.why
                )),
            }
        }
        egress
    }
}

#[cfg(test)]
mod tests {
    use super::super::{generate, needs::needs, EgressMode, Generated, PolicyOptions};
    use crate::model::{Detail, FlowPeer, Input, Manifests, ObservedFlow, Protocol, WorkloadRef};
    use serde_json::{json, Value};

    /// api names db; admin names nothing, but a probe saw it reach db, and
    /// db call an address outside.
    const SHOP: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers:\n      - {name: api, image: api, env: [{name: DB, value: db}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: admin}\nspec:\n  selector: {matchLabels: {app: admin}}\n  template:\n    metadata: {labels: {app: admin}}\n    spec:\n      containers:\n      - {name: admin, image: admin}\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec:\n      containers:\n      - {name: db, image: pg, ports: [{containerPort: 5432}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec:\n  selector: {app: db}\n  ports: [{port: 5432}]\n";

    fn workload(kind: &str, name: &str) -> WorkloadRef {
        WorkloadRef {
            kind: kind.into(),
            namespace: "shop".into(),
            name: name.into(),
        }
    }

    fn flow(from: WorkloadRef, to: FlowPeer, port: u16) -> ObservedFlow {
        ObservedFlow {
            from,
            to,
            port,
            protocol: Protocol::Tcp,
            process: Some("psql".into()),
            first_seen_ms: 1500,
            count: 2,
            completed: true,
            names: Vec::new(),
            origin: None,
        }
    }

    fn policy<'g>(generated: &'g [Generated], name: &str) -> (&'g Value, &'g [String]) {
        generated
            .iter()
            .filter(|g| g.workload().name == name)
            .find_map(Generated::as_policy)
            .unwrap_or_else(|| panic!("no policy for {name}"))
    }

    #[test]
    fn observed_flows_are_allowed_both_ways_and_needed() {
        let manifests = Manifests::load(
            vec![Input::new("shop.yaml", "shop", "shop", SHOP.to_string())],
            Detail::WithConfiguration,
        )
        .unwrap();
        let index = manifests.index();
        let db = workload("StatefulSet", "db");
        let options = PolicyOptions {
            egress: EgressMode::Strict,
            observed_flows: vec![
                flow(
                    workload("Deployment", "admin"),
                    FlowPeer::Workload { workload: db.clone() },
                    5432,
                ),
                flow(
                    db.clone(),
                    FlowPeer::Outside {
                        address: "192.0.2.7".parse().unwrap(),
                    },
                    443,
                ),
                // Not in these manifests: said, not allowed.
                flow(workload("Deployment", "gone"), FlowPeer::ClusterDns, 53),
            ],
            ..PolicyOptions::default()
        };
        let generated = generate(&index, &options);
        let (db_policy, explanations) = policy(&generated, "db");
        let from: Vec<&Value> = db_policy["spec"]["ingress"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["ports"] == json!([{"protocol": "TCP", "port": 5432}]))
            .flat_map(|r| r["from"].as_array().unwrap())
            .collect();
        assert!(
            from.contains(&&json!({"podSelector": {"matchLabels": {"app": "admin"}}})),
            "{from:?}"
        );
        assert!(
            from.contains(&&json!({"podSelector": {"matchLabels": {"app": "api"}}})),
            "{from:?}"
        );
        assert!(explanations.iter().any(|e| e
            == "ingress: port 5432/TCP from Deployment `admin`, observed by the probe: 2 connections by `psql`, first after 1.5 s"));
        assert!(db_policy["spec"]["egress"].as_array().unwrap().contains(
            &json!({"to": [{"ipBlock": {"cidr": "192.0.2.7/32"}}], "ports": [{"protocol": "TCP", "port": 443}]})
        ));
        let (admin, _) = policy(&generated, "admin");
        assert!(admin["spec"]["egress"]
            .as_array()
            .unwrap()
            .contains(&json!({"to": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"protocol": "TCP", "port": 5432}]})));
        let observed: Vec<String> = needs(&index, &options)
            .iter()
            .filter(|n| n.observed)
            .map(|n| n.route())
            .collect();
        assert_eq!(
            observed,
            [
                "Deployment/shop/admin -> StatefulSet/shop/db 5432/TCP",
                "StatefulSet/shop/db -> (192.0.2.7) 443/TCP"
            ]
        );
        assert_eq!(super::unmatched(&index, &options.observed_flows).len(), 1);
    }
}
