//! The kube runtime and `audit` against a real Kubernetes: the one-node
//! cluster of `scripts/kube-cluster.sh up` (Kubernetes 1.20 built from
//! Debian's source, everything on loopback, images imported from podman).
//! scripts/test.sh brings it up, exports NETAUDIT_TEST_KUBECONFIG and sets
//! NETAUDIT_REQUIRE_KUBE=1; elsewhere these tests skip without a cluster.
//!
//! What the mocked API of src/probe/kube/tests.rs cannot show is checked
//! here: real pods and sockets, a real restart, cleanup that really removes
//! the namespace, a cluster without ephemeral containers, an interrupt.

mod common;

use common::{helm, repo, runtime_keys, stderr, stdout};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One probe at a time: the cluster is one node on two cores.
static CLUSTER: Mutex<()> = Mutex::new(());

struct Cluster {
    kubeconfig: PathBuf,
    /// Held by the test's admin handle; identities made from it share it.
    _serial: Option<MutexGuard<'static, ()>>,
}

/// The test cluster, serialized, when helm and the cluster are there.
fn cluster() -> Option<Cluster> {
    if common::skip_without_helm() {
        return None;
    }
    let serial = CLUSTER.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let cluster = Cluster {
        kubeconfig: common::test_cluster()?,
        _serial: Some(serial),
    };
    // What the test before left terminating (its namespace, pods holding
    // host ports) would make this one's pods unschedulable or its
    // inventories change: each test starts on a settled cluster.
    cluster.await_no_terminating_namespaces();
    Some(cluster)
}

impl Cluster {
    /// `netaudit ARGS` against the test cluster, with helm v`helm_major`.
    fn netaudit(&self, helm_major: u8, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_netaudit"));
        command
            .args(args)
            .current_dir(repo())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HELM_BIN", helm(helm_major))
            .env_remove("HELM_KUBECONTEXT")
            .env_remove("HELM_NAMESPACE")
            .env("NO_COLOR", "1");
        command
    }

    /// `netaudit install ARGS --probe --runtime kube` with helm 4. Helm 4
    /// applies server-side, which Kubernetes 1.20 cannot do for it: netaudit
    /// sees both versions and installs with `--server-side=false` by itself
    /// (no `--helm-arg` here).
    fn install_command(&self, args: &[&str]) -> Command {
        let mut command = self.netaudit(4, &["install"]);
        command.args(args).args(["--probe", "--runtime", "kube"]);
        command
    }

    fn install(&self, args: &[&str]) -> Output {
        self.install_command(args).output().expect("run netaudit")
    }

    /// helm v`major` against the test cluster (as the test's admin).
    fn helm(&self, major: u8, args: &[&str]) -> Output {
        Command::new(helm(major))
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env_remove("HELM_KUBECONTEXT")
            .output()
            .expect("run helm")
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("run kubectl (scripts/kube-cluster.sh needs it too)")
    }

    /// The namespace's phase, or None once it is gone.
    fn namespace_phase(&self, namespace: &str) -> Option<String> {
        let out = self.kubectl(&["get", "namespace", namespace, "-o", "jsonpath={.status.phase}"]);
        if out.status.success() {
            return Some(stdout(&out));
        }
        assert!(stderr(&out).contains("NotFound"), "{}", stderr(&out));
        None
    }

    /// The probe's namespace is gone (the probe waits for that), or still
    /// terminating and the report says so.
    fn assert_sandbox_gone(&self, json: &serde_json::Value) {
        let namespace = json["probe"]["sandbox"].as_str().expect("probe.sandbox");
        assert!(namespace.starts_with("netaudit-"), "{namespace}");
        if let Some(phase) = self.namespace_phase(namespace) {
            let said = json["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["message"].as_str().unwrap_or("").contains("still terminating"));
            assert!(phase == "Terminating" && said, "namespace {namespace} left: {phase}");
        }
    }
}

impl Cluster {
    /// `release` of testdata/charts/probe-misconfigured installed by helm 4
    /// into a fresh `namespace` (what an earlier failed run left goes first).
    fn install_misconfigured(&self, release: &str, namespace: &str) {
        self.helm(4, &["uninstall", release, "-n", namespace]);
        self.kubectl(&["delete", "namespace", namespace, "--ignore-not-found", "--wait=true"]);
        let installed = self.helm(
            4,
            &[
                "install",
                release,
                "testdata/charts/probe-misconfigured",
                "-n",
                namespace,
                "--create-namespace",
                "--server-side=false",
            ],
        );
        assert!(installed.status.success(), "{}", stderr(&installed));
    }
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

#[test]
fn misconfigured_chart_gives_the_findings_podman_gives_and_is_cleaned_up() {
    let Some(cluster) = cluster() else { return };
    let out = cluster.install(&[
        "probe",
        "testdata/charts/probe-misconfigured",
        "--timeout",
        "90s",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json = json_of(&out);
    // What the podman runtime finds (tests/probe_podman.rs), from real pods
    // on a real node.
    assert_eq!(runtime_keys(&json), common::MISCONFIGURED_RUNTIME_KEYS, "{json:#}");
    let m2 = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "M2")
        .unwrap();
    assert!(
        m2["message"]
            .as_str()
            .unwrap()
            .contains("(container `random`, process `nc`"),
        "{m2}"
    );
    // Two runs with a real restart between them (new pods, new names).
    assert_eq!(json["probe"]["runs"], 2);
    assert_eq!(json["probe"]["timings_ms"]["restart"].as_array().unwrap().len(), 1);
    // The crash-looping pod is one entry for both runs, stopped for good,
    // with its exit code and last log line.
    let incomplete = json["probe"]["incomplete"].as_array().unwrap();
    assert_eq!(incomplete.len(), 1, "{incomplete:?}");
    assert_eq!(incomplete[0]["name"], "probe-broken");
    assert_eq!(incomplete[0]["stopped"], true);
    let detail = incomplete[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("CrashLoopBackOff") && detail.contains("exit code 3") && detail.contains("config file missing"),
        "{detail}"
    );
    cluster.assert_sandbox_gone(&json);
}

#[test]
fn clean_chart_through_helm_3_has_no_findings() {
    let Some(cluster) = cluster() else { return };
    // Helm 3 applies client-side: no --helm-arg needed.
    let out = cluster
        .netaudit(
            3,
            &[
                "install",
                "clean",
                "testdata/charts/probe-clean",
                "--probe",
                "--runtime",
                "kube",
            ],
        )
        .args(["--timeout", "90s", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stderr(&out), stdout(&out));
    let json = json_of(&out);
    assert_eq!(json["findings"].as_array().unwrap().len(), 0, "{json:#}");
    assert_eq!(json["probe"]["runtime"], "kube");
    assert_eq!(json["probe"]["incomplete"].as_array().unwrap().len(), 0, "{json:#}");
    cluster.assert_sandbox_gone(&json);
}

/// The test cluster has kube-proxy and a cluster DNS: the client reaches
/// the web server by its Service's short and full names (its readiness
/// says so), in both runs, and the flow watches in the pods see it. Then
/// `helm test` runs the chart's tests, and the exercise client follows.
#[test]
fn pods_reach_each_other_through_their_services() {
    let Some(cluster) = cluster() else { return };
    let out = cluster.install(&[
        "svc",
        "testdata/charts/probe-services",
        "--exercise",
        "--probe-image",
        "localhost/netaudit-test:latest",
        "--run-tests",
        "--set",
        "failingTest=true",
        "--runs",
        "2",
        "--timeout",
        "90s",
        "--fail-on",
        "never",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stderr(&out), stdout(&out));
    let json = json_of(&out);
    assert_eq!(json["probe"]["runs"], 2, "{json:#}");
    assert_eq!(json["probe"]["incomplete"], serde_json::json!([]), "{json:#}");
    assert_eq!(json["probe"]["not_probed"], serde_json::json!([]), "{json:#}");
    common::assert_client_reached_web(&json, "svc");
    common::assert_exercised_web(&json, "svc");
    common::assert_chart_tests_ran(&json, "svc", false);
    cluster.assert_sandbox_gone(&json);
}

/// Kubernetes 1.20 has no ephemeral containers: a container without a shell
/// cannot be read. Its pod is "not probed", in a warning that says why, and
/// the other workload is probed as usual.
#[test]
fn a_shell_less_container_is_not_probed_and_the_rest_is() {
    let Some(cluster) = cluster() else { return };
    let out = cluster.install(&["noshell", "testdata/charts/probe-no-shell", "--runs", "1", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json = json_of(&out);
    assert_eq!(runtime_keys(&json), ["M1 Deployment/noshell-web :9090"], "{json:#}");
    let warnings: Vec<&str> = json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["message"].as_str())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("not probed: Deployment `noshell-pause`")
                && w.contains("container pause: its image has no shell (`sh` not found)")
                && w.contains("this cluster does not serve ephemeral containers")),
        "{warnings:#?}"
    );
    // Nor can its flows be watched; the report says so, for that pod only.
    let unwatched: Vec<&&str> = warnings.iter().filter(|w| w.starts_with("flows not sampled")).collect();
    assert_eq!(unwatched.len(), 1, "{warnings:#?}");
    assert!(
        unwatched[0].starts_with("flows not sampled: Deployment `noshell-pause`")
            && unwatched[0].contains("container pause: its image has no shell"),
        "{warnings:#?}"
    );
    cluster.assert_sandbox_gone(&json);
}

/// The sandbox namespace a probe named in its progress lines.
fn namespace_in(err: &str) -> String {
    err.lines()
        .find_map(|line| line.split("kube namespace ").nth(1)?.split_whitespace().next())
        .unwrap_or_else(|| panic!("no namespace in {err}"))
        .to_string()
}

impl Cluster {
    /// The namespace is gone, or deleted and still terminating.
    fn assert_namespace_going(&self, namespace: &str) {
        if let Some(phase) = self.namespace_phase(namespace) {
            assert_eq!(phase, "Terminating", "namespace {namespace} left");
        }
    }
}

/// A readiness probe that never passes on the chart's only pod: the pod is
/// reported with the kubelet's own words, and since nothing was probed the
/// probe judged nothing: exit 2, one error line, no report.
#[test]
fn a_pod_that_never_becomes_ready_is_reported_with_the_kubelet_events() {
    let Some(cluster) = cluster() else { return };
    let out = cluster.install(&[
        "stuck",
        "testdata/charts/probe-exec-readiness",
        "--set",
        "readyFile=/tmp/never",
        "--timeout",
        "20s",
    ]);
    let err = stderr(&out);
    let line = one_error_line(&out);
    assert!(
        line.starts_with("error: probe incomplete: no pod was probed")
            && line.contains("(Deployment `stuck-server`) was not ready within --timeout: ")
            && line.contains("Readiness probe failed"),
        "{err}"
    );
    assert!(!line.contains("stopped for good"), "running, only never ready: {line}");
    assert_eq!(stdout(&out), "", "no report");
    // Nothing ready after run 1: no restart, no second wait.
    assert!(!err.contains("run 2"), "{err}");
    cluster.assert_namespace_going(&namespace_in(&err));
}

/// An image that cannot be pulled (from `localhost`, where no registry
/// listens: loopback only): the wait ends at once, there is no run 2, and
/// the probe, which judged nothing, exits 2 with one line naming the pod
/// and the pull error, said once.
#[test]
fn an_unpullable_image_ends_the_probe_at_once_with_one_line() {
    let Some(cluster) = cluster() else { return };
    let out = cluster.install(&["pull", "testdata/charts/probe-missing-image", "--timeout", "5m"]);
    let err = stderr(&out);
    let line = one_error_line(&out);
    assert!(
        line.starts_with("error: probe incomplete: no pod was probed")
            && line.contains(
                "pod pull-web (Pod `pull-web`) stopped for good: container web: image \
                 localhost/netaudit-no-such-image:1.0 cannot be pulled ("
            ),
        "{err}"
    );
    assert_eq!(line.matches("netaudit-no-such-image:1.0").count(), 1, "{line}");
    assert!(!line.contains("rpc error"), "{line}");
    // The pod is named in that line only; no restart, no second wait.
    let naming: Vec<&str> = err.lines().filter(|l| l.contains("pull-web")).collect();
    assert_eq!(naming, [line.as_str()], "{err}");
    assert!(!err.contains("run 2") && !err.contains("restarting"), "{err}");
    // Helm 4 on 1.20: client-side apply, chosen and said by netaudit.
    assert!(
        err.lines()
            .any(|l| l.contains("Helm 4 applies server-side, which Kubernetes v1.20.2 cannot do for it")),
        "{err}"
    );
    cluster.assert_namespace_going(&namespace_in(&err));
}

/// A chart whose `kubeVersion` excludes the cluster's 1.20: helm refuses
/// it; netaudit says so in one line naming both versions, exit 2, and
/// nothing of the chart is installed (the sandbox namespace goes).
#[test]
fn a_chart_for_a_newer_kubernetes_is_one_line_naming_both_versions() {
    let Some(cluster) = cluster() else { return };
    let chart = tempfile::tempdir().unwrap();
    std::fs::create_dir(chart.path().join("templates")).unwrap();
    std::fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: shop\nversion: 0.1.0\nkubeVersion: \">=1.25.0-0\"\n",
    )
    .unwrap();
    std::fs::write(
        chart.path().join("templates/config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop-config}\ndata: {a: b}\n",
    )
    .unwrap();
    let path = chart.path().to_string_lossy().into_owned();
    let out = cluster.install(&["shop", &path, "--timeout", "60s"]);
    let err = stderr(&out);
    let line = one_error_line(&out);
    assert_eq!(
        line,
        format!(
            "error: chart {path} requires kubeVersion >=1.25.0-0 and the cluster of context `netaudit-kube` runs v1.20.2; \
             nothing was installed"
        ),
        "{err}"
    );
    let namespace = namespace_in(&err);
    cluster.assert_namespace_going(&namespace);
    let configs = cluster.kubectl(&[
        "get",
        "configmap",
        "shop-config",
        "-n",
        &namespace,
        "--ignore-not-found",
    ]);
    assert_eq!(stdout(&configs), "", "nothing installed");
}

#[test]
fn sigint_while_waiting_removes_the_namespace() {
    let Some(cluster) = cluster() else { return };
    let mut child = cluster
        .install_command(&[
            "sig",
            "testdata/charts/probe-exec-readiness",
            "--set",
            "readyFile=/never-there",
            "--timeout",
            "5m",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = Vec::new();
    let mut namespace = None;
    let start = Instant::now();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if namespace.is_none() {
            namespace = line
                .split("kube namespace ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_string);
        }
        let waiting = line.contains("waiting for pods");
        log.push(line);
        if waiting {
            let pid = child.id().to_string();
            assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "never waited: {log:?}");
    }
    log.extend(lines.map_while(Result::ok));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("error: interrupted"), "{log:?}");
    let namespace = namespace.unwrap_or_else(|| panic!("no namespace in {log:?}"));
    // After an interrupt the cleanup does not wait: the namespace is
    // deleted (terminating) or already gone.
    if let Some(phase) = cluster.namespace_phase(&namespace) {
        assert_eq!(phase, "Terminating", "{log:?}");
    }
}

/// `audit` reads a release installed by helm, in place: same runtime
/// findings as the sandbox for what one run can see, and nothing changed.
#[test]
fn audit_reads_an_installed_release_in_place() {
    let Some(cluster) = cluster() else { return };
    let namespace = "netaudit-test-audit";
    let helm_cmd = |args: &[&str]| cluster.helm(4, args);
    cluster.install_misconfigured("audited", namespace);
    for workload in [
        "deployment/audited-web",
        "statefulset/audited-dhcp",
        "daemonset/audited-agent",
    ] {
        let rolled = cluster.kubectl(&["-n", namespace, "rollout", "status", workload, "--timeout=120s"]);
        assert!(rolled.status.success(), "{workload}: {}", stderr(&rolled));
    }
    let pods_before = cluster.kubectl(&[
        "-n",
        namespace,
        "get",
        "pods",
        "-o",
        "jsonpath={.items[*].metadata.uid}",
    ]);
    let out = cluster
        .netaudit(4, &["audit", "audited", "-n", namespace, "-o", "json"])
        .output()
        .unwrap();
    let pods_after = cluster.kubectl(&[
        "-n",
        namespace,
        "get",
        "pods",
        "-o",
        "jsonpath={.items[*].metadata.uid}",
    ]);
    helm_cmd(&["uninstall", "audited", "-n", namespace]);
    cluster.kubectl(&["delete", "namespace", namespace, "--wait=false"]);

    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json = json_of(&out);
    let keys = runtime_keys(&json);
    for expected in [
        "M1 Deployment/audited-web :9090",
        "M3 Deployment/audited-web :8443",
        "M3 StatefulSet/audited-dhcp :6767",
        "M5A Service/audited-web-tls :443",
        "M5C Service/audited-dhcp :6767",
        "M7 DaemonSet/audited-agent",
    ] {
        assert!(keys.iter().any(|k| k == expected), "{expected} missing from {keys:#?}");
    }
    // In place: the pods are the ones helm started, none restarted or added.
    let uids = stdout(&pods_before);
    assert!(
        uids.split_whitespace().count() >= 3,
        "pods before: {uids:?} {}",
        stderr(&pods_before)
    );
    assert_eq!(uids, stdout(&pods_after));
}

/// The ```yaml blocks of docs/kube-rbac.md, in order.
fn rbac_doc_blocks() -> Vec<String> {
    let doc = std::fs::read_to_string(repo().join("docs/kube-rbac.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

impl Cluster {
    fn apply(&self, yaml: &str) {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["apply", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(yaml.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "kubectl apply: {}\n{yaml}", stderr(&out));
    }

    /// A kubeconfig that authenticates as ServiceAccount `ci/<account>` with
    /// its token, and nothing else.
    fn service_account_kubeconfig(&self, account: &str, dir: &std::path::Path) -> PathBuf {
        self.kubectl(&["create", "namespace", "ci"]);
        self.kubectl(&["-n", "ci", "create", "serviceaccount", account]);
        let mut token = String::new();
        for _ in 0..60 {
            let secret = self.kubectl(&[
                "-n",
                "ci",
                "get",
                "serviceaccount",
                account,
                "-o",
                "jsonpath={.secrets[0].name}",
            ]);
            let name = stdout(&secret);
            if !name.is_empty() {
                let template = "go-template={{.data.token | base64decode}}";
                token = stdout(&self.kubectl(&["-n", "ci", "get", "secret", &name, "-o", template]));
            }
            if !token.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        assert!(!token.is_empty(), "no token for ServiceAccount ci/{account}");
        let server = stdout(&self.kubectl(&[
            "config",
            "view",
            "--raw",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ]));
        let ca = stdout(&self.kubectl(&[
            "config",
            "view",
            "--raw",
            "-o",
            "jsonpath={.clusters[0].cluster.certificate-authority}",
        ]));
        let path = dir.join(format!("{account}.kubeconfig"));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"{server}\", certificate-authority: \"{ca}\"}}\n\
users:\n- name: {account}\n  user: {{token: \"{token}\"}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: {account}}}\n\
current-context: c\n"
            ),
        )
        .unwrap();
        path
    }

    /// The same cluster through another kubeconfig (another identity).
    fn as_identity(&self, kubeconfig: &std::path::Path) -> Cluster {
        Cluster {
            kubeconfig: kubeconfig.to_path_buf(),
            _serial: None,
        }
    }
}

/// docs/kube-rbac.md, applied as written to ServiceAccounts that have
/// nothing else: the sandbox probe and `audit` work with exactly those
/// grants, and the identities cannot do what the page does not grant.
#[test]
fn the_least_privilege_rbac_of_the_docs_is_enough() {
    let Some(admin) = cluster() else { return };
    let blocks = rbac_doc_blocks();
    let sandbox: Vec<&String> = blocks
        .iter()
        .filter(|b| b.contains("name: netaudit-sandbox-") && !b.contains("ValidatingAdmissionPolicy"))
        .collect();
    assert_eq!(sandbox.len(), 4, "namespaces, probe, helm, bindings: {blocks:#?}");
    let audit_block = blocks
        .iter()
        .find(|b| b.contains("name: netaudit-audit"))
        .expect("the audit Role");
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    // The sandbox: `install --probe --runtime kube` as ci/netaudit.
    for block in &sandbox {
        admin.apply(block);
    }
    let probe_identity = admin.service_account_kubeconfig("netaudit", dir);
    let prober = admin.as_identity(&probe_identity);
    let can = |identity: &Cluster, args: &[&str]| {
        let mut all = vec!["auth", "can-i"];
        all.extend_from_slice(args);
        stdout(&identity.kubectl(&all)).trim().to_string()
    };
    assert_eq!(
        can(&prober, &["get", "nodes"]),
        "no",
        "the token must not be an admin's"
    );
    let out = prober.install(&["rbac", "testdata/charts/probe-clean", "--timeout", "90s", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stderr(&out), stdout(&out));
    let json = json_of(&out);
    assert_eq!(json["probe"]["runs"], 2);
    admin.assert_sandbox_gone(&json);

    // audit: a Role in the release's namespace, for ci/auditor.
    let namespace = "netaudit-test-rbac";
    let helm_admin = |args: &[&str]| admin.helm(3, args);
    helm_admin(&["uninstall", "audited", "-n", namespace]);
    let installed = helm_admin(&[
        "install",
        "audited",
        "testdata/charts/probe-no-shell",
        "-n",
        namespace,
        "--create-namespace",
    ]);
    assert!(installed.status.success(), "{}", stderr(&installed));
    let role = audit_block
        .replace("namespace: prod", &format!("namespace: {namespace}"))
        .replace("name: netaudit\n    namespace: ci", "name: auditor\n    namespace: ci");
    admin.apply(&role);
    let auditor = admin.as_identity(&admin.service_account_kubeconfig("auditor", dir));
    for workload in ["deployment/audited-web", "deployment/audited-pause"] {
        let rolled = admin.kubectl(&["-n", namespace, "rollout", "status", workload, "--timeout=120s"]);
        assert!(rolled.status.success(), "{workload}: {}", stderr(&rolled));
    }
    let delete_pods = can(&auditor, &["delete", "pods", "-n", namespace]);
    let out = auditor
        .netaudit(3, &["audit", "audited", "-n", namespace, "-o", "json"])
        .output()
        .unwrap();
    helm_admin(&["uninstall", "audited", "-n", namespace]);
    admin.kubectl(&["delete", "namespace", namespace, "--wait=false"]);

    assert_eq!(delete_pods, "no", "audit's Role grants no write");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json = json_of(&out);
    assert_eq!(runtime_keys(&json), ["M1 Deployment/audited-web :9090"], "{json:#}");
    let text = format!("{json}{}", stderr(&out));
    assert!(!text.contains("forbidden"), "{text}");
}

/// Namespaces a test made, deleted (with everything in them, helm's
/// release records included) when the test ends, however it ends.
struct Namespaces<'c> {
    cluster: &'c Cluster,
    names: Vec<&'static str>,
}

impl<'c> Namespaces<'c> {
    /// Fresh: what an earlier failed run left is deleted first.
    fn fresh(cluster: &'c Cluster, names: &[&'static str]) -> Namespaces<'c> {
        let mut delete = vec!["delete", "namespace", "--ignore-not-found", "--wait=true"];
        delete.extend_from_slice(names);
        cluster.kubectl(&delete);
        for name in names {
            let made = cluster.kubectl(&["create", "namespace", name]);
            assert!(made.status.success(), "{}", stderr(&made));
        }
        Namespaces {
            cluster,
            names: names.to_vec(),
        }
    }
}

impl Drop for Namespaces<'_> {
    fn drop(&mut self) {
        let mut delete = vec!["delete", "namespace", "--ignore-not-found", "--wait=false"];
        delete.extend_from_slice(&self.names);
        self.cluster.kubectl(&delete);
    }
}

/// The requests the API server's audit log recorded for `user` (the test
/// cluster logs what ServiceAccounts of namespace ci send): verb and
/// resource, e.g. `list deployments` or `create pods/exec`.
fn requests_of(cluster: &Cluster, user: &str) -> Vec<String> {
    let log = cluster.kubeconfig.parent().unwrap().join("logs/audit.log");
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["user"]["username"] == user)
        .map(|event| {
            let object = &event["objectRef"];
            let mut resource = object["resource"].as_str().unwrap_or("").to_string();
            if let Some(sub) = object["subresource"].as_str() {
                resource = format!("{resource}/{sub}");
            }
            format!("{} {resource}", event["verb"].as_str().unwrap_or(""))
        })
        .collect()
}

/// The rows of the human fleet summary for the test's namespaces.
fn fleet_rows(table: &str) -> Vec<&str> {
    table.lines().filter(|l| l.starts_with("| netaudit-fleet-")).collect()
}

/// Five releases in three namespaces, two of which (`blog` and `shop`)
/// select each other's pods: the fleet audit finds that M4G and gives a row
/// per release; `lint --cluster` checks a chart against them. Both run as a
/// ServiceAccount holding only the docs' read-only grants, and the API
/// server's audit log shows it sent no write.
#[test]
fn fleet_audit_and_lint_cluster_need_only_the_read_only_grants() {
    let Some(admin) = cluster() else { return };
    let namespaces = Namespaces::fresh(&admin, &["netaudit-fleet-a", "netaudit-fleet-b", "netaudit-fleet-c"]);
    for (helm_major, release, chart, namespace) in [
        (4, "blog", "fleet-generic-labels", "netaudit-fleet-a"),
        (3, "shop", "fleet-generic-labels", "netaudit-fleet-a"),
        (4, "web", "probe-clean", "netaudit-fleet-b"),
        (3, "pause", "probe-no-shell", "netaudit-fleet-b"),
        (3, "servers", "probe-misconfigured", "netaudit-fleet-c"),
    ] {
        let chart = format!("testdata/charts/{chart}");
        let mut args = vec!["install", release, &chart, "-n", namespace];
        if helm_major == 4 {
            args.push("--server-side=false");
        }
        let installed = admin.helm(helm_major, &args);
        assert!(installed.status.success(), "{release}: {}", stderr(&installed));
    }
    // A pod of no release that a Service of the M5D chart selects, and a
    // deny-all policy where the M6 chart goes.
    let bare = admin.kubectl(&[
        "-n",
        "netaudit-fleet-b",
        "run",
        "payments",
        "--image=localhost/netaudit-test:latest",
        "--image-pull-policy=Never",
        "--labels=app.kubernetes.io/name=shop,app.kubernetes.io/instance=pay,app.kubernetes.io/component=payments",
        "--command",
        "--",
        "sleep",
        "3600",
    ]);
    assert!(bare.status.success(), "{}", stderr(&bare));
    admin.apply(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: netaudit-fleet-c}\n\
spec: {podSelector: {}, policyTypes: [Ingress]}\n",
    );

    let blocks = rbac_doc_blocks();
    let dir = tempfile::tempdir().unwrap();
    for name in ["name: netaudit-cluster-read", "name: netaudit-fleet"] {
        let block = blocks.iter().find(|b| b.contains(name)).expect(name);
        admin.apply(&block.replace("name: netaudit\n    namespace: ci", "name: fleet\n    namespace: ci"));
    }
    let reader = admin.as_identity(&admin.service_account_kubeconfig("fleet", dir.path()));

    // The fleet, statically: JSON Lines, a line per release.
    let out = reader
        .netaudit(4, &["audit", "--all-namespaces", "-o", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| l["namespace"].as_str().unwrap().starts_with("netaudit-fleet-"))
        .collect();
    let m4g: Vec<(String, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["input"].as_str().unwrap().to_string(),
                l["counts"]["M4G"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected_m4g = [
        ("netaudit-fleet-a/blog", 2),
        ("netaudit-fleet-a/shop", 1),
        ("netaudit-fleet-b/pause", 0),
        ("netaudit-fleet-b/web", 0),
        ("netaudit-fleet-c/servers", 0),
    ];
    let expected_m4g: Vec<(String, u64)> = expected_m4g.iter().map(|(i, n)| (i.to_string(), *n)).collect();
    assert_eq!(m4g, expected_m4g, "{}", stdout(&out));
    let blog_findings = lines[0]["findings"].as_array().unwrap();
    assert!(
        blog_findings
            .iter()
            .any(|f| f["check"] == "M4G" && f["message"].as_str().unwrap().contains("release `shop`")),
        "{blog_findings:#?}"
    );

    // The same as the human summary table, through helm 3.
    let out = reader.netaudit(3, &["audit", "-A"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.starts_with("| release | affected | M4A |"), "{table}");
    assert_eq!(
        fleet_rows(&table),
        [
            "| netaudit-fleet-a/blog | yes | 0 | 0 | 0 | 2 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 0 |",
            "| netaudit-fleet-a/shop | yes | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 0 |",
            "| netaudit-fleet-b/pause | no | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
            "| netaudit-fleet-b/web | no | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
            "| netaudit-fleet-c/servers | yes | 0 | 1 | 0 | 0 | 0 | 0 | 0 | 0 | 1 | 0 | 0 | 0 |",
        ],
        "{table}"
    );

    // One namespace, probed in place: the pods' sockets are read too.
    for workload in ["deployment/blog-web", "deployment/shop-web"] {
        let rolled = admin.kubectl(&[
            "-n",
            "netaudit-fleet-a",
            "rollout",
            "status",
            workload,
            "--timeout=120s",
        ]);
        assert!(rolled.status.success(), "{workload}: {}", stderr(&rolled));
    }
    let out = reader
        .netaudit(4, &["audit", "-n", "netaudit-fleet-a", "--probe", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json = json_of(&out);
    assert_eq!(json["probe"]["runtime"], "kube (in place)", "{json:#}");
    assert_eq!(json["probe"]["incomplete"], serde_json::json!([]), "{json:#}");
    assert_eq!(json["summary"]["rows"].as_array().unwrap().len(), 2, "{json:#}");

    // lint --cluster: a third release of the chart collides with both live
    // ones; linting `blog` itself leaves its installed copy out.
    let lint = |args: &[&str]| {
        let mut all = vec!["lint"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--cluster", "-o", "json"]);
        let out = reader.netaudit(3, &all).output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
        json_of(&out)
    };
    let m4g_releases = |json: &serde_json::Value| -> Vec<String> {
        let mut releases: Vec<String> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == "M4G")
            .flat_map(|f| f["objects"].as_array().unwrap().iter())
            .map(|o| o["release"].as_str().unwrap().to_string())
            .collect();
        releases.sort();
        releases.dedup();
        releases
    };
    let news = lint(&["news", "testdata/charts/fleet-generic-labels", "-n", "netaudit-fleet-a"]);
    assert_eq!(m4g_releases(&news), ["blog", "news", "shop"], "{news:#}");
    assert_eq!(
        news["summary"]["rows"].as_array().unwrap().len(),
        1,
        "live objects are no row"
    );
    let live = news["inputs"].as_array().unwrap().iter().filter(|i| i["live"] == true);
    let live: Vec<&str> = live.map(|i| i["name"].as_str().unwrap()).collect();
    assert!(
        live.contains(&"cluster/netaudit-fleet-a/shop") && live.contains(&"cluster/netaudit-fleet-a/blog"),
        "{live:?}"
    );
    let blog = lint(&["blog", "testdata/charts/fleet-generic-labels", "-n", "netaudit-fleet-a"]);
    assert_eq!(m4g_releases(&blog), ["blog", "shop"], "{blog:#}");
    let checks = |json: &serde_json::Value| -> Vec<String> {
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["check"].as_str().unwrap().to_string())
            .collect()
    };
    // M5D: the Service's target runs, as a pod of no release.
    let pay = lint(&[
        "pay",
        "testdata/charts/m5d-service-without-target-fail",
        "-n",
        "netaudit-fleet-b",
    ]);
    assert!(!checks(&pay).contains(&"M5D".to_string()), "{pay:#}");
    // M6: the namespace's live deny-all policy covers the chart's pods.
    let covered = lint(&["x", "testdata/charts/m6-no-policy-fail", "-n", "netaudit-fleet-c"]);
    assert_eq!(checks(&covered), Vec::<String>::new(), "{covered:#}");
    // Without --cluster, both are found: the cluster made the difference.
    let alone = reader
        .netaudit(
            3,
            &[
                "lint",
                "x",
                "testdata/charts/m6-no-policy-fail",
                "-n",
                "netaudit-fleet-c",
                "-o",
                "json",
            ],
        )
        .output()
        .unwrap();
    assert!(checks(&json_of(&alone)).contains(&"M6".to_string()));

    drop(namespaces);
    let requests = requests_of(&admin, "system:serviceaccount:ci:fleet");
    assert!(requests.iter().any(|r| r == "list deployments"), "{requests:#?}");
    assert!(requests.iter().any(|r| r == "list secrets"), "{requests:#?}");
    let writes: Vec<&String> = requests
        .iter()
        .filter(|r| {
            let (verb, resource) = r.split_once(' ').unwrap();
            !matches!(verb, "get" | "list" | "watch") && resource != "pods/exec"
        })
        .collect();
    assert_eq!(writes, Vec::<&String>::new(), "read-only modes sent writes");
}

impl Cluster {
    /// Every object of the cluster (`kind namespace/name uid`), but what
    /// the cluster changes on its own (events, leases, endpoints).
    fn inventory(&self) -> BTreeSet<String> {
        let kinds = self.kubectl(&["api-resources", "--verbs=list", "-o", "name"]);
        assert!(kinds.status.success(), "{}", stderr(&kinds));
        let kinds: Vec<String> = stdout(&kinds)
            .lines()
            .filter(|kind| {
                let resource = kind.split('.').next().unwrap_or("");
                !matches!(
                    resource,
                    "events" | "leases" | "endpoints" | "endpointslices" | "componentstatuses"
                ) && !kind.ends_with(".extensions")
            })
            .map(str::to_string)
            .collect();
        let out = self.kubectl(&[
            "get",
            &kinds.join(","),
            "--all-namespaces",
            "-o",
            "jsonpath={range .items[*]}{.kind} {.metadata.namespace}/{.metadata.name} {.metadata.uid}{\"\\n\"}{end}",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).lines().map(str::to_string).collect()
    }

    /// Wait (at most 120 s) until no namespace of ours exists, terminating
    /// ones included.
    fn await_no_sandboxes(&self) {
        self.await_namespaces_gone(&["-l", "app.kubernetes.io/managed-by=helm-netaudit", "-o", "name"]);
    }

    /// Wait (at most 120 s) until no namespace at all is terminating.
    fn await_no_terminating_namespaces(&self) {
        self.await_namespaces_gone(&[
            "-o",
            "jsonpath={range .items[?(@.status.phase==\"Terminating\")]}{.metadata.name}{\"\\n\"}{end}",
        ]);
    }

    /// Wait (at most 120 s) until `kubectl get namespaces ARGS` prints nothing.
    fn await_namespaces_gone(&self, args: &[&str]) {
        let started = Instant::now();
        loop {
            let mut all = vec!["get", "namespaces"];
            all.extend_from_slice(args);
            let out = self.kubectl(&all);
            let left = stdout(&out);
            if out.status.success() && left.trim().is_empty() {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "namespaces left: {left} {}",
                stderr(&out)
            );
            std::thread::sleep(Duration::from_secs(2));
        }
    }

    /// `install --probe` with helm replaced by testdata/faulty-command, one
    /// call failing as `fault` says.
    fn install_with_faulty_helm(&self, fault: &str, args: &[&str]) -> Output {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("helm");
        std::os::unix::fs::symlink(repo().join("testdata/faulty-command"), &link).unwrap();
        let out = self
            .install_command(args)
            .env("HELM_BIN", &link)
            .env("NETAUDIT_TEST_REAL", helm(4))
            .env("NETAUDIT_TEST_FAULT_DIR", dir.path())
            .env("NETAUDIT_TEST_FAULT", fault)
            .output()
            .unwrap();
        assert!(
            dir.path().join("faulted").exists(),
            "{fault}: never injected: {}",
            stderr(&out)
        );
        out
    }
}

/// The one `error:` line of a run that must fail with exit 2.
fn one_error_line(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert_eq!(err.lines().last(), errors.first().copied(), "{err}");
    errors[0].to_string()
}

/// Faults injected into real probes (helm killed mid-install, helm
/// uninstall failing, netaudit killed with SIGKILL), then `netaudit
/// cleanup`: every object of the cluster is as it was before, and a
/// namespace that only looks like ours is never touched.
#[test]
fn faults_and_sigkill_leave_the_cluster_as_it_was_after_netaudit_cleanup() {
    let Some(cluster) = cluster() else { return };
    cluster.await_no_sandboxes();
    // Our managed-by label, but not the sandbox label naming itself.
    cluster.apply(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: netaudit-lookalike-0a1b2c\n  labels:\n    app.kubernetes.io/managed-by: helm-netaudit\n    netaudit.io/sandbox: netaudit-other-0a1b2c\n",
    );
    let before = cluster.inventory();

    // helm killed as the install starts.
    let out = cluster.install_with_faulty_helm(
        "install|1|kill:0",
        &["faultsa", "testdata/charts/probe-clean", "--runs", "1"],
    );
    let line = one_error_line(&out);
    assert!(
        line.contains("helm install faultsa into namespace netaudit-faultsa-"),
        "{line}"
    );

    // helm uninstall failing: the namespace still goes, and the line says
    // what may remain.
    let out = cluster.install_with_faulty_helm(
        "uninstall|1|fail",
        &["faultsb", "testdata/charts/probe-clean", "--runs", "1"],
    );
    let line = one_error_line(&out);
    assert!(
        line.contains("cleaning up failed (namespace netaudit-faultsb-")
            && line.contains("was deleted, but helm uninstall failed (cluster-scoped objects of the chart may remain)")
            && line.contains("injected fault in helm uninstall faultsb"),
        "{line}"
    );

    // netaudit killed with SIGKILL while it waits: no cleanup can run.
    let mut child = cluster
        .install_command(&[
            "faultsc",
            "testdata/charts/probe-exec-readiness",
            "--set",
            "readyFile=/never-there",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut namespace = None;
    let started = Instant::now();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        namespace = namespace.or_else(|| {
            let rest = line.split("kube namespace ").nth(1)?;
            rest.split_whitespace().next().map(str::to_string)
        });
        if line.contains("waiting for pods") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "never waited");
    }
    assert!(Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    child.wait().unwrap();
    let namespace = namespace.expect("the sandbox namespace");
    assert_eq!(cluster.namespace_phase(&namespace).as_deref(), Some("Active"));

    let listed = cluster
        .netaudit(4, &["cleanup", "--runtime", "kube", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    let listing = stdout(&listed);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with(&format!("would remove kube sandbox {namespace} ("))
                && l.ends_with(" old: namespace, release faultsc)")),
        "{listing}"
    );
    assert!(!listing.contains("lookalike"), "{listing}");
    let removed = cluster
        .netaudit(4, &["cleanup", "--runtime", "kube", &namespace])
        .output()
        .unwrap();
    assert_eq!(removed.status.code(), Some(0), "{}", stderr(&removed));
    assert!(
        stdout(&removed).starts_with(&format!("removed kube sandbox {namespace} (")),
        "{}",
        stdout(&removed)
    );

    // Everything as it was once the deleted namespaces are gone.
    let started = Instant::now();
    while cluster
        .kubectl(&["get", "namespaces", "-o", "name"])
        .stdout
        .windows(b"netaudit-faults".len())
        .any(|w| w == b"netaudit-faults")
    {
        assert!(started.elapsed() < Duration::from_secs(120), "sandbox namespaces stay");
        std::thread::sleep(Duration::from_secs(2));
    }
    let after = cluster.inventory();
    cluster.kubectl(&["delete", "namespace", "netaudit-lookalike-0a1b2c", "--wait=false"]);
    let added: Vec<&String> = after.difference(&before).collect();
    let removed: Vec<&String> = before.difference(&after).collect();
    assert_eq!((added, removed), (Vec::new(), Vec::new()), "the cluster changed");
}

/// Probe a chart of real servers that talk once (`args`: the release, the
/// chart and their flags) and return its report: it ran, every pod was
/// ready, the sandbox is gone.
fn probed_flows(cluster: &Cluster, args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.extend(["--runs", "1", "--fail-on", "never", "-o", "json"]);
    let out = cluster.install(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json = json_of(&out);
    assert_eq!(json["probe"]["incomplete"], serde_json::json!([]), "{json:#}");
    cluster.assert_sandbox_gone(&json);
    json
}

/// Flow lines without the cluster DNS's (its queries are not logged here:
/// its flows are seen only when a resolver's socket is caught).
/// Is a flow line's port (`a -> b 54942/TCP …`) in Linux's default
/// ephemeral range (`net.ipv4.ip_local_port_range`: 32768-60999)?
fn to_ephemeral_port(line: &str) -> bool {
    line.split_whitespace()
        .nth(3)
        .and_then(|port| port.split('/').next())
        .and_then(|port| port.parse::<u16>().ok())
        .is_some_and(|port| (32768..=60999).contains(&port))
}

fn without_dns(lines: Vec<String>) -> Vec<String> {
    lines.into_iter().filter(|line| !line.contains(" -> dns ")).collect()
}

/// Real software that talks, on Kubernetes (the podman side:
/// tests/probe_podman.rs, `real_servers_redis_replica_flows_…`): the
/// replica's link to the primary and the client's connections to both, by
/// their Services' names through kube-proxy, each counted for the workload
/// it reached, with its process; `fix --from-report` keeps them all. (The
/// cluster DNS's queries are not logged here: its flows are seen when a
/// resolver's socket is caught, and are left out of the comparison.)
#[test]
fn real_servers_redis_replica_flows_are_observed_and_kept() {
    let Some(cluster) = cluster() else { return };
    let chart = "testdata/charts/real-redis";
    let json = probed_flows(&cluster, &["rr", chart, "--timeout", "150s"]);
    let flows = without_dns(common::observed::flow_lines(&json));
    assert_eq!(
        flows,
        [
            "rr-client -> rr-primary 6379/TCP (redis-cli)",
            "rr-client -> rr-replica 6379/TCP (redis-cli)",
            "rr-replica -> rr-primary 6379/TCP (redis-server)",
        ],
        "{json:#}"
    );
    common::observed::assert_fix_keeps_observed_flows(
        &json,
        "rr",
        &[chart],
        &[("rr-primary", "rr-replica", 6379), ("rr-replica", "rr-client", 6379)],
    );
}

/// The ZooKeeper ensemble on Kubernetes (the podman side:
/// `real_servers_zookeeper_ensemble_…` in tests/probe_podman.rs): three
/// members started in parallel, their peer connections by their stable
/// names under the headless Service, the client's session; kept by `fix`.
#[test]
fn real_servers_zookeeper_ensemble_flows_are_observed_and_kept() {
    let Some(cluster) = cluster() else { return };
    let chart = "testdata/charts/real-zookeeper";
    let json = probed_flows(
        &cluster,
        &["zk", chart, "--set", "ensemble=true,jmx=false", "--timeout", "240s"],
    );
    let flows = without_dns(common::observed::flow_lines(&json));
    assert_eq!(
        flows,
        [
            "zk-client -> zk-zookeeper 2181/TCP (java)",
            "zk-zookeeper -> zk-zookeeper 2888/TCP (java)",
            "zk-zookeeper -> zk-zookeeper 3888/TCP (java)",
        ],
        "{json:#}"
    );
    common::observed::assert_fix_keeps_observed_flows(
        &json,
        "zk",
        &[chart, "--set", "ensemble=true,jmx=false"],
        &[("zk-client", "zk-zookeeper", 2888), ("zk-client", "zk-zookeeper", 3888)],
    );
}

/// The RabbitMQ cluster on Kubernetes (the podman side:
/// `real_servers_rabbitmq_cluster_…` in tests/probe_podman.rs). The
/// nodes' processes are not named here: they run as another user than the
/// exec that reads them, and a container has no CAP_SYS_PTRACE.
#[test]
fn real_servers_rabbitmq_cluster_flows_are_observed_and_kept() {
    let Some(cluster) = cluster() else { return };
    let chart = "testdata/charts/real-rabbitmq";
    let json = probed_flows(&cluster, &["rq", chart, "--set", "cluster=true", "--timeout", "240s"]);
    // The readiness probe's CLI (rabbitmq-diagnostics) is an Erlang node of
    // its own, listening for a moment on a port of the kernel's ephemeral
    // range, where the server's node calls it back: when a scan catches it,
    // that flow is real but not the cluster's. Left out, like DNS.
    let flows: Vec<String> = without_dns(common::observed::rabbitmq_flow_lines(&json))
        .into_iter()
        .filter(|line| !to_ephemeral_port(line))
        .collect();
    assert_eq!(
        flows,
        [
            "rq-client -> rq-rabbitmq 5672/TCP (amqp-consume)",
            // The nodes run as `rabbitmq` (su): an exec as root without
            // CAP_SYS_PTRACE cannot read their sockets' owners.
            "rq-rabbitmq -> rq-rabbitmq 25672/TCP (-)",
            "rq-rabbitmq -> rq-rabbitmq 4369/TCP",
        ],
        "{json:#}"
    );
    common::observed::assert_fix_keeps_observed_flows(
        &json,
        "rq",
        &[chart, "--set", "cluster=true"],
        &[("rq-client", "rq-rabbitmq", 4369), ("rq-client", "rq-rabbitmq", 25672)],
    );
}

/// `fix --cluster`: the API-server rule of the Kubernetes flavor names
/// exactly the addresses and ports of the Endpoints default/kubernetes;
/// Cilium and Calico keep their own construct and take the port. `fix
/// --check --cluster` holds the policies to that port. The test cluster's
/// API server keeps no Endpoints (`--endpoint-reconciler-type=none`: pods
/// have no way to it on loopback): `fix --cluster` says so in one line, then
/// the test writes some (the bridge's own address, 10.217.0.1, since
/// Endpoints refuse loopback; nothing listens there, and no pod runs
/// meanwhile) and removes them at the end.
#[test]
fn fix_cluster_writes_the_api_server_where_it_is() {
    let Some(cluster) = cluster() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let fix = |flavor: &str, dir: &std::path::Path| {
        cluster
            .netaudit(
                4,
                &[
                    "fix",
                    "--manifests",
                    "testdata/fix/platform.yaml",
                    "--cluster",
                    "--flavor",
                    flavor,
                    "--output-dir",
                    dir.to_str().unwrap(),
                ],
            )
            .output()
            .unwrap()
    };
    let missing = fix("kubernetes", &tmp.path().join("missing"));
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        one_error_line(&missing),
        "error: cannot read the Endpoints default/kubernetes (where the API server is): the API server answered 404 NotFound: endpoints \"kubernetes\" not found"
    );
    assert!(!tmp.path().join("missing").exists(), "nothing written");
    let server = stdout(&cluster.kubectl(&[
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.server}",
    ]));
    let port = server.rsplit(':').next().unwrap().trim().to_string();
    let ip = "10.217.0.1";
    let endpoints = tmp.path().join("endpoints.yaml");
    std::fs::write(
        &endpoints,
        format!(
            "apiVersion: v1\nkind: Endpoints\nmetadata: {{name: kubernetes, namespace: default}}\n\
             subsets: [{{addresses: [{{ip: {ip}}}], ports: [{{name: https, port: {port}, protocol: TCP}}]}}]\n"
        ),
    )
    .unwrap();
    let created = cluster.kubectl(&["create", "-f", endpoints.to_str().unwrap()]);
    assert!(created.status.success(), "{}", stderr(&created));
    struct Remove<'c>(&'c Cluster);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = self.0.kubectl(&["delete", "endpoints", "kubernetes", "-n", "default"]);
        }
    }
    let _remove = Remove(&cluster);
    for flavor in ["kubernetes", "cilium", "calico"] {
        let dir = tmp.path().join(flavor);
        let out = fix(flavor, &dir);
        assert!(out.status.success(), "{flavor}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("the API server is at {ip}:{port}")),
            "{}",
            stderr(&out)
        );
        let policies = std::fs::read_to_string(dir.join("networkpolicies.yaml")).unwrap();
        assert!(!policies.contains("0.0.0.0/0"), "{flavor}: {policies}");
        match flavor {
            "kubernetes" => {
                assert!(policies.contains(&format!("cidr: \"{ip}/32\"")), "{policies}");
                assert!(policies.contains(&format!("port: {port}")), "{policies}");
                assert!(!policies.contains("port: 443\n"), "{policies}");
            }
            "cilium" => {
                assert!(policies.contains("- kube-apiserver"), "{policies}");
                assert!(policies.contains(&format!("port: \"{port}\"")), "{policies}");
            }
            _ => assert!(policies.contains("name: kubernetes"), "{policies}"),
        }
        // What fix wrote, checked against the same endpoints.
        let applied = tmp.path().join(format!("{flavor}.yaml"));
        let rendered = std::fs::read_to_string(dir.join("rendered.yaml")).unwrap();
        std::fs::write(&applied, format!("{rendered}\n---\n{policies}")).unwrap();
        let check = cluster
            .netaudit(
                4,
                &["fix", "--check", "--cluster", "--manifests", applied.to_str().unwrap()],
            )
            .output()
            .unwrap();
        assert_eq!(check.status.code(), Some(0), "{flavor}: {}", stdout(&check));
        assert!(
            stdout(&check).contains(&format!(
                "allowed: Deployment/platform/operator -> (API server) {port}/TCP"
            )),
            "{}",
            stdout(&check)
        );
    }
}

/// `audit -o policyreport --apply`: without the PolicyReport CRD, one line;
/// with it, a PolicyReport `netaudit` in the release's namespace with a
/// result per finding of `audit -o json`, under netaudit's field manager;
/// applied again, it is replaced, not added to.
#[test]
fn audit_applies_policy_reports_that_replace_the_previous_one() {
    let Some(cluster) = cluster() else { return };
    let namespace = "netaudit-test-reports";
    let crds = "testdata/crds/policyreports.yaml";
    struct Undo<'c>(&'c Cluster, &'static str, &'static str);
    impl Drop for Undo<'_> {
        fn drop(&mut self) {
            let _ = self.0.helm(4, &["uninstall", "reported", "-n", self.1]);
            let _ = self
                .0
                .kubectl(&["delete", "namespace", self.1, "--ignore-not-found", "--wait=false"]);
            let _ = self.0.kubectl(&["delete", "-f", self.2, "--ignore-not-found"]);
        }
    }
    cluster.kubectl(&["delete", "-f", crds, "--ignore-not-found", "--wait=true"]);
    let _undo = Undo(&cluster, namespace, crds);
    cluster.install_misconfigured("reported", namespace);
    let audit = |more: &[&str]| {
        let mut args = vec!["audit", "reported", "-n", namespace];
        args.extend_from_slice(more);
        cluster.netaudit(4, &args).output().unwrap()
    };
    let without_crd = audit(&["-o", "policyreport", "--apply"]);
    assert_eq!(without_crd.status.code(), Some(2), "{}", stderr(&without_crd));
    assert!(
        one_error_line(&without_crd).starts_with(&format!(
            "error: cannot apply the PolicyReport {namespace}/netaudit: the cluster does not serve wgpolicyk8s.io/v1alpha2 PolicyReport"
        )),
        "{}",
        stderr(&without_crd)
    );
    let made = cluster.kubectl(&["apply", "-f", crds]);
    assert!(made.status.success(), "{}", stderr(&made));
    let established = cluster.kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/policyreports.wgpolicyk8s.io",
        "--timeout=60s",
    ]);
    assert!(established.status.success(), "{}", stderr(&established));
    for _ in 0..2 {
        let applied = audit(&["-o", "policyreport", "--apply"]);
        assert_eq!(applied.status.code(), Some(1), "findings: {}", stderr(&applied));
        assert!(
            stderr(&applied).contains(&format!("applied PolicyReport {namespace}/netaudit to ")),
            "{}",
            stderr(&applied)
        );
        assert!(
            stdout(&applied).contains("kind: PolicyReport"),
            "the reports are printed too"
        );
        let got = cluster.kubectl(&[
            "get",
            "policyreports",
            "-n",
            namespace,
            "-o",
            "json",
            "--show-managed-fields",
        ]);
        let list: serde_json::Value = serde_json::from_str(&stdout(&got)).unwrap();
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "one report, replaced: {list:#}");
        let report = &items[0];
        assert_eq!(report["metadata"]["name"], "netaudit");
        // What was applied is what was printed (the pods' state may change
        // the runtime findings between two runs, not within one).
        let printed_text = stdout(&applied);
        let printed: Vec<&str> = printed_text
            .lines()
            .filter_map(|l| l.strip_prefix("  policy: "))
            .collect();
        let results: Vec<&str> = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["policy"].as_str().unwrap())
            .collect();
        assert!(!results.is_empty());
        assert_eq!(results, printed);
        assert_eq!(report["summary"]["fail"], serde_json::json!(results.len()));
        let managers: Vec<&str> = report["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["manager"].as_str())
            .collect();
        assert_eq!(managers, ["netaudit"]);
    }
}
