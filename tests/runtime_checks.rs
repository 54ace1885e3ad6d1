//! The runtime checks (M1, M2, M3, M5A, M5C's runtime half) on synthetic
//! observations: the rules, independent of any backend.

use netaudit::config::Config;
use netaudit::model::Input;
use netaudit::probe::{AttributedSocket, Observations, OpenSocket, PodSockets, PodStatus, Protocol, WorkloadRef};

const MANIFESTS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: x
          ports:
            - {name: http, containerPort: 8080}
            - {name: cluster, containerPort: 9999}
        - name: sidecar
          image: x
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: admin}
spec:
  selector: {app: web}
  ports: [{port: 7000}]
---
apiVersion: v1
kind: Service
metadata: {name: web-hl}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 8080}, {name: cluster, port: 9999}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent}
spec:
  selector: {matchLabels: {app: node-agent}}
  template:
    metadata: {labels: {app: node-agent}}
    spec:
      hostNetwork: true
      containers:
        - name: agent
          image: x
          ports: [{containerPort: 9100}, {containerPort: 22}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck}
spec:
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      containers:
        - name: stuck
          image: x
          ports: [{containerPort: 5000}]
"#;

fn owner(kind: &str, name: &str) -> WorkloadRef {
    WorkloadRef {
        kind: kind.into(),
        namespace: "default".into(),
        name: name.into(),
    }
}

fn socket(protocol: Protocol, address: &str, port: u16, container: Option<&str>) -> AttributedSocket {
    AttributedSocket {
        socket: OpenSocket {
            protocol,
            address: address.parse().unwrap(),
            port,
            inode: u64::from(port),
        },
        container: container.map(str::to_string),
    }
}

fn web_pod(pod: &str, extra: Vec<AttributedSocket>) -> PodSockets {
    let mut sockets = vec![
        socket(Protocol::Tcp, "0.0.0.0", 8080, Some("web")),
        socket(Protocol::Tcp, "::", 9090, Some("sidecar")),
        socket(Protocol::Tcp, "127.0.0.1", 6060, Some("web")),
        socket(Protocol::Tcp, "::ffff:127.0.0.1", 6061, Some("web")),
        socket(Protocol::Udp, "0.0.0.0", 5353, None),
        socket(Protocol::Tcp, "0.0.0.0", 45000, Some("web")),
    ];
    sockets.extend(extra);
    PodSockets {
        pod: pod.into(),
        owner: owner("Deployment", "web"),
        host_network: false,
        ephemeral_range: (40000, 60000),
        sockets,
    }
}

fn agent_pod() -> PodSockets {
    PodSockets {
        pod: "node-agent-x".into(),
        owner: owner("DaemonSet", "node-agent"),
        host_network: true,
        ephemeral_range: (40000, 60000),
        sockets: vec![
            socket(Protocol::Tcp, "0.0.0.0", 22, None),
            socket(Protocol::Tcp, "0.0.0.0", 9100, Some("agent")),
            socket(Protocol::Tcp, "0.0.0.0", 9200, Some("agent")),
        ],
    }
}

fn observations() -> Observations {
    Observations {
        statuses: vec![
            PodStatus {
                pod: "web-1".into(),
                owner: owner("Deployment", "web"),
                ready: true,
                detail: String::new(),
            },
            PodStatus {
                pod: "stuck-1".into(),
                owner: owner("Deployment", "stuck"),
                ready: false,
                detail: "CrashLoopBackOff".into(),
            },
        ],
        runs: vec![
            // Run 1: two replicas; 20000 is open in one of them only in this run.
            vec![
                web_pod("web-1", vec![socket(Protocol::Tcp, "0.0.0.0", 20000, Some("web"))]),
                web_pod("web-2", vec![]),
                agent_pod(),
            ],
            vec![web_pod("web-1", vec![]), web_pod("web-2", vec![]), agent_pod()],
        ],
        // The node already listened on 22 (sshd) before the install.
        baseline: vec![OpenSocket {
            protocol: Protocol::Tcp,
            address: "0.0.0.0".parse().unwrap(),
            port: 22,
            inode: 1,
        }],
        timings: Default::default(),
    }
}

fn keys(observations: Option<&Observations>) -> Vec<String> {
    let inputs = vec![Input::new("m.yaml", "m", "default", MANIFESTS.to_string())];
    let objects = netaudit::audit::load(&inputs).unwrap();
    let audit = netaudit::audit::run_observed(&inputs, &objects, &Config::default(), observations);
    let mut keys: Vec<String> = audit
        .findings
        .iter()
        .filter(|f| ["M1", "M2", "M3", "M5A", "M5C"].contains(&f.check.id))
        .map(|f| format!("{} {} {}", f.check.id, f.primary().object.name, f.port.unwrap_or(0)))
        .collect();
    keys.sort();
    keys
}

#[test]
fn runtime_rules() {
    assert_eq!(
        keys(Some(&observations())),
        [
            "M1 node-agent 9200", // undeclared; 22 is the node's own (baseline) and declared anyway
            "M1 web 5353",        // UDP, bound, undeclared, no owner known
            "M1 web 9090",        // undeclared, held by the sidecar, stable across runs
            "M2 web 20000",       // open in run 1 only
            "M2 web 45000",       // in the ephemeral range 40000-60000
            "M3 web 9999",        // declared, never open
            "M5A admin 7000",     // the admin Service targets 7000: nothing listens there
            "M5C web-hl 9999",    // the headless Service's cluster port is declared but closed
        ]
    );
}

#[test]
fn without_observations_the_runtime_checks_find_nothing() {
    assert!(keys(None).is_empty());
}

#[test]
fn never_ready_pods_get_no_m3() {
    // `stuck` declares 5000 and never became ready: no M3 for it (above), and
    // the observations say why.
    let obs = observations();
    assert_eq!(
        obs.not_ready("Deployment", "default", "stuck")[0].detail,
        "CrashLoopBackOff"
    );
    assert!(!keys(Some(&obs)).iter().any(|k| k.contains("stuck")));
}

#[test]
fn m1_message_names_the_container_holding_the_socket() {
    let inputs = vec![Input::new("m.yaml", "m", "default", MANIFESTS.to_string())];
    let objects = netaudit::audit::load(&inputs).unwrap();
    let obs = observations();
    let audit = netaudit::audit::run_observed(&inputs, &objects, &Config::default(), Some(&obs));
    let m1 = audit
        .findings
        .iter()
        .find(|f| f.check.id == "M1" && f.port == Some(9090))
        .unwrap();
    assert!(m1.message.contains("9090/TCP (container `sidecar`)"), "{}", m1.message);
}

#[test]
fn runtime_findings_snapshots_human_and_json() {
    let inputs = vec![Input::new("m.yaml", "m", "default", MANIFESTS.to_string())];
    let objects = netaudit::audit::load(&inputs).unwrap();
    let obs = observations();
    let mut audit = netaudit::audit::run_observed(&inputs, &objects, &Config::default(), Some(&obs));
    audit.probe = Some(netaudit::probe::ProbeReport {
        runtime: "podman".into(),
        sandbox: "netaudit-m-000000".into(),
        runs: 2,
        incomplete: obs.statuses.iter().filter(|s| !s.ready).cloned().collect(),
        not_probed: Vec::new(),
        waited_for_readiness: true,
        timings: Default::default(),
    });
    let human = netaudit::report::human::render(
        &audit,
        &netaudit::report::human::Options {
            color: false,
            width: 100,
        },
    );
    let json = netaudit::report::json::render(&audit);
    // Every runtime-only check of the registry shows in these snapshots.
    for check in netaudit::checks::REGISTRY.iter().filter(|c| c.runtime_only()) {
        assert!(
            human.contains(&format!("{} {}", check.id, check.name)),
            "{} missing",
            check.id
        );
        assert!(
            json.contains(&format!("\"check\": \"{}\"", check.id)),
            "{} missing",
            check.id
        );
    }
    assert!(human.contains("probe incomplete: Deployment `stuck`"), "{human}");
    insta::assert_snapshot!("runtime_human", human);
    insta::assert_snapshot!("runtime_json", json);
}
