//! Each flavor writes one intent; netaudit's own model reads each back
//! without a problem, selecting the same pods, with each language's
//! constructs for what is not a pod.

use super::super::intent::{numbered, Intent, Peer, PeerNamespace, Rule, RulePort};
use super::Flavor;
use crate::model::{Detail, Input, Labels, Manifests, Protocol};
use serde_json::{json, Value};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    let mut out = Labels::new();
    for (k, v) in pairs {
        out.insert(k.to_string(), v.to_string());
    }
    out
}

/// Ingress from the release's `web` pods on a range and a named port, from
/// the monitoring namespace, from anywhere on a NodePort, from the nodes;
/// egress to DNS, the API server, a database in another namespace, an
/// outside address and an outside host by name.
fn intent() -> Intent {
    let web = Peer::Pods {
        namespace: PeerNamespace::Own,
        labels: Some(labels(&[("app", "web")])),
    };
    let mut ports = numbered((8000..=8002).map(|n| (Protocol::Tcp, n)));
    ports.push(RulePort::Named(Protocol::Tcp, "metrics".into()));
    Intent {
        name: "api-netaudit".into(),
        namespace: "shop".into(),
        pod_labels: labels(&[("app", "api"), ("release", "shop")]),
        ingress: vec![
            Rule::new(vec![web, Peer::Nodes], ports),
            Rule::new(
                vec![Peer::Pods {
                    namespace: PeerNamespace::Named("monitoring".into()),
                    labels: None,
                }],
                numbered([(Protocol::Tcp, 9090)]),
            ),
            Rule::from_anywhere(numbered([(Protocol::Tcp, 30080)])),
        ],
        egress: Some(vec![
            Rule::new(
                vec![Peer::ClusterDns],
                numbered([(Protocol::Udp, 53), (Protocol::Tcp, 53)]),
            ),
            Rule::new(
                vec![Peer::ApiServer { cidr: None }],
                numbered([(Protocol::Tcp, 443), (Protocol::Tcp, 6443)]),
            ),
            Rule::new(
                vec![Peer::Pods {
                    namespace: PeerNamespace::Named("data".into()),
                    labels: Some(labels(&[("app", "db")])),
                }],
                numbered([(Protocol::Tcp, 5432)]),
            ),
            Rule::new(
                vec![Peer::Pods {
                    namespace: PeerNamespace::Every,
                    labels: None,
                }],
                Vec::new(),
            ),
            Rule::new(
                vec![Peer::Cidr("192.0.2.7/32".into())],
                numbered([(Protocol::Tcp, 443)]),
            ),
            Rule::new(vec![Peer::Host(HOST.into())], numbered([(Protocol::Tcp, 443)])),
        ]),
    }
}

const HOST: &str = "api.example.com";

/// The written policy, read back by the model as a manifest beside a pod
/// of `api` and one of `web`: its problems, and whether it selects `api` only.
fn read_back(policy: &Value) -> (Vec<String>, Vec<String>) {
    let pods = r#"
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api, release: shop}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web, release: shop}}
spec: {containers: [{name: c, image: i}]}
"#;
    let text = format!("{pods}---\n{}", crate::yaml::writer::to_yaml(policy));
    let manifests = Manifests::load(vec![Input::new("t.yaml", "t", "shop", text)], Detail::Checks).unwrap();
    let index = manifests.index();
    assert_eq!(index.policies.len(), 1, "{policy}");
    let read = &index.policies[0];
    let problems = read.problems.iter().map(|p| p.message.clone()).collect();
    let selected = index
        .workloads
        .iter()
        .filter(|w| read.selects(w))
        .map(|w| w.obj.name.clone())
        .collect();
    (problems, selected)
}

#[test]
fn every_flavor_reads_back_without_problems_selecting_the_same_pods() {
    for flavor in [Flavor::Kubernetes, Flavor::Cilium, Flavor::Calico] {
        let policy = flavor.write(&intent());
        let (problems, selected) = read_back(&policy);
        assert!(problems.is_empty(), "{flavor:?}: {problems:?}\n{policy:#}");
        assert_eq!(selected, ["api"], "{flavor:?}");
        assert_eq!(policy["metadata"], json!({"name": "api-netaudit", "namespace": "shop"}));
    }
}

#[test]
fn kubernetes_names_what_is_not_a_pod_by_address() {
    let policy = Flavor::Kubernetes.write(&intent());
    let spec = &policy["spec"];
    assert_eq!(spec["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(
        spec["ingress"][0]["ports"],
        json!([
            {"protocol": "TCP", "port": 8000, "endPort": 8002},
            {"protocol": "TCP", "port": "metrics"}
        ])
    );
    assert_eq!(
        spec["ingress"][0]["from"],
        json!([
            {"podSelector": {"matchLabels": {"app": "web"}}},
            {"ipBlock": {"cidr": "0.0.0.0/0"}},
            {"ipBlock": {"cidr": "::/0"}}
        ])
    );
    assert!(spec["ingress"][2].get("from").is_none(), "from anywhere: no `from`");
    assert_eq!(
        spec["egress"][1]["to"],
        json!([{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}])
    );
    assert_eq!(
        spec["egress"][3],
        json!({"to": [{"namespaceSelector": {}}]}),
        "any pod of any namespace, every port"
    );
}

#[test]
fn cilium_uses_entities_and_the_dns_proxy() {
    let policy = Flavor::Cilium.write(&intent());
    assert_eq!(policy["apiVersion"], "cilium.io/v2");
    let spec = &policy["spec"];
    assert_eq!(
        spec["endpointSelector"],
        json!({"matchLabels": {"app": "api", "release": "shop"}})
    );
    let web = &spec["ingress"][0];
    assert_eq!(web["fromEndpoints"], json!([{"matchLabels": {"app": "web"}}]));
    assert_eq!(web["fromEntities"], json!(["host", "remote-node"]));
    assert_eq!(
        web["toPorts"],
        json!([{"ports": [
            {"port": "8000", "endPort": 8002, "protocol": "TCP"},
            {"port": "metrics", "protocol": "TCP"}
        ]}])
    );
    assert_eq!(
        spec["ingress"][1]["fromEndpoints"],
        json!([{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "monitoring"}}])
    );
    assert_eq!(spec["ingress"][2]["fromEntities"], json!(["all"]));
    let egress = spec["egress"].as_array().unwrap();
    assert_eq!(
        egress[0],
        json!({
            "toEndpoints": [{"matchLabels": {"k8s-app": "kube-dns", "k8s:io.kubernetes.pod.namespace": "kube-system"}}],
            "toPorts": [{
                "ports": [{"port": "53", "protocol": "UDP"}, {"port": "53", "protocol": "TCP"}],
                "rules": {"dns": [{"matchPattern": "*"}]}
            }]
        })
    );
    assert_eq!(egress[1]["toEntities"], json!(["kube-apiserver"]));
    assert_eq!(
        egress[2]["toEndpoints"],
        json!([{"matchLabels": {"app": "db", "k8s:io.kubernetes.pod.namespace": "data"}}])
    );
    assert_eq!(
        egress[3],
        json!({"toEndpoints": [{"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}]}]})
    );
    assert_eq!(egress[4]["toCIDR"], json!(["192.0.2.7/32"]));
    assert_eq!(
        egress[5],
        json!({"toFQDNs": [{"matchName": HOST}], "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]})
    );
}

/// A host by name is said by Cilium alone, in a rule of its own; the other
/// languages leave it out, never as a rule of no peers (every peer), even
/// when a rule had nothing else.
#[test]
fn only_cilium_names_a_host_and_the_others_leave_it_out() {
    let mut without = intent();
    without.egress.as_mut().unwrap().pop();
    let mut mixed = intent();
    let egress = mixed.egress.as_mut().unwrap();
    egress.pop();
    egress[4].peers.as_mut().unwrap().push(Peer::Host(HOST.into()));
    for flavor in [Flavor::Kubernetes, Flavor::Calico] {
        assert_eq!(flavor.write(&intent()), flavor.write(&without), "{flavor:?}");
        assert_eq!(flavor.write(&mixed), flavor.write(&without), "{flavor:?}");
    }
    let cilium = Flavor::Cilium.write(&mixed);
    let egress = cilium["spec"]["egress"].as_array().unwrap();
    assert_eq!(egress[4]["toCIDR"], json!(["192.0.2.7/32"]));
    assert!(egress[4].get("toFQDNs").is_none(), "toFQDNs takes no other peer field");
    assert_eq!(egress[5]["toFQDNs"], json!([{"matchName": HOST}]));
    let mut only_hosts = intent();
    only_hosts.ingress = vec![Rule::new(vec![Peer::Host(HOST.into())], Vec::new())];
    only_hosts.egress = Some(vec![Rule::new(vec![Peer::Host(HOST.into())], Vec::new())]);
    let spec = |flavor: Flavor| flavor.write(&only_hosts)["spec"].clone();
    assert_eq!(
        spec(Flavor::Kubernetes)["egress"],
        json!([]),
        "egress isolated, nothing allowed"
    );
    assert_eq!(spec(Flavor::Kubernetes)["ingress"], json!([]));
    assert_eq!(spec(Flavor::Calico)["egress"], json!([]));
    assert_eq!(spec(Flavor::Cilium)["ingress"], json!([{}]), "no host is a source");
}

#[test]
fn cilium_isolates_with_an_empty_rule_and_splits_long_port_lists() {
    let mut intent = intent();
    intent.ingress = vec![Rule::from_anywhere(numbered((1..=90).map(|n| (Protocol::Tcp, n * 2))))];
    intent.egress = Some(Vec::new());
    let policy = Flavor::Cilium.write(&intent);
    assert_eq!(policy["spec"]["egress"], json!([{}]), "egress denied");
    let entries = policy["spec"]["ingress"][0]["toPorts"].as_array().unwrap();
    let sizes: Vec<usize> = entries.iter().map(|e| e["ports"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, [40, 40, 10], "the CRD allows 40 ports an entry");
    intent.ingress = Vec::new();
    assert_eq!(Flavor::Cilium.write(&intent)["spec"]["ingress"], json!([{}]));
}

#[test]
fn calico_has_a_rule_per_protocol_and_peer_and_names_the_api_server_service() {
    let policy = Flavor::Calico.write(&intent());
    assert_eq!(policy["apiVersion"], "projectcalico.org/v3");
    let spec = &policy["spec"];
    assert_eq!(spec["selector"], "app == 'api' && release == 'shop'");
    assert_eq!(spec["types"], json!(["Ingress", "Egress"]));
    let ingress = spec["ingress"].as_array().unwrap();
    assert_eq!(
        ingress[0],
        json!({"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'web'"},
               "destination": {"ports": ["8000:8002", "metrics"]}})
    );
    assert_eq!(ingress[1]["source"], json!({"nets": ["0.0.0.0/0"]}));
    assert_eq!(ingress[2]["source"], json!({"nets": ["::/0"]}));
    assert_eq!(
        ingress[3]["source"],
        json!({"namespaceSelector": "projectcalico.org/name == 'monitoring'"})
    );
    assert!(ingress[4].get("source").is_none(), "from anywhere: {}", ingress[4]);
    let egress = spec["egress"].as_array().unwrap();
    let dns: Vec<&Value> = egress.iter().take(2).map(|r| &r["protocol"]).collect();
    assert_eq!(dns, [&json!("UDP"), &json!("TCP")]);
    assert_eq!(
        egress[0]["destination"],
        json!({"selector": "k8s-app == 'kube-dns'", "namespaceSelector": "projectcalico.org/name == 'kube-system'", "ports": [53]})
    );
    assert_eq!(
        egress[2],
        json!({"action": "Allow", "destination": {"services": {"name": "kubernetes", "namespace": "default"}}}),
        "the Service's own ports, no protocol: one rule for 443 and 6443"
    );
    assert_eq!(
        egress[4],
        json!({"action": "Allow", "destination": {"namespaceSelector": "all()"}})
    );
}

#[test]
fn calico_every_pod_of_its_own_namespace_is_all_not_anyone() {
    let mut intent = intent();
    intent.ingress = vec![Rule::new(
        vec![Peer::Pods {
            namespace: PeerNamespace::Own,
            labels: None,
        }],
        numbered([(Protocol::Tcp, 80)]),
    )];
    let policy = Flavor::Calico.write(&intent);
    assert_eq!(policy["spec"]["ingress"][0]["source"], json!({"selector": "all()"}));
}
