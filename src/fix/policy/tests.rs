//! Generated policies on small scenarios, each validated as a v1 NetworkPolicy.

use super::references::refers_to;
use super::texts::hostnames;
use super::*;
use crate::model::{Detail, Input, Manifests, Protocol};
use serde_json::json;

const SHOP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: api}}
  template:
    metadata:
      labels: {app.kubernetes.io/instance: shop, app.kubernetes.io/name: api, tier: backend}
    spec:
      containers:
      - name: api
        image: api
        ports: [{name: http, containerPort: 8080}]
        env:
        - {name: DB_HOST, value: db.shop.svc.cluster.local}
        - {name: MODE, value: production}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: db}}
  template:
    metadata:
      labels: {app.kubernetes.io/instance: shop, app.kubernetes.io/name: db, tier: backend}
    spec:
      containers:
      - {name: db, image: pg, ports: [{containerPort: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  selector: {app.kubernetes.io/name: db}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app.kubernetes.io/name: api}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: web}}
  template:
    metadata:
      labels: {app.kubernetes.io/instance: shop, app.kubernetes.io/name: web}
    spec:
      containers:
      - {name: web, image: web, ports: [{name: http, containerPort: 80}, {containerPort: 53, protocol: UDP}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app.kubernetes.io/name: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: admin}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: admin}}
  template:
    metadata:
      labels: {app.kubernetes.io/instance: shop, app.kubernetes.io/name: admin}
    spec:
      containers:
      - name: admin
        image: admin
        ports: [{containerPort: 9000}]
        envFrom: [{configMapRef: {name: admin-config}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: admin-config}
data:
  API_URL: "http://api:80/v1"
---
apiVersion: v1
kind: Service
metadata: {name: admin}
spec:
  selector: {app.kubernetes.io/name: admin}
  ports: [{name: ui, port: 9000}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: admin}
spec:
  rules:
  - http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: admin, port: {name: ui}}}
"#;

fn manifests(text: &str) -> Manifests {
    let inputs = vec![Input::new("shop.yaml", "shop", "shop", text.to_string())];
    Manifests::load(inputs, Detail::WithConfiguration).unwrap()
}

fn run(text: &str, options: &PolicyOptions) -> Vec<Generated> {
    let manifests = manifests(text);
    let index = manifests.index();
    let generated = generate(&index, options);
    for g in &generated {
        if let Generated::Policy { policy, .. } = g {
            validate(policy);
        }
    }
    generated
}

fn policy_of<'g>(generated: &'g [Generated], name: &str) -> (&'g Value, &'g [String]) {
    generated
        .iter()
        .filter(|g| g.workload().name == name)
        .find_map(Generated::as_policy)
        .unwrap_or_else(|| panic!("no policy for {name}: {generated:#?}"))
}

fn skipped<'g>(generated: &'g [Generated], name: &str) -> &'g str {
    generated
        .iter()
        .find_map(|g| match g {
            Generated::Skipped { workload, reason } if workload.name == name => Some(reason.as_str()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{name} not skipped: {generated:#?}"))
}

/// The ingress rule allowing a port (protocol, number).
fn ingress_rule<'p>(policy: &'p Value, protocol: &str, port: i64) -> &'p Value {
    policy["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["protocol"] == protocol && p["port"] == port)
        })
        .unwrap_or_else(|| panic!("no rule for {port}/{protocol}: {policy:#}"))
}

fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !s.starts_with(['-', '.'])
        && !s.ends_with(['-', '.'])
}

fn check_selector(selector: &Value) {
    let selector = selector.as_object().expect("a LabelSelector is an object");
    for (k, v) in selector {
        assert!(
            k == "matchLabels" || k == "matchExpressions",
            "unknown LabelSelector field {k}"
        );
        if k == "matchLabels" {
            for (key, value) in v.as_object().unwrap() {
                let name = key.rsplit('/').next().unwrap();
                assert!(!name.is_empty() && name.len() <= 63, "label key {key}");
                let value = value.as_str().expect("label values are strings");
                assert!(value.len() <= 63, "label value {value}");
            }
        }
    }
}

fn check_peers(peers: &Value) {
    for peer in peers.as_array().unwrap() {
        let peer = peer.as_object().unwrap();
        assert!(!peer.is_empty());
        for (k, v) in peer {
            assert!(
                k == "podSelector" || k == "namespaceSelector" || k == "ipBlock",
                "peer field {k}"
            );
            check_selector(v);
        }
    }
}

fn check_ports(ports: &Value) {
    for port in ports.as_array().unwrap() {
        let port = port.as_object().unwrap();
        for k in port.keys() {
            assert!(["protocol", "port", "endPort"].contains(&k.as_str()), "port field {k}");
        }
        assert!(["TCP", "UDP", "SCTP"].contains(&port["protocol"].as_str().unwrap()));
        match &port["port"] {
            Value::Number(n) => assert!((1..=65535).contains(&n.as_i64().unwrap())),
            Value::String(s) => assert!(is_dns_label(s, 15)),
            other => panic!("port {other}"),
        }
        if let Some(end) = port.get("endPort") {
            assert!(end.as_i64().unwrap() >= port["port"].as_i64().unwrap());
        }
    }
}

/// The policy is a valid networking.k8s.io/v1 NetworkPolicy: k8s-openapi
/// reads it without dropping any field (it ignores unknown ones, so the
/// re-serialized value must equal the original), and the values are in
/// range.
fn validate(policy: &Value) {
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    let typed: NetworkPolicy = serde_json::from_value(policy.clone()).expect("a v1 NetworkPolicy");
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(&back, policy, "fields lost in the round trip (unknown or misshapen)");
    assert_eq!(policy["apiVersion"], "networking.k8s.io/v1");
    assert_eq!(policy["kind"], "NetworkPolicy");
    assert!(is_dns_label(policy["metadata"]["name"].as_str().unwrap(), 253));
    assert!(is_dns_label(policy["metadata"]["namespace"].as_str().unwrap(), 63));
    let spec = &policy["spec"];
    check_selector(&spec["podSelector"]);
    assert!(!spec["podSelector"]["matchLabels"].as_object().unwrap().is_empty());
    let types: Vec<&str> = spec["policyTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(types.contains(&"Ingress"));
    assert_eq!(types.contains(&"Egress"), spec.get("egress").is_some());
    for (section, peers) in [("ingress", "from"), ("egress", "to")] {
        for rule in spec.get(section).and_then(Value::as_array).into_iter().flatten() {
            if let Some(p) = rule.get(peers) {
                check_peers(p);
            }
            if let Some(p) = rule.get("ports") {
                check_ports(p);
            }
        }
    }
}

#[test]
fn selects_exactly_the_workload_with_a_minimal_label_set() {
    let generated = run(SHOP, &PolicyOptions::default());
    let (policy, explanations) = policy_of(&generated, "api");
    assert_eq!(policy["metadata"], json!({"name": "api-netaudit", "namespace": "shop"}));
    assert_eq!(
        policy["spec"]["podSelector"],
        json!({"matchLabels": {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/name": "api"}})
    );
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert!(explanations[0].contains("selects its pods by"), "{explanations:?}");
    assert_eq!(generated.len(), 4);
}

#[test]
fn label_collisions_are_skipped_naming_the_other_workload() {
    let text = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec:
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: c, image: i}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: b}
spec:
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: c, image: i}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: c}
spec:
  template:
    metadata: {labels: {app: y}}
    spec: {containers: [{name: c, image: i}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    metadata: {labels: {app: y, tier: t}}
    spec: {containers: [{name: c, image: i}]}
"#;
    let generated = run(text, &PolicyOptions::default());
    assert!(skipped(&generated, "a").contains("Deployment `b`"));
    assert!(skipped(&generated, "b").contains("Deployment `a`"));
    let reason = skipped(&generated, "c");
    assert!(reason.contains("Deployment `d`") && reason.contains("M4A"), "{reason}");
    // d's labels are a superset of c's: d alone can still be selected.
    let (policy, _) = policy_of(&generated, "d");
    assert_eq!(policy["spec"]["podSelector"], json!({"matchLabels": {"tier": "t"}}));
}

#[test]
fn host_network_workloads_are_skipped() {
    let text = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n  template:\n    metadata: {labels: {app: agent}}\n    spec:\n      hostNetwork: true\n      containers: [{name: c, image: i, ports: [{containerPort: 9100}]}]\n";
    let generated = run(text, &PolicyOptions::default());
    assert!(skipped(&generated, "agent").contains("hostNetwork"));
    assert!(to_yaml(&generated).contains("# No NetworkPolicy for DaemonSet/shop/agent:"));
}

#[test]
fn declared_and_observed_ports_are_allowed() {
    let api = WorkloadRef {
        kind: "Deployment".into(),
        namespace: "shop".into(),
        name: "api".into(),
    };
    let options = PolicyOptions {
        observed_ports: BTreeMap::from([(api, vec![(Protocol::Tcp, 9090)])]),
        ..PolicyOptions::default()
    };
    let generated = run(SHOP, &options);
    let (policy, explanations) = policy_of(&generated, "api");
    ingress_rule(policy, "TCP", 8080);
    let observed = ingress_rule(policy, "TCP", 9090);
    assert_eq!(
        observed["from"],
        json!([{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "shop"}}}])
    );
    assert!(explanations
        .iter()
        .any(|e| e.contains("9090/TCP (observed open by the probe)") && e.contains("not behind any Service")));
    // web's UDP port keeps its protocol.
    let (web, _) = policy_of(&generated, "web");
    ingress_rule(web, "UDP", 53);
}

#[test]
fn node_port_and_ingress_backends_are_allowed_from_anywhere() {
    let generated = run(SHOP, &PolicyOptions::default());
    let (web, explanations) = policy_of(&generated, "web");
    let rule = ingress_rule(web, "TCP", 80);
    assert!(rule.get("from").is_none(), "{rule}");
    assert!(explanations
        .iter()
        .any(|e| e.contains("Service `web` (type NodePort)") && e.contains("from anywhere")));
    // Not the UDP port: no Service exposes it.
    assert!(ingress_rule(web, "UDP", 53).get("from").is_some());

    let (admin, explanations) = policy_of(&generated, "admin");
    assert!(ingress_rule(admin, "TCP", 9000).get("from").is_none());
    assert!(
        explanations.iter().any(|e| e.contains("backend of Ingress `admin`")),
        "{explanations:?}"
    );
}

#[test]
fn references_in_env_limit_ingress_to_the_referring_workloads() {
    let generated = run(SHOP, &PolicyOptions::default());
    let (db, explanations) = policy_of(&generated, "db");
    let rule = ingress_rule(db, "TCP", 5432);
    assert_eq!(
        rule["from"],
        json!([{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/name": "api"}}}])
    );
    assert!(explanations
        .iter()
        .any(|e| e.contains("Deployment `api` refers to Service `db` in env DB_HOST of container `api`")));
    // And through a ConfigMap (envFrom): admin -> api.
    let (api, explanations) = policy_of(&generated, "api");
    assert_eq!(
        ingress_rule(api, "TCP", 8080)["from"],
        json!([{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/name": "admin"}}}])
    );
    assert!(explanations
        .iter()
        .any(|e| e.contains("ConfigMap `admin-config` key API_URL")));
}

#[test]
fn unreferenced_services_fall_back_to_the_whole_release() {
    let text = SHOP.replace("data:\n  API_URL: \"http://api:80/v1\"", "data: {}");
    let generated = run(&text, &PolicyOptions::default());
    let (api, explanations) = policy_of(&generated, "api");
    assert_eq!(
        ingress_rule(api, "TCP", 8080)["from"],
        json!([{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "shop"}}}])
    );
    assert!(
        explanations
            .iter()
            .any(|e| e.contains("Service `api`, which no other workload refers to") && e.contains("whole release")),
        "{explanations:?}"
    );
}

#[test]
fn egress_allows_dns_and_referenced_services() {
    let generated = run(SHOP, &PolicyOptions::default());
    let (api, _) = policy_of(&generated, "api");
    let egress = api["spec"]["egress"].as_array().unwrap();
    assert_eq!(
        egress[0],
        json!({
            "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        })
    );
    assert_eq!(
        egress[1],
        json!({
            "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "db"}}}],
            "ports": [{"protocol": "TCP", "port": 5432}],
        })
    );
    assert_eq!(egress.len(), 2);
    // db refers to nothing: Dns mode falls back to the release, Strict does not.
    let (db, _) = policy_of(&generated, "db");
    assert_eq!(db["spec"]["egress"].as_array().unwrap().len(), 2);
    let strict = run(
        SHOP,
        &PolicyOptions {
            egress: EgressMode::Strict,
            ..PolicyOptions::default()
        },
    );
    let (db, explanations) = policy_of(&strict, "db");
    assert_eq!(db["spec"]["egress"].as_array().unwrap().len(), 1);
    assert!(explanations.iter().any(|e| e.contains("DNS only")));
    let none = run(
        SHOP,
        &PolicyOptions {
            egress: EgressMode::None,
            ..PolicyOptions::default()
        },
    );
    let (db, _) = policy_of(&none, "db");
    assert!(db["spec"].get("egress").is_none());
    assert_eq!(db["spec"]["policyTypes"], json!(["Ingress"]));
}

#[test]
fn host_names_match_cluster_dns_forms_only() {
    let manifests = manifests(SHOP);
    let index = manifests.index();
    let db = index.services.iter().find(|s| s.obj.name == "db").unwrap();
    let matches = |text: &str, ns: &str| hostnames(text).any(|h| refers_to(h, db, ns));
    for text in [
        "db",
        "db:5432",
        "postgres://u@db.shop:5432/x",
        "db.shop.svc",
        "DB.shop.svc.cluster.local.",
    ] {
        assert!(matches(text, "shop"), "{text}");
    }
    assert!(matches("db.shop.svc.cluster.local", "other"));
    assert!(!matches("db", "other"));
    for text in [
        "shop/db",
        "--backend=shop/db",
        "jdbc:postgresql://db:5432/shop",
        "host='db' port=5432",
    ] {
        assert!(matches(text, "shop"), "{text}");
    }
    // File paths and URL paths are not hosts.
    for text in [
        "/opt/bitnami/db",
        "cp -r /data/db /tmp",
        "http://api:8080/db",
        "root=/srv/db;",
    ] {
        assert!(!matches(text, "shop"), "{text}");
    }
    for text in ["dbx", "db.example.com", "mydb.shop", "db.other", "db_host", "x.db.shop"] {
        assert!(!matches(text, "shop"), "{text}");
    }
}

#[test]
fn yaml_output_reads_back_as_the_policies() {
    let generated = run(SHOP, &PolicyOptions::default());
    let yaml = to_yaml(&generated);
    let docs = crate::yaml::parse_documents(&yaml, 1).unwrap();
    let policies: Vec<&Value> = generated
        .iter()
        .filter_map(|g| match g {
            Generated::Policy { policy, .. } => Some(policy),
            Generated::Skipped { .. } | Generated::Covered { .. } => None,
        })
        .collect();
    let docs: Vec<Value> = docs
        .iter()
        .filter(|d| !d.is_null())
        .map(crate::yaml::Node::to_json)
        .collect();
    assert_eq!(docs.iter().collect::<Vec<_>>(), policies);
    assert!(yaml.contains("---\n# NetworkPolicy for StatefulSet `db`"), "{yaml}");
}

#[test]
fn dynamic_ports_are_explained_never_written() {
    let api = WorkloadRef {
        kind: "Deployment".into(),
        namespace: "shop".into(),
        name: "api".into(),
    };
    let generated = run(
        SHOP,
        &PolicyOptions {
            dynamic_ports: BTreeMap::from([(api, vec![(Protocol::Tcp, 41983)])]),
            ..PolicyOptions::default()
        },
    );
    let (policy, explanations) = policy_of(&generated, "api");
    assert!(!policy.to_string().contains("41983"), "{policy:#}");
    assert!(
        explanations
            .iter()
            .any(|e| e.contains("port 41983/TCP") && e.contains("dynamic (M2)")),
        "{explanations:?}"
    );
}

#[test]
fn workloads_the_charts_own_policies_select_get_none_unless_asked() {
    let own = "\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: chart-api, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app.kubernetes.io/name: api}}\n  ingress: [{}]\n";
    let text = format!("{SHOP}{own}");
    let generated = run(&text, &PolicyOptions::default());
    let covered: Vec<(&str, &Vec<String>)> = generated
        .iter()
        .filter_map(|g| match g {
            Generated::Covered { workload, policies } => Some((workload.name.as_str(), policies)),
            _ => None,
        })
        .collect();
    assert_eq!(covered, [("api", &vec!["chart-api".to_string()])]);
    assert!(to_yaml(&generated).contains("the chart's own NetworkPolicy chart-api already selects it"));
    let also = run(
        &text,
        &PolicyOptions {
            also_covered: true,
            ..PolicyOptions::default()
        },
    );
    policy_of(&also, "api");
}

/// A workload with one client per kind of reference: a Secret key, a
/// `$(VAR)` in an env value, a ConfigMap volume (only its selected `items`
/// count), an ExternalName alias of a Service of the manifests, and an
/// ExternalName for a Service of another namespace.
const REFERENCES: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: cache-url, namespace: shop}
data: {URL: cmVkaXM6Ly9jYWNoZTo2Mzc5}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shared, namespace: shop}
data: {enabled: "true", other: "http://search:9200"}
---
apiVersion: v1
kind: Service
metadata: {name: cache, namespace: shop}
spec: {selector: {app: cache}, ports: [{port: 6379}]}
---
apiVersion: v1
kind: Service
metadata: {name: collector, namespace: shop}
spec: {selector: {app: collector}, ports: [{port: 4318}]}
---
apiVersion: v1
kind: Service
metadata: {name: search, namespace: shop}
spec: {selector: {app: search}, ports: [{port: 9200}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {type: ExternalName, externalName: cache.shop.svc.cluster.local}
---
apiVersion: v1
kind: Service
metadata: {name: warehouse, namespace: shop}
spec: {type: ExternalName, externalName: postgres.data.svc.cluster.local, ports: [{port: 5432}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: shop}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app, app.kubernetes.io/instance: shop}}
    spec:
      containers:
        - name: app
          image: app
          env:
            - {name: CACHE_URL, valueFrom: {secretKeyRef: {name: cache-url, key: URL}}}
            - {name: COLLECTOR_NAME, value: collector}
            - {name: OTLP_ENDPOINT, value: "http://$(COLLECTOR_NAME):4318"}
            - {name: DB_HOST, value: db}
            - {name: WAREHOUSE_HOST, value: warehouse}
      volumes:
        - {name: flags, configMap: {name: shared, items: [{key: enabled, path: enabled}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cache, namespace: shop}
spec:
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache, app.kubernetes.io/instance: shop}}
    spec: {containers: [{name: redis, image: redis, ports: [{containerPort: 6379}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: collector, namespace: shop}
spec:
  selector: {matchLabels: {app: collector}}
  template:
    metadata: {labels: {app: collector, app.kubernetes.io/instance: shop}}
    spec: {containers: [{name: otel, image: otel, ports: [{containerPort: 4318}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: search, namespace: shop}
spec:
  selector: {matchLabels: {app: search}}
  template:
    metadata: {labels: {app: search, app.kubernetes.io/instance: shop}}
    spec:
      containers:
        - name: search
          image: search
          env: [{name: CACHE, value: "cache:6379"}]
          ports: [{containerPort: 9200}]
"#;

#[test]
fn references_come_from_secrets_variables_selected_items_and_aliases() {
    let generated = run(REFERENCES, &PolicyOptions::default());
    let (cache, why) = policy_of(&generated, "cache");
    let app_and_search = json!([
        {"podSelector": {"matchLabels": {"app": "app", "app.kubernetes.io/instance": "shop"}}},
        {"podSelector": {"matchLabels": {"app": "search", "app.kubernetes.io/instance": "shop"}}}
    ]);
    // The Secret key and the ExternalName alias `db` both name the cache.
    assert_eq!(ingress_rule(cache, "TCP", 6379)["from"], app_and_search, "{why:#?}");
    assert!(why.iter().any(|e| e.contains("Secret `cache-url` key URL")), "{why:#?}");
    assert!(
        why.iter().any(|e| e.contains("(through ExternalName `db`)")),
        "{why:#?}"
    );
    // `$(COLLECTOR_NAME)` in OTLP_ENDPOINT expands to the collector.
    let (collector, why) = policy_of(&generated, "collector");
    assert_eq!(
        ingress_rule(collector, "TCP", 4318)["from"],
        json!([{"podSelector": {"matchLabels": {"app": "app", "app.kubernetes.io/instance": "shop"}}}]),
        "{why:#?}"
    );
    // The volume mounts only the `enabled` key: `other` does not make app a
    // client of search, whose clients nothing names: the release (cache and
    // collector name no Service, so they may be its clients).
    let (search, why) = policy_of(&generated, "search");
    assert_eq!(
        ingress_rule(search, "TCP", 9200)["from"],
        json!([{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "shop"}}}]),
        "{why:#?}"
    );
    // Alone in its release, nothing there can be its client: any pod of any namespace.
    let alone = REFERENCES
        .split("---")
        .filter(|d| d.contains("name: search"))
        .collect::<Vec<_>>()
        .join("---");
    let generated_alone = run(&alone, &PolicyOptions::default());
    let (search, why) = policy_of(&generated_alone, "search");
    assert_eq!(
        ingress_rule(search, "TCP", 9200)["from"],
        json!([{"namespaceSelector": {}}]),
        "{why:#?}"
    );
    assert!(why.iter().any(|e| e.contains("its clients are elsewhere")), "{why:#?}");
    // The ExternalName for another namespace's Service: egress to that namespace.
    let (app, why) = policy_of(&generated, "app");
    assert!(
        app["spec"]["egress"].as_array().unwrap().contains(
            &json!({"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "data"}}}]})
        ),
        "{app:#}"
    );
    assert!(
        why.iter()
            .any(|e| e.contains("is an ExternalName for `postgres.data.svc.cluster.local`")),
        "{why:#?}"
    );
}
