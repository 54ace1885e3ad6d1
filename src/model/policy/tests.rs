//! Parsing the three policy kinds: what each field means and what makes a
//! policy malformed.

use super::*;
use crate::model::selector::namespace_labels;
use crate::model::{Detail, Input, Manifests, PodPick, Protocol};

fn manifests(yaml: &str) -> Manifests {
    Manifests::load(
        vec![Input::new("t.yaml", "t", "shop", yaml.to_string())],
        Detail::Checks,
    )
    .unwrap()
}

/// The problems of the one policy in `yaml`.
fn problems(yaml: &str) -> Vec<String> {
    let m = manifests(yaml);
    let index = m.index();
    assert_eq!(index.policies.len(), 1, "{yaml}");
    index.policies[0].problems.iter().map(|p| p.message.clone()).collect()
}

fn k8s(spec: &str) -> String {
    format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p}}\nspec:\n{spec}")
}

fn cilium(spec: &str) -> String {
    format!("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: c}}\nspec:\n{spec}")
}

fn calico(kind: &str, spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: {kind}\nmetadata: {{name: k}}\nspec:\n{spec}")
}

#[test]
fn kubernetes_defaulting_follows_the_api_server() {
    let m = manifests(&format!(
        "{}---\n{}---\n{}",
        k8s("  podSelector: {}\n"),
        k8s("  podSelector: {}\n  egress: [{to: [{podSelector: {}}]}]\n").replace("name: p", "name: both"),
        k8s("  podSelector: {}\n  policyTypes: [Egress]\n").replace("name: p", "name: out"),
    ));
    let index = m.index();
    let sides: Vec<(bool, bool)> = index
        .policies
        .iter()
        .map(|p| (p.ingress.is_some(), p.egress.is_some()))
        .collect();
    assert_eq!(sides, [(true, false), (true, true), (false, true)]);
    assert!(index.policies.iter().all(|p| p.is_valid()));
}

#[test]
fn malformed_kubernetes_policies_are_problems() {
    let cases = [
        ("  podSelector: 5\n", "podSelector: not a label selector"),
        (
            "  podSelector: {matchExpressions: [{key: app, operator: Matches, values: [a]}]}\n",
            "unknown operator `Matches`",
        ),
        (
            "  podSelector: {matchExpressions: [{key: app, operator: In}]}\n",
            "`In` on `app` without values",
        ),
        (
            "  podSelector: {}\n  policyTypes: [Inbound]\n",
            "neither Ingress nor Egress",
        ),
        (
            "  podSelector: {}\n  ingress: [{ports: [{port: HTTP_PORT}]}]\n",
            "neither a number nor a port name",
        ),
        (
            "  podSelector: {}\n  ingress: [{ports: [{port: 70000}]}]\n",
            "not in 1-65535",
        ),
        (
            "  podSelector: {}\n  ingress: [{ports: [{port: 90, endPort: 80}]}]\n",
            "endPort",
        ),
        (
            "  podSelector: {}\n  ingress: [{ports: [{port: http, endPort: 80}]}]\n",
            "endPort with a named port",
        ),
        (
            "  podSelector: {}\n  ingress: [{ports: [{port: 80, protocol: ICMP}]}]\n",
            "protocol `ICMP`",
        ),
        (
            "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]\n",
            "both ipBlock and a selector",
        ),
        ("  podSelector: {}\n  ingress: [{from: [{}]}]\n", "none of podSelector"),
        (
            "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]\n",
            "not a valid CIDR",
        ),
        ("  podSelector: {}\n  ingress: {from: []}\n", "`ingress` is not a list"),
        (
            "  podSelector: {}\n  ingress: [{ports: [{port: \"8080\"}]}]\n",
            "port `\"8080\"` is a quoted number",
        ),
        (
            "  podSelector: {}\n  ingress: [{ports: [{port: 8080, endPort: \"8090\"}]}]\n",
            "endPort is not an integer",
        ),
        (
            "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]}]\n",
            "`192.168.0.0/16` is not a strict subset of its `cidr` `10.0.0.0/8`",
        ),
        (
            "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]}]\n",
            "not a strict subset",
        ),
        (
            "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [\"fd00::/8\"]}}]}]\n",
            "not a strict subset",
        ),
    ];
    for (spec, expected) in cases {
        let found = problems(&k8s(spec));
        assert!(found.iter().any(|p| p.contains(expected)), "{spec}: {found:?}");
    }
    assert_eq!(problems(&k8s("  podSelector: {matchLabels: {app: web}}\n  ingress: [{from: [{namespaceSelector: {}, podSelector: {matchExpressions: [{key: tier, operator: Exists}]}}], ports: [{port: http}, {port: 8000, endPort: 8080, protocol: UDP}]}]\n")), Vec::<String>::new());
    // An exception inside its range, in either family, and a host address
    // with a prefix, are what the API server accepts.
    assert_eq!(problems(&k8s("  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.255.255.255/32]}}, {ipBlock: {cidr: \"fd00::/8\", except: [\"fd12::/16\"]}}, {ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]}]\n")), Vec::<String>::new());
}

#[test]
fn a_malformed_policy_selects_nothing() {
    let m = manifests(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, labels: {{app: web}}}}\nspec: {{containers: [{{name: c, image: x}}]}}\n---\n{}",
        k8s("  podSelector: 5\n")
    ));
    let index = m.index();
    assert!(!index.policies[0].selects(&index.workloads[0]));
    assert_eq!(index.policies[0].covers(&index.workloads[0]), PodPick::None);
}

#[test]
fn cilium_prefixes_namespaces_entities_and_ports() {
    let m = manifests(&cilium(
        "  endpointSelector: {matchLabels: {k8s:app: web}}\n  ingress:\n  - fromEndpoints:\n    - matchLabels: {any:app: api, k8s:io.kubernetes.pod.namespace: tools}\n    - matchLabels: {reserved:host: ''}\n    fromEntities: [world]\n    toPorts:\n    - ports: [{port: '8080', protocol: TCP}, {port: '53'}]\n      rules: {http: [{method: GET}]}\n  ingressDeny:\n  - fromCIDR: [10.0.0.0/8]\n",
    ));
    let index = m.index();
    let p = &index.policies[0];
    assert!(p.is_valid(), "{:?}", p.problems);
    assert_eq!(p.flavor, Flavor::Cilium);
    assert_eq!(p.pod_selector.display(), "app=web");
    let side = p.ingress.as_ref().unwrap();
    assert!(side.isolates);
    // Deny rules come first.
    assert_eq!(side.rules[0].action, Action::Deny);
    assert_eq!(
        side.rules[0].peers,
        Some(vec![PolicyPeer::Addresses {
            cidr: "10.0.0.0/8".into(),
            except: vec![],
            includes_pods: false
        }])
    );
    let allow = &side.rules[1];
    let peers = allow.peers.as_ref().unwrap();
    assert_eq!(peers.len(), 3);
    match &peers[0] {
        PolicyPeer::Pods {
            namespaces: Namespaces::Selected(ns),
            pods: Some(pods),
        } => {
            assert_eq!(ns.display(), "kubernetes.io/metadata.name=tools");
            assert_eq!(pods.display(), "app=api");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(peers[1], PolicyPeer::Entity(Entity::Host));
    assert_eq!(peers[2], PolicyPeer::Entity(Entity::World));
    // 8080/TCP, and 53 on every protocol (ANY).
    assert_eq!(allow.ports.as_ref().unwrap().len(), 4);
    assert!(allow.unevaluated.as_deref().unwrap().contains("L7"));
}

#[test]
fn cilium_rule_shapes() {
    let m = manifests(&cilium(
        "  endpointSelector: {}\n  ingress:\n  - {}\n  - toPorts: [{ports: [{port: '80'}]}]\n  - fromEndpoints: [{}]\n",
    ));
    let index = m.index();
    let rules = &index.policies[0].ingress.as_ref().unwrap().rules;
    // `{}` names no peer; ports alone name every peer; `[{}]` every pod of the namespace.
    assert_eq!(rules[0].peers, Some(vec![]));
    assert_eq!(rules[1].peers, None);
    assert_eq!(
        rules[2].peers,
        Some(vec![PolicyPeer::Pods {
            namespaces: Namespaces::Own,
            pods: Some(Matcher::everything())
        }])
    );
    // An empty ingress list still isolates; a policy without ingress does not restrict it.
    let m = manifests(&format!(
        "{}---\n{}---\n{}",
        cilium("  endpointSelector: {}\n  ingress: []\n"),
        cilium("  endpointSelector: {}\n  egress: [{toEntities: [world]}]\n").replace("name: c", "name: out"),
        cilium(
            "  endpointSelector: {}\n  enableDefaultDeny: {ingress: false}\n  ingress: [{fromEntities: [cluster]}]\n"
        )
        .replace("name: c", "name: soft"),
    ));
    let index = m.index();
    assert!(index.policies[0]
        .ingress
        .as_ref()
        .is_some_and(|s| s.isolates && s.rules.is_empty()));
    assert!(index.policies[1].ingress.is_none());
    assert!(!index.policies[2].ingress.as_ref().unwrap().isolates);
}

#[test]
fn cilium_specs_host_policies_and_cluster_scope() {
    let m = manifests(
        "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: cw}\nspecs:\n- endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: shop, app: db}}\n  ingress: [{fromEndpoints: [{matchLabels: {app: api}}]}]\n- nodeSelector: {}\n  ingress: [{fromEntities: [cluster]}]\n",
    );
    let index = m.index();
    assert_eq!(index.policies.len(), 1, "the host policy selects no pod");
    let p = &index.policies[0];
    let PolicyScope::Cluster(Some(scope)) = &p.scope else {
        panic!("{:?}", p.scope)
    };
    assert!(scope.matches(&namespace_labels("shop")) && !scope.matches(&namespace_labels("tools")));
    // Without a namespace label, a cluster-wide policy's peers are in every namespace.
    match &p.ingress.as_ref().unwrap().rules[0].peers.as_ref().unwrap()[0] {
        PolicyPeer::Pods {
            namespaces: Namespaces::Selected(ns),
            ..
        } => assert!(ns.matches_all()),
        other => panic!("{other:?}"),
    }
    let bad = problems(&cilium(
        "  endpointSelector: {}\n  ingress: [{fromEntities: [everyone]}]\n",
    ));
    assert_eq!(bad, ["unknown entity `everyone`"]);
}

#[test]
fn calico_selectors_types_order_and_ports() {
    let m = manifests(&calico(
        "NetworkPolicy",
        "  order: 100\n  selector: app == 'db'\n  ingress:\n  - action: Allow\n    protocol: TCP\n    source:\n      selector: role in {'api', 'worker'}\n      namespaceSelector: projectcalico.org/name == 'tools'\n    destination:\n      ports: [5432, '6000:6010', metrics]\n  - action: Deny\n",
    ));
    let index = m.index();
    let p = &index.policies[0];
    assert!(p.is_valid(), "{:?}", p.problems);
    assert_eq!(p.order, Some(100.0));
    assert!(p.ingress.is_some() && p.egress.is_none());
    let rules = &p.ingress.as_ref().unwrap().rules;
    assert_eq!(rules[0].action, Action::Allow);
    assert_eq!(
        rules[0].ports,
        Some(vec![
            PolicyPort {
                protocol: Protocol::Tcp,
                port: PortMatch::Range(5432, 5432)
            },
            PolicyPort {
                protocol: Protocol::Tcp,
                port: PortMatch::Range(6000, 6010)
            },
            PolicyPort {
                protocol: Protocol::Tcp,
                port: PortMatch::Named("metrics".into())
            },
        ])
    );
    match &rules[0].peers.as_ref().unwrap()[0] {
        PolicyPeer::Pods {
            namespaces: Namespaces::Selected(ns),
            pods: Some(pods),
        } => {
            assert!(ns.matches(&namespace_labels("tools")) && !ns.matches(&namespace_labels("shop")));
            assert_eq!(pods.display(), "role in {'api', 'worker'}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rules[1].action, Action::Deny);
    assert_eq!(rules[1].peers, None);
    // Types default: egress rules alone make an Egress-only policy.
    let m = manifests(&calico("NetworkPolicy", "  egress: [{action: Allow}]\n"));
    let index = m.index();
    assert!(index.policies[0].ingress.is_none() && index.policies[0].egress.is_some());
}

#[test]
fn calico_global_policies_and_what_is_not_evaluated() {
    let m = manifests(&calico(
        "GlobalNetworkPolicy",
        "  tier: security\n  namespaceSelector: has(team)\n  selector: all()\n  types: [Ingress]\n  ingress:\n  - action: Allow\n    source: {serviceAccounts: {names: [api]}}\n",
    ));
    let index = m.index();
    let p = &index.policies[0];
    assert!(p.is_cluster_wide());
    assert!(p.unevaluated[0].contains("tier `security`"));
    // Service accounts are evaluated: pods of the selected namespaces
    // running as `api`.
    let rule = &p.ingress.as_ref().unwrap().rules[0];
    assert_eq!(rule.unevaluated, None);
    assert!(matches!(
        rule.peers.as_deref(),
        Some([PolicyPeer::ServiceAccounts { names: Some(names), selector: None, .. }]) if names == &["api"]
    ));
    for (spec, expected) in [
        ("  selector: app = 'db'\n", "selector `app = 'db'`"),
        ("  ingress: [{action: Accept}]\n", "action `Accept`"),
        (
            "  ingress: [{action: Allow, destination: {ports: [80]}}]\n",
            "needs `protocol`",
        ),
        (
            "  ingress: [{action: Allow, protocol: TCP, destination: {ports: ['90:80']}}]\n",
            "port `90:80`",
        ),
        (
            "  ingress: [{action: Allow, source: {nets: [10.1.2.3]}}]\n",
            "not a valid CIDR",
        ),
        ("  types: [Forward]\n", "types entry `Forward`"),
        (
            "  egress: [{action: Allow, destination: {services: {name: db}, selector: all()}}]\n",
            "`destination.services` cannot go with `destination.selector`",
        ),
        (
            "  egress: [{action: Allow, protocol: TCP, destination: {services: {name: db}, ports: [80]}}]\n",
            "cannot go with `destination.services` in an egress rule",
        ),
        (
            "  egress: [{action: Allow, destination: {services: {namespace: shop}}}]\n",
            "`destination.services` without a `name`",
        ),
        (
            "  ingress: [{action: Allow, source: {notNets: [10.0.0.0]}}]\n",
            "`source.notNets` entry `10.0.0.0` is not a valid CIDR",
        ),
        (
            "  egress: [{action: Allow, source: {services: {name: db}}}]\n",
            "`source.services` is not allowed in an egress rule",
        ),
        (
            "  ingress: [{action: Allow, destination: {services: {name: db}}}]\n",
            "`destination.services` is not allowed in an ingress rule",
        ),
    ] {
        let found = problems(&calico("NetworkPolicy", spec));
        assert!(found.iter().any(|p| p.contains(expected)), "{spec}: {found:?}");
    }
    // The CRD version reads the same.
    let m = manifests(
        &calico("NetworkPolicy", "  selector: app == 'db'\n")
            .replace("projectcalico.org/v3", "crd.projectcalico.org/v1"),
    );
    assert_eq!(m.index().policies[0].flavor, Flavor::Calico);
}

/// AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy.
mod admin;
