//! The evaluator against the scenarios of the upstream Kubernetes
//! network-policy e2e suite (test/e2e/network/netpol): namespaces x, y, z,
//! pods a, b, c in each (label `pod: <name>`), serving 80 and 81 on TCP and
//! UDP under the names `serve-80-tcp`, …. Each case writes the expected
//! truth table as the e2e suite prints it (rows: from, columns: to, `.`
//! allowed, `X` blocked), our own cases written from their descriptions.
//! Where Cilium or Calico can say the same thing, their policy must give
//! the same table.

use super::evaluate::{Evaluator, Notes, Party, Ports, Traffic};
use crate::model::{Detail, Input, Manifests, Protocol};

const NAMESPACES: [&str; 3] = ["x", "y", "z"];
const PODS: [&str; 3] = ["a", "b", "c"];

fn cluster(policies: &str) -> Manifests {
    let mut text = String::new();
    for ns in NAMESPACES {
        for pod in PODS {
            text.push_str(&format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}, namespace: {ns}, labels: {{pod: {pod}}}}}\nspec:\n  containers:\n  - name: c\n    image: agnhost\n    ports:\n    - {{containerPort: 80, name: serve-80-tcp}}\n    - {{containerPort: 81, name: serve-81-tcp}}\n    - {{containerPort: 80, name: serve-80-udp, protocol: UDP}}\n    - {{containerPort: 81, name: serve-81-udp, protocol: UDP}}\n"
            ));
        }
    }
    text.push_str(policies);
    Manifests::load(vec![Input::new("e2e.yaml", "e2e", "x", text)], Detail::Checks).unwrap()
}

/// The truth table of `port`/`protocol` under `policies`.
fn table(policies: &str, port: u16, protocol: Protocol) -> String {
    let manifests = cluster(policies);
    let index = manifests.index();
    for p in &index.policies {
        assert!(p.is_valid(), "{}: {:?}", p.obj.name, p.problems);
    }
    let eval = Evaluator::new(&index);
    let notes = &mut Notes::default();
    let names: Vec<String> = index
        .workloads
        .iter()
        .map(|w| format!("{}/{}", w.obj.namespace, w.obj.name))
        .collect();
    let mut out = format!("-\t{}\n", names.join("\t"));
    for (from, source) in index.workloads.iter().enumerate() {
        out.push_str(&names[from]);
        for dest in &index.workloads {
            let traffic = Traffic {
                dest: Some(dest),
                ports: Ports::One(port, protocol),
            };
            let allowed = eval.ingress_permit(&traffic, Party::of(source), notes).is_some()
                && eval.egress_permit(source, &traffic, Party::of(dest), notes).is_some();
            out.push_str(if allowed { "\t." } else { "\tX" });
        }
        out.push('\n');
    }
    out
}

/// A table from rows of `.`/`X` (rows x/a … z/c, columns the same).
fn expected(rows: [&str; 9]) -> String {
    let names: Vec<String> = NAMESPACES
        .iter()
        .flat_map(|ns| PODS.iter().map(move |p| format!("{ns}/{p}")))
        .collect();
    let mut out = format!("-\t{}\n", names.join("\t"));
    for (name, row) in names.iter().zip(rows) {
        out.push_str(name);
        for cell in row.split_whitespace() {
            out.push('\t');
            out.push_str(cell);
        }
        out.push('\n');
    }
    out
}

/// A connection to `dest` on 80/TCP.
fn tcp_80<'w, 'a>(dest: &'w crate::model::Workload<'a>) -> Traffic<'w, 'a> {
    Traffic {
        dest: Some(dest),
        ports: Ports::One(80, Protocol::Tcp),
    }
}

fn k8s(namespace: &str, name: &str, spec: &str) -> String {
    format!("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}")
}

fn cilium(namespace: &str, name: &str, spec: &str) -> String {
    format!("---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}")
}

fn calico(namespace: &str, name: &str, spec: &str) -> String {
    format!("---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}")
}

const ALL: [&str; 9] = [". . . . . . . . ."; 9];

/// Everything reaches everything except x/a, which nobody reaches.
const INTO_XA_NOTHING: [&str; 9] = ["X . . . . . . . ."; 9];

#[test]
fn no_policy_allows_everything() {
    assert_eq!(table("", 80, Protocol::Tcp), expected(ALL));
}

#[test]
fn default_deny_ingress() {
    // "should support a 'default-deny-ingress' policy": x's pods receive nothing.
    let deny = ["X X X . . . . . ."; 9];
    assert_eq!(
        table(
            &k8s("x", "deny", "  podSelector: {}\n  policyTypes: [Ingress]\n"),
            80,
            Protocol::Tcp
        ),
        expected(deny)
    );
    assert_eq!(
        table(
            &cilium("x", "deny", "  endpointSelector: {}\n  ingress: [{}]\n"),
            80,
            Protocol::Tcp
        ),
        expected(deny)
    );
    assert_eq!(
        table(
            &calico("x", "deny", "  selector: all()\n  types: [Ingress]\n"),
            80,
            Protocol::Tcp
        ),
        expected(deny)
    );
}

#[test]
fn default_deny_all() {
    // "should support a 'default-deny-all' policy": x's pods neither receive nor send.
    let deny = [
        "X X X X X X X X X",
        "X X X X X X X X X",
        "X X X X X X X X X",
        "X X X . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
        "X X X . . . . . .",
    ];
    let spec = "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n";
    assert_eq!(table(&k8s("x", "deny-all", spec), 80, Protocol::Tcp), expected(deny));
    let cilium_spec = "  endpointSelector: {}\n  ingress: [{}]\n  egress: [{}]\n";
    assert_eq!(
        table(&cilium("x", "deny-all", cilium_spec), 80, Protocol::Tcp),
        expected(deny)
    );
    let calico_spec = "  selector: all()\n  types: [Ingress, Egress]\n";
    assert_eq!(
        table(&calico("x", "deny-all", calico_spec), 80, Protocol::Tcp),
        expected(deny)
    );
}

#[test]
fn allow_from_pods_of_the_server_namespace_by_pod_selector() {
    // "should enforce policy to allow traffic from pods within server namespace based on PodSelector":
    // x/a receives from x/b only.
    let rows = [
        "X . . . . . . . .",
        ". . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
    ];
    let k = "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]\n";
    assert_eq!(table(&k8s("x", "allow-b", k), 80, Protocol::Tcp), expected(rows));
    let c = "  endpointSelector: {matchLabels: {pod: a}}\n  ingress: [{fromEndpoints: [{matchLabels: {pod: b}}]}]\n";
    assert_eq!(table(&cilium("x", "allow-b", c), 80, Protocol::Tcp), expected(rows));
    let k = "  selector: pod == 'a'\n  ingress: [{action: Allow, source: {selector: pod == 'b'}}]\n";
    assert_eq!(table(&calico("x", "allow-b", k), 80, Protocol::Tcp), expected(rows));
}

#[test]
fn allow_only_from_a_different_namespace() {
    // "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector"
    // (with the default namespace label): x/a receives from y's pods only.
    let rows = [
        "X . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
    ];
    let k = "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}]}]\n";
    assert_eq!(table(&k8s("x", "from-y", k), 80, Protocol::Tcp), expected(rows));
    let c = "  endpointSelector: {matchLabels: {pod: a}}\n  ingress: [{fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: y}}]}]\n";
    assert_eq!(table(&cilium("x", "from-y", c), 80, Protocol::Tcp), expected(rows));
    let k = "  selector: pod == 'a'\n  ingress: [{action: Allow, source: {namespaceSelector: projectcalico.org/name == 'y'}}]\n";
    assert_eq!(table(&calico("x", "from-y", k), 80, Protocol::Tcp), expected(rows));
}

#[test]
fn pod_and_namespace_selectors_together_and_apart() {
    // "...based on PodSelector and NamespaceSelector": pods b of y and z (one peer: AND).
    let and = [
        "X . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
        ". . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
        ". . . . . . . . .",
        "X . . . . . . . .",
    ];
    let k = "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}]}\n      podSelector: {matchLabels: {pod: b}}\n";
    assert_eq!(table(&k8s("x", "and", k), 80, Protocol::Tcp), expected(and));
    // "...based on PodSelector or NamespaceSelector": two peers (OR): pods b of x, any pod of y, z.
    let or = [
        "X . . . . . . . .",
        ". . . . . . . . .",
        "X . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
    ];
    let k = "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}]}\n    - podSelector: {matchLabels: {pod: b}}\n";
    assert_eq!(table(&k8s("x", "or", k), 80, Protocol::Tcp), expected(or));
    let k = "  selector: pod == 'a'\n  ingress:\n  - {action: Allow, source: {namespaceSelector: projectcalico.org/name != 'x'}}\n  - {action: Allow, source: {selector: pod == 'b'}}\n";
    assert_eq!(table(&calico("x", "or", k), 80, Protocol::Tcp), expected(or));
}

#[test]
fn ports_named_ports_and_protocols() {
    // "should enforce policy based on Ports": x/a allows port 81 only.
    let k = "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: 81}]}]\n";
    assert_eq!(table(&k8s("x", "p81", k), 80, Protocol::Tcp), expected(INTO_XA_NOTHING));
    assert_eq!(table(&k8s("x", "p81", k), 81, Protocol::Tcp), expected(ALL));
    // "should allow ingress access on one named port".
    let k = "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: serve-81-tcp}]}]\n";
    assert_eq!(table(&k8s("x", "named", k), 81, Protocol::Tcp), expected(ALL));
    assert_eq!(
        table(&k8s("x", "named", k), 80, Protocol::Tcp),
        expected(INTO_XA_NOTHING)
    );
    // "should not allow access by TCP when a policy specifies only UDP".
    let k = "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: 81, protocol: UDP}]}]\n";
    assert_eq!(table(&k8s("x", "udp", k), 81, Protocol::Tcp), expected(INTO_XA_NOTHING));
    assert_eq!(table(&k8s("x", "udp", k), 81, Protocol::Udp), expected(ALL));
    // "should enforce ingress policy allowing any port traffic to a server on a specific protocol".
    let k = "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{protocol: TCP}]}]\n";
    assert_eq!(table(&k8s("x", "tcp", k), 81, Protocol::Tcp), expected(ALL));
    assert_eq!(table(&k8s("x", "tcp", k), 80, Protocol::Udp), expected(INTO_XA_NOTHING));
    // endPort: a range 80-81.
    let k = "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: 80, endPort: 81}]}]\n";
    assert_eq!(table(&k8s("x", "range", k), 81, Protocol::Tcp), expected(ALL));
    // The same in Cilium (a named port, ANY protocol) and Calico (a range).
    let c = "  endpointSelector: {matchLabels: {pod: a}}\n  ingress: [{toPorts: [{ports: [{port: '81'}]}]}]\n";
    assert_eq!(
        table(&cilium("x", "p81", c), 80, Protocol::Tcp),
        expected(INTO_XA_NOTHING)
    );
    assert_eq!(table(&cilium("x", "p81", c), 81, Protocol::Udp), expected(ALL));
    let k = "  selector: pod == 'a'\n  ingress: [{action: Allow, protocol: TCP, destination: {ports: ['81:82']}}]\n";
    assert_eq!(table(&calico("x", "range", k), 81, Protocol::Tcp), expected(ALL));
    assert_eq!(
        table(&calico("x", "range", k), 80, Protocol::Tcp),
        expected(INTO_XA_NOTHING)
    );
}

#[test]
fn stacked_policies_add_up_and_allow_all_wins() {
    // "should enforce multiple, stacked policies with overlapping podSelectors"
    // and "...with ingress allow-all policy taking precedence".
    let only_81 = k8s(
        "x",
        "only-81",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: 81}]}]\n",
    );
    let allow_all = k8s(
        "x",
        "allow-all",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{}]\n",
    );
    assert_eq!(table(&only_81, 80, Protocol::Tcp), expected(INTO_XA_NOTHING));
    assert_eq!(
        table(&format!("{only_81}{allow_all}"), 80, Protocol::Tcp),
        expected(ALL)
    );
}

#[test]
fn egress_denial_on_the_client_side() {
    // "should support denying of egress traffic on the client side (even if the
    // server explicitly allows this traffic)": x/a may only send to y.
    let rows = [
        "X X X . . . X X X",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
    ];
    let k = "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}]}]\n";
    let allow_in = k8s("z", "allow-in", "  podSelector: {}\n  ingress: [{}]\n");
    assert_eq!(
        table(&format!("{}{allow_in}", k8s("x", "egress-y", k)), 80, Protocol::Tcp),
        expected(rows)
    );
    let c = "  endpointSelector: {matchLabels: {pod: a}}\n  egress: [{toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: y}}]}]\n";
    assert_eq!(table(&cilium("x", "egress-y", c), 80, Protocol::Tcp), expected(rows));
}

#[test]
fn cilium_deny_wins_over_allow() {
    let allow_all = cilium(
        "x",
        "allow",
        "  endpointSelector: {}\n  ingress: [{fromEntities: [cluster]}]\n",
    );
    let deny_b = cilium(
        "x",
        "deny-b",
        "  endpointSelector: {matchLabels: {pod: a}}\n  ingressDeny: [{fromEndpoints: [{matchLabels: {pod: b}}]}]\n",
    );
    let rows = [
        ". . . . . . . . .",
        "X . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
    ];
    assert_eq!(
        table(&format!("{allow_all}{deny_b}"), 80, Protocol::Tcp),
        expected(rows)
    );
}

#[test]
fn calico_order_decides_between_allow_and_deny() {
    // A Deny for y's pods at order 10 before an Allow-all at order 20: y is
    // blocked. Swapped orders: the Allow comes first and everyone gets in.
    let deny_y = |order: u32| {
        calico(
            "x",
            "deny-y",
            &format!("  order: {order}\n  selector: pod == 'a'\n  ingress: [{{action: Deny, source: {{namespaceSelector: projectcalico.org/name == 'y'}}}}]\n"),
        )
    };
    let allow = |order: u32| {
        calico(
            "x",
            "allow",
            &format!("  order: {order}\n  selector: pod == 'a'\n  ingress: [{{action: Allow}}]\n"),
        )
    };
    let y_blocked = [
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
        "X . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
        ". . . . . . . . .",
    ];
    assert_eq!(
        table(&format!("{}{}", deny_y(10), allow(20)), 80, Protocol::Tcp),
        expected(y_blocked)
    );
    assert_eq!(
        table(&format!("{}{}", deny_y(30), allow(20)), 80, Protocol::Tcp),
        expected(ALL)
    );
    // Kubernetes policies sit at order 1000: a Calico Deny at 500 comes first.
    let k8s_allow = k8s(
        "x",
        "k8s-allow",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{}]\n",
    );
    assert_eq!(
        table(&format!("{}{k8s_allow}", deny_y(500)), 80, Protocol::Tcp),
        expected(y_blocked)
    );
    // Pass hands over to the namespace profile, which allows.
    let pass = calico(
        "x",
        "pass",
        "  order: 1\n  selector: pod == 'a'\n  ingress: [{action: Pass}]\n",
    );
    assert_eq!(
        table(&format!("{pass}{}", deny_y(10)), 80, Protocol::Tcp),
        expected(ALL)
    );
}

#[test]
fn unevaluated_constructs_lean_towards_reachable_with_a_note() {
    let manifests = cluster(&cilium(
        "x",
        "l7",
        "  endpointSelector: {matchLabels: {pod: a}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {pod: b}}]\n    toPorts: [{ports: [{port: '80', protocol: TCP}], rules: {http: [{method: GET}]}}]\n",
    ));
    let index = manifests.index();
    let eval = Evaluator::new(&index);
    let xa = &index.workloads[0];
    let xb = &index.workloads[1];
    let traffic = tcp_80(xa);
    let mut notes = Notes::default();
    assert!(eval.ingress_permit(&traffic, Party::of(xb), &mut notes).is_some());
    assert_eq!(
        notes.0.iter().collect::<Vec<_>>(),
        ["CiliumNetworkPolicy x/l7: L7 rules (the connection is allowed, requests are filtered) not evaluated; the rule is taken as allowing"]
    );
    // The L3 part still holds: x/c is not let in.
    assert!(eval
        .ingress_permit(&traffic, Party::of(&index.workloads[2]), &mut notes)
        .is_none());
    // A Calico policy in another tier: taken as allowing everything.
    let manifests = cluster(&calico(
        "x",
        "tiered",
        "  tier: security\n  selector: pod == 'a'\n  types: [Ingress]\n",
    ));
    let index = manifests.index();
    let eval = Evaluator::new(&index);
    let traffic = tcp_80(&index.workloads[0]);
    let mut notes = Notes::default();
    assert!(eval.ingress_permit(&traffic, Party::AnyPod, &mut notes).is_some());
    assert!(notes.0.iter().next().unwrap().contains("tier `security`"));
}

#[test]
fn arbitrary_pods_of_other_namespaces() {
    let manifests = cluster(&format!(
        "{}{}{}",
        k8s("x", "a-from-all", "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {}}]}]\n"),
        k8s("x", "b-from-monitoring", "  podSelector: {matchLabels: {pod: b}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}, podSelector: {matchLabels: {app: prometheus}}}]}]\n"),
        k8s("x", "c-from-everywhere", "  podSelector: {matchLabels: {pod: c}}\n  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]\n"),
    ));
    let index = manifests.index();
    let eval = Evaluator::new(&index);
    let reaches = |dest: usize, party: Party<'_, '_>| {
        let traffic = Traffic {
            dest: Some(&index.workloads[dest]),
            ports: Ports::Some,
        };
        eval.ingress_permit(&traffic, party, &mut Notes::default()).is_some()
    };
    assert!(reaches(0, Party::AnyPod));
    assert!(!reaches(1, Party::AnyPod), "only prometheus pods of monitoring");
    assert!(reaches(1, Party::Outside), "but some pods outside the audit");
    assert!(reaches(2, Party::AnyPod), "0.0.0.0/0 contains every pod address");
    assert!(!reaches(0, Party::External), "namespaceSelector names pods only");
    assert!(reaches(2, Party::External));
}

#[test]
fn the_matrix_marks_pods_a_policy_names_in_other_namespaces() {
    let manifests = cluster(&k8s(
        "x",
        "a-from-monitoring",
        "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}], ports: [{port: 80}]}]\n",
    ));
    let index = manifests.index();
    let text = crate::report::reach::matrix(&super::matrix::Matrix::of(&index));
    let row = |to: &str| {
        text.lines()
            .find(|l| l.starts_with(to))
            .unwrap_or_else(|| panic!("{to}\n{text}"))
            .split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ")
    };
    // x/a on 80: from no audited pod, from some pods of another namespace, not from outside.
    assert_eq!(row("Pod/x/a 80/TCP"), "X X X X X X X X X ~ X");
    // On 81 nobody; b is not selected: everyone.
    assert_eq!(row("Pod/x/a 81/TCP"), "X X X X X X X X X X X");
    assert_eq!(row("Pod/x/b 80/TCP"), ". . . . . . . . . . .");
    assert!(
        text.contains("Pod/x/a 80/TCP: ~ any pod of namespaces `kubernetes.io/metadata.name=monitoring`"),
        "{text}"
    );
}

#[test]
fn a_pod_of_another_release_and_namespace_counts_as_any_pod() {
    let shop = "apiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: shop, labels: {app: db}}\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 5432}]}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\nspec: {containers: [{name: c, image: x}]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: web}}\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: tools}}\n";
    let tools = "apiVersion: v1\nkind: Pod\nmetadata: {name: backup, namespace: tools, labels: {app: backup}}\nspec: {containers: [{name: c, image: x}]}\n";
    let manifests = Manifests::load(
        vec![
            Input::new("shop.yaml", "shop", "shop", shop.to_string()),
            Input::new("tools.yaml", "tools", "tools", tools.to_string()),
        ],
        Detail::Checks,
    )
    .unwrap();
    let index = manifests.index();
    let eval = Evaluator::new(&index);
    let exposure = super::exposure(&eval, &index, &[0], &[(5432, Protocol::Tcp)]);
    assert!(exposure.any_pod, "{exposure:?}");
    assert_eq!(
        exposure.describe(),
        "reachable only from `Pod/shop/web` and `Pod/tools/backup` (allowed by db)"
    );
    // Without the second release, only web reaches db: no pod of another namespace.
    let alone = Manifests::load(
        vec![Input::new("shop.yaml", "shop", "shop", shop.to_string())],
        Detail::Checks,
    )
    .unwrap();
    let index = alone.index();
    let eval = Evaluator::new(&index);
    let exposure = super::exposure(&eval, &index, &[0], &[(5432, Protocol::Tcp)]);
    // The namespaceSelector names `tools`, which may hold pods the audit does not see.
    assert!(exposure.any_pod, "{exposure:?}");
    assert_eq!(
        exposure.describe(),
        "reachable only from any pod of namespaces `kubernetes.io/metadata.name=tools` and `Pod/shop/web` (allowed by db)"
    );
}

fn global(name: &str, spec: &str) -> String {
    format!(
        "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n{spec}"
    )
}

/// Rows (sources) x/a … z/c; every row but those listed is `others`.
fn rows_except(others: &'static str, listed: &[(usize, &'static str)]) -> [&'static str; 9] {
    let mut rows = [others; 9];
    for &(i, row) in listed {
        rows[i] = row;
    }
    rows
}

#[test]
fn calico_not_selector_in_a_namespaced_and_a_global_policy() {
    // Namespaced: the notSelector also limits the rule to the policy's
    // namespace (as Calico converts it): x/a and x/c get in, x/b and the
    // other namespaces do not.
    let namespaced = calico(
        "x",
        "not-b",
        "  selector: all()\n  ingress: [{action: Allow, source: {notSelector: pod == 'b'}}]\n",
    );
    let into_x_blocked = "X X X . . . . . .";
    assert_eq!(
        table(&namespaced, 80, Protocol::Tcp),
        expected(rows_except(
            into_x_blocked,
            &[(0, ". . . . . . . . ."), (2, ". . . . . . . . .")]
        ))
    );
    // Global: every endpoint but the b pods, whatever their namespace.
    let global_policy = global(
        "not-b",
        "  selector: projectcalico.org/namespace == 'x'\n  ingress: [{action: Allow, source: {notSelector: pod == 'b'}}]\n",
    );
    assert_eq!(
        table(&global_policy, 80, Protocol::Tcp),
        expected(rows_except(
            ". . . . . . . . .",
            &[(1, into_x_blocked), (4, into_x_blocked), (7, into_x_blocked)]
        ))
    );
}

#[test]
fn calico_not_ports_not_nets_and_service_accounts() {
    let not_80 = calico(
        "x",
        "not-80",
        "  selector: all()\n  ingress: [{action: Allow, protocol: TCP, destination: {notPorts: [80]}}]\n",
    );
    assert_eq!(table(&not_80, 80, Protocol::Tcp), expected(["X X X . . . . . ."; 9]));
    assert_eq!(table(&not_80, 81, Protocol::Tcp), expected(ALL));
    // notNets: pods are not in 10.0.0.0/8 as far as anyone knows, and a
    // notNets alone does not limit the rule to a namespace.
    let not_nets = calico(
        "x",
        "not-nets",
        "  selector: all()\n  ingress: [{action: Allow, source: {notNets: [10.0.0.0/8]}}]\n",
    );
    assert_eq!(table(&not_nets, 80, Protocol::Tcp), expected(ALL));
    // Every pod runs as `default`: the accounts of x's pods get in.
    let accounts = |names: &str| {
        calico(
            "x",
            "accounts",
            &format!("  selector: all()\n  ingress: [{{action: Allow, source: {{serviceAccounts: {{names: [{names}]}}}}}}]\n"),
        )
    };
    let from_x_only = rows_except("X X X . . . . . .", &[(0, ALL[0]), (1, ALL[0]), (2, ALL[0])]);
    assert_eq!(table(&accounts("default"), 80, Protocol::Tcp), expected(from_x_only));
    assert_eq!(
        table(&accounts("api"), 80, Protocol::Tcp),
        expected(["X X X . . . . . ."; 9])
    );
}

#[test]
fn calico_services_peers_and_the_policys_own_endpoint() {
    // x/a may only talk to the pods of Service y/svc-b, on their target port 81.
    let service = "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-b, namespace: y}\nspec:\n  selector: {pod: b}\n  ports: [{port: 80, targetPort: 81}]\n";
    let egress = calico(
        "x",
        "to-svc-b",
        "  selector: pod == 'a'\n  egress: [{action: Allow, destination: {services: {name: svc-b, namespace: y}}}]\n",
    );
    let policies = format!("{service}{egress}");
    assert_eq!(
        table(&policies, 81, Protocol::Tcp),
        expected(rows_except(ALL[0], &[(0, "X X X X . X X X X")]))
    );
    assert_eq!(
        table(&policies, 80, Protocol::Tcp),
        expected(rows_except(ALL[0], &[(0, "X X X X X X X X X")]))
    );
    // Only to the API server: nothing in the cluster.
    let api_only = calico(
        "x",
        "api-only",
        "  selector: pod == 'a'\n  egress: [{action: Allow, destination: {services: {name: kubernetes, namespace: default}}}]\n",
    );
    assert_eq!(
        table(&api_only, 80, Protocol::Tcp),
        expected(rows_except(ALL[0], &[(0, "X X X X X X X X X")]))
    );
    // A rule for the policy's own endpoint: only x/a is let in; x/b and x/c
    // are selected and no rule matches them.
    let only_a = calico(
        "x",
        "only-a",
        "  selector: all()\n  ingress: [{action: Allow, destination: {selector: pod == 'a'}}]\n",
    );
    assert_eq!(table(&only_a, 80, Protocol::Tcp), expected([". X X . . . . . ."; 9]));
}

#[test]
fn a_service_not_in_the_input_is_an_unknown_set_with_a_note() {
    let manifests = cluster(&calico(
        "x",
        "to-elsewhere",
        "  selector: pod == 'a'\n  egress: [{action: Allow, destination: {services: {name: cache, namespace: infra}}}]\n",
    ));
    let index = manifests.index();
    let xa = &index.workloads[0];
    let yb = &index.workloads[4];
    let traffic = tcp_80(yb);
    let mut notes = Notes::default();
    let eval = Evaluator::new(&index);
    assert!(eval.egress_permit(xa, &traffic, Party::of(yb), &mut notes).is_some());
    assert_eq!(
        notes.0.iter().collect::<Vec<_>>(),
        ["Calico NetworkPolicy x/to-elsewhere: `services` infra/cache (not in the input: its endpoints are not known) not evaluated; the rule is taken as allowing"]
    );
    // Leaning the other way, the same flow is not let through.
    let doubting = Evaluator::new(&index).leaning(super::evaluate::Lean::Blocked);
    assert!(doubting
        .egress_permit(xa, &traffic, Party::of(yb), &mut Notes::default())
        .is_none());
}

#[test]
fn a_deny_of_some_addresses_leaves_the_others_to_the_next_rules() {
    // Deny 10.0.0.0/8, then allow everything: other addresses get in.
    let manifests = cluster(&calico(
        "x",
        "some-addresses",
        "  selector: pod == 'a'\n  ingress:\n  - {action: Deny, source: {nets: [10.0.0.0/8]}}\n  - {action: Allow, source: {nets: [0.0.0.0/0]}}\n",
    ));
    let index = manifests.index();
    let eval = Evaluator::new(&index);
    let traffic = tcp_80(&index.workloads[0]);
    let notes = &mut Notes::default();
    assert!(eval.ingress_permit(&traffic, Party::External, notes).is_some());
    // Denying every address does stop them.
    let manifests = cluster(&calico(
        "x",
        "all-addresses",
        "  selector: pod == 'a'\n  ingress:\n  - {action: Deny, source: {nets: [0.0.0.0/0]}}\n  - {action: Allow}\n",
    ));
    let index = manifests.index();
    let eval = Evaluator::new(&index);
    let traffic = tcp_80(&index.workloads[0]);
    assert!(eval.ingress_permit(&traffic, Party::External, notes).is_none());
}

/// The admin and baseline tiers around these policies.
mod summary;
mod tiers;

#[test]
fn a_deny_of_some_pods_of_a_statefulset_leaves_the_others() {
    // db-0 is denied as a source; db-1 still gets to x/a, and a notSelector
    // on db-0 lets db-1 in too.
    let db = "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: x}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: db, image: db}]}\n";
    for rule in [
        "[{action: Deny, source: {selector: statefulset.kubernetes.io/pod-name == 'db-0'}}, {action: Allow}]",
        "[{action: Allow, source: {notSelector: statefulset.kubernetes.io/pod-name == 'db-0'}}]",
    ] {
        let manifests = cluster(&format!(
            "{db}{}",
            calico("x", "db-0", &format!("  selector: pod == 'a'\n  ingress: {rule}\n"))
        ));
        let index = manifests.index();
        let db = index.workloads.iter().find(|w| w.obj.name == "db").unwrap();
        let traffic = tcp_80(&index.workloads[0]);
        let eval = Evaluator::new(&index);
        assert!(
            eval.ingress_permit(&traffic, Party::of(db), &mut Notes::default())
                .is_some(),
            "{rule}"
        );
    }
}

#[test]
fn what_calico_rules_name_that_is_not_read_leans_with_a_note() {
    // A ServiceAccount selector on labels netaudit does not know, and a
    // rule on the policy's own pod's address.
    for (rule, construct) in [
        (
            "{action: Allow, source: {serviceAccounts: {selector: team == 'ops'}}}",
            "`source.serviceAccounts.selector`",
        ),
        (
            "{action: Allow, destination: {nets: [10.0.0.0/8]}}",
            "`destination.nets` (the address of the policy's own pod is not known)",
        ),
    ] {
        let manifests = cluster(&calico(
            "x",
            "unknown",
            &format!("  selector: pod == 'a'\n  ingress: [{rule}]\n"),
        ));
        let index = manifests.index();
        let traffic = tcp_80(&index.workloads[0]);
        let xb = Party::of(&index.workloads[1]);
        let mut notes = Notes::default();
        assert!(
            Evaluator::new(&index)
                .ingress_permit(&traffic, xb, &mut notes)
                .is_some(),
            "{rule}"
        );
        assert!(notes.0.iter().any(|n| n.contains(construct)), "{rule}: {notes:?}");
        let doubting = Evaluator::new(&index).leaning(super::evaluate::Lean::Blocked);
        assert!(
            doubting.ingress_permit(&traffic, xb, &mut Notes::default()).is_none(),
            "{rule}"
        );
    }
}

/// Cilium `toFQDNs`: hosts outside the cluster by name (`matchName`, or
/// `matchPattern` where `*` stays within a label and a leading `**.` is one
/// label or more), on the rule's ports; never a pod, a node or the API
/// server. Any other outside address may be one of them.
#[test]
fn cilium_fqdns_name_outside_hosts_only() {
    let c = "  endpointSelector: {matchLabels: {pod: a}}\n  egress:\n  - toFQDNs: [{matchName: api.example.com}, {matchPattern: '*.cdn.example.org'}, {matchPattern: '**.corp.example'}]\n    toPorts: [{ports: [{port: '443', protocol: TCP}]}]\n";
    let manifests = cluster(&cilium("x", "fqdn", c));
    let index = manifests.index();
    assert!(index.policies[0].is_valid(), "{:?}", index.policies[0].problems);
    let eval = Evaluator::new(&index);
    let find = |name: &str| {
        index
            .workloads
            .iter()
            .find(|w| w.obj.namespace == "x" && w.obj.name == name)
            .unwrap()
    };
    let (a, b) = (find("a"), find("b"));
    let reaches = |party: Party<'_, '_>, port: u16| {
        let traffic = Traffic {
            dest: None,
            ports: Ports::One(port, Protocol::Tcp),
        };
        eval.egress_permit(a, &traffic, party, &mut Notes::default()).is_some()
    };
    assert!(reaches(Party::Host("api.example.com"), 443));
    assert!(reaches(Party::Host("API.Example.com."), 443), "no case, no final dot");
    assert!(!reaches(Party::Host("api.example.com"), 80), "the rule's ports only");
    assert!(!reaches(Party::Host("www.example.com"), 443));
    assert!(reaches(Party::Host("img.cdn.example.org"), 443));
    assert!(
        !reaches(Party::Host("a.img.cdn.example.org"), 443),
        "`*` stays within a label"
    );
    assert!(reaches(Party::Host("a.b.corp.example"), 443));
    assert!(
        !reaches(Party::Host("corp.example"), 443),
        "`**.` is at least one label"
    );
    assert!(reaches(Party::External, 443), "an outside address may be one of them");
    assert!(!reaches(Party::Node, 443));
    assert!(!reaches(Party::ApiServer, 443));
    let to_b = Traffic {
        dest: Some(b),
        ports: Ports::One(80, Protocol::Tcp),
    };
    assert!(eval
        .egress_permit(a, &to_b, Party::of(b), &mut Notes::default())
        .is_none());
    // An entry must name or pattern a host.
    let broken = cluster(&cilium(
        "x",
        "fqdn",
        "  endpointSelector: {}\n  egress: [{toFQDNs: [{}]}]\n",
    ));
    let problems: Vec<String> = broken.index().policies[0]
        .problems
        .iter()
        .map(|p| p.message.clone())
        .collect();
    assert_eq!(
        problems,
        ["a `toFQDNs` entry needs one of `matchName` and `matchPattern`"]
    );
}
