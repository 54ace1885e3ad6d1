//! Generated NetworkPolicies, checked by the evaluator: applied to the
//! manifests, they allow exactly the expected flows and nothing more.

use netaudit::fix::evaluate::{allowed_flows, describe};
use netaudit::fix::policy::{generate, to_yaml, Generated, PolicyOptions};
use netaudit::model::{Index, Input};
use std::collections::BTreeMap;

const SHOP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: shop}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: frontend, app.kubernetes.io/instance: shop}}
  template:
    metadata: {labels: {app.kubernetes.io/name: frontend, app.kubernetes.io/instance: shop}}
    spec:
      containers:
        - name: web
          image: x
          env: [{name: API_URL, value: "http://api.shop.svc.cluster.local:80"}]
          ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: frontend, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app.kubernetes.io/name: frontend, app.kubernetes.io/instance: shop}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: api, app.kubernetes.io/instance: shop}}
  template:
    metadata: {labels: {app.kubernetes.io/name: api, app.kubernetes.io/instance: shop}}
    spec:
      containers:
        - name: api
          image: x
          env: [{name: DB_HOST, value: db}]
          ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app.kubernetes.io/name: api, app.kubernetes.io/instance: shop}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  selector: {matchLabels: {app.kubernetes.io/name: db, app.kubernetes.io/instance: shop}}
  template:
    metadata: {labels: {app.kubernetes.io/name: db, app.kubernetes.io/instance: shop}}
    spec:
      containers:
        - name: db
          image: x
          ports: [{name: sql, containerPort: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: None
  selector: {app.kubernetes.io/name: db, app.kubernetes.io/instance: shop}
  ports: [{port: 5432}]
"#;

fn flows_with(text: &str) -> String {
    let inputs = vec![Input::new("shop.yaml", "shop", "shop", text.to_string())];
    let objects = netaudit::audit::load(&inputs).unwrap();
    let index = Index::new(&inputs, &objects);
    describe(&allowed_flows(&index, &BTreeMap::new()))
}

#[test]
fn generated_policies_allow_the_inferred_edges_and_nothing_more() {
    let inputs = vec![Input::new("shop.yaml", "shop", "shop", SHOP.to_string())];
    let objects = netaudit::audit::load(&inputs).unwrap();
    let index = Index::new(&inputs, &objects);
    let generated = generate(&index, &PolicyOptions::default());
    assert!(
        generated.iter().all(|g| matches!(g, Generated::Policy { .. })),
        "every workload gets a policy"
    );
    let with_policies = format!("{SHOP}\n---\n{}", to_yaml(&generated));

    // Before: everything reaches everything.
    assert!(flows_with(SHOP).lines().count() > 10);
    // After: the LoadBalancer port from anywhere; frontend -> api (API_URL);
    // api -> db (DB_HOST); db refers to nothing, so its egress falls back to
    // the whole release, which only the frontend's public port accepts.
    let flows = flows_with(&with_policies);
    let expected = [
        "(outside)                  -> Deployment/shop/frontend 8080/TCP",
        "Deployment/shop/api        -> StatefulSet/shop/db      5432/TCP",
        "Deployment/shop/frontend   -> Deployment/shop/api      8080/TCP",
        "StatefulSet/shop/db        -> Deployment/shop/frontend 8080/TCP",
    ];
    let got: Vec<String> = flows
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let want: Vec<String> = expected
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(got, want, "\n{flows}");

    // And lint no longer reports missing policies (M6) for any workload.
    let inputs = vec![Input::new("shop.yaml", "shop", "shop", with_policies)];
    let objects = netaudit::audit::load(&inputs).unwrap();
    let audit = netaudit::audit::run(&inputs, &objects, &netaudit::config::Config::default());
    assert!(
        !audit.findings.iter().any(|f| f.check.id == "M6"),
        "M6 left after applying the policies"
    );
}
