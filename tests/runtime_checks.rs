//! The runtime checks (M1, M2, M3, M5A, M5C's runtime half) on synthetic
//! observations: the rules, independent of any backend.

use netaudit::checks::{self, Analysis};
use netaudit::engine::config::Config;
use netaudit::model::{
    AskedName, AttributedSocket, ChartTests, Detail, Evidence, Exercise, FlowOrigin, FlowPeer, Input, Manifests,
    Observations, ObservedFlow, OpenSocket, PodSockets, PodStatus, ProbeReport, ProcessName, Protocol, TestOutcome,
    TriedPort, WorkloadRef,
};

/// A web Deployment behind three Services and a hostNetwork agent.
fn manifests() -> Manifests {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/runtime/web-and-agent.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    Manifests::load(vec![Input::new("m.yaml", "m", "default", text)], Detail::Checks).unwrap()
}

fn evidence(observations: Observations) -> Evidence {
    let probe = ProbeReport {
        runtime: "podman".into(),
        sandbox: "netaudit-m-000000".into(),
        runs: 2,
        incomplete: observations.not_ready().cloned().collect(),
        not_probed: Vec::new(),
        waited_for_readiness: true,
        timings: Default::default(),
        kept: None,
        // --exercise: one Service port answered, one did not.
        exercise: Some(Exercise {
            pod: "netaudit-exercise".into(),
            failed: None,
            tried: vec![
                TriedPort {
                    service: "web".into(),
                    port: 80,
                    protocol: Protocol::Tcp,
                    answered: true,
                },
                TriedPort {
                    service: "db".into(),
                    port: 5432,
                    protocol: Protocol::Tcp,
                    answered: false,
                },
            ],
        }),
        // --run-tests: the chart's first test passed, its second failed.
        tests: Some(ChartTests {
            failed: None,
            ran: vec![
                TestOutcome {
                    kind: "Pod".into(),
                    name: "web-test-connection".into(),
                    passed: true,
                    detail: None,
                },
                TestOutcome {
                    kind: "Job".into(),
                    name: "web-test-db".into(),
                    passed: false,
                    detail: Some("1 pod(s) failed".into()),
                },
            ],
        }),
        // One flow answered and named, one attempt nobody answered, and
        // the first test's connection.
        flows: vec![
            ObservedFlow {
                from: owner("Pod", "web-test-connection"),
                to: FlowPeer::Workload {
                    workload: owner("Deployment", "web"),
                },
                port: 8080,
                protocol: Protocol::Tcp,
                process: Some("wget".into()),
                first_seen_ms: 9250,
                count: 1,
                completed: true,
                names: Vec::new(),
                origin: Some(FlowOrigin::Test),
            },
            ObservedFlow {
                from: owner("DaemonSet", "node-agent"),
                to: FlowPeer::Workload {
                    workload: owner("Deployment", "web"),
                },
                port: 8080,
                protocol: Protocol::Tcp,
                process: Some("agent".into()),
                first_seen_ms: 1840,
                count: 3,
                completed: true,
                names: Vec::new(),
                origin: None,
            },
            ObservedFlow {
                from: owner("Deployment", "web"),
                to: FlowPeer::Outside {
                    address: "192.0.2.7".parse().unwrap(),
                },
                port: 443,
                protocol: Protocol::Tcp,
                process: None,
                first_seen_ms: 2250,
                count: 1,
                completed: false,
                names: Vec::new(),
                origin: None,
            },
            // Its DNS queries, logged: one name answered, two search-path tries not.
            ObservedFlow {
                from: owner("Deployment", "web"),
                to: FlowPeer::ClusterDns,
                port: 53,
                protocol: Protocol::Udp,
                process: None,
                first_seen_ms: 2100,
                count: 6,
                completed: true,
                names: vec![
                    asked("db.default.svc.cluster.local.default.svc.cluster.local", false),
                    asked("db.default.svc.cluster.local", true),
                    asked("db.default.svc.cluster.local.svc.cluster.local", false),
                ],
                origin: None,
            },
        ],
    };
    Evidence {
        observations,
        probe,
        notes: Vec::new(),
    }
}

fn asked(name: &str, answered: bool) -> AskedName {
    AskedName {
        name: name.into(),
        answered,
    }
}

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
        process: None,
    }
}

/// A socket whose holding process is known (`netstat -p`).
fn held_by(mut socket: AttributedSocket, name: &str, cmdline: &[u8]) -> AttributedSocket {
    socket.process = ProcessName::from_proc(name, cmdline);
    socket
}

fn web_pod(pod: &str, extra: Vec<AttributedSocket>) -> PodSockets {
    let mut sockets = vec![
        socket(Protocol::Tcp, "0.0.0.0", 8080, Some("web")),
        held_by(
            socket(Protocol::Tcp, "::", 9090, Some("sidecar")),
            "telnetd\n",
            b"telnetd\0-F\0-p\x009090\0",
        ),
        socket(Protocol::Tcp, "127.0.0.1", 6060, Some("web")),
        socket(Protocol::Tcp, "::ffff:127.0.0.1", 6061, Some("web")),
        socket(Protocol::Udp, "0.0.0.0", 5353, None),
        held_by(
            socket(Protocol::Tcp, "0.0.0.0", 45000, Some("web")),
            "java",
            format!(
                "/usr/bin/java -Dcom.sun.management.jmxremote -cp {} org.apache.zookeeper.server.quorum.QuorumPeerMain",
                "x".repeat(200)
            )
            .as_bytes(),
        ),
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
                stopped: false,
                detail: String::new(),
                notes: Vec::new(),
            },
            PodStatus {
                pod: "stuck-1".into(),
                owner: owner("Deployment", "stuck"),
                ready: false,
                stopped: true,
                detail: "CrashLoopBackOff".into(),
                notes: Vec::new(),
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

fn keys(observations: Option<Observations>) -> Vec<String> {
    let manifests = manifests();
    let evidence = observations.map(evidence);
    let audit = netaudit::engine::run(&manifests, &Config::default(), evidence.as_ref());
    let mut keys: Vec<String> = audit
        .findings
        .iter()
        .filter(|f| f.check.analysis != Analysis::Static)
        .map(|f| format!("{} {} {}", f.check.id, f.primary().object.name, f.port.unwrap_or(0)))
        .collect();
    keys.sort();
    keys
}

#[test]
fn runtime_rules() {
    assert_eq!(
        keys(Some(observations())),
        [
            "M1 node-agent 9200", // undeclared; 22 is the node's own (baseline) and declared anyway
            "M1 web 5353",        // UDP, bound, undeclared, no owner known
            "M1 web 9090",        // undeclared, held by the sidecar, stable across runs
            "M2 web 20000", // one listener of container web: 20000 in run 1 only, 45000 (ephemeral range 40000-60000) in both
            "M3 web 9999",  // declared, never open
            "M5A admin 7000", // the admin Service targets 7000: nothing listens there
            "M5C web-hl 9999", // the headless Service's cluster port is declared but closed
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
    let stuck: Vec<&PodStatus> = obs.not_ready().collect();
    assert_eq!(stuck.len(), 1);
    assert_eq!(
        (stuck[0].owner.name.as_str(), stuck[0].detail.as_str()),
        ("stuck", "CrashLoopBackOff")
    );
    assert!(!keys(Some(obs)).iter().any(|k| k.contains("stuck")));
}

/// As `netstat -p` does: the container and the process (name and command
/// line, shortened) that hold the socket, in the message and the JSON.
#[test]
fn m1_message_names_the_container_and_process_holding_the_socket() {
    let manifests = manifests();
    let evidence = evidence(observations());
    let audit = netaudit::engine::run(&manifests, &Config::default(), Some(&evidence));
    let m1 = audit
        .findings
        .iter()
        .find(|f| f.check == &checks::M1 && f.port == Some(9090))
        .unwrap();
    assert!(
        m1.message
            .contains("9090/TCP (container `sidecar`, process `telnetd` running `telnetd -F -p 9090`)"),
        "{}",
        m1.message
    );
    assert_eq!(
        m1.processes,
        [ProcessName {
            name: "telnetd".into(),
            command: "telnetd -F -p 9090".into()
        }]
    );
    // A long command line is cut, with an ellipsis.
    let m2 = audit.findings.iter().find(|f| f.check == &checks::M2).unwrap();
    assert_eq!(m2.processes[0].command.chars().count(), ProcessName::MAX_COMMAND);
    assert!(m2.processes[0].command.ends_with('…'), "{}", m2.processes[0].command);
}

#[test]
fn runtime_findings_snapshots_human_and_json() {
    let manifests = manifests();
    let evidence = evidence(observations());
    let audit = netaudit::engine::run(&manifests, &Config::default(), Some(&evidence));
    let human = netaudit::report::human::render(
        &audit,
        &netaudit::report::human::Options {
            color: false,
            width: 100,
        },
    );
    let json = netaudit::report::json::render(&audit).unwrap();
    // Every runtime-only check of the registry shows in these snapshots.
    for check in checks::REGISTRY.iter().filter(|c| c.runtime_only()) {
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

/// `install --probe --flows`: every flow, grouped by destination port, the
/// unanswered one said in the heading and in its row, the DNS's names.
#[test]
fn the_flow_table_lists_every_flow_by_destination() {
    let mut flows = evidence(observations()).probe.flows;
    // A second client of web's port: the port is named on the first row only.
    flows.push(ObservedFlow {
        from: owner("Deployment", "client"),
        process: Some("curl".into()),
        first_seen_ms: 950,
        count: 1,
        origin: None,
        ..flows[0].clone()
    });
    let table = netaudit::report::observed::table(&flows);
    assert!(table.contains("1 never answered"), "{table}");
    insta::assert_snapshot!("flow_table", table);
    assert_eq!(
        netaudit::report::observed::table(&[]),
        "No flow observed: no pod connected to anything while the probe watched.\n"
    );
}
