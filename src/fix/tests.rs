//! Generated NetworkPolicies, checked by the evaluator: applied to the
//! manifests, they allow exactly the expected flows and nothing more.

use super::policy::flavors::Flavor;
use super::policy::{generate, to_yaml, Generated, PolicyOptions};
use crate::checks;
use crate::engine::config::Config;
use crate::model::{Detail, Input, Manifests};
use crate::reach::flows::allowed_flows;
use crate::report::flows::describe;
use std::collections::BTreeMap;

fn shop() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fix/shop.yaml")).unwrap()
}

fn load(text: &str) -> Manifests {
    let inputs = vec![Input::new("shop.yaml", "shop", "shop", text.to_string())];
    Manifests::load(inputs, Detail::WithConfiguration).unwrap()
}

/// A table line with its alignment blanks squeezed to one.
fn squeeze(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether a flows table (`describe`) has the line `from -> to`.
fn allows(flows: &str, from: &str, to: &str) -> bool {
    flows.lines().any(|l| squeeze(l) == format!("{from} -> {to}"))
}

fn flows_with(text: &str) -> String {
    describe(allowed_flows(&load(text).index(), &BTreeMap::new()).keys())
}

#[test]
fn generated_policies_allow_the_inferred_edges_and_nothing_more() {
    let shop = shop();
    let manifests = load(&shop);
    let generated = generate(&manifests.index(), &PolicyOptions::default());
    assert!(
        generated.iter().all(|g| matches!(g, Generated::Policy { .. })),
        "every workload gets a policy"
    );
    let with_policies = format!("{shop}\n---\n{}", to_yaml(&generated));

    // Before: everything reaches everything.
    assert!(flows_with(&shop).lines().count() > 10);
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
    let got: Vec<String> = flows.lines().map(squeeze).collect();
    let want: Vec<String> = expected.iter().map(|l| squeeze(l)).collect();
    assert_eq!(got, want, "\n{flows}");

    // And lint no longer reports missing policies (M6) for any workload.
    let manifests = load(&with_policies);
    let audit = crate::engine::run(&manifests, &Config::default(), None);
    assert!(
        !audit.findings.iter().any(|f| f.check == &checks::M6),
        "M6 left after applying the policies"
    );
}

/// The platform scenario (testdata/fix/platform.yaml): post-rendered with
/// the generated fixes, as helm would install it, every flow the release
/// needs is allowed and the flows nobody asked for stay denied.
#[test]
fn generated_fixes_keep_what_the_platform_needs_and_nothing_more() {
    use crate::model::{Protocol, WorkloadRef};
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fix/platform.yaml")).unwrap();
    let manifests = load(&text);
    let outcome = super::plan::plan(&manifests, &Config::default(), &[], &PolicyOptions::default());
    // db's Service targets 5432, which the StatefulSet does not declare: the
    // patch declares it.
    assert!(
        outcome
            .ports
            .patches
            .iter()
            .any(|p| p.workload.name == "db" && p.port == 5432 && p.check == &checks::M5B),
        "{:#?}",
        outcome.ports.patches
    );
    let (installed, missed) = super::post_render::post_render(&text, &outcome).unwrap();
    assert!(missed.is_empty(), "{missed:?}");
    // Installed next to another release's pod, in another namespace.
    let intruder = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fix/intruder.yaml")).unwrap();
    let installed = Manifests::load(
        vec![
            Input::new("platform.yaml", "platform", "platform", installed),
            Input::new("intruder.yaml", "intruder", "other", intruder),
        ],
        Detail::WithConfiguration,
    )
    .unwrap();
    let index = installed.index();
    let flows = describe(allowed_flows(&index, &BTreeMap::new()).keys());
    let allowed = |from: &str, to: &str| allows(&flows, from, to);
    // Needed: the app reaches its database (an undeclared target before);
    // the API server (outside) reaches the webhook.
    assert!(
        allowed("Deployment/platform/app", "StatefulSet/platform/db 5432/TCP"),
        "{flows}"
    );
    assert!(allowed("(outside)", "Deployment/platform/webhook 10250/TCP"), "{flows}");
    // Not needed, so denied: the batch job and another namespace never name
    // the database; nothing outside reaches the ClusterIP-only app or db.
    assert!(
        !allowed("CronJob/platform/batch", "StatefulSet/platform/db 5432/TCP"),
        "{flows}"
    );
    assert!(
        !allowed("Pod/other/intruder", "StatefulSet/platform/db 5432/TCP"),
        "{flows}"
    );
    assert!(!allowed("(outside)", "StatefulSet/platform/db 5432/TCP"), "{flows}");
    assert!(!allowed("(outside)", "Deployment/platform/app 8080/TCP"), "{flows}");
    assert!(
        !allowed("Pod/other/intruder", "Deployment/platform/app 8080/TCP"),
        "{flows}"
    );
    // The cache names its own Service (its announce address): that does not
    // make it its own only client. Its clients are unknown, so the release
    // reaches it (the batch job's egress falls back to the release too).
    assert!(
        allowed("CronJob/platform/batch", "Deployment/platform/cache 6379/TCP"),
        "{flows}"
    );
    assert!(
        !allowed("Pod/other/intruder", "Deployment/platform/cache 6379/TCP"),
        "{flows}"
    );
    // The operator's ServiceAccount is bound by a ClusterRoleBinding: it
    // reaches the API server (any address, 443 and 6443); the app does not.
    let operator = WorkloadRef {
        kind: "Deployment".into(),
        namespace: "platform".into(),
        name: "operator".into(),
    };
    let app = WorkloadRef {
        name: "app".into(),
        ..operator.clone()
    };
    for port in [443, 6443] {
        assert!(crate::reach::flows::allows_egress_outside(
            &index,
            &operator,
            port,
            Protocol::Tcp
        ));
        assert!(!crate::reach::flows::allows_egress_outside(
            &index,
            &app,
            port,
            Protocol::Tcp
        ));
    }
    // And the README says why, in the words a platform engineer reads.
    let tables = super::flows::tables(&manifests, &outcome).unwrap();
    let allowed = |flow: &str| tables.allowed.keys().any(|f| f.to_string() == flow);
    let guessed = |flow: &str| tables.guessed.iter().any(|f| f.to_string() == flow);
    // The README's tables: the database flow is certain, the cache flow a guess.
    let db_flow = "Deployment/platform/app -> StatefulSet/platform/db 5432/TCP";
    let cache_flow = "CronJob/platform/batch -> Deployment/platform/cache 6379/TCP";
    assert!(allowed(db_flow) && !guessed(db_flow), "{tables:#?}");
    assert!(allowed(cache_flow) && guessed(cache_flow), "{tables:#?}");
    let readme = super::output::readme(&outcome, "platform.yaml", None, &tables, &[]);
    assert!(readme.contains("## Flows allowed by a guess"), "{readme}");
    assert!(readme.contains("the Kubernetes API server, because its ServiceAccount `operator` is bound by ClusterRoleBinding `operator`"), "{readme}");
    assert!(readme.contains("tells the API server to call"), "{readme}");
}

/// `--api-server` narrows the API server egress to its ranges and ports.
#[test]
fn api_server_ranges_narrow_the_egress() {
    use super::policy::{ApiServer, PolicyOptions};
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fix/platform.yaml")).unwrap();
    let manifests = load(&text);
    let options = PolicyOptions {
        api_server: vec![ApiServer::parse("10.96.0.1/32:6443").unwrap()],
        ..PolicyOptions::default()
    };
    let generated = generate(&manifests.index(), &options);
    let operator = generated
        .iter()
        .find_map(|g| match g {
            Generated::Policy { workload, policy, .. } if workload.name == "operator" => Some(policy),
            _ => None,
        })
        .unwrap();
    let egress = operator["spec"]["egress"].as_array().unwrap();
    assert!(
        egress.contains(&serde_json::json!({"to": [{"ipBlock": {"cidr": "10.96.0.1/32"}}], "ports": [{"protocol": "TCP", "port": 6443}]})),
        "{egress:#?}"
    );
    assert!(!serde_json::to_string(egress).unwrap().contains("0.0.0.0/0"));
}

/// An ingress controller reaches backends in any namespace; the release's
/// other workloads do not.
#[test]
fn ingress_controllers_reach_backends_everywhere() {
    let release = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/fix/ingress-controller.yaml"
    ))
    .unwrap();
    let generated = generate(&load(&release).index(), &PolicyOptions::default());
    let backend = "apiVersion: v1\nkind: Pod\nmetadata: {name: shop, namespace: shop, labels: {app: shop}}\nspec:\n  containers: [{name: web, image: web, ports: [{containerPort: 8080}]}]\n";
    let installed = Manifests::load(
        vec![
            Input::new(
                "ingress.yaml",
                "ingress",
                "ingress",
                format!("{release}\n---\n{}", to_yaml(&generated)),
            ),
            Input::new("shop.yaml", "shop", "shop", backend.to_string()),
        ],
        Detail::WithConfiguration,
    )
    .unwrap();
    let flows = describe(allowed_flows(&installed.index(), &BTreeMap::new()).keys());
    let allowed = |from: &str, to: &str| allows(&flows, from, to);
    assert!(
        allowed("Deployment/ingress/controller", "Pod/shop/shop 8080/TCP"),
        "{flows}"
    );
    assert!(
        !allowed("Deployment/ingress/defaultbackend", "Pod/shop/shop 8080/TCP"),
        "{flows}"
    );
    // The release's own Ingress, of the release's own class: its backend
    // is open to the controller, not to the internet.
    assert!(
        allowed(
            "Deployment/ingress/controller",
            "Deployment/ingress/defaultbackend 8080/TCP"
        ),
        "{flows}"
    );
    assert!(
        !allowed("(outside)", "Deployment/ingress/defaultbackend 8080/TCP"),
        "{flows}"
    );
    // Of another class (a controller elsewhere): from anywhere, as before.
    let elsewhere = release.replace("ingressClassName: nginx", "ingressClassName: traefik");
    let generated_elsewhere = generate(&load(&elsewhere).index(), &PolicyOptions::default());
    let flows_elsewhere = flows_with(&format!("{elsewhere}\n---\n{}", to_yaml(&generated_elsewhere)));
    assert!(
        allows(
            &flows_elsewhere,
            "(outside)",
            "Deployment/ingress/defaultbackend 8080/TCP"
        ),
        "{flows_elsewhere}"
    );
    let explained = generated.iter().any(|g| match g {
        Generated::Policy {
            workload, explanations, ..
        } if workload.name == "controller" => explanations
            .iter()
            .any(|e| e.contains("any pod in any namespace") && e.contains("--controller-class=k8s.io/ingress-nginx")),
        _ => false,
    });
    assert!(explained, "{generated:#?}");
}

/// Scraped ports are allowed from the monitoring namespace (any namespace
/// without `--monitoring-namespace`), and only those ports.
#[test]
fn prometheus_reaches_the_scraped_ports_only() {
    let release = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fix/monitored.yaml")).unwrap();
    let others = "apiVersion: v1\nkind: Pod\nmetadata: {name: prometheus, namespace: monitoring, labels: {app: prometheus}}\nspec: {containers: [{name: p, image: p}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: intruder, namespace: other, labels: {app: intruder}}\nspec: {containers: [{name: i, image: i}]}\n";
    let flows_with = |monitoring_namespace: Option<&str>| {
        let options = PolicyOptions {
            monitoring_namespace: monitoring_namespace.map(str::to_string),
            ..PolicyOptions::default()
        };
        let generated = generate(&load(&release).index(), &options);
        let installed = Manifests::load(
            vec![
                Input::new(
                    "shop.yaml",
                    "shop",
                    "shop",
                    format!("{release}\n---\n{}", to_yaml(&generated)),
                ),
                Input::new("others.yaml", "others", "default", others.to_string()),
            ],
            Detail::WithConfiguration,
        )
        .unwrap();
        describe(allowed_flows(&installed.index(), &BTreeMap::new()).keys())
    };
    let narrow = flows_with(Some("monitoring"));
    assert!(
        allows(&narrow, "Pod/monitoring/prometheus", "Deployment/shop/app 9090/TCP"),
        "{narrow}"
    );
    assert!(
        allows(&narrow, "Pod/monitoring/prometheus", "Deployment/shop/worker 9100/TCP"),
        "{narrow}"
    );
    assert!(
        !allows(&narrow, "Pod/monitoring/prometheus", "Deployment/shop/app 8080/TCP"),
        "{narrow}"
    );
    assert!(
        !allows(&narrow, "Pod/other/intruder", "Deployment/shop/app 9090/TCP"),
        "{narrow}"
    );
    let wide = flows_with(None);
    assert!(
        allows(&wide, "Pod/other/intruder", "Deployment/shop/app 9090/TCP"),
        "{wide}"
    );
    assert!(
        !allows(&wide, "Pod/other/intruder", "Deployment/shop/app 8080/TCP"),
        "{wide}"
    );
}

fn fixture(name: &str) -> String {
    let path = format!("{}/testdata/fix/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Each needed flow as `route: verdict` (`pass` or what blocks it).
fn need_lines(tables: &super::flows::FlowTables) -> Vec<String> {
    tables
        .needs
        .iter()
        .map(|(need, verdict)| match (&verdict.blocked, &verdict.unknown) {
            (None, None) => format!("{}: pass", need.route()),
            (None, Some(_)) => format!("{}: UNKNOWN", need.route()),
            (Some(why), _) => format!("{}: {why}", need.route()),
        })
        .collect()
}

/// Clients a podSelector cannot name (a hostNetwork DaemonSet, pods
/// without labels), the peers of a cluster that other workloads name too,
/// and a hostNetwork backend: once the fixes are applied, every needed flow
/// passes; a database name that happens to be a Service's is no need.
#[test]
fn needed_flows_pass_for_clients_a_pod_selector_cannot_name() {
    let text = fixture("edges.yaml");
    let manifests = load(&text);
    let outcome = super::plan::plan(&manifests, &Config::default(), &[], &PolicyOptions::default());
    let tables = super::flows::tables(&manifests, &outcome).unwrap();
    insta::assert_snapshot!(need_lines(&tables).join("\n"), @r"
    CronJob/edges/cleanup -> Deployment/edges/cache 6379/TCP: pass
    CronJob/edges/cleanup -> (cluster DNS) 53/UDP: pass
    DaemonSet/edges/agent -> Deployment/edges/server 8081/TCP: pass
    DaemonSet/edges/agent -> (cluster DNS) 53/UDP: pass
    Deployment/edges/app -> StatefulSet/edges/search 9200/TCP: pass
    Deployment/edges/app -> (cluster DNS) 53/UDP: pass
    StatefulSet/edges/search -> StatefulSet/edges/search 9200/TCP: pass
    StatefulSet/edges/search -> StatefulSet/edges/search 9300/TCP: pass
    StatefulSet/edges/search -> (cluster DNS) 53/UDP: pass
    (release shop) -> DaemonSet/edges/exporter 9100/TCP: pass
    ");
    // How: the agent's node address is only matched by an ipBlock, the
    // unlabelled job only by every pod of its namespace; each says so.
    let policy = |name: &str| {
        let (policy, explanations) = outcome
            .generated
            .iter()
            .filter(|g| g.workload().name == name)
            .find_map(Generated::as_policy)
            .unwrap_or_else(|| panic!("no policy for {name}"));
        (policy.clone(), explanations.join("\n"))
    };
    let (server, why) = policy("server");
    assert!(
        server["spec"]["ingress"][0]["from"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"ipBlock": {"cidr": "0.0.0.0/0"}})),
        "{server:#}"
    );
    assert!(why.contains("`agent` uses hostNetwork"), "{why}");
    let (cache, why) = policy("cache");
    assert!(
        cache["spec"]["ingress"][0]["from"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"podSelector": {"matchLabels": {}}})),
        "{cache:#}"
    );
    assert!(why.contains("the pods of CronJob `cleanup` have no labels"), "{why}");
    // The app's POSTGRES_DB names a database, not the `server` Service.
    assert!(!need_lines(&tables)
        .iter()
        .any(|l| l.starts_with("Deployment/edges/app -> Deployment/edges/server")));
}

/// The check can fail: a deny-all policy blocks every needed flow, naming
/// the side and the policy; strict egress blocks exactly the guessed ones.
#[test]
fn needed_flows_are_blocked_by_policies_that_deny_them() {
    let text = fixture("platform.yaml");
    let deny_all = "\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: platform}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n";
    let denied = load(&format!("{text}{deny_all}"));
    let tables = super::flows::as_they_are(&denied, &PolicyOptions::default()).unwrap();
    assert!(!tables.needs.is_empty());
    assert_eq!(
        tables.blocked().count(),
        tables.needs.len(),
        "{:#?}",
        need_lines(&tables)
    );
    assert!(tables.blocked().all(|(_, v)| v.blocked_by == ["deny-all"]));
    let lines = need_lines(&tables);
    assert!(
        lines.contains(&"Deployment/platform/operator -> (API server) 443/TCP: denied by the egress policies deny-all of Deployment/platform/operator".to_string()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(
            &"(outside) -> Deployment/platform/webhook 10250/TCP: denied by the ingress policies deny-all".to_string()
        ),
        "{lines:#?}"
    );

    let manifests = load(&text);
    let strict = PolicyOptions {
        egress: super::policy::EgressMode::Strict,
        ..PolicyOptions::default()
    };
    let outcome = super::plan::plan(&manifests, &Config::default(), &[], &strict);
    let tables = super::flows::tables(&manifests, &outcome).unwrap();
    let blocked: Vec<bool> = tables.blocked().map(|(need, _)| need.guessed).collect();
    assert!(
        !blocked.is_empty() && blocked.iter().all(|g| *g),
        "{:#?}",
        need_lines(&tables)
    );
    assert_eq!(blocked.len(), tables.needs.iter().filter(|(n, _)| n.guessed).count());
}

/// A quorum through a headless Service whose named targets no container
/// declares (bitnami/zookeeper's `follower` and `election`): the ports are
/// assumed to be the Service's, declared under their names, and the peers
/// reach each other on them (the ports they name, `zk-0.zk-headless:2888:3888`).
#[test]
fn named_targets_no_container_declares_are_assumed_and_declared() {
    let text = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: zk, namespace: shop}\nspec:\n  serviceName: zk-headless\n  selector: {matchLabels: {app: zk}}\n  template:\n    metadata: {labels: {app: zk}}\n    spec:\n      containers:\n        - name: zk\n          image: zk\n          env: [{name: ZOO_SERVERS, value: \"zk-0.zk-headless:2888:3888\"}]\n          ports: [{name: client, containerPort: 2181}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: zk-headless, namespace: shop}\nspec:\n  clusterIP: None\n  selector: {app: zk}\n  ports:\n    - {name: client, port: 2181, targetPort: client}\n    - {name: follower, port: 2888, targetPort: follower}\n    - {name: election, port: 3888, targetPort: election}\n";
    let manifests = load(text);
    let outcome = super::plan::plan(&manifests, &Config::default(), &[], &PolicyOptions::default());
    let declared: Vec<(String, u16)> = outcome.ports.patches.iter().map(|p| (p.name.clone(), p.port)).collect();
    assert_eq!(
        declared,
        [("follower".to_string(), 2888), ("election".to_string(), 3888)]
    );
    let tables = super::flows::tables(&manifests, &outcome).unwrap();
    for port in [2888, 3888] {
        let route = format!("StatefulSet/shop/zk -> StatefulSet/shop/zk {port}/TCP: pass");
        assert!(need_lines(&tables).contains(&route), "{:#?}", need_lines(&tables));
    }
    // The peers name their peer ports, not the client port: they need no more.
    let client_port = "StatefulSet/shop/zk -> StatefulSet/shop/zk 2181/TCP: pass".to_string();
    assert!(
        !need_lines(&tables).contains(&client_port),
        "{:#?}",
        need_lines(&tables)
    );
}

/// kube-prometheus-stack's shape: Grafana's datasources (loaded by its
/// sidecar for a label) name Services that select only the pods the
/// Prometheus operator creates. Those flows are needed, decided on stand-in
/// pods carrying the Services' selectors, and pass with the generated
/// policies; a release-only egress policy blocks them, naming itself; a
/// datasource whose host is no Service is UNKNOWN, never "pass".
#[test]
fn operator_made_pods_are_needed_and_decided_on_stand_ins() {
    let text = fixture("monitoring-stack.yaml");
    let manifests = load(&text);
    let outcome = super::plan::plan(&manifests, &Config::default(), &[], &PolicyOptions::default());
    let tables = super::flows::tables(&manifests, &outcome).unwrap();
    let lines = need_lines(&tables);
    let grafana = "Deployment/default/release-name-grafana";
    let prometheus = "(pods of Service default/release-name-kube-promethe-prometheus) 9090/TCP";
    let alertmanager = "(pods of Service default/release-name-kube-promethe-alertmanager) 9093/TCP";
    for to in [prometheus, alertmanager] {
        assert!(lines.contains(&format!("{grafana} -> {to}: pass")), "{lines:#?}");
    }
    assert!(
        lines.contains(&format!("{grafana} -> (host prometheus-operated) 9090/TCP: UNKNOWN")),
        "{lines:#?}"
    );
    let (unknown, verdict) = tables.unknown().next().expect("an UNKNOWN flow");
    assert_eq!(
        unknown.route(),
        format!("{grafana} -> (host prometheus-operated) 9090/TCP")
    );
    assert!(verdict
        .unknown
        .as_ref()
        .unwrap()
        .contains("no Service of these manifests"));
    assert_eq!(
        tables.tally(),
        format!("{} of {} pass (1 UNKNOWN)", tables.needs.len() - 1, tables.needs.len())
    );
    assert!(
        tables.describe_needs().starts_with("UNKNOWN: "),
        "{}",
        tables.describe_needs()
    );
    let why = &tables
        .needs
        .iter()
        .find(|(n, _)| n.route().ends_with(prometheus))
        .unwrap()
        .0
        .why;
    assert!(
        why.contains("loaded by container `grafana-sc-datasources` for its label grafana_datasource")
            && why.contains("the operator of Prometheus `release-name-kube-promethe-prometheus`"),
        "{why}"
    );
    let grafana_policy = outcome
        .generated
        .iter()
        .find(|g| g.workload().name == "release-name-grafana")
        .and_then(Generated::as_policy)
        .map(|(_, explanations)| explanations.join("\n"))
        .unwrap();
    assert!(
        grafana_policy.contains("names `prometheus-operated`, which is no Service"),
        "{grafana_policy}"
    );

    // What the old generator wrote: egress to the release's pods and DNS.
    // The operator's pods do not carry the release's label.
    let release_only = "\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: grafana-egress, namespace: default}\nspec:\n  podSelector: {matchLabels: {app.kubernetes.io/name: grafana}}\n  policyTypes: [Egress]\n  egress:\n    - to: [{podSelector: {matchLabels: {app.kubernetes.io/instance: release-name}}}]\n    - ports: [{port: 53, protocol: UDP}]\n";
    let tables = super::flows::as_they_are(&load(&format!("{text}{release_only}")), &PolicyOptions::default()).unwrap();
    let lines = need_lines(&tables);
    for to in [prometheus, alertmanager] {
        assert!(
            lines.contains(&format!(
                "{grafana} -> {to}: denied by the egress policies grafana-egress of {grafana}"
            )),
            "{lines:#?}"
        );
    }
    assert!(tables.tally().contains("BLOCKED"), "{}", tables.tally());

    // The stand-in's ingress side: a policy on the operator's pods decides
    // by their labels, as it would on the real ones.
    let prometheus_ingress = |from: &str| {
        format!("\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: prometheus-in, namespace: default}}\nspec:\n  podSelector: {{matchLabels: {{operator.prometheus.io/name: release-name-kube-promethe-prometheus}}}}\n  ingress: [{{from: [{{podSelector: {{matchLabels: {{app.kubernetes.io/name: {from}}}}}}}]}}]\n")
    };
    let verdict_from = |from: &str| {
        let tables = super::flows::as_they_are(
            &load(&format!("{text}{}", prometheus_ingress(from))),
            &PolicyOptions::default(),
        )
        .unwrap();
        need_lines(&tables)
            .into_iter()
            .find(|l| l.starts_with(&format!("{grafana} -> {prometheus}")))
            .unwrap()
    };
    assert_eq!(verdict_from("grafana"), format!("{grafana} -> {prometheus}: pass"));
    assert_eq!(
        verdict_from("other"),
        format!("{grafana} -> {prometheus}: denied from {grafana} by the ingress policies prometheus-in")
    );
}

/// The prometheus chart's shape: the server scrapes what
/// `kubernetes_sd_configs` discovers, in every namespace. A policy that
/// limits its egress to the release blocks that; the generated one allows
/// any port of every namespace and the kubelets, and the targets the
/// manifests annotate.
#[test]
fn scrapers_reach_what_they_discover() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: prometheus-server, namespace: monitoring}\ndata:\n  prometheus.yml: |\n    scrape_configs:\n      - job_name: kubernetes-service-endpoints\n        kubernetes_sd_configs: [{role: endpoints}]\n      - job_name: kubernetes-nodes\n        kubernetes_sd_configs: [{role: node}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: prometheus-server, namespace: monitoring}\nspec:\n  selector: {matchLabels: {app: server}}\n  template:\n    metadata: {labels: {app: server, release: prometheus}}\n    spec:\n      containers: [{name: server, image: prometheus, ports: [{containerPort: 9090}]}]\n      volumes: [{name: config, configMap: {name: prometheus-server}}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: exporter, namespace: monitoring}\nspec:\n  selector: {matchLabels: {app: exporter}}\n  template:\n    metadata: {labels: {app: exporter, release: prometheus}}\n    spec:\n      containers: [{name: exporter, image: exporter, ports: [{containerPort: 9100}]}]\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: exporter\n  namespace: monitoring\n  annotations: {prometheus.io/scrape: \"true\"}\nspec:\n  selector: {app: exporter}\n  ports: [{port: 9100}]\n";
    let server = "Deployment/monitoring/prometheus-server";
    let everywhere = format!("{server} -> (pods of every namespace) any port");
    let kubelets = format!("{server} -> (kubelets) 10250/TCP");
    let exporter = format!("{server} -> Deployment/monitoring/exporter 9100/TCP");
    let release_only = "\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: server, namespace: monitoring}\nspec:\n  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Egress]\n  egress: [{to: [{podSelector: {matchLabels: {release: prometheus}}}]}]\n";
    let tables = super::flows::as_they_are(&load(&format!("{text}{release_only}")), &PolicyOptions::default()).unwrap();
    let lines = need_lines(&tables);
    let denied = format!("denied by the egress policies server of {server}");
    assert!(lines.contains(&format!("{everywhere}: {denied}")), "{lines:#?}");
    assert!(lines.contains(&format!("{kubelets}: {denied}")), "{lines:#?}");
    assert!(lines.contains(&format!("{exporter}: pass")), "{lines:#?}");

    let manifests = load(text);
    let outcome = super::plan::plan(&manifests, &Config::default(), &[], &PolicyOptions::default());
    let tables = super::flows::tables(&manifests, &outcome).unwrap();
    let lines = need_lines(&tables);
    for need in [&everywhere, &kubelets, &exporter] {
        assert!(lines.contains(&format!("{need}: pass")), "{need}: {lines:#?}");
    }
    assert_eq!(tables.blocked().count() + tables.unknown().count(), 0, "{lines:#?}");
    let (policy, explanations) = outcome
        .generated
        .iter()
        .find(|g| g.workload().name == "prometheus-server")
        .and_then(Generated::as_policy)
        .unwrap();
    let egress = policy["spec"]["egress"].as_array().unwrap();
    assert!(
        egress.contains(&serde_json::json!({"to": [{"namespaceSelector": {}}]})),
        "{policy:#}"
    );
    assert!(
        explanations.iter().any(|e| e.contains("scrapes what it discovers at runtime: Kubernetes service discovery (roles endpoints, node) in ConfigMap `prometheus-server` key prometheus.yml, with no namespace limit")),
        "{explanations:#?}"
    );
}

/// banzaicloud's drone: the agent names the server's Service, whose pods no
/// workload renders. The agent's policy must not select those pods too (a
/// selector of `app: drone` alone would, and deny the agent's own calls to
/// them): it keeps `component: agent`, and the flow passes.
#[test]
fn a_workloads_selector_leaves_out_the_pods_a_service_finds_elsewhere() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: drone-agent, namespace: drone}\nspec:\n  selector: {matchLabels: {app: drone, component: agent}}\n  template:\n    metadata: {labels: {app: drone, release: drone, component: agent}}\n    spec:\n      containers: [{name: agent, image: agent, env: [{name: DRONE_SERVER, value: \"drone:9000\"}]}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: drone, namespace: drone}\nspec:\n  selector: {app: drone, release: drone, component: server}\n  ports: [{name: grpc, port: 9000, targetPort: 9000}]\n";
    let manifests = load(text);
    let outcome = super::plan::plan(&manifests, &Config::default(), &[], &PolicyOptions::default());
    let (policy, _) = outcome.generated.iter().find_map(Generated::as_policy).unwrap();
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"]["component"], "agent",
        "{policy:#}"
    );
    let tables = super::flows::tables(&manifests, &outcome).unwrap();
    assert!(
        need_lines(&tables)
            .contains(&"Deployment/drone/drone-agent -> (pods of Service drone/drone) 9000/TCP: pass".to_string()),
        "{:#?}",
        need_lines(&tables)
    );
}

/// A workload whose pods get a Linkerd proxy needs the control plane and is
/// scraped on the proxy's admin port: both are needed flows, the generated
/// policy allows them, and a release-only egress policy blocks the first.
#[test]
fn injected_mesh_proxies_reach_their_control_plane_and_are_scraped() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata:\n      labels: {app: web}\n      annotations: {linkerd.io/inject: enabled}\n    spec:\n      containers: [{name: web, image: web, ports: [{containerPort: 8080}]}]\n";
    let manifests = load(text);
    let outcome = super::plan::plan(&manifests, &Config::default(), &[], &PolicyOptions::default());
    let tables = super::flows::tables(&manifests, &outcome).unwrap();
    let lines = need_lines(&tables);
    let control_plane = "Deployment/shop/web -> (the Linkerd control plane (namespace linkerd))";
    for port in [8080, 8086, 8090] {
        assert!(
            lines.contains(&format!("{control_plane} {port}/TCP: pass")),
            "{lines:#?}"
        );
    }
    assert!(
        lines.contains(&"(outside) -> Deployment/shop/web 4191/TCP: pass".to_string()),
        "{lines:#?}"
    );
    let release_only = "\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{to: [{podSelector: {}}]}]\n";
    let tables = super::flows::as_they_are(&load(&format!("{text}{release_only}")), &PolicyOptions::default()).unwrap();
    assert!(
        need_lines(&tables).contains(&format!(
            "{control_plane} 8086/TCP: denied by the egress policies web of Deployment/shop/web"
        )),
        "{:#?}",
        need_lines(&tables)
    );
}

/// An ExternalName for a host outside the cluster: Cilium allows it by name
/// (`toFQDNs`, on the Service's port) and the need passes; the languages
/// that cannot name a host leave it out, say so, and the need is BLOCKED
/// with how to allow it.
#[test]
fn outside_hosts_by_name_pass_where_the_language_names_them() {
    let text = r#"
apiVersion: v1
kind: Service
metadata: {name: payments, namespace: shop}
spec: {type: ExternalName, externalName: api.payments.example, ports: [{port: 443}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: shop}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: app
          image: app
          env:
            - {name: PAYMENTS_URL, value: "https://payments:443/v1"}
"#;
    let manifests = load(text);
    let route = "Deployment/shop/app -> (api.payments.example) 443/TCP";
    for flavor in [Flavor::Kubernetes, Flavor::Cilium, Flavor::Calico] {
        let options = PolicyOptions {
            flavor,
            ..PolicyOptions::default()
        };
        let outcome = super::plan::plan(&manifests, &Config::default(), &[], &options);
        let (policy, why) = outcome.generated.iter().find_map(Generated::as_policy).unwrap();
        let why = why.join("\n");
        let lines = need_lines(&super::flows::tables(&manifests, &outcome).unwrap());
        let line = lines.iter().find(|l| l.starts_with(route)).expect("the need");
        if flavor == Flavor::Cilium {
            assert_eq!(line, &format!("{route}: pass"));
            let egress = policy["spec"]["egress"].as_array().unwrap();
            assert!(
                egress.contains(&serde_json::json!({
                    "toFQDNs": [{"matchName": "api.payments.example"}],
                    "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]
                })),
                "{policy:#}"
            );
            assert!(
                why.contains("`api.payments.example`, outside the cluster: allowed by name"),
                "{why}"
            );
        } else {
            assert!(
                line.ends_with("; `api.payments.example` is outside the cluster: allow its addresses (an ipBlock, Calico `nets`) or its name (Cilium `toFQDNs`)"),
                "{flavor:?}: {line}"
            );
            assert!(!policy.to_string().contains("payments"), "{policy:#}");
            assert!(
                why.contains("`api.payments.example`, outside the cluster: not allowed, since"),
                "{why}"
            );
        }
    }
}
