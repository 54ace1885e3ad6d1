use super::{declare_check, Finding, Subject};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// Finds network policies (Kubernetes, Cilium, Calico, and the
    /// cluster-wide admin and baseline kinds) that the API
    /// server or the CRD's validation would reject, or that the CNI cannot
    /// read: a selector that is not a selector (`podSelector: 5`), an
    /// unknown operator or one without values, a port that is neither a
    /// number in 1-65535 nor a port name, `endPort` below `port`, an
    /// `ipBlock` mixed with selectors or with a bad CIDR, an unknown
    /// protocol, policy type, Cilium entity or Calico action, a Calico
    /// selector expression that does not parse; for the cluster-wide kinds
    /// of `policy.networking.k8s.io`, what their CRDs reject: a `priority`
    /// outside 0-1000, a ClusterNetworkPolicy without `tier`, a `subject`
    /// or peer that does not set exactly one field, a rule without peers,
    /// an action of the other API (`Accept` in an AdminNetworkPolicy,
    /// `Pass` in a BaselineAdminNetworkPolicy), a port range whose start is
    /// not below its end, a named port with `networks`/`nodes` peers, more
    /// rules, peers or ports than allowed, a BaselineAdminNetworkPolicy not
    /// named `default`. Such a policy protects
    /// nothing: every check and every exposure ignore it. One finding per
    /// policy, each problem labelled at its line.
    ///
    /// ## Why is this bad?
    /// `helm install` fails on the object (a release that cannot be
    /// installed), or, when a CNI's CRD accepts what its agent cannot
    /// evaluate, the policy silently enforces nothing while looking like
    /// protection in review.
    ///
    /// ## Example
    /// ```yaml
    /// kind: NetworkPolicy
    /// spec:
    ///   podSelector:
    ///     matchExpressions: [{key: app, operator: Equals, values: [web]}]
    /// ```
    ///
    /// ## How to fix
    /// Write the field as the API defines it (`operator: In`, a port number
    /// or an IANA port name, `port`/`endPort` with `endPort >= port`), and
    /// check the chart with `kubectl apply --dry-run=server`.
    pub static NP3 = {
        id: "NP3",
        name: "malformed-network-policy",
        severity: Medium,
        analysis: Static,
        scope: OneRelease,
        counting: PerFinding,
        summary: "a network policy Kubernetes (or its CNI) would reject: it protects nothing",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    let mut reported: Vec<*const crate::model::Object> = Vec::new();
    for policy in index.policies.iter().filter(|p| !p.is_valid()) {
        // A Cilium object with several `specs` is one object: one finding.
        if reported.contains(&(policy.obj as *const _)) {
            continue;
        }
        reported.push(policy.obj);
        let problems: Vec<&crate::model::Problem> = index
            .policies
            .iter()
            .filter(|p| std::ptr::eq(p.obj, policy.obj))
            .flat_map(|p| &p.problems)
            .collect();
        let first = &problems[0].message;
        let more = match problems.len() {
            1 => String::new(),
            n => format!(" (and {} more problem{})", n - 1, if n == 2 { "" } else { "s" }),
        };
        findings.push(Finding::new(
            &NP3,
            format!("{} is malformed and protects nothing: {first}{more}", policy.describe()),
            "write the field as the API defines it; `kubectl apply --dry-run=server` shows what the API server rejects"
                .into(),
            problems
                .iter()
                .map(|p| Subject::new(policy.obj, p.line, p.message.clone()))
                .collect(),
        ));
    }
}
