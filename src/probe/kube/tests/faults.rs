//! The fault matrix of the kube runtime on the mocked API server: each
//! step of a two-run probe fails in turn (the API server answering 500,
//! 409 or 403, or never; helm failing; exec failing). After each, the
//! probe ends with one line saying what failed, and the sandbox namespace
//! is gone, or, when deleting it is what fails, the line says how to
//! remove it. docs/reliability.md has the table.

use super::super::testing::*;
use super::super::{KubeOptions, KubeSandbox};
use super::{deployment_objects, web};
use crate::model::Evidence;
use crate::probe::session::{run_probe, ProbeOptions};
use crate::probe::{Progress, Waiting};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the sandbox waits for one answer in these tests.
const API_TIMEOUT: Duration = Duration::from_millis(300);

/// What goes wrong in one case.
#[derive(Clone)]
enum Injected {
    Api(Fault),
    HelmInstall,
    HelmUninstall,
    Exec,
}

struct Silent;

impl Progress for Silent {
    fn line(&self, _: &str) {}
    fn notice(&self, _: &str) {}
    fn waiting(&self, _: &Waiting, _: Duration, _: Duration) {}
}

struct Outcome {
    result: Result<Evidence, String>,
    namespace_left: bool,
    helm_calls: Vec<String>,
    took: Duration,
}

fn probe_with(injected: &Injected) -> Outcome {
    let runtime = super::super::new_runtime().unwrap();
    let cluster: Shared = Arc::default();
    if let Injected::Api(fault) = injected {
        cluster.lock().unwrap().faults.push(fault.clone());
    }
    let client = mock_client(&runtime, &cluster);
    let helm_calls = Arc::new(Mutex::new(Vec::new()));
    let (mut exec, _) = fake_exec(SANDBOX_NS);
    exec.broken = matches!(injected, Injected::Exec);
    let mut installer = FakeHelm::new(cluster.clone(), deployment_objects, helm_calls.clone());
    installer.fail = matches!(injected, Injected::HelmInstall);
    installer.fail_uninstall = matches!(injected, Injected::HelmUninstall);
    let mut options = KubeOptions::new("shop", "prod", Duration::from_secs(2));
    options.poll_interval = Duration::from_millis(10);
    options.cleanup_wait = Duration::from_millis(100);
    options.api_timeout = API_TIMEOUT;
    options.workloads = vec![web()];
    let mut sandbox = KubeSandbox::with_parts(runtime, client, installer, exec, options);
    sandbox.name = SANDBOX_NS.into();
    let probe_options = ProbeOptions {
        exercise: None,
        tests: None,
        runs: 2,
        timeout: Duration::from_secs(2),
        settle: Duration::ZERO,
        keep: false,
        secrets: Vec::new(),
    };
    let started = Instant::now();
    let result = run_probe(&mut sandbox, &probe_options, Vec::new(), &Silent).map_err(|e| format!("{e:#}"));
    let took = started.elapsed();
    let namespace_left = cluster.lock().unwrap().namespaces.contains_key(SANDBOX_NS);
    let helm_calls = helm_calls.lock().unwrap().clone();
    Outcome {
        result,
        namespace_left,
        helm_calls,
        took,
    }
}

fn fault(method: &'static str, path: &'static str, skip: usize, answer: Answer) -> Injected {
    Injected::Api(Fault {
        method,
        path,
        skip,
        answer,
    })
}

const NAMESPACES: &str = "/api/v1/namespaces";
const SANDBOX: &str = "/api/v1/namespaces/netaudit-shop-test";
const PODS: &str = "/api/v1/namespaces/netaudit-shop-test/pods";
const WEB_POD: &str = "/api/v1/namespaces/netaudit-shop-test/pods/web-5d9f-abcde";

/// A step that fails ends the probe with one line naming it; the namespace
/// is deleted and helm uninstalls what it installed.
#[test]
fn every_failing_step_is_one_line_and_leaves_no_namespace() {
    let answers = [
        Answer::Status(500),
        Answer::Status(409),
        Answer::Status(403),
        Answer::Hang,
    ];
    let mut cases: Vec<(String, Injected, &str)> = Vec::new();
    for answer in answers {
        let shown = format!("{answer:?}");
        let create = fault("POST", NAMESPACES, 0, answer);
        let expected = if answer == Answer::Status(409) {
            // Another's namespace of the same name: never adopted.
            "namespace netaudit-shop-test exists already and is not this sandbox's: not touching it"
        } else {
            "cannot create the sandbox namespace"
        };
        cases.push((format!("install: create namespace, {shown}"), create, expected));
        if answer != Answer::Status(409) {
            let poll = fault("GET", PODS, 0, answer);
            cases.push((format!("readiness, {shown}"), poll, "cannot list the pods of namespace"));
            // The second run's first poll (the first run polls once: its
            // pods are ready at once).
            let poll = fault("GET", PODS, 1, answer);
            cases.push((
                format!("second read, {shown}"),
                poll,
                "cannot list the pods of namespace",
            ));
        }
        let delete = fault("DELETE", WEB_POD, 0, answer);
        let expected = if answer == Answer::Hang {
            "cannot restart the pods: the Kubernetes API server did not answer"
        } else {
            "cannot delete pod web-5d9f-abcde"
        };
        cases.push((format!("restart, {shown}"), delete, expected));
    }
    cases.push((
        "install: helm fails".into(),
        Injected::HelmInstall,
        "helm install failed",
    ));
    cases.push((
        "cleanup: helm uninstall fails".into(),
        Injected::HelmUninstall,
        "helm uninstall failed (cluster-scoped objects of the chart may remain)",
    ));
    for (case, injected, expected) in cases {
        let outcome = probe_with(&injected);
        let message = outcome
            .result
            .err()
            .unwrap_or_else(|| panic!("{case}: the probe succeeded"));
        assert!(message.contains(expected), "{case}: {message}");
        assert!(!message.contains('\n'), "{case}: not one line: {message}");
        if let Injected::Api(Fault {
            answer: Answer::Status(code),
            ..
        }) = injected
        {
            let conflict = code == 409 && expected.contains("exists already");
            assert!(
                conflict || message.contains(&format!("answered {code}")),
                "{case}: {message}"
            );
        }
        if let Injected::Api(Fault {
            answer: Answer::Hang, ..
        }) = injected
        {
            // Each request waits API_TIMEOUT; the restart, which waits for
            // pods to go, its --timeout as well.
            let limit = if case.starts_with("restart") { "2.3s" } else { "300ms" };
            assert!(
                message.contains(&format!("did not answer within {limit}")),
                "{case}: {message}"
            );
        }
        assert!(!outcome.namespace_left, "{case}: the namespace is left");
        // A hanging server costs a step its limit, not the whole --timeout.
        assert!(outcome.took < Duration::from_secs(5), "{case}: took {:?}", outcome.took);
        let installed = outcome.helm_calls.iter().any(|c| c.starts_with("install"));
        let uninstalled = outcome.helm_calls.iter().any(|c| c.starts_with("uninstall"));
        assert_eq!(installed, uninstalled, "{case}: {:?}", outcome.helm_calls);
    }
}

/// When deleting the namespace is what fails, the line says so and how to
/// remove it (`netaudit cleanup` finds it later too).
#[test]
fn a_failing_cleanup_says_how_to_remove_the_namespace() {
    for answer in [Answer::Status(500), Answer::Status(403), Answer::Hang] {
        let outcome = probe_with(&fault("DELETE", SANDBOX, 0, answer));
        let message = outcome.result.expect_err("cleanup failed");
        assert!(
            message.contains("cleaning up failed")
                && message.contains("cannot delete namespace netaudit-shop-test")
                && message.ends_with(
                    "remove the sandbox with: helm uninstall shop -n netaudit-shop-test; kubectl delete namespace netaudit-shop-test"
                ),
            "{answer:?}: {message}"
        );
        assert!(!message.contains('\n'), "{message}");
        assert!(outcome.namespace_left, "{answer:?}");
        assert!(
            outcome.took < Duration::from_secs(5),
            "{answer:?}: took {:?}",
            outcome.took
        );
    }
}

/// Exec failing (the kubelet gone): no pod could be read, so the probe
/// judged nothing, which is an error saying so pod by pod (`probe
/// incomplete`, not a report without runtime findings); the sandbox is
/// removed.
#[test]
fn failing_reads_are_a_probe_incomplete_error_and_the_namespace_is_removed() {
    let outcome = probe_with(&Injected::Exec);
    let message = outcome.result.expect_err("nothing was read");
    assert!(
        message.starts_with("probe incomplete: no pod was probed, so no runtime check judged anything: not read: ")
            && message.contains("connection reset by the kubelet"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
    assert!(!outcome.namespace_left);
    // Nothing read in run 1 and nothing restarted for a run 2.
    assert_eq!(outcome.helm_calls.len(), 2, "{:?}", outcome.helm_calls);
}
