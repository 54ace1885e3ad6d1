//! The one reachability engine's answers about flows: which (source,
//! destination, port) flows the NetworkPolicies of an index allow
//! ([`allowed_flows`], with the policies that let each through on each
//! side), and whether they let the flows an application needs through
//! ([`verify`]). The tables of the README `fix` writes and `fix --check`
//! ask these; `reach` and the exposure of findings ask the same
//! [`Evaluator`] ([`super::matrix`], [`super::exposure`]).
//!
//! The flows answer for every destination workload, every port it
//! declares (plus ports a probe saw open), and every source (each audited
//! workload, and [`Peer::Outside`]) whether the traffic passes. A flow is
//! allowed when the destination's ingress side allows it AND the source's
//! egress side allows it (for [`Peer::Outside`], only the destination's
//! ingress side is evaluated). The semantics of each side, and what a
//! static view has to assume, are those of [`super::evaluate`]. Audited
//! sources are asked a class at a time ([`super::classes`]): each side's
//! decision is the same for every member of a source class.

use super::classes::ClassId;
use super::evaluate::{Direction, Evaluator, Lean, Notes, Party, Ports, Traffic};
use super::need::{Destination, Need, Source};
use crate::model::stand_in;
use crate::model::{Index, Protocol, Workload, WorkloadRef};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The source of a flow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    Workload(WorkloadRef),
    /// Anything outside the audited objects: other namespaces' pods, nodes,
    /// the internet.
    Outside,
}

/// Traffic from a peer to a workload's port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Flow {
    pub from: Peer,
    pub to: WorkloadRef,
    pub port: u16,
    pub protocol: Protocol,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Workload(w) => write!(f, "{w}"),
            Peer::Outside => f.write_str("(outside)"),
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {} {}/{}",
            self.from,
            self.to,
            self.port,
            self.protocol.as_str()
        )
    }
}

/// The policies that let a flow through: on the destination's ingress side
/// and (for a source that is a pod of the manifests) on the source's egress
/// side. An empty list: no policy restricts that side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passage {
    /// `None`: the destination is not a pod of the manifests.
    pub ingress: Option<Vec<String>>,
    /// `None`: the source is not a pod of the manifests.
    pub egress: Option<Vec<String>>,
    /// Why it may not pass, when it is let through only leaning towards
    /// "reachable" (what it rests on that netaudit does not evaluate, or
    /// the pods of a workload that let it through when not all do).
    pub doubt: Option<String>,
}

impl fmt::Display for Passage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |names: &[String]| match names {
            [] => "no policy".to_string(),
            names => names.join(", "),
        };
        let sides: Vec<String> = [("in", &self.ingress), ("out", &self.egress)]
            .into_iter()
            .filter_map(|(label, names)| Some(format!("{label}: {}", side(names.as_ref()?))))
            .collect();
        f.write_str(&sides.join("; "))?;
        match &self.doubt {
            Some(why) => write!(f, " (it may not pass: {why})"),
            None => Ok(()),
        }
    }
}

/// The allowed flows, each with the policies that let it through.
pub type Allowed = BTreeMap<Flow, Passage>;

/// Whether a policy set lets a needed flow through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The policies that let it through (when it is not blocked).
    pub passage: Passage,
    /// Which side blocks it, if one does.
    pub blocked: Option<String>,
    /// The policies on the blocking side (each selects it, none lets it through).
    pub blocked_by: Vec<String>,
    /// Why netaudit cannot tell whether it passes (what it lacks), when it
    /// cannot: neither allowed nor blocked.
    pub unknown: Option<String>,
}

impl Verdict {
    /// A flow to a host no Service of the manifests is.
    fn unknown() -> Verdict {
        Verdict {
            passage: Passage::default(),
            blocked: None,
            blocked_by: Vec::new(),
            unknown: Some(
                "no Service of these manifests is named so: whose pods answer, and whether they let it in, is not known"
                    .into(),
            ),
        }
    }

    fn blocked(why: String, blocked_by: Vec<String>) -> Verdict {
        Verdict {
            passage: Passage::default(),
            blocked: Some(why),
            blocked_by,
            unknown: None,
        }
    }

    /// The verdict in one word: blocked wins over unknown.
    pub fn outcome(&self) -> FlowOutcome {
        match (&self.blocked, &self.unknown) {
            (Some(_), _) => FlowOutcome::Blocked,
            (None, Some(_)) => FlowOutcome::Unknown,
            (None, None) => FlowOutcome::Pass,
        }
    }
}

/// A [`Verdict`] in one word, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlowOutcome {
    Blocked,
    Unknown,
    Pass,
}

impl fmt::Display for FlowOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlowOutcome::Blocked => "BLOCKED",
            FlowOutcome::Unknown => "UNKNOWN",
            FlowOutcome::Pass => "pass",
        })
    }
}

/// Every flow the index's NetworkPolicies allow. Destinations are the
/// index's workloads, on their declared container ports plus `extra_ports`
/// (ports a probe saw open); sources are every workload plus
/// [`Peer::Outside`]. See the module documentation for the semantics.
pub fn allowed_flows(index: &Index<'_>, extra_ports: &BTreeMap<WorkloadRef, Vec<(Protocol, u16)>>) -> Allowed {
    let eval = Evaluator::new(index);
    let doubting = Evaluator::new(index).leaning(Lean::Blocked);
    allowed_flows_with(&eval, &doubting, index, extra_ports)
}

/// [`allowed_flows`] as `eval` answers it, and `doubting` (the same
/// evaluator leaning towards blocked) where an answer rests on something
/// not evaluated: with classes, or every workload alone (what the classes
/// are held to in tests).
pub fn allowed_flows_with(
    eval: &Evaluator<'_, '_>,
    doubting: &Evaluator<'_, '_>,
    index: &Index<'_>,
    extra_ports: &BTreeMap<WorkloadRef, Vec<(Protocol, u16)>>,
) -> Allowed {
    let sources = &eval.classes().source;
    let references: Vec<WorkloadRef> = index.workloads.iter().map(Workload::reference).collect();
    // Gathered, then sorted once into the map.
    let mut flows = Vec::new();
    for (position, dest) in index.workloads.iter().enumerate() {
        let to = &references[position];
        let mut ports: BTreeSet<(Protocol, u16)> = dest.ports().map(|p| (p.protocol, p.number)).collect();
        ports.extend(extra_ports.get(to).into_iter().flatten().copied());
        for &(protocol, port) in &ports {
            let query = Ports::One(port, protocol);
            let flow = |from: Peer| Flow {
                from,
                to: to.clone(),
                port,
                protocol,
            };
            // Whether a flow let through is so only leaning towards
            // reachable: asked again, leaning the other way, when the
            // answer rested on something not evaluated.
            let doubt = |notes: BTreeSet<&String>, doubted: &dyn Fn() -> bool| {
                (!notes.is_empty() && doubted()).then(|| notes.into_iter().cloned().collect::<Vec<_>>().join("; "))
            };
            let traffic = Traffic {
                dest: Some(dest),
                ports: query,
            };
            let mut notes = Notes::default();
            if let Some(ingress) = eval.ingress_permit(&traffic, Party::Outside, &mut notes) {
                let doubted = || {
                    doubting
                        .ingress_permit(&traffic, Party::Outside, &mut Notes::default())
                        .is_none()
                };
                let doubt = doubt(notes.0.iter().collect(), &doubted);
                let ingress = Some(ingress);
                flows.push((
                    flow(Peer::Outside),
                    Passage {
                        ingress,
                        egress: None,
                        doubt,
                    },
                ));
            }
            // The audited sources, a class at a time: both sides decide
            // alike for every member (once per pair of classes).
            for (class, members) in sources.members.iter().enumerate() {
                let source = sources.representative(class as ClassId);
                let ingress = eval.ingress_decision(position, source, query);
                let Some(ingress_names) = &ingress.allowed else {
                    continue;
                };
                let egress = eval.egress_decision(source, position, query);
                let Some(egress_names) = &egress.allowed else {
                    continue;
                };
                let doubted = || {
                    doubting.ingress_decision(position, source, query).allowed.is_none()
                        || doubting.egress_decision(source, position, query).allowed.is_none()
                };
                let passage = Passage {
                    ingress: Some(ingress_names.clone()),
                    egress: Some(egress_names.clone()),
                    doubt: doubt(ingress.notes.0.iter().chain(&egress.notes.0).collect(), &doubted),
                };
                for &member in members {
                    let from = Peer::Workload(references[member].clone());
                    flows.push((flow(from), passage.clone()));
                }
            }
        }
    }
    flows.into_iter().collect()
}

/// Whether `source`'s egress side lets it reach an address outside the
/// cluster (the API server, the internet) on `port`/`protocol`.
#[cfg(test)]
pub fn allows_egress_outside(index: &Index<'_>, source: &WorkloadRef, port: u16, protocol: Protocol) -> bool {
    let eval = Evaluator::new(index);
    let traffic = Traffic {
        dest: None,
        ports: Ports::One(port, protocol),
    };
    index
        .workloads
        .iter()
        .find(|w| &w.reference() == source)
        .is_some_and(|w| {
            eval.egress_permit(w, &traffic, Party::Outside, &mut Notes::default())
                .is_some()
        })
}

/// Whether the policies let each needed flow through, in the order of
/// `needs`. Pods a Service selects that no workload runs are decided on
/// stand-ins ([`stand_in`]); a flow to a destination netaudit
/// cannot tell is blocked when the source's egress lets nothing outside
/// the manifests through on its port, else unknown. An error: the
/// stand-ins could not be made.
pub fn verify(index: &Index<'_>, needs: &[Need]) -> Result<Vec<Verdict>, String> {
    let eval = Evaluator::new(index);
    let doubting = Evaluator::new(index).leaning(Lean::Blocked);
    let stand_ins = stand_in::load(needs.iter().filter_map(|need| match &need.to {
        Destination::ServicePods(pods) => Some(pods),
        _ => None,
    }))?;
    let stand_ins = stand_ins.index();
    Ok(needs
        .iter()
        .map(|need| {
            let mut notes = Notes::default();
            let verdict = judge(&eval, index, &stand_ins, need, &mut notes);
            let passes = verdict.blocked.is_none() && verdict.unknown.is_none();
            // Allowed only where netaudit leant towards reachable (on what it
            // does not evaluate, or for some pods of a workload and not
            // others): not known to pass.
            if passes && !notes.0.is_empty() {
                let doubted = judge(&doubting, index, &stand_ins, need, &mut Notes::default());
                if doubted.blocked.is_some() {
                    let reasons: Vec<String> = notes.0.into_iter().collect();
                    return Verdict {
                        unknown: Some(format!("it may not pass: {}", reasons.join("; "))),
                        ..verdict
                    };
                }
            }
            verdict
        })
        .collect())
}

/// One needed flow's verdict under `eval`, with the notes of what the
/// answer rested on that was not evaluated.
fn judge(
    eval: &Evaluator<'_, '_>,
    index: &Index<'_>,
    stand_ins: &Index<'_>,
    need: &Need,
    notes: &mut Notes,
) -> Verdict {
    let find = |reference: &WorkloadRef| index.workloads.iter().find(|w| &w.reference() == reference);
    let dest = match &need.to {
        Destination::Workload(reference) => match find(reference) {
            Some(w) => Some(w),
            None => return Verdict::blocked(format!("{reference} is not in the manifests"), Vec::new()),
        },
        Destination::ServicePods(pods) => match stand_in::find(stand_ins, pods) {
            Some(w) => Some(w),
            None => return Verdict::blocked(format!("no stand-in for {}", need.to), Vec::new()),
        },
        // Where it goes is not known, nor on which port: nothing to decide.
        Destination::Unknown(_) if need.port.is_none() => return Verdict::unknown(),
        Destination::ApiServer | Destination::Host(_) | Destination::Outside(_) | Destination::Unknown(_) => None,
    };
    let sources: Vec<&Workload<'_>> = match &need.from {
        Source::Workload(reference) => match find(reference) {
            Some(w) => vec![w],
            None => return Verdict::blocked(format!("{reference} is not in the manifests"), Vec::new()),
        },
        Source::Release { members, .. } => members.iter().filter_map(find).collect(),
        Source::Outside => Vec::new(),
    };
    let traffic = Traffic {
        dest,
        ports: match need.port {
            Some(port) => Ports::One(port, need.protocol),
            None => Ports::Every(need.protocol),
        },
    };
    let dest_as_peer = match (&need.to, dest) {
        (_, Some(dest)) => Party::of(dest),
        (Destination::ApiServer, None) => Party::ApiServer,
        (Destination::Host(host), None) => Party::Host(host),
        (_, None) => Party::Outside,
    };
    let mut passage = Passage::default();
    // The destination's ingress side, for one source (`None`: not a pod, not evaluated).
    let ingress_of = |source: Party<'_, '_>, notes: &mut Notes| -> Result<Option<Vec<String>>, ()> {
        match dest {
            Some(_) => eval.ingress_permit(&traffic, source, notes).map(Some).ok_or(()),
            None => Ok(None),
        }
    };
    let add = |side: &mut Option<Vec<String>>, names: Vec<String>| {
        let side = side.get_or_insert_with(Vec::new);
        side.extend(names);
        side.sort();
        side.dedup();
    };
    let deny_in = |from: &str| {
        let names = dest
            .map(|d| eval.selecting_names(d, Direction::Ingress))
            .unwrap_or_default();
        Verdict::blocked(
            format!("denied{from} by the ingress policies {}", names.join(", ")),
            names,
        )
    };
    if matches!(need.from, Source::Outside) {
        match ingress_of(Party::Outside, notes) {
            Ok(names) => passage.ingress = names,
            Err(()) => return deny_in(""),
        }
    }
    for source in sources {
        let Ok(ingress) = ingress_of(Party::of(source), notes) else {
            return deny_in(&format!(" from {}", source.reference()));
        };
        let Some(egress) = eval.egress_permit(source, &traffic, dest_as_peer, notes) else {
            let names = eval.selecting_names(source, Direction::Egress);
            // A host by name is what only some languages can allow: say how.
            let host = match &need.to {
                Destination::Host(host) => format!(
                    "; `{host}` is outside the cluster: allow its addresses (an ipBlock, Calico `nets`) or its name (Cilium `toFQDNs`)"
                ),
                _ => String::new(),
            };
            return Verdict::blocked(
                format!(
                    "denied by the egress policies {} of {}{host}",
                    names.join(", "),
                    source.reference()
                ),
                names,
            );
        };
        if let Some(names) = ingress {
            add(&mut passage.ingress, names);
        }
        add(&mut passage.egress, egress);
    }
    match &need.to {
        Destination::Unknown(_) => Verdict {
            passage,
            ..Verdict::unknown()
        },
        _ => Verdict {
            passage,
            blocked: None,
            blocked_by: Vec::new(),
            unknown: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Detail, Input, Manifests};

    const SHOP: &str = "shop";

    /// A Pod manifest: `ports` is a flow sequence of container ports.
    fn pod(namespace: &str, name: &str, labels: &str, ports: &str) -> String {
        format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {namespace}, labels: {{{labels}}}}}\nspec:\n  containers:\n  - name: main\n    image: x\n    ports: {ports}\n"
        )
    }

    fn host_pod(namespace: &str, name: &str, ports: &str) -> String {
        pod(namespace, name, "", ports).replace("spec:\n", "spec:\n  hostNetwork: true\n")
    }

    fn policy(namespace: &str, name: &str, spec: &str) -> String {
        format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}"
        )
    }

    fn flows_with(manifests: &[String], extra: &BTreeMap<WorkloadRef, Vec<(Protocol, u16)>>) -> BTreeSet<Flow> {
        let inputs = vec![Input::new("t.yaml", "t", "default", manifests.concat())];
        let manifests = Manifests::load(inputs, Detail::Checks).unwrap();
        allowed_flows(&manifests.index(), extra).into_keys().collect()
    }

    fn flows(manifests: &[String]) -> BTreeSet<Flow> {
        flows_with(manifests, &BTreeMap::new())
    }

    #[track_caller]
    fn assert_flows(actual: &BTreeSet<Flow>, expected: &[&str]) {
        let actual: BTreeSet<String> = actual.iter().map(Flow::to_string).collect();
        let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            actual,
            expected,
            "\nunexpected: {:#?}\nmissing: {:#?}",
            actual.difference(&expected).collect::<Vec<_>>(),
            expected.difference(&actual).collect::<Vec<_>>()
        );
    }

    fn pod_ref(namespace: &str, name: &str) -> WorkloadRef {
        WorkloadRef {
            kind: "Pod".into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    #[test]
    fn without_policies_everything_is_allowed() {
        let manifests = [
            pod(SHOP, "web", "app: web", "[{containerPort: 8080}]"),
            pod(SHOP, "db", "app: db", "[{containerPort: 5432, name: pg}]"),
        ];
        let extra = BTreeMap::from([(pod_ref(SHOP, "web"), vec![(Protocol::Udp, 9999)])]);
        let result = flows_with(&manifests, &extra);
        assert_flows(
            &result,
            &[
                "Pod/shop/web -> Pod/shop/web 8080/TCP",
                "Pod/shop/db -> Pod/shop/web 8080/TCP",
                "(outside) -> Pod/shop/web 8080/TCP",
                "Pod/shop/web -> Pod/shop/web 9999/UDP",
                "Pod/shop/db -> Pod/shop/web 9999/UDP",
                "(outside) -> Pod/shop/web 9999/UDP",
                "Pod/shop/web -> Pod/shop/db 5432/TCP",
                "Pod/shop/db -> Pod/shop/db 5432/TCP",
                "(outside) -> Pod/shop/db 5432/TCP",
            ],
        );
    }

    #[test]
    fn default_deny_ingress_denies_everything() {
        let pods = [
            pod(SHOP, "web", "app: web", "[{containerPort: 8080}]"),
            pod(SHOP, "db", "app: db", "[{containerPort: 5432}]"),
        ];
        let deny_all = policy(SHOP, "deny", "  podSelector: {}\n");
        assert_flows(&flows(&[pods[0].clone(), pods[1].clone(), deny_all]), &[]);
        // An explicit empty rule list, and policyTypes naming Ingress, deny as well.
        let deny_db = policy(
            SHOP,
            "deny-db",
            "  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress]\n  ingress: []\n",
        );
        assert_flows(
            &flows(&[pods[0].clone(), pods[1].clone(), deny_db]),
            &[
                "Pod/shop/web -> Pod/shop/web 8080/TCP",
                "Pod/shop/db -> Pod/shop/web 8080/TCP",
                "(outside) -> Pod/shop/web 8080/TCP",
            ],
        );
        // A rule without `from` and `ports` allows everything again.
        let allow_all = policy(SHOP, "allow", "  podSelector: {}\n  ingress: [{}]\n");
        assert_eq!(
            flows(&[
                pods[0].clone(),
                pods[1].clone(),
                policy(SHOP, "deny", "  podSelector: {}\n"),
                allow_all
            ])
            .len(),
            6
        );
    }

    #[test]
    fn allows_pods_of_the_same_release_by_label() {
        let manifests = [
            pod(SHOP, "web", "app: web, app.kubernetes.io/instance: shop", "[{containerPort: 80}]"),
            pod(SHOP, "api", "app: api, app.kubernetes.io/instance: shop", "[{containerPort: 8080}]"),
            pod(SHOP, "other", "app: other, app.kubernetes.io/instance: blog", "[]"),
            policy(
                SHOP,
                "api",
                "  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels: {app.kubernetes.io/instance: shop}\n    ports:\n    - {port: 8080, protocol: TCP}\n",
            ),
        ];
        assert_flows(
            &flows(&manifests),
            &[
                "Pod/shop/web -> Pod/shop/web 80/TCP",
                "Pod/shop/api -> Pod/shop/web 80/TCP",
                "Pod/shop/other -> Pod/shop/web 80/TCP",
                "(outside) -> Pod/shop/web 80/TCP",
                "Pod/shop/web -> Pod/shop/api 8080/TCP",
                "Pod/shop/api -> Pod/shop/api 8080/TCP",
            ],
        );
    }

    #[test]
    fn namespace_selectors_match_namespace_names() {
        let manifests = [
            pod(SHOP, "db", "app: db", "[{containerPort: 5432}]"),
            pod(SHOP, "web", "app: web", "[{containerPort: 80}]"),
            pod("tools", "backup", "app: backup", "[{containerPort: 9000}]"),
            // db: from the audited namespace `tools` only (not Outside: tools is audited).
            policy(
                SHOP,
                "db",
                "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels: {kubernetes.io/metadata.name: tools}\n",
            ),
            // web: from an ingress controller's namespace (not audited: Outside),
            // and from namespaces labelled team=ops (unknown: no audited one, Outside maybe).
            policy(
                SHOP,
                "web",
                "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels: {kubernetes.io/metadata.name: ingress-nginx}\n      podSelector:\n        matchLabels: {app.kubernetes.io/name: ingress-nginx}\n    - namespaceSelector:\n        matchLabels: {team: ops}\n",
            ),
            // backup: from every namespace: every workload and Outside.
            policy(
                "tools",
                "backup",
                "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {}\n",
            ),
        ];
        assert_flows(
            &flows(&manifests),
            &[
                "Pod/tools/backup -> Pod/shop/db 5432/TCP",
                "(outside) -> Pod/shop/web 80/TCP",
                "Pod/shop/db -> Pod/tools/backup 9000/TCP",
                "Pod/shop/web -> Pod/tools/backup 9000/TCP",
                "Pod/tools/backup -> Pod/tools/backup 9000/TCP",
                "(outside) -> Pod/tools/backup 9000/TCP",
            ],
        );
        // Expressions on the name: NotIn of every audited namespace leaves Outside only.
        let audited = BTreeSet::from(["shop", "tools"]);
        let selector = |yaml: &str| {
            crate::model::Selector::from_label_selector(&crate::yaml::parse_documents(yaml, 1).unwrap()[0])
        };
        let not_audited =
            selector("matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [shop, tools]}]");
        assert!(not_audited.may_match_other_namespace(&audited));
        assert!(!not_audited.matches(&crate::model::selector::namespace_labels("shop")));
        let only_audited =
            selector("matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [shop]}]");
        assert!(!only_audited.may_match_other_namespace(&audited));
        let none = selector("matchExpressions: [{key: kubernetes.io/metadata.name, operator: DoesNotExist}]");
        assert!(!none.may_match_other_namespace(&audited));
    }

    #[test]
    fn ip_blocks_allow_outside_only() {
        let manifests = [
            pod(SHOP, "web", "app: web", "[{containerPort: 80}]"),
            pod(SHOP, "client", "app: client", "[]"),
            policy(
                SHOP,
                "web",
                "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 0.0.0.0/0\n        except: [10.0.0.0/8]\n",
            ),
        ];
        assert_flows(&flows(&manifests), &["(outside) -> Pod/shop/web 80/TCP"]);
    }

    #[test]
    fn named_ports_resolve_against_the_destination() {
        let manifests = [
            pod(
                SHOP,
                "web",
                "app: web",
                "[{containerPort: 8080, name: http}, {containerPort: 9090, name: metrics}, {containerPort: 8125, name: statsd, protocol: UDP}]",
            ),
            policy(
                SHOP,
                "web",
                "  podSelector: {}\n  ingress:\n  - ports:\n    - port: http\n    - {port: statsd, protocol: TCP}\n",
            ),
        ];
        // 8081 was seen open but has no name: `http` does not cover it.
        let extra = BTreeMap::from([(pod_ref(SHOP, "web"), vec![(Protocol::Tcp, 8081)])]);
        assert_flows(
            &flows_with(&manifests, &extra),
            &[
                "Pod/shop/web -> Pod/shop/web 8080/TCP",
                "(outside) -> Pod/shop/web 8080/TCP",
            ],
        );
    }

    #[test]
    fn end_port_makes_a_range() {
        let manifests = [
            pod(
                SHOP,
                "web",
                "app: web",
                "[{containerPort: 7999}, {containerPort: 8000}, {containerPort: 8080}, {containerPort: 9000}]",
            ),
            policy(
                SHOP,
                "web",
                "  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 192.0.2.0/24}}]\n    ports:\n    - {port: 8000, endPort: 8500}\n",
            ),
        ];
        let extra = BTreeMap::from([(pod_ref(SHOP, "web"), vec![(Protocol::Tcp, 8500), (Protocol::Udp, 8100)])]);
        assert_flows(
            &flows_with(&manifests, &extra),
            &[
                "(outside) -> Pod/shop/web 8000/TCP",
                "(outside) -> Pod/shop/web 8080/TCP",
                "(outside) -> Pod/shop/web 8500/TCP",
            ],
        );
    }

    #[test]
    fn egress_only_policy_restricts_its_sources() {
        let manifests = [
            pod(SHOP, "client", "app: client", "[{containerPort: 8080}]"),
            pod(SHOP, "db", "app: db", "[{containerPort: 5432, name: postgres}]"),
            pod(SHOP, "web", "app: web", "[{containerPort: 80}]"),
            policy(
                SHOP,
                "client",
                "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - podSelector: {matchLabels: {app: db}}\n    ports:\n    - port: postgres\n",
            ),
        ];
        assert_flows(
            &flows(&manifests),
            &[
                // client's egress: db's postgres port only; its ingress is unrestricted.
                "Pod/shop/client -> Pod/shop/db 5432/TCP",
                "Pod/shop/db -> Pod/shop/client 8080/TCP",
                "Pod/shop/web -> Pod/shop/client 8080/TCP",
                "(outside) -> Pod/shop/client 8080/TCP",
                "Pod/shop/db -> Pod/shop/db 5432/TCP",
                "Pod/shop/web -> Pod/shop/db 5432/TCP",
                "(outside) -> Pod/shop/db 5432/TCP",
                "Pod/shop/db -> Pod/shop/web 80/TCP",
                "Pod/shop/web -> Pod/shop/web 80/TCP",
                "(outside) -> Pod/shop/web 80/TCP",
            ],
        );
        // Without policyTypes, a non-empty `egress` makes the policy restrict
        // both directions (the API server's defaulting): no ingress rule means
        // client receives nothing.
        let defaulted = [
            manifests[0].clone(),
            manifests[1].clone(),
            policy(
                SHOP,
                "client",
                "  podSelector: {matchLabels: {app: client}}\n  egress:\n  - to: [{podSelector: {matchLabels: {app: db}}}]\n",
            ),
        ];
        assert_flows(
            &flows(&defaulted),
            &[
                "Pod/shop/client -> Pod/shop/db 5432/TCP",
                "Pod/shop/db -> Pod/shop/db 5432/TCP",
                "(outside) -> Pod/shop/db 5432/TCP",
            ],
        );
    }

    #[test]
    fn protocols_are_distinguished() {
        let manifests = [
            pod(
                SHOP,
                "dns",
                "app: dns",
                "[{containerPort: 53, protocol: UDP}, {containerPort: 53, protocol: TCP}]",
            ),
            policy(
                SHOP,
                "dns",
                "  podSelector: {}\n  ingress:\n  - ports: [{port: 53, protocol: UDP}]\n",
            ),
        ];
        assert_flows(
            &flows(&manifests),
            &[
                "Pod/shop/dns -> Pod/shop/dns 53/UDP",
                "(outside) -> Pod/shop/dns 53/UDP",
            ],
        );
        // The protocol defaults to TCP.
        let tcp = [
            manifests[0].clone(),
            policy(SHOP, "dns", "  podSelector: {}\n  ingress:\n  - ports: [{port: 53}]\n"),
        ];
        assert_flows(
            &flows(&tcp),
            &[
                "Pod/shop/dns -> Pod/shop/dns 53/TCP",
                "(outside) -> Pod/shop/dns 53/TCP",
            ],
        );
    }

    #[test]
    fn host_network_pods_are_unaffected() {
        let manifests = [
            pod(SHOP, "web", "app: web", "[{containerPort: 80}]"),
            host_pod(SHOP, "exporter", "[{containerPort: 9100}]"),
            // Every pod of the namespace, from pods of the namespace only.
            policy(
                SHOP,
                "same-namespace",
                "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: [{podSelector: {}}]\n  egress:\n  - to: [{podSelector: {}}]\n",
            ),
        ];
        assert_flows(
            &flows(&manifests),
            &[
                // The hostNetwork pod is not selected: it receives from everyone
                // (except web, whose egress only reaches pods, not node IPs).
                "Pod/shop/exporter -> Pod/shop/exporter 9100/TCP",
                "(outside) -> Pod/shop/exporter 9100/TCP",
                // As a peer it is node traffic: `podSelector: {}` does not match it.
                "Pod/shop/web -> Pod/shop/web 80/TCP",
            ],
        );
    }

    #[test]
    fn policies_apply_in_their_own_namespace_only() {
        let manifests = [
            pod(SHOP, "web", "app: web", "[{containerPort: 80}]"),
            pod(SHOP, "client", "app: client", "[]"),
            pod("tools", "web", "app: web", "[{containerPort: 80}]"),
            pod("tools", "client", "app: client", "[]"),
            policy("tools", "deny", "  podSelector: {matchLabels: {app: web}}\n"),
            policy(
                SHOP,
                "web",
                "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: client}}}]\n",
            ),
        ];
        assert_flows(&flows(&manifests), &["Pod/shop/client -> Pod/shop/web 80/TCP"]);
    }
}
