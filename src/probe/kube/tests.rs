//! The kube sandbox against the fake API server of [`super::testing`].

mod faults;
mod versions;

use super::installer::HelmInstaller;
use super::sandbox::{KubeOptions, KubeSandbox};
use super::testing::*;
use super::{new_runtime, reader, DEFAULT_PROBE_IMAGE};
use crate::model::{Protocol, WorkloadRef};
use crate::probe::naming::{MANAGED_BY, MANAGED_BY_LABEL, OWNER_KEY, RELEASE_KEY, SANDBOX_LABEL};
use crate::probe::session::{run_probe, ProbeOptions};
use crate::probe::{Progress, Sandbox};
use crate::source::helm::{Helm, RenderRequest};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Harness {
    sandbox: KubeSandbox<FakeHelm, FakeExec>,
    cluster: Shared,
    helm_calls: Arc<Mutex<Vec<String>>>,
    exec_calls: Arc<Mutex<Vec<String>>>,
}

fn harness(objects: fn(&mut Cluster), fail_install: bool) -> Harness {
    harness_expecting(objects, fail_install, Vec::new())
}

/// A harness whose sandbox expects a pod of each of `workloads` (what the
/// rendered chart says should run).
fn harness_expecting(objects: fn(&mut Cluster), fail_install: bool, workloads: Vec<WorkloadRef>) -> Harness {
    let runtime = new_runtime().unwrap();
    let cluster: Shared = Arc::default();
    let client = mock_client(&runtime, &cluster);
    let helm_calls = Arc::new(Mutex::new(Vec::new()));
    let (exec, exec_calls) = fake_exec(SANDBOX_NS);
    let mut installer = FakeHelm::new(cluster.clone(), objects, helm_calls.clone());
    installer.fail = fail_install;
    let mut options = KubeOptions::new("shop", "prod", Duration::from_secs(5));
    options.poll_interval = Duration::from_millis(10);
    options.cleanup_wait = Duration::from_millis(100);
    options.workloads = workloads;
    let mut sandbox = KubeSandbox::with_parts(runtime, client, installer, exec, options);
    sandbox.name = SANDBOX_NS.into();
    Harness {
        sandbox,
        cluster,
        helm_calls,
        exec_calls,
    }
}

pub(super) fn deployment_objects(cluster: &mut Cluster) {
    cluster.replica_sets.push(json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-5d9f", "namespace": SANDBOX_NS, "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d", "controller": true}
        ]},
    }));
    cluster.pods.push(pod(
        "web-5d9f-abcde",
        Some(("ReplicaSet", "web-5d9f")),
        true,
        &["app", "sidecar"],
    ));
    cluster
        .pods
        .push(pod("db-0", Some(("StatefulSet", "db")), true, &["app"]));
    // A finished Job's pod: not waited for, not probed.
    cluster
        .pods
        .push(pod("migrate-x", Some(("Job", "migrate")), false, &["m"]));
}

pub(super) fn web() -> WorkloadRef {
    WorkloadRef {
        kind: "Deployment".into(),
        namespace: "prod".into(),
        name: "web".into(),
    }
}

#[test]
fn happy_path_installs_probes_restarts_and_cleans_up() {
    let mut h = harness(deployment_objects, false);
    h.sandbox.install().unwrap();
    let namespace = h.cluster.lock().unwrap().namespaces[SANDBOX_NS].clone();
    assert_eq!(namespace["metadata"]["labels"][MANAGED_BY_LABEL], MANAGED_BY);
    assert_eq!(namespace["metadata"]["labels"][SANDBOX_LABEL], SANDBOX_NS);
    // What `netaudit cleanup` needs after a run that could not clean up.
    assert_eq!(namespace["metadata"]["annotations"][RELEASE_KEY], "shop");
    assert_eq!(
        namespace["metadata"]["annotations"][OWNER_KEY].as_str(),
        Some(crate::probe::naming::owner().as_str())
    );
    assert_eq!(*h.helm_calls.lock().unwrap(), [format!("install {SANDBOX_NS}")]);

    let statuses = h.sandbox.wait_ready(Duration::from_secs(5), &mut |_| {}).unwrap();
    let summary: Vec<(String, WorkloadRef, bool)> = statuses
        .iter()
        .map(|s| (s.pod.clone(), s.owner.clone(), s.ready))
        .collect();
    let db = WorkloadRef {
        kind: "StatefulSet".into(),
        namespace: "prod".into(),
        name: "db".into(),
    };
    assert_eq!(
        summary,
        [
            ("db-0".to_string(), db.clone(), true),
            ("web-5d9f-abcde".to_string(), web(), true)
        ]
    );

    let run = h.sandbox.probe().unwrap();
    assert_eq!(run.len(), 2);
    let web_pod = run.iter().find(|p| p.owner == web()).unwrap();
    assert_eq!(web_pod.pod, "web-5d9f-abcde");
    assert_eq!(web_pod.ephemeral_range, (50000, 50999));
    assert!(!web_pod.host_network);
    let holder = |port: u16, protocol: Protocol| {
        web_pod
            .sockets
            .iter()
            .find(|s| s.socket.port == port && s.socket.protocol == protocol)
            .map(|s| s.container.clone())
    };
    assert_eq!(holder(8081, Protocol::Tcp), Some(Some("app".into())));
    assert_eq!(holder(8082, Protocol::Tcp), Some(Some("app".into())));
    let by_inode = |inode: u64| web_pod.sockets.iter().find(|s| s.socket.inode == inode).unwrap();
    assert_eq!(
        by_inode(105894).container,
        None,
        "udp6 [::]:9001 is held by nobody we saw"
    );
    assert_eq!(holder(8083, Protocol::Tcp), Some(None));
    assert_eq!(
        by_inode(105890).container.as_deref(),
        Some("sidecar"),
        "udp 0.0.0.0:9001"
    );
    // Every open socket of the capture (loopback included), none of the others.
    assert_eq!(web_pod.sockets.len(), 14);
    assert_eq!(
        *h.exec_calls.lock().unwrap(),
        ["db-0/app", "web-5d9f-abcde/app", "web-5d9f-abcde/sidecar"]
    );

    h.sandbox.restart().unwrap();
    let log = h.cluster.lock().unwrap().log.clone();
    assert!(log.contains(&format!("DELETE /api/v1/namespaces/{SANDBOX_NS}/pods/web-5d9f-abcde")));
    assert!(log.contains(&format!("DELETE /api/v1/namespaces/{SANDBOX_NS}/pods/db-0")));
    // (the fake has no StatefulSet controller: put db-0 back by hand,
    // ready, same name, new uid)
    let mut db_again = pod("db-0", Some(("StatefulSet", "db")), true, &["app"]);
    db_again["metadata"]["uid"] = json!("uid-db-0-again");
    h.cluster.lock().unwrap().pods.push(db_again);
    let statuses = h.sandbox.wait_ready(Duration::from_secs(5), &mut |_| {}).unwrap();
    let pods: Vec<&str> = statuses.iter().map(|s| s.pod.as_str()).collect();
    assert_eq!(pods, ["db-0", "web-5d9f-new1"]);
    assert!(statuses.iter().all(|s| s.ready));
    let run = h.sandbox.probe().unwrap();
    assert!(run.iter().any(|p| p.pod == "web-5d9f-new1" && p.owner == web()));

    h.sandbox.cleanup().unwrap();
    assert_eq!(
        *h.helm_calls.lock().unwrap(),
        [format!("install {SANDBOX_NS}"), format!("uninstall {SANDBOX_NS}")]
    );
    assert!(h.cluster.lock().unwrap().namespaces.is_empty());
    // Idempotent: a second cleanup does nothing.
    let requests = h.cluster.lock().unwrap().log.len();
    h.sandbox.cleanup().unwrap();
    assert_eq!(h.cluster.lock().unwrap().log.len(), requests);
}

fn crashing_objects(cluster: &mut Cluster) {
    deployment_objects(cluster);
    let mut broken = pod("api-7c-xyz", Some(("ReplicaSet", "api-7c")), false, &["api"]);
    broken["metadata"]["labels"]["pod-template-hash"] = json!("7c");
    broken["status"]["conditions"][0]["reason"] = json!("ContainersNotReady");
    broken["status"]["containerStatuses"] = json!([{
        "name": "api", "ready": false, "restartCount": 4, "image": "img", "imageID": "",
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
        "lastState": {"terminated": {"reason": "Error", "exitCode": 1}},
    }]);
    cluster.pods.push(broken);
    cluster.events.push(json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "api.1", "namespace": SANDBOX_NS},
        "involvedObject": {"kind": "Pod", "name": "api-7c-xyz"},
        "reason": "BackOff", "message": "Back-off restarting failed container api",
        "lastTimestamp": "2026-01-01T00:00:02Z",
    }));
    cluster.events.push(json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "api.0", "namespace": SANDBOX_NS},
        "involvedObject": {"kind": "Pod", "name": "api-7c-xyz"},
        "reason": "Started", "message": "Started container api",
        "lastTimestamp": "2026-01-01T00:00:01Z",
    }));
}

#[test]
fn a_crash_looping_pod_ends_the_wait_at_once_in_one_short_line() {
    let mut h = harness(crashing_objects, false);
    h.sandbox.install().unwrap();
    // CrashLoopBackOff after 4 restarts: stopped for good, so the first
    // poll ends the wait (not the 10 minutes).
    let mut polls = Vec::new();
    let statuses = h
        .sandbox
        .wait_ready(Duration::from_secs(600), &mut |state| polls.push(state.clone()))
        .unwrap();
    assert_eq!(polls.len(), 1, "{polls:?}");
    assert_eq!((polls[0].ready, polls[0].total, polls[0].stopped), (2, 3, 1));
    let broken = statuses.iter().find(|s| s.pod == "api-7c-xyz").unwrap();
    assert!(!broken.ready && broken.stopped);
    // No readable ReplicaSet: the Deployment comes from pod-template-hash.
    assert_eq!(
        broken.owner,
        WorkloadRef {
            kind: "Deployment".into(),
            namespace: "prod".into(),
            name: "api".into()
        }
    );
    // Why, once: not the phase, conditions and events that say it again.
    assert_eq!(
        broken.detail,
        "container api CrashLoopBackOff (4 restarts, last exit code 1); last log line: boom: port in use"
    );
    assert_eq!(statuses.iter().filter(|s| s.ready).count(), 2);
    // Only ready pods are probed.
    let run = h.sandbox.probe().unwrap();
    assert!(run.iter().all(|p| p.pod != "api-7c-xyz"));
    h.sandbox.cleanup().unwrap();
}

/// A pod that runs but whose readiness probe never passes is not stopped:
/// the wait goes on to --timeout, and the pod is reported with everything
/// that may say why (phase, conditions, containers, events, logs).
#[test]
fn a_pod_that_runs_but_never_gets_ready_is_reported_with_status_events_and_logs() {
    fn unready_objects(cluster: &mut Cluster) {
        let mut unready = pod("api-7c-xyz", Some(("ReplicaSet", "api-7c")), false, &["api"]);
        unready["metadata"]["labels"]["pod-template-hash"] = json!("7c");
        unready["status"]["phase"] = json!("Running");
        unready["status"]["conditions"][0]["reason"] = json!("ContainersNotReady");
        unready["status"]["containerStatuses"] = json!([{
            "name": "api", "ready": false, "restartCount": 0, "image": "img", "imageID": "",
            "state": {"running": {}},
        }]);
        cluster.pods.push(unready);
        cluster.events.push(event(
            "api-7c-xyz",
            2,
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 404",
        ));
        cluster
            .events
            .push(event("api-7c-xyz", 1, "Started", "Started container api"));
    }
    let mut h = harness(unready_objects, false);
    h.sandbox.install().unwrap();
    let statuses = h.sandbox.wait_ready(Duration::from_millis(200), &mut |_| {}).unwrap();
    let unready = &statuses[0];
    assert!(!unready.ready && !unready.stopped);
    for part in [
        "phase Running",
        "Ready=False (ContainersNotReady)",
        "container api: running, not ready",
        "last events: Started: Started container api; Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 404",
        "last log lines of api: starting | boom: port in use",
    ] {
        assert!(unready.detail.contains(part), "{part:?} not in {:?}", unready.detail);
    }
    h.sandbox.cleanup().unwrap();
}

/// The kubelet's events of an image that cannot be pulled, as 1.20 says
/// them: the pull error twice, then the back-off.
fn pull_events(cluster: &mut Cluster, pod: &str) {
    let image = "localhost/netaudit-no-such-image:1.0";
    cluster
        .events
        .push(event(pod, 1, "Scheduled", "Successfully assigned x to localhost"));
    cluster
        .events
        .push(event(pod, 2, "Pulling", &format!("Pulling image \"{image}\"")));
    cluster.events.push(event(
        pod,
        3,
        "Failed",
        &format!("Failed to pull image \"{image}\": {PULL_ERROR}"),
    ));
    cluster.events.push(event(pod, 4, "Failed", "Error: ErrImagePull"));
    cluster
        .events
        .push(event(pod, 5, "BackOff", &format!("Back-off pulling image \"{image}\"")));
    cluster.events.push(event(pod, 6, "Failed", "Error: ImagePullBackOff"));
}

/// One pod whose image cannot be pulled (ErrImagePull), with the kubelet's events.
fn unpullable(cluster: &mut Cluster) {
    let image = "localhost/netaudit-no-such-image:1.0";
    cluster
        .pods
        .push(waiting_pod("web-5d9f-abcde", image, "ErrImagePull", PULL_ERROR));
    pull_events(cluster, "web-5d9f-abcde");
}

#[test]
fn an_image_that_cannot_be_pulled_ends_the_wait_at_once_in_one_short_line() {
    let mut h = harness_expecting(unpullable, false, vec![web()]);
    h.sandbox.install().unwrap();
    let mut polls = 0;
    let statuses = h
        .sandbox
        .wait_ready(Duration::from_secs(600), &mut |_| polls += 1)
        .unwrap();
    assert_eq!(polls, 1);
    let detail = &statuses[0].detail;
    assert!(statuses[0].stopped);
    assert_eq!(
        detail,
        "container app: image localhost/netaudit-no-such-image:1.0 cannot be pulled (ErrImagePull: failed to do \
         request: Head \"https://localhost/v2/netaudit-no-such-image/manifests/1.0\": dial tcp 127.0.0.1:443: \
         connect: connection refused)"
    );
    // The kubelet's message once, not four times.
    assert_eq!(detail.matches("connection refused").count(), 1);
    h.sandbox.cleanup().unwrap();
}

#[test]
fn an_image_pull_back_off_takes_the_pull_error_from_the_last_failed_event() {
    fn backing_off(cluster: &mut Cluster) {
        let image = "localhost/netaudit-no-such-image:1.0";
        let message = format!("Back-off pulling image \"{image}\"");
        cluster
            .pods
            .push(waiting_pod("web-5d9f-abcde", image, "ImagePullBackOff", &message));
        pull_events(cluster, "web-5d9f-abcde");
    }
    let mut h = harness(backing_off, false);
    h.sandbox.install().unwrap();
    let statuses = h.sandbox.wait_ready(Duration::from_secs(600), &mut |_| {}).unwrap();
    assert_eq!(
        statuses[0].detail,
        "container app: image localhost/netaudit-no-such-image:1.0 cannot be pulled (ImagePullBackOff: failed to do \
         request: Head \"https://localhost/v2/netaudit-no-such-image/manifests/1.0\": dial tcp 127.0.0.1:443: \
         connect: connection refused)"
    );
    h.sandbox.cleanup().unwrap();
}

/// The whole probe on the mocked API: an unpullable image in run 1 ends
/// the wait, nothing is probed or restarted, the namespace goes, and the
/// probe is an error naming the pod.
#[test]
fn an_unpullable_image_is_a_probe_incomplete_error_without_a_second_run() {
    let mut h = harness_expecting(unpullable, false, vec![web()]);
    let options = ProbeOptions {
        exercise: None,
        tests: None,
        runs: 2,
        timeout: Duration::from_secs(600),
        settle: Duration::ZERO,
        keep: false,
        secrets: Vec::new(),
    };
    let lines = std::cell::RefCell::new(Vec::new());
    let error = run_probe(&mut h.sandbox, &options, Vec::new(), &Lines(&lines)).unwrap_err();
    let message = format!("{error:#}");
    assert_eq!(
        message,
        "probe incomplete: no pod was probed, so no runtime check judged anything: pod web-5d9f-abcde (Deployment \
         `web`) stopped for good: container app: image localhost/netaudit-no-such-image:1.0 cannot be pulled \
         (ErrImagePull: failed to do request: Head \"https://localhost/v2/netaudit-no-such-image/manifests/1.0\": \
         dial tcp 127.0.0.1:443: connect: connection refused)"
    );
    let log = h.cluster.lock().unwrap().log.clone();
    assert!(
        !log.iter()
            .any(|l| l.starts_with("DELETE /api/v1/namespaces/netaudit-shop-test/pods")),
        "{log:?}"
    );
    assert!(h.exec_calls.lock().unwrap().is_empty(), "nothing is read");
    assert!(h.cluster.lock().unwrap().namespaces.is_empty());
    let lines = lines.borrow();
    assert!(!lines.iter().any(|l| l.contains("run 2")), "{lines:?}");
}

/// Progress lines, written down.
struct Lines<'l>(&'l std::cell::RefCell<Vec<String>>);

impl Progress for Lines<'_> {
    fn line(&self, message: &str) {
        self.0.borrow_mut().push(message.into());
    }
    fn notice(&self, message: &str) {
        self.0.borrow_mut().push(message.into());
    }
    fn waiting(&self, _: &crate::probe::Waiting, _: Duration, _: Duration) {}
}

#[test]
fn a_workload_without_any_pod_is_incomplete_not_zero_of_zero() {
    let api = WorkloadRef {
        kind: "Deployment".into(),
        namespace: "prod".into(),
        name: "api".into(),
    };
    let mut h = harness_expecting(deployment_objects, false, vec![web(), api.clone()]);
    h.sandbox.install().unwrap();
    let mut totals = Vec::new();
    let statuses = h
        .sandbox
        .wait_ready(Duration::from_millis(200), &mut |state| totals.push(state.total))
        .unwrap();
    // Two pods there, one workload still without a pod: 3 to wait for.
    assert!(totals.iter().all(|t| *t == 3), "{totals:?}");
    let missing = statuses.iter().find(|s| s.owner == api).unwrap();
    assert_eq!(missing.pod, "api (no pod)");
    assert!(!missing.ready && !missing.stopped);
    assert!(
        missing
            .detail
            .starts_with("no pod of Deployment/prod/api appeared within --timeout"),
        "{}",
        missing.detail
    );
    h.sandbox.cleanup().unwrap();
}

#[test]
fn a_failing_install_is_an_error_and_cleanup_still_deletes_the_namespace() {
    let mut h = harness(deployment_objects, true);
    let error = h.sandbox.install().unwrap_err();
    assert!(format!("{error:#}").contains("chart is broken"), "{error:#}");
    assert!(h.cluster.lock().unwrap().namespaces.contains_key(SANDBOX_NS));
    h.sandbox.cleanup().unwrap();
    assert!(h.cluster.lock().unwrap().namespaces.is_empty());
    let log = h.cluster.lock().unwrap().log.clone();
    assert!(log.contains(&format!("DELETE /api/v1/namespaces/{SANDBOX_NS}")));
    assert_eq!(
        *h.helm_calls.lock().unwrap(),
        [format!("install {SANDBOX_NS}"), format!("uninstall {SANDBOX_NS}")]
    );
}

#[test]
fn cleanup_refuses_a_namespace_without_our_label() {
    let mut h = harness(deployment_objects, true);
    assert!(h.sandbox.install().is_err());
    // Someone relabelled it (or it is not ours after all).
    h.cluster.lock().unwrap().namespaces.get_mut(SANDBOX_NS).unwrap()["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove(MANAGED_BY_LABEL);
    let error = h.sandbox.cleanup().unwrap_err();
    assert!(
        format!("{error:#}").contains("refusing to delete namespace"),
        "{error:#}"
    );
    assert!(h.cluster.lock().unwrap().namespaces.contains_key(SANDBOX_NS));
    assert!(!h.cluster.lock().unwrap().log.iter().any(|l| l.starts_with("DELETE")));
    assert!(h
        .sandbox
        .removal_hint()
        .contains(&format!("kubectl delete namespace {SANDBOX_NS}")));
}

#[test]
fn a_namespace_that_exists_already_is_never_touched() {
    let mut h = harness(deployment_objects, false);
    h.cluster
        .lock()
        .unwrap()
        .namespaces
        .insert(SANDBOX_NS.into(), json!({"metadata": {"name": SANDBOX_NS}}));
    let error = h.sandbox.install().unwrap_err();
    assert!(format!("{error:#}").contains("exists already"), "{error:#}");
    assert!(h.helm_calls.lock().unwrap().is_empty(), "helm never ran");
    h.sandbox.cleanup().unwrap();
    let log = h.cluster.lock().unwrap().log.clone();
    assert_eq!(log, ["POST /api/v1/namespaces"]);
    assert!(h.cluster.lock().unwrap().namespaces.contains_key(SANDBOX_NS));
}

fn distroless_objects(cluster: &mut Cluster) {
    cluster.pods.push(pod("static", None, true, &["distroless"]));
}

#[test]
fn a_container_without_a_shell_is_read_from_an_ephemeral_debug_container() {
    let mut h = harness(distroless_objects, false);
    h.sandbox.install().unwrap();
    let statuses = h.sandbox.wait_ready(Duration::from_secs(5), &mut |_| {}).unwrap();
    // A bare pod is its own workload.
    assert_eq!(
        statuses[0].owner,
        WorkloadRef {
            kind: "Pod".into(),
            namespace: "prod".into(),
            name: "static".into()
        }
    );
    let run = h.sandbox.probe().unwrap();
    let held: Vec<(u64, Option<String>)> = run[0]
        .sockets
        .iter()
        .filter(|s| s.container.is_some())
        .map(|s| (s.socket.inode, s.container.clone()))
        .collect();
    // Attributed to the target container, not to the debug container.
    assert_eq!(held, [(105885, Some("distroless".to_string()))]);
    assert_eq!(
        *h.exec_calls.lock().unwrap(),
        ["static/distroless", "static/netaudit-probe-distroless"]
    );
    let cluster = h.cluster.lock().unwrap();
    let debug = &cluster.pods[0]["spec"]["ephemeralContainers"][0];
    assert_eq!(debug["image"], DEFAULT_PROBE_IMAGE);
    assert_eq!(debug["targetContainerName"], "distroless");
    assert_eq!(debug["securityContext"]["capabilities"]["add"][0], "SYS_PTRACE");
}

/// A web Deployment's pod and a bare pod without a shell.
fn web_and_distroless_objects(cluster: &mut Cluster) {
    deployment_objects(cluster);
    distroless_objects(cluster);
    cluster.no_ephemeral_containers = true;
}

#[test]
fn without_ephemeral_containers_a_shell_less_pod_is_not_probed_and_the_rest_is() {
    let mut h = harness(web_and_distroless_objects, false);
    h.sandbox.install().unwrap();
    h.sandbox.wait_ready(Duration::from_secs(5), &mut |_| {}).unwrap();
    let run = h.sandbox.probe().expect("one unreadable pod does not abort the probe");
    let pods: Vec<&str> = run.iter().map(|p| p.pod.as_str()).collect();
    assert_eq!(pods, ["db-0", "web-5d9f-abcde"]);
    let notes = h.sandbox.notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0]
            == "not probed: Pod `static` (pod static): container distroless: its image has no shell (`sh` not found), \
and no debug container with busybox:1.36 could be added: this cluster does not serve ephemeral containers \
(the API answers 404 to pods/ephemeralcontainers; Kubernetes has them on by default from 1.23)",
        "{}",
        notes[0]
    );
    // Taken once.
    assert!(h.sandbox.notes().is_empty());
    h.sandbox.cleanup().unwrap();
}

#[test]
fn cleanup_waits_a_bounded_time_for_the_namespace_and_says_when_it_lingers() {
    fn lingering(cluster: &mut Cluster) {
        deployment_objects(cluster);
        cluster.namespaces_linger = true;
    }
    let mut h = harness(deployment_objects, false);
    h.sandbox.install().unwrap();
    h.sandbox.cleanup().unwrap();
    // Gone at once: nothing to say.
    assert!(h.sandbox.notes().is_empty());

    let mut h = harness(lingering, false);
    h.sandbox.install().unwrap();
    h.sandbox.cleanup().unwrap();
    let notes = h.sandbox.notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("is deleted but still terminating"), "{}", notes[0]);
    // It polled the namespace until the bound, then stopped.
    let gets = h
        .cluster
        .lock()
        .unwrap()
        .log
        .iter()
        .filter(|l| *l == &format!("GET /api/v1/namespaces/{SANDBOX_NS}"))
        .count();
    assert!(gets > 2, "{gets}");
}

#[test]
fn restart_recreates_a_bare_pod_from_its_spec() {
    let mut h = harness(distroless_objects, false);
    h.sandbox.install().unwrap();
    h.sandbox.wait_ready(Duration::from_secs(5), &mut |_| {}).unwrap();
    h.sandbox.probe().unwrap();
    h.sandbox.restart().unwrap();
    {
        let cluster = h.cluster.lock().unwrap();
        let path = format!("/api/v1/namespaces/{SANDBOX_NS}/pods");
        let expected = [format!("DELETE {path}/static"), format!("POST {path}")];
        let tail: Vec<&String> = cluster
            .log
            .iter()
            .filter(|l| l.starts_with("DELETE") || l.starts_with("POST /api/v1/namespaces/"))
            .collect();
        assert_eq!(tail, expected.iter().collect::<Vec<_>>());
        let again = &cluster.pods[0];
        assert_eq!(again["metadata"]["name"], "static");
        // The debug container of run one is not carried over.
        assert!(again["spec"].get("ephemeralContainers").is_none());
    }
    let statuses = h.sandbox.wait_ready(Duration::from_secs(5), &mut |_| {}).unwrap();
    assert_eq!(statuses.len(), 1);
    assert!(statuses[0].ready);
    h.sandbox.cleanup().unwrap();
}

#[test]
fn reader_output_parsing() {
    let reading = reader::parse_reading(&reader_output(&[105877])).unwrap().unwrap();
    assert_eq!(reading.ephemeral_range, Some((50000, 50999)));
    assert_eq!(reading.socket_inodes, BTreeSet::from([105877]));
    assert_eq!(
        reading.socket_processes.get(&105877),
        Some(&crate::model::ProcessName {
            name: "nginx".into(),
            command: "nginx: master process /usr/sbin/nginx -g daemon off;".into()
        })
    );
    assert_eq!(reading.sockets.len(), 14);
    // No shell: nothing, or a partial run, is "no reading" (debug container next).
    assert_eq!(reader::parse_reading("").unwrap(), None);
    assert_eq!(reader::parse_reading("@@netaudit tcp\n").unwrap(), None);
    assert!(reader::parse_reading("@@netaudit tcp\nnot a table\n@@netaudit end\n").is_err());
}

#[test]
fn helm_install_command_line() {
    let helm = Helm { bin: "helm".into() };
    let request = RenderRequest {
        release: Some("shop".into()),
        chart: "./chart".into(),
        namespace: "prod".into(),
        values: vec!["v.yaml".into()],
        set: vec!["a=b".into()],
        kube_version: Some("1.30".into()),
        ..Default::default()
    };
    let mut installer = HelmInstaller::from_request(&helm, &request);
    installer.kube_context = Some("kind".into());
    installer.extra_args = vec!["--server-side=false".into()];
    let args: Vec<String> = installer
        .install_args("netaudit-shop-1", Duration::from_secs(300))
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        args.join(" "),
        "install shop ./chart --values v.yaml --set a=b --namespace netaudit-shop-1 --timeout 300s --kube-context kind --server-side=false"
    );
}

/// Against a real cluster (current context; needs helm and the RBAC in
/// docs/kube-rbac.md): `NETAUDIT_KUBE_CHART=./chart cargo test --lib
/// probe::kube::tests::real_cluster -- --ignored`. Not run in CI: there
/// is no cluster here.
#[test]
#[ignore]
fn real_cluster() {
    let chart = std::env::var("NETAUDIT_KUBE_CHART").expect("set NETAUDIT_KUBE_CHART");
    let helm = Helm::locate().unwrap();
    let request = RenderRequest {
        release: Some("netaudit-e2e".into()),
        chart,
        namespace: "default".into(),
        ..Default::default()
    };
    let installer = HelmInstaller::from_request(&helm, &request);
    let options = KubeOptions::new("netaudit-e2e", "default", Duration::from_secs(300));
    let mut sandbox = KubeSandbox::connect(installer, options, &|line| eprintln!("{line}")).unwrap();
    let probe_options = crate::probe::session::ProbeOptions {
        exercise: None,
        tests: None,
        runs: 2,
        timeout: Duration::from_secs(300),
        settle: Duration::from_secs(2),
        keep: false,
        secrets: Vec::new(),
    };
    struct Stderr;
    impl crate::probe::Progress for Stderr {
        fn line(&self, message: &str) {
            eprintln!("{message}");
        }
        fn notice(&self, message: &str) {
            eprintln!("{message}");
        }
        fn waiting(&self, state: &crate::probe::Waiting, _: Duration, _: Duration) {
            eprintln!("{state:?}");
        }
    }
    let observations = crate::probe::session::run_probe(&mut sandbox, &probe_options, Vec::new(), &Stderr).unwrap();
    assert_eq!(observations.observations.runs.len(), 2);
}
