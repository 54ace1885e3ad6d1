//! An in-memory fake API server (a `tower_test` mock service), a fake
//! installer and a fake exec: the kube backend's tests need no cluster.

use super::exec::{ExecOutput, ExecTarget, LineSink, PodExec};
use super::installer::{InstallOutcome, Installer};
use anyhow::{bail, Result};
use futures::future::BoxFuture;
use http::{Request, Response};
use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const SANDBOX_NS: &str = "netaudit-shop-test";

/// The cluster's state as the fake API server keeps it.
#[derive(Default)]
pub(crate) struct Cluster {
    pub(crate) namespaces: BTreeMap<String, Value>,
    pub(crate) pods: Vec<Value>,
    pub(crate) replica_sets: Vec<Value>,
    pub(crate) events: Vec<Value>,
    /// "METHOD path" of every request.
    pub(crate) log: Vec<String>,
    /// The API server has no ephemeral containers (Kubernetes 1.20 without
    /// the alpha feature): their subresource is not found.
    pub(crate) no_ephemeral_containers: bool,
    /// Deleted namespaces stay, terminating (their pods shutting down).
    pub(crate) namespaces_linger: bool,
    /// Replacement pods made so far (for unique names).
    generation: usize,
    /// Requests answered with a fault instead of the state.
    pub(crate) faults: Vec<Fault>,
    /// What `/version` answers (major, minor, gitVersion); 1.20.2 when not set.
    pub(crate) version: Option<(&'static str, &'static str, &'static str)>,
}

/// How a faulty API server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// This status code (500, 409, 403, …).
    Status(u16),
    /// Never (the request hangs, as behind a dead load balancer).
    Hang,
}

/// Every request `METHOD` to a path ending in `path`, after the first
/// `skip` of them, gets `answer`.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) skip: usize,
    pub(crate) answer: Answer,
}

pub(crate) type Shared = Arc<Mutex<Cluster>>;

fn status(code: u16, reason: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": reason, "reason": reason, "code": code}),
    )
}

/// The reason Kubernetes gives with a status code.
fn fault_reason(code: u16) -> &'static str {
    match code {
        403 => "Forbidden",
        409 => "Conflict",
        500 => "InternalError",
        _ => "Unknown",
    }
}

fn list(kind: &str, items: Vec<Value>) -> (u16, Value) {
    (
        200,
        json!({"apiVersion": "v1", "kind": kind, "metadata": {}, "items": items}),
    )
}

fn name_of(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or("")
}

pub(crate) fn pod(name: &str, owner: Option<(&str, &str)>, ready: bool, containers: &[&str]) -> Value {
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": SANDBOX_NS, "uid": format!("uid-{name}"), "labels": {"pod-template-hash": "5d9f"}},
        "spec": {"containers": containers.iter().map(|c| json!({"name": c, "image": "img"})).collect::<Vec<_>>()},
        "status": {
            "phase": if ready { "Running" } else { "Pending" },
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
        },
    });
    if let Some((kind, owner_name)) = owner {
        pod["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "apps/v1", "kind": kind, "name": owner_name, "uid": "u", "controller": true
        }]);
    }
    pod
}

/// What the kubelet 1.20 with containerd 1.6 says of an image on a
/// registry that refuses the connection (`localhost`, nothing listening).
pub(crate) const PULL_ERROR: &str = "rpc error: code = Unknown desc = failed to pull and unpack image \
    \"localhost/netaudit-no-such-image:1.0\": failed to resolve reference \"localhost/netaudit-no-such-image:1.0\": \
    failed to do request: Head \"https://localhost/v2/netaudit-no-such-image/manifests/1.0\": dial tcp \
    127.0.0.1:443: connect: connection refused";

/// A pod of a Deployment whose container `app` waits for good, as the
/// kubelet 1.20 says it: `reason` (ErrImagePull, ImagePullBackOff, …) and
/// `message`, with its image `image`.
pub(crate) fn waiting_pod(name: &str, image: &str, reason: &str, message: &str) -> Value {
    let mut pod = pod(name, Some(("ReplicaSet", "web-5d9f")), false, &["app"]);
    pod["spec"]["containers"][0]["image"] = json!(image);
    pod["status"]["conditions"][0]["reason"] = json!("ContainersNotReady");
    pod["status"]["conditions"][0]["message"] = json!("containers with unready status: [app]");
    pod["status"]["containerStatuses"] = json!([{
        "name": "app", "ready": false, "restartCount": 0, "image": image, "imageID": "",
        "state": {"waiting": {"reason": reason, "message": message}},
    }]);
    pod
}

/// An event of the pod `pod`, at second `second` of the test's day.
pub(crate) fn event(pod: &str, second: u32, reason: &str, message: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{pod}.{second}"), "namespace": SANDBOX_NS},
        "involvedObject": {"kind": "Pod", "name": pod},
        "reason": reason, "message": message,
        "lastTimestamp": format!("2026-01-01T00:00:{second:02}Z"),
    })
}

impl Cluster {
    /// The answer to one request: `None` never comes (a hanging server).
    fn answer(&mut self, method: &str, path: &str, query: &str, body: &[u8]) -> Option<(u16, Value)> {
        self.log.push(format!("{method} {path}"));
        if let Some(fault) = self
            .faults
            .iter_mut()
            .find(|f| f.method == method && path.ends_with(f.path))
        {
            if fault.skip > 0 {
                fault.skip -= 1;
            } else {
                return match fault.answer {
                    Answer::Status(code) => Some(status(code, fault_reason(code))),
                    Answer::Hang => None,
                };
            }
        }
        Some(self.handle(method, path, query, body))
    }

    fn handle(&mut self, method: &str, path: &str, query: &str, body: &[u8]) -> (u16, Value) {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            ("GET", ["version"]) => {
                let (major, minor, git) = self.version.unwrap_or(("1", "20", "v1.20.2"));
                (
                    200,
                    json!({"major": major, "minor": minor, "gitVersion": git, "gitCommit": "", "gitTreeState": "clean",
                        "buildDate": "", "goVersion": "go1.15", "compiler": "gc", "platform": "linux/amd64"}),
                )
            }
            ("POST", ["api", "v1", "namespaces"]) => {
                let namespace: Value = serde_json::from_slice(body).unwrap();
                let name = name_of(&namespace).to_string();
                if self.namespaces.contains_key(&name) {
                    return status(409, "AlreadyExists");
                }
                self.namespaces.insert(name, namespace.clone());
                (201, namespace)
            }
            ("GET", ["api", "v1", "namespaces", ns]) => match self.namespaces.get(*ns) {
                Some(namespace) => (200, namespace.clone()),
                None => status(404, "NotFound"),
            },
            ("DELETE", ["api", "v1", "namespaces", ns]) if self.namespaces_linger => match self.namespaces.get_mut(*ns)
            {
                Some(namespace) => {
                    namespace["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
                    (200, namespace.clone())
                }
                None => status(404, "NotFound"),
            },
            ("DELETE", ["api", "v1", "namespaces", ns]) => match self.namespaces.remove(*ns) {
                Some(namespace) => (200, namespace),
                None => status(404, "NotFound"),
            },
            ("GET", ["api", "v1", "namespaces", _, "pods"]) => list("PodList", self.pods.clone()),
            // The sandbox reads them to name flows: none here.
            ("GET", ["api", "v1", "namespaces", _, "services"]) => list("ServiceList", Vec::new()),
            ("GET", ["api", "v1", "namespaces", _, "endpoints"]) => list("EndpointsList", Vec::new()),
            ("GET", ["api", "v1", "namespaces", _, "pods", name]) => {
                match self.pods.iter().find(|p| name_of(p) == *name) {
                    Some(pod) => (200, pod.clone()),
                    None => status(404, "NotFound"),
                }
            }
            ("DELETE", ["api", "v1", "namespaces", _, "pods", name]) => {
                let Some(index) = self.pods.iter().position(|p| name_of(p) == *name) else {
                    return status(404, "NotFound");
                };
                let old = self.pods.remove(index);
                // The ReplicaSet controller makes a replacement, ready.
                if old["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet" {
                    self.generation += 1;
                    let rs = old["metadata"]["ownerReferences"][0]["name"].as_str().unwrap();
                    let containers: Vec<&str> = old["spec"]["containers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c["name"].as_str().unwrap())
                        .collect();
                    let fresh = format!("{rs}-new{}", self.generation);
                    self.pods.push(pod(&fresh, Some(("ReplicaSet", rs)), true, &containers));
                }
                (200, old)
            }
            ("POST", ["api", "v1", "namespaces", _, "pods"]) => {
                let mut created: Value = serde_json::from_slice(body).unwrap();
                self.generation += 1;
                created["metadata"]["uid"] = json!(format!("uid-created-{}", self.generation));
                created["status"] = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]});
                self.pods.push(created.clone());
                (201, created)
            }
            ("PATCH", ["api", "v1", "namespaces", _, "pods", _, "ephemeralcontainers"])
                if self.no_ephemeral_containers =>
            {
                status(404, "NotFound")
            }
            ("PATCH", ["api", "v1", "namespaces", _, "pods", name, "ephemeralcontainers"]) => {
                let patch: Value = serde_json::from_slice(body).unwrap();
                let Some(pod) = self.pods.iter_mut().find(|p| name_of(p) == *name) else {
                    return status(404, "NotFound");
                };
                let added = patch["spec"]["ephemeralContainers"].clone();
                let statuses: Vec<Value> = added
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false, "restartCount": 0, "state": {"running": {}}}))
                    .collect();
                pod["spec"]["ephemeralContainers"] = added;
                pod["status"]["ephemeralContainerStatuses"] = json!(statuses);
                (200, pod.clone())
            }
            ("GET", ["api", "v1", "namespaces", _, "pods", _, "log"]) => (200, json!("starting\nboom: port in use\n")),
            ("GET", ["api", "v1", "namespaces", _, "events"]) => {
                let items = self
                    .events
                    .iter()
                    .filter(|e| {
                        query.contains(&format!(
                            "involvedObject.name%3D{}",
                            e["involvedObject"]["name"].as_str().unwrap()
                        ))
                    })
                    .cloned()
                    .collect();
                list("EventList", items)
            }
            ("GET", ["apis", "apps", "v1", "namespaces", _, "replicasets", name]) => {
                match self.replica_sets.iter().find(|r| name_of(r) == *name) {
                    Some(rs) => (200, rs.clone()),
                    None => status(404, "NotFound"),
                }
            }
            _ => status(405, "MethodNotAllowed"),
        }
    }
}

/// The fake API server: answers every request from `cluster`.
pub(crate) async fn serve(mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>, cluster: Shared) {
    // Requests that hang are held here, never answered.
    let mut unanswered = Vec::new();
    while let Some((request, send)) = handle.next_request().await {
        let method = request.method().to_string();
        let path = request.uri().path().to_string();
        let query = request.uri().query().unwrap_or("").to_string();
        let body = request.into_body().collect_bytes().await.unwrap_or_default();
        let answer = cluster.lock().unwrap().answer(&method, &path, &query, &body);
        let Some((code, value)) = answer else {
            unanswered.push(send);
            continue;
        };
        // Logs are plain text.
        let bytes = match value {
            Value::String(text) => text.into_bytes(),
            other => serde_json::to_vec(&other).unwrap(),
        };
        send.send_response(Response::builder().status(code).body(Body::from(bytes)).unwrap());
    }
}

/// A fake helm: "installs" by adding objects to the cluster.
pub(crate) struct FakeHelm {
    pub(crate) cluster: Shared,
    pub(crate) objects: fn(&mut Cluster),
    pub(crate) fail: bool,
    pub(crate) fail_uninstall: bool,
    pub(crate) calls: Arc<Mutex<Vec<String>>>,
    /// What `helm version` says of its major version.
    pub(crate) major: Option<u32>,
    /// `--helm-arg`s, and what the sandbox adds.
    pub(crate) extra_args: Vec<OsString>,
    /// The chart's `kubeVersion` excludes the cluster's: helm refuses
    /// it, in helm's own words.
    pub(crate) refuse_kube_version: bool,
}

impl FakeHelm {
    pub(crate) fn new(cluster: Shared, objects: fn(&mut Cluster), calls: Arc<Mutex<Vec<String>>>) -> FakeHelm {
        FakeHelm {
            cluster,
            objects,
            fail: false,
            fail_uninstall: false,
            calls,
            major: Some(3),
            extra_args: Vec::new(),
            refuse_kube_version: false,
        }
    }
}

impl Installer for FakeHelm {
    fn install(&mut self, namespace: &str, _: Duration) -> Result<InstallOutcome> {
        let args: Vec<String> = self
            .extra_args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let call = format!("install {namespace} {}", args.join(" "));
        self.calls.lock().unwrap().push(call.trim_end().to_string());
        if self.fail {
            bail!("helm install failed: chart is broken");
        }
        if self.refuse_kube_version {
            let said = "Error: INSTALLATION FAILED: chart requires kubeVersion: >=1.25.0-0 which is incompatible \
                        with Kubernetes v1.20.2";
            return Err(super::versions::kube_version_refused(said, "./shop").unwrap().into());
        }
        (self.objects)(&mut self.cluster.lock().unwrap());
        Ok(InstallOutcome::Ready)
    }
    fn uninstall(&mut self, namespace: &str) -> Result<()> {
        self.calls.lock().unwrap().push(format!("uninstall {namespace}"));
        if self.fail_uninstall {
            bail!("helm uninstall failed: killed");
        }
        Ok(())
    }
    fn uninstall_hint(&self, namespace: &str) -> String {
        format!("helm uninstall shop -n {namespace}")
    }
    fn release(&self) -> &str {
        "shop"
    }
    fn helm_major(&self) -> Option<u32> {
        self.major
    }
    fn extra_args(&mut self) -> &mut Vec<OsString> {
        &mut self.extra_args
    }
}

/// A fake exec: the captured /proc/net files, and per container the
/// socket inodes its processes hold. Containers in `no_shell` fail.
pub(crate) struct FakeExec {
    /// The only namespace exec may be asked for.
    pub(crate) namespace: &'static str,
    pub(crate) fds: BTreeMap<&'static str, Vec<u64>>,
    pub(crate) calls: Arc<Mutex<Vec<String>>>,
    /// Every exec fails to connect (the kubelet is gone).
    pub(crate) broken: bool,
}

pub(crate) fn captured(name: &str) -> String {
    let path = format!("{}/testdata/procnet/ns/net/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

pub(crate) fn reader_output(inodes: &[u64]) -> String {
    let mut out = String::new();
    for f in ["tcp", "tcp6", "udp", "udp6"] {
        out.push_str(&format!("@@netaudit {f}\n{}", captured(f)));
    }
    out.push_str("@@netaudit range\n50000\t50999\n@@netaudit fds\n/proc/1/fd/:\ntotal 0\n");
    out.push_str("lrwx------ 1 root root 64 Jan  1 00:00 0 -> /dev/null\n");
    for (i, inode) in inodes.iter().enumerate() {
        out.push_str(&format!(
            "lrwx------ 1 root root 64 Jan  1 00:00 {} -> socket:[{inode}]\n",
            i + 3
        ));
    }
    // Two processes hold the sockets (a parent and its forked worker): the
    // parent, PID 1, names them.
    out.push_str("/proc/7/fd/:\ntotal 0\n");
    for inode in inodes {
        out.push_str(&format!(
            "lrwx------ 1 root root 64 Jan  1 00:00 3 -> socket:[{inode}]\n"
        ));
    }
    out.push_str("@@netaudit procs\npid 1\nnginx\nnginx: master process /usr/sbin/nginx\0-g\0daemon off;\0\n");
    out.push_str("pid 7\nnginx\nnginx: worker process\0\n");
    out.push_str("@@netaudit end\n");
    out
}

impl PodExec for FakeExec {
    async fn exec(&self, _: &Client, ns: &str, pod: &str, container: &str, command: &[String]) -> Result<ExecOutput> {
        assert_eq!(ns, self.namespace);
        assert_eq!(command.first().map(String::as_str), Some("sh"));
        self.calls.lock().unwrap().push(format!("{pod}/{container}"));
        if self.broken {
            bail!("cannot exec in pod {pod}: connection reset by the kubelet");
        }
        Ok(match self.fds.get(container) {
            Some(inodes) => ExecOutput {
                stdout: reader_output(inodes),
                success: true,
                message: String::new(),
            },
            None => ExecOutput {
                stdout: String::new(),
                success: false,
                message: "executable file not found in $PATH".into(),
            },
        })
    }

    fn stream(
        &self,
        _: Client,
        target: ExecTarget,
        _: Vec<String>,
        mut on_line: LineSink,
    ) -> BoxFuture<'static, Result<()>> {
        let output = self.watch_output(&target.container);
        let broken = self.broken;
        Box::pin(async move {
            match output {
                _ if broken => bail!("cannot exec in pod {}: connection reset by the kubelet", target.pod),
                Some(text) => {
                    text.lines().for_each(&mut on_line);
                    Ok(())
                }
                None => bail!("executable file not found in $PATH"),
            }
        })
    }
}

impl FakeExec {
    /// The flow watch: one sample of the captured tables from a container
    /// that has a shell, then the end of the stream (the pod went).
    pub(crate) fn watch_output(&self, container: &str) -> Option<String> {
        self.fds.get(container)?;
        let mut out = String::new();
        for f in ["tcp", "tcp6", "udp", "udp6"] {
            out.push_str(&format!("@@netaudit {f}\n{}", captured(f)));
        }
        out.push_str("@@netaudit sampled\n");
        Some(out)
    }
}

/// A client on `runtime` whose requests the fake API server answers from
/// `cluster` (the client's buffer task and the server run on that runtime).
pub(crate) fn mock_client(runtime: &tokio::runtime::Runtime, cluster: &Shared) -> Client {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let _guard = runtime.enter();
    runtime.spawn(serve(handle, cluster.clone()));
    Client::new(service, "default")
}

/// The fake exec of the tests' pods in `namespace`: containers `app` and
/// `sidecar` hold sockets of the captured tables, `distroless` has no shell
/// (its debug container, busybox, does). Returns the exec and its call log.
pub(crate) fn fake_exec(namespace: &'static str) -> (FakeExec, Arc<Mutex<Vec<String>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let exec = FakeExec {
        namespace,
        fds: BTreeMap::from([
            ("app", vec![105876, 105877, 105882]),
            ("sidecar", vec![105890]),
            ("netaudit-probe-distroless", vec![105885]),
        ]),
        calls: calls.clone(),
        broken: false,
    };
    (exec, calls)
}
