//! The admin and baseline tiers (AdminNetworkPolicy,
//! BaselineAdminNetworkPolicy, ClusterNetworkPolicy) on the e2e cluster of
//! `tests.rs`, in the spirit of the network-policy-api conformance suite:
//! each case as a truth table, and where both APIs can say it, the same
//! table from an AdminNetworkPolicy and a ClusterNetworkPolicy.

use super::{expected, k8s, table, ALL};
use crate::model::Protocol;

fn anp(name: &str, spec: &str) -> String {
    format!("---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n{spec}")
}

fn banp(spec: &str) -> String {
    format!("---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {{name: default}}\nspec:\n{spec}")
}

fn cnp(name: &str, spec: &str) -> String {
    format!("---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n{spec}")
}

/// A label selector for the namespace named `name`.
fn ns(name: &str) -> String {
    format!("{{matchLabels: {{kubernetes.io/metadata.name: {name}}}}}")
}

fn tcp80(policies: &str) -> String {
    table(policies, 80, Protocol::Tcp)
}

/// y's pods send nothing to x's.
const Y_TO_X_DENIED: [&str; 9] = [
    ". . . . . . . . .",
    ". . . . . . . . .",
    ". . . . . . . . .",
    "X X X . . . . . .",
    "X X X . . . . . .",
    "X X X . . . . . .",
    ". . . . . . . . .",
    ". . . . . . . . .",
    ". . . . . . . . .",
];

#[test]
fn an_admin_deny_drops_what_no_network_policy_restricts() {
    let anp_spec = format!(
        "  priority: 10\n  subject: {{namespaces: {}}}\n  ingress: [{{action: Deny, from: [{{namespaces: {}}}]}}]\n",
        ns("x"),
        ns("y")
    );
    assert_eq!(tcp80(&anp("deny-y", &anp_spec)), expected(Y_TO_X_DENIED));
    let cnp_spec = format!(
        "  tier: Admin\n  priority: 10\n  subject: {{namespaces: {}}}\n  ingress: [{{action: Deny, from: [{{namespaces: {}}}]}}]\n",
        ns("x"),
        ns("y")
    );
    assert_eq!(tcp80(&cnp("deny-y", &cnp_spec)), expected(Y_TO_X_DENIED));
    // The same from the egress side: x's pods' subject is y.
    let egress = format!(
        "  priority: 10\n  subject: {{namespaces: {}}}\n  egress: [{{action: Deny, to: [{{namespaces: {}}}]}}]\n",
        ns("y"),
        ns("x")
    );
    assert_eq!(tcp80(&anp("deny-y-out", &egress)), expected(Y_TO_X_DENIED));
}

#[test]
fn an_admin_allow_overrides_a_network_policy_deny() {
    // x's pods are isolated by a default-deny NetworkPolicy; the admin tier lets z in.
    let rows = [
        "X X X . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
    ];
    let deny = k8s("x", "deny", "  podSelector: {}\n  policyTypes: [Ingress]\n");
    let allow_anp = format!(
        "  priority: 10\n  subject: {{namespaces: {}}}\n  ingress: [{{action: Allow, from: [{{namespaces: {}}}]}}]\n",
        ns("x"),
        ns("z")
    );
    assert_eq!(tcp80(&format!("{deny}{}", anp("allow-z", &allow_anp))), expected(rows));
    let allow_cnp = format!(
        "  tier: Admin\n  priority: 10\n  subject: {{namespaces: {}}}\n  ingress: [{{action: Accept, from: [{{namespaces: {}}}]}}]\n",
        ns("x"),
        ns("z")
    );
    assert_eq!(tcp80(&format!("{deny}{}", cnp("allow-z", &allow_cnp))), expected(rows));
    // An Allow alone isolates nothing: without the NetworkPolicy, all is open.
    assert_eq!(tcp80(&anp("allow-z", &allow_anp)), expected(ALL));
}

#[test]
fn lower_priority_numbers_come_first_whatever_the_names() {
    // `a-deny` denies y, `b-allow` lets y/a in: priority decides, not the name.
    let policies = |deny_priority: u32| {
        let deny = format!(
            "  priority: {deny_priority}\n  subject: {{namespaces: {}}}\n  ingress: [{{action: Deny, from: [{{namespaces: {}}}]}}]\n",
            ns("x"),
            ns("y")
        );
        let allow = format!(
            "  priority: 10\n  subject: {{namespaces: {}}}\n  ingress: [{{action: Allow, from: [{{pods: {{namespaceSelector: {}, podSelector: {{matchLabels: {{pod: a}}}}}}}}]}}]\n",
            ns("x"),
            ns("y")
        );
        format!("{}{}", anp("a-deny", &deny), anp("b-allow", &allow))
    };
    let mut rows = Y_TO_X_DENIED;
    rows[3] = ". . . . . . . . .";
    assert_eq!(tcp80(&policies(20)), expected(rows));
    assert_eq!(tcp80(&policies(5)), expected(Y_TO_X_DENIED));
}

#[test]
fn rules_apply_in_order_within_a_policy() {
    // Allow y/a, then deny all of y: y/a gets in. The other way round, nobody of y.
    let rules = |first: &str, second: &str| {
        anp(
            "ordered",
            &format!(
                "  priority: 1\n  subject: {{namespaces: {}}}\n  ingress:\n  - {first}\n  - {second}\n",
                ns("x")
            ),
        )
    };
    let allow_a = format!(
        "{{action: Allow, from: [{{pods: {{namespaceSelector: {}, podSelector: {{matchLabels: {{pod: a}}}}}}}}]}}",
        ns("y")
    );
    let deny_y = format!("{{action: Deny, from: [{{namespaces: {}}}]}}", ns("y"));
    let mut rows = Y_TO_X_DENIED;
    rows[3] = ". . . . . . . . .";
    assert_eq!(tcp80(&rules(&allow_a, &deny_y)), expected(rows));
    assert_eq!(tcp80(&rules(&deny_y, &allow_a)), expected(Y_TO_X_DENIED));
}

#[test]
fn pass_hands_over_to_the_network_policies() {
    // Priority 1 passes y's traffic on; priority 2 denies everyone else into
    // x; x's NetworkPolicy lets only y/b in.
    let pass = format!(
        "  priority: 1\n  subject: {{namespaces: {}}}\n  ingress: [{{action: Pass, from: [{{namespaces: {}}}]}}]\n",
        ns("x"),
        ns("y")
    );
    let deny_all = format!(
        "  priority: 2\n  subject: {{namespaces: {}}}\n  ingress: [{{action: Deny, from: [{{namespaces: {{}}}}]}}]\n",
        ns("x")
    );
    let np = k8s(
        "x",
        "only-y-b",
        &format!(
            "  podSelector: {{}}\n  ingress: [{{from: [{{namespaceSelector: {}, podSelector: {{matchLabels: {{pod: b}}}}}}]}}]\n",
            ns("y")
        ),
    );
    let rows = [
        "X X X . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
        ". . . . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
    ];
    assert_eq!(
        tcp80(&format!("{}{}{np}", anp("pass-y", &pass), anp("deny-all", &deny_all))),
        expected(rows)
    );
    let cnp_pass = format!("  tier: Admin\n{pass}");
    let cnp_deny = format!("  tier: Admin\n{deny_all}");
    assert_eq!(
        tcp80(&format!(
            "{}{}{np}",
            cnp("pass-y", &cnp_pass),
            cnp("deny-all", &cnp_deny)
        )),
        expected(rows)
    );
    // Passed, with no NetworkPolicy: nothing isolates, y gets in.
    let mut open_to_y = rows;
    for row in &mut open_to_y[3..6] {
        *row = ". . . . . . . . .";
    }
    assert_eq!(
        tcp80(&format!("{}{}", anp("pass-y", &pass), anp("deny-all", &deny_all))),
        expected(open_to_y)
    );
}

#[test]
fn the_baseline_decides_only_for_pods_no_network_policy_isolates() {
    // A cluster-wide default deny; y's own NetworkPolicy lets everything in.
    let rows = ["X X X . . . X X X"; 9];
    let allow_y = k8s("y", "allow-all", "  podSelector: {}\n  ingress: [{}]\n");
    let deny = "  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n";
    assert_eq!(tcp80(&format!("{}{allow_y}", banp(deny))), expected(rows));
    let cnp_deny = format!("  tier: Baseline\n  priority: 0\n{deny}");
    assert_eq!(
        tcp80(&format!("{}{allow_y}", cnp("default-deny", &cnp_deny))),
        expected(rows)
    );
    // An admin Allow still wins over the baseline: z gets into x.
    let allow_z = format!(
        "  priority: 3\n  subject: {{namespaces: {}}}\n  ingress: [{{action: Allow, from: [{{namespaces: {}}}]}}]\n",
        ns("x"),
        ns("z")
    );
    let mut with_z = rows;
    for row in &mut with_z[6..9] {
        *row = ". . . . . . X X X";
    }
    assert_eq!(
        tcp80(&format!("{}{allow_y}{}", banp(deny), anp("allow-z", &allow_z))),
        expected(with_z)
    );
}

#[test]
fn a_baseline_pass_goes_on_to_the_default_which_allows() {
    let rows = [
        "X X X X X X X X X",
        "X X X X X X X X X",
        "X X X X X X X X X",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        "X X X X X X X X X",
        "X X X X X X X X X",
        "X X X X X X X X X",
    ];
    let pass = format!(
        "  tier: Baseline\n  priority: 0\n  subject: {{namespaces: {{}}}}\n  ingress: [{{action: Pass, from: [{{namespaces: {}}}]}}]\n",
        ns("y")
    );
    let deny = "  tier: Baseline\n  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n";
    assert_eq!(
        tcp80(&format!("{}{}", cnp("z-pass-y", &pass), cnp("a-deny", deny))),
        expected(rows)
    );
}

#[test]
fn ports_protocols_and_named_ports() {
    // Deny into x on TCP 81 only, in each of the ways the two APIs say it.
    let x_closed = ["X X X . . . . . ."; 9];
    let subject = format!("  priority: 1\n  subject: {{namespaces: {}}}\n", ns("x"));
    let deny = |ports: &str| format!("{subject}  ingress: [{{action: Deny, from: [{{namespaces: {{}}}}], {ports}}}]\n");
    let anps = [
        anp("number", &deny("ports: [{portNumber: {protocol: TCP, port: 81}}]")),
        anp("range", &deny("ports: [{portRange: {start: 81, end: 82}}]")),
        anp("named", &deny("ports: [{namedPort: serve-81-tcp}]")),
        cnp(
            "number",
            &format!(
                "  tier: Admin\n{}",
                deny("protocols: [{tcp: {destinationPort: {number: 81}}}]")
            ),
        ),
        cnp(
            "range",
            &format!(
                "  tier: Admin\n{}",
                deny("protocols: [{tcp: {destinationPort: {range: {start: 80, end: 81}}}}]")
            ),
        ),
        cnp(
            "named",
            &format!(
                "  tier: Admin\n{}",
                deny("protocols: [{destinationNamedPort: serve-81-tcp}]")
            ),
        ),
    ];
    for policy in &anps {
        assert_eq!(table(policy, 81, Protocol::Tcp), expected(x_closed), "{policy}");
        assert_eq!(table(policy, 81, Protocol::Udp), expected(ALL), "{policy}");
    }
    // Port 80 is only in the v1alpha2 range.
    for policy in &anps[..5] {
        let expected_80 = if policy.contains("start: 80") { x_closed } else { ALL };
        assert_eq!(tcp80(policy), expected(expected_80), "{policy}");
    }
}

/// Who outside the audited pods (`Party::Outside`) may reach x/a on 80.
fn outside_reaches_xa(policies: &str) -> bool {
    use crate::reach::evaluate::{Evaluator, Notes, Party};
    let manifests = super::cluster(policies);
    let index = manifests.index();
    let eval = Evaluator::new(&index);
    let traffic = super::tcp_80(&index.workloads[0]);
    eval.ingress_permit(&traffic, Party::Outside, &mut Notes::default())
        .is_some()
}

#[test]
fn a_pass_for_some_of_a_party_leaves_the_rest_to_the_tier() {
    // Pods of `monitoring` are passed on (to a NetworkPolicy that denies
    // them); everyone else outside is allowed by the next admin policy.
    let pass = anp(
        "pass-monitoring",
        &format!(
            "  priority: 1\n  subject: {{namespaces: {}}}\n  ingress: [{{action: Pass, from: [{{namespaces: {}}}]}}]\n",
            ns("x"),
            ns("monitoring")
        ),
    );
    let allow = anp(
        "allow-all",
        &format!(
            "  priority: 2\n  subject: {{namespaces: {}}}\n  ingress: [{{action: Allow, from: [{{namespaces: {{}}}}]}}]\n",
            ns("x")
        ),
    );
    let deny = k8s("x", "deny", "  podSelector: {}\n  policyTypes: [Ingress]\n");
    assert!(outside_reaches_xa(&format!("{pass}{allow}{deny}")));
    // Without the Allow, what the Pass leaves goes on to the NetworkPolicy too.
    assert!(!outside_reaches_xa(&format!("{pass}{deny}")));
}

#[test]
fn a_deny_of_nodes_denies_the_nodes() {
    use crate::reach::evaluate::{Evaluator, Notes, Party, Ports, Traffic};
    let deny_nodes = anp(
        "deny-nodes",
        &format!(
            "  priority: 1\n  subject: {{namespaces: {}}}\n  egress: [{{action: Deny, to: [{{nodes: {{}}}}]}}]\n",
            ns("x")
        ),
    );
    let manifests = super::cluster(&deny_nodes);
    let index = manifests.index();
    let eval = Evaluator::new(&index);
    let traffic = Traffic {
        dest: None,
        ports: Ports::One(10250, Protocol::Tcp),
    };
    let xa = &index.workloads[0];
    assert!(eval
        .egress_permit(xa, &traffic, Party::Node, &mut Notes::default())
        .is_none());
    assert!(eval
        .egress_permit(xa, &traffic, Party::External, &mut Notes::default())
        .is_some());
}
