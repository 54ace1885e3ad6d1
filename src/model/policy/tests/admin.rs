//! The cluster-wide policy APIs: what each field of AdminNetworkPolicy,
//! BaselineAdminNetworkPolicy and ClusterNetworkPolicy becomes, and what
//! their CRDs reject.

use super::{manifests, problems};
use crate::model::policy::{
    Action, Entity, Flavor, Matcher, Namespaces, PolicyPeer, PolicyPort, PolicyScope, PortMatch,
};
use crate::model::{PodPick, Protocol};

fn anp(spec: &str) -> String {
    format!(
        "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {{name: a}}\nspec:\n{spec}"
    )
}

fn banp(name: &str, spec: &str) -> String {
    format!("apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n{spec}")
}

fn cnp(spec: &str) -> String {
    format!("apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: c}}\nspec:\n{spec}")
}

fn port(protocol: Protocol, start: u16, end: u16) -> PolicyPort {
    PolicyPort {
        protocol,
        port: PortMatch::Range(start, end),
    }
}

#[test]
fn admin_network_policy_fields() {
    let m = manifests(&anp("  priority: 7
  subject:
    pods:
      namespaceSelector: {matchLabels: {team: a}}
      podSelector: {matchLabels: {app: db}}
  ingress:
  - action: Pass
    from: [{namespaces: {}}]
    ports: [{portNumber: {port: 5432}}, {portRange: {protocol: UDP, start: 1000, end: 2000}}]
  egress:
  - action: Deny
    to: [{nodes: {matchLabels: {role: cp}}}, {networks: [0.0.0.0/0, 10.0.0.0/8]}]
  - action: Allow
    to: [{pods: {namespaceSelector: {}, podSelector: {}}}]
    ports: [{namedPort: metrics}]
"));
    let index = m.index();
    let p = &index.policies[0];
    assert!(p.is_valid(), "{:?}", p.problems);
    assert_eq!(
        (p.flavor, p.order, p.is_cluster_wide()),
        (Flavor::Admin, Some(7.0), true)
    );
    assert_eq!(p.label(), "AdminNetworkPolicy a");
    assert!(matches!(&p.scope, PolicyScope::Cluster(Some(m)) if m.display() == "team=a"));
    assert_eq!(p.pod_selector.display(), "app=db");
    let ingress = p.ingress.as_ref().unwrap();
    assert!(!ingress.isolates, "an admin policy does not isolate");
    assert_eq!(ingress.rules[0].action, Action::Pass);
    assert_eq!(
        ingress.rules[0].ports,
        Some(vec![port(Protocol::Tcp, 5432, 5432), port(Protocol::Udp, 1000, 2000)])
    );
    let egress = p.egress.as_ref().unwrap();
    assert_eq!(
        egress.rules[0].peers.as_deref().unwrap(),
        [
            PolicyPeer::Entity(Entity::Host),
            PolicyPeer::Entity(Entity::RemoteNode),
            PolicyPeer::Addresses {
                cidr: "0.0.0.0/0".into(),
                except: Vec::new(),
                includes_pods: true
            },
            PolicyPeer::Addresses {
                cidr: "10.0.0.0/8".into(),
                except: Vec::new(),
                includes_pods: false
            },
        ]
    );
    let allow = &egress.rules[1];
    assert_eq!(allow.action, Action::Allow);
    assert!(matches!(
        allow.peers.as_deref().unwrap(),
        [PolicyPeer::Pods { namespaces: Namespaces::Selected(n), pods: Some(pods) }] if n.matches_all() && pods.matches_all()
    ));
    // A named port is matched whatever its protocol.
    assert_eq!(allow.ports.as_ref().map(Vec::len), Some(3));
}

#[test]
fn cluster_network_policy_tiers_actions_and_protocols() {
    let m = manifests(&format!(
        "{}---\n{}",
        cnp("  tier: Baseline
  priority: 0
  subject: {namespaces: {}}
  ingress:
  - action: Accept
    from: [{pods: {podSelector: {matchLabels: {app: web}}}}]
    protocols: [{udp: {destinationPort: {number: 53}}}, {sctp: {destinationPort: {range: {start: 10, end: 20}}}}]
"),
        cnp("  tier: Admin\n  priority: 1000\n  subject: {namespaces: {}}\n  egress: [{action: Deny, to: [{domainNames: [example.com]}]}]\n")
            .replace("name: c", "name: admin")
    ));
    let index = m.index();
    let (baseline, admin) = (&index.policies[0], &index.policies[1]);
    assert!(
        baseline.is_valid() && admin.is_valid(),
        "{:?} {:?}",
        baseline.problems,
        admin.problems
    );
    assert_eq!((baseline.flavor, admin.flavor), (Flavor::Baseline, Flavor::Admin));
    assert_eq!(baseline.label(), "ClusterNetworkPolicy c");
    assert!(
        baseline.egress.is_none() && admin.ingress.is_none(),
        "no rules: that direction is untouched"
    );
    let rule = &baseline.ingress.as_ref().unwrap().rules[0];
    assert_eq!(rule.action, Action::Allow);
    // v1alpha2's `pods` without a namespaceSelector: every namespace.
    assert!(matches!(
        rule.peers.as_deref().unwrap(),
        [PolicyPeer::Pods { namespaces: Namespaces::Selected(Matcher::Labels(n)), .. }] if n.is_empty()
    ));
    assert_eq!(
        rule.ports,
        Some(vec![port(Protocol::Udp, 53, 53), port(Protocol::Sctp, 10, 20)])
    );
    let domains = &admin.egress.as_ref().unwrap().rules[0];
    assert_eq!(domains.peers, Some(vec![PolicyPeer::Entity(Entity::World)]));
    assert!(domains.unevaluated.as_deref().unwrap().contains("example.com"));
}

#[test]
fn the_baseline_admin_network_policy() {
    let spec = "  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n";
    let m = manifests(&banp("default", spec));
    let index = m.index();
    let p = &index.policies[0];
    assert!(p.is_valid(), "{:?}", p.problems);
    assert_eq!((p.flavor, p.order), (Flavor::Baseline, None));
    assert_eq!(p.describe(), "BaselineAdminNetworkPolicy `default`");
    assert_eq!(
        problems(&banp("strict", spec)),
        ["a BaselineAdminNetworkPolicy must be named `default` (one per cluster), not `strict`"]
    );
}

#[test]
fn what_the_crds_reject_is_a_problem() {
    let subject = "  subject: {namespaces: {}}\n";
    let anp_cases = [
        ("  subject: {namespaces: {}}\n", "`priority` is missing"),
        ("  priority: 1001\n  subject: {namespaces: {}}\n", "`priority` `1001` is not an integer in 0-1000"),
        ("  priority: 1\n", "`subject` is missing"),
        (
            "  priority: 1\n  subject: {namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}\n",
            "`subject` must set exactly one of `namespaces`, `pods`",
        ),
        (
            "  priority: 1\n  subject: {pods: {podSelector: {}}}\n",
            "`subject.pods.namespaceSelector` is missing",
        ),
        (
            "  priority: 1\n  subject: {namespaces: {matchExpressions: [{key: a, operator: Equals}]}}\n",
            "subject.namespaces",
        ),
        ("  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Accept, from: [{namespaces: {}}]}]\n", "rule action `Accept` is not Allow, Deny or Pass"),
        ("  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{from: [{namespaces: {}}]}]\n", "rule action is missing"),
        ("  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny}]\n", "`from` is missing or empty"),
        ("  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: []}]\n", "`from` is missing or empty"),
        (
            "  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}]}]\n",
            "a peer must set exactly one of namespaces, pods",
        ),
        (
            "  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{networks: [10.0.0.0/8]}]}]\n",
            "`networks` is not an ingress peer",
        ),
        (
            "  priority: 1\n  subject: {namespaces: {}}\n  egress: [{action: Deny, to: [{networks: [10.0.0.0/33]}]}]\n",
            "`networks` entry `10.0.0.0/33` is not a valid CIDR",
        ),
        (
            "  priority: 1\n  subject: {namespaces: {}}\n  egress: [{action: Deny, to: [{networks: []}]}]\n",
            "`networks` is not a list of 1 to 25 entries",
        ),
        (
            "  priority: 1\n  subject: {namespaces: {}}\n  egress: [{action: Deny, to: [{nodes: {}}], ports: [{namedPort: http}]}]\n",
            "cannot be set with named ports",
        ),
        (
            "  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}], ports: []}]\n",
            "`ports` must list 1 to 100 entries",
        ),
        (
            "  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {port: 80}, namedPort: http}]}]\n",
            "a `ports` entry must set exactly one field",
        ),
        (
            "  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {port: 0}}]}]\n",
            "`port` `0` is not a port number in 1-65535",
        ),
        (
            "  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {protocol: ICMP, port: 1}}]}]\n",
            "protocol `ICMP` is not TCP, UDP or SCTP",
        ),
        (
            "  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portRange: {start: 90, end: 80}}]}]\n",
            "port range start 90 is not below its end 80",
        ),
    ];
    for (spec, expected) in anp_cases {
        let found = problems(&anp(spec));
        assert!(found.iter().any(|p| p.contains(expected)), "{spec}: {found:?}");
    }
    let many_rules = format!(
        "{subject}  ingress:\n{}",
        "  - {action: Deny, from: [{namespaces: {}}]}\n".repeat(101)
    );
    assert!(problems(&banp("default", &many_rules))[0].contains("more than the 100 allowed"));
    for (spec, expected) in [
        (
            "  ingress: [{action: Pass, from: [{namespaces: {}}]}]\n",
            "rule action `Pass` is not Allow or Deny",
        ),
        (
            "  egress: [{action: Allow, to: [{domainNames: [example.com]}]}]\n",
            "`domainNames` is not an egress peer",
        ),
    ] {
        let found = problems(&banp("default", &format!("{subject}{spec}")));
        assert!(found.iter().any(|p| p.contains(expected)), "{spec}: {found:?}");
    }
    let cnp_cases = [
        ("  priority: 1\n  subject: {namespaces: {}}\n", "`tier` is missing"),
        ("  tier: admin\n  priority: 1\n  subject: {namespaces: {}}\n", "`tier` `admin` is neither Admin nor Baseline"),
        ("  tier: Admin\n  subject: {namespaces: {}}\n", "`priority` is missing"),
        (
            "  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Allow, from: [{namespaces: {}}]}]\n",
            "rule action `Allow` is not Accept, Deny or Pass",
        ),
        (
            "  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}], protocols: [{tcp: {}}]}]\n",
            "`tcp` needs a `destinationPort`",
        ),
        (
            "  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}], protocols: [{tcp: {destinationPort: {number: 80, range: {start: 1, end: 2}}}}]}]\n",
            "`destinationPort` must set exactly one of `number`, `range`",
        ),
        (
            "  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}], protocols: [{icmp: {}}]}]\n",
            "`icmp` is not a protocol",
        ),
        (
            "  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}], protocols: [{udp: {destinationPort: {range: {start: 53, end: 53}}}}]}]\n",
            "port range start 53 is not below its end 53",
        ),
        (
            "  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  egress: [{action: Deny, to: [{networks: [10.0.0.0/8]}], protocols: [{destinationNamedPort: http}]}]\n",
            "cannot be set with named ports",
        ),
        (
            "  tier: Admin\n  priority: 1\n  subject: {pods: {namespaceSelector: {}}}\n",
            "`subject.pods.podSelector` is missing",
        ),
    ];
    for (spec, expected) in cnp_cases {
        let found = problems(&cnp(spec));
        assert!(found.iter().any(|p| p.contains(expected)), "{spec}: {found:?}");
    }
    let many_peers = format!(
        "  tier: Admin\n  priority: 1\n{subject}  ingress: [{{action: Deny, from: [{}]}}]\n",
        vec!["{namespaces: {}}"; 26].join(", ")
    );
    assert!(problems(&cnp(&many_peers))[0].contains("more than the 25 peers allowed"));
}

#[test]
fn a_malformed_admin_policy_selects_and_covers_nothing() {
    let m = manifests(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, labels: {{app: web}}}}\nspec: {{containers: [{{name: c, image: x}}]}}\n---\n{}",
        anp("  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Drop, from: [{namespaces: {}}]}]\n")
    ));
    let index = m.index();
    assert!(!index.policies[0].is_valid());
    assert_eq!(index.policies[0].covers(&index.workloads[0]), PodPick::None);
}
