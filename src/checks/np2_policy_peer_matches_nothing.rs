use super::{declare_check, Finding, Subject};
use crate::model::{Index, Labels, Namespaces, Policy, PolicyPeer, PolicyScope};
use std::collections::BTreeSet;

declare_check! {
    /// ## What it does
    /// Finds rules of network policies (Kubernetes, Cilium, Calico,
    /// AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy) whose
    /// pod peer matches nothing in the input: a pod selector that selects no
    /// audited pod of the namespaces the peer names, when those namespaces
    /// are all audited (the policy's own namespace, or a namespace selector
    /// that can only match audited namespaces), or a namespace selector
    /// that can match no namespace at all. Peers in namespaces outside the
    /// input are not judged: their pods are unknown. One finding per rule.
    ///
    /// ## Why is this bad?
    /// A peer that matches nothing is almost always a typo: an allow rule
    /// that silently allows nothing (the application breaks, and someone
    /// "fixes" it with an allow-all), or a deny rule that silently denies
    /// nothing.
    ///
    /// ## Example
    /// ```yaml
    /// ingress:
    ///   - from:
    ///       - podSelector: {matchLabels: {app: frontent}}   # typo: frontend
    /// ```
    ///
    /// ## How to fix
    /// Use the labels the client pods carry; when the clients live in
    /// another namespace, add a `namespaceSelector` for it.
    pub static NP2 = {
        id: "NP2",
        name: "policy-peer-matches-nothing",
        severity: Low,
        analysis: Static,
        scope: OneRelease,
        counting: PerFinding,
        summary: "a rule of a network policy names pods that match nothing in the input",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    let audited: BTreeSet<&str> = index.workloads.iter().map(|w| w.obj.namespace.as_str()).collect();
    // Each audited namespace's labels, once (a policy per workload asks for all of them).
    let labelled: Vec<(&str, Labels)> = audited.iter().map(|n| (*n, index.namespaces.of_namespace(n))).collect();
    for policy in index.policies.iter().filter(|p| p.is_valid()) {
        let sides = [("ingress", &policy.ingress), ("egress", &policy.egress)];
        for (direction, side) in sides {
            for rule in side.iter().flat_map(|s| &s.rules) {
                let Some(empty) = rule
                    .peers
                    .iter()
                    .flatten()
                    .find_map(|peer| matches_nothing(index, &audited, &labelled, policy, peer))
                else {
                    continue;
                };
                findings.push(Finding::new(
                    &NP2,
                    format!("{} has an {direction} rule whose peer {empty}", policy.describe()),
                    "use the labels the peer pods carry, or name their namespace".into(),
                    vec![Subject::new(
                        policy.obj,
                        rule.line,
                        format!("{direction} rule: {empty}"),
                    )],
                ));
            }
        }
    }
}

/// What a peer matches nothing of, in words; `None` when it may match something.
fn matches_nothing(
    index: &Index<'_>,
    audited: &BTreeSet<&str>,
    labelled: &[(&str, Labels)],
    policy: &Policy<'_>,
    peer: &PolicyPeer,
) -> Option<String> {
    let PolicyPeer::Pods { namespaces, pods } = peer else {
        return None;
    };
    let in_namespaces: Vec<&str> = match namespaces {
        Namespaces::Own if matches!(policy.scope, PolicyScope::Namespace) => vec![policy.obj.namespace.as_str()],
        Namespaces::Own => return None,
        Namespaces::Selected(matcher) => {
            if matcher.may_match_other_namespace(audited) {
                return None;
            }
            let names: Vec<&str> = labelled
                .iter()
                .filter(|(_, labels)| matcher.matches(labels))
                .map(|(n, _)| *n)
                .collect();
            if names.is_empty() {
                return Some(format!("namespaceSelector {} matches no namespace", matcher.display()));
            }
            names
        }
    };
    let pods = pods.as_ref()?;
    let any = in_namespaces
        .iter()
        .flat_map(|n| index.lookup.in_namespace(n))
        .map(|&i| &index.workloads[i])
        .any(|w| w.host_network_line.is_none() && w.pods_match(pods));
    (!any).then(|| {
        let names: Vec<String> = in_namespaces.iter().map(|n| format!("`{n}`")).collect();
        format!("{} matches no pod in namespace {}", pods.display(), names.join(", "))
    })
}
