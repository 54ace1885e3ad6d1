//! Helpers shared by the integration tests: the real helm binaries and the
//! real `netaudit` binary.
#![allow(dead_code)]

pub mod browser;
pub mod crd;
pub mod observed;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// helm v3 or v4: `NETAUDIT_HELM_V3`/`NETAUDIT_HELM_V4` (scripts/test.sh sets
/// them), else the copy scripts/fetch-helm.sh puts under .tools/.
pub fn find_helm(major: u8) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(format!("NETAUDIT_HELM_V{major}")).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    Some(repo().join(format!(".tools/helm-v{major}/helm"))).filter(|p| p.is_file())
}

/// The helm binary of a test that checked [`skip_without_helm`] first.
pub fn helm(major: u8) -> PathBuf {
    find_helm(major).unwrap_or_else(|| {
        panic!("helm v{major} not found: run `bash scripts/fetch-helm.sh` (or scripts/test.sh), or set NETAUDIT_HELM_V{major}")
    })
}

/// Whether a test that needs helm (v3 and v4) must skip: the helms are
/// missing and `NETAUDIT_REQUIRE_HELM` is not set. With it set (scripts/test.sh,
/// so CI) a missing helm fails the test instead.
pub fn skip_without_helm() -> bool {
    let missing: Vec<u8> = [3, 4].into_iter().filter(|m| find_helm(*m).is_none()).collect();
    if missing.is_empty() {
        return false;
    }
    if std::env::var_os("NETAUDIT_REQUIRE_HELM").is_some() {
        panic!("helm v{missing:?} missing: run `bash scripts/fetch-helm.sh`");
    }
    eprintln!("skipping: helm v{missing:?} not found (bash scripts/fetch-helm.sh fetches them)");
    true
}

/// Run `netaudit ARGS` from the repository root with `HELM_BIN` = `helm_bin`.
pub fn netaudit(args: &[&str], helm_bin: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .current_dir(repo())
        .env("HELM_BIN", helm_bin)
        .env_remove("HELM_NAMESPACE")
        // Human output wraps at COLUMNS: snapshots are taken at the default width.
        .env_remove("COLUMNS")
        .env("NO_COLOR", "1")
        .output()
        .expect("run netaudit")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A finding as the fixture expectations write it: `M5B Service/ns/name :80`,
/// M4A pairs as `Kind/ns/a + Kind/ns/b` sorted.
pub fn finding_keys(json: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = json["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            let id = |o: &serde_json::Value| {
                format!(
                    "{}/{}/{}",
                    o["kind"].as_str().unwrap(),
                    o["namespace"].as_str().unwrap(),
                    o["name"].as_str().unwrap()
                )
            };
            let objects = f["objects"].as_array().unwrap();
            let check = f["check"].as_str().unwrap();
            let object = if check == "M4A" {
                // Every workload of the collision (a pair, or a group).
                let mut all: Vec<String> = objects.iter().map(id).collect();
                all.sort();
                all.dedup();
                all.join(" + ")
            } else {
                id(&objects[0])
            };
            match f["port"].as_i64() {
                Some(port) => format!("{check} {object} :{port}"),
                None => format!("{check} {object}"),
            }
        })
        .collect();
    keys.sort();
    keys
}

/// The project's podman configuration (runc, explicit ulimits).
pub fn containers_conf() -> String {
    repo().join("podman/containers.conf").display().to_string()
}

/// What `podman ARGS` prints, word by word (IDs, names).
#[allow(dead_code)]
pub fn podman_list(args: &[&str]) -> Vec<String> {
    let out = Command::new("podman")
        .args(args)
        .env("CONTAINERS_CONF", containers_conf())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The pods of podman sandbox `sandbox` (by its label).
#[allow(dead_code)]
pub fn sandbox_pods(sandbox: &str) -> Vec<String> {
    podman_list(&[
        "pod",
        "ps",
        "-q",
        "--filter",
        &format!("label=netaudit.io/sandbox={sandbox}"),
    ])
}

/// The sandbox a progress line names (`… podman sandbox NAME (N pods)`).
#[allow(dead_code)]
pub fn sandbox_in(line: &str) -> Option<String> {
    Some(line.split("podman sandbox ").nth(1)?.split(' ').next()?.to_string())
}

/// Whether podman tests can run: podman and the local test image exist.
/// With `NETAUDIT_REQUIRE_PODMAN` set (scripts/test.sh) a missing podman
/// fails the test instead of skipping it.
pub fn podman_ready() -> bool {
    image_ready("localhost/netaudit-test:latest", "bash scripts/setup-podman.sh")
}

/// podman and the image of real servers (`scripts/build-real-image.sh`).
#[allow(dead_code)]
pub fn real_image_ready() -> bool {
    podman_ready() && image_ready("localhost/netaudit-real:latest", "bash scripts/build-real-image.sh")
}

/// Whether podman has `image`; a missing one fails under
/// NETAUDIT_REQUIRE_PODMAN (CI), and skips otherwise, saying how to get it.
fn image_ready(image: &str, how: &str) -> bool {
    let exists = Command::new("podman")
        .args(["image", "exists", image])
        .env("CONTAINERS_CONF", containers_conf())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !exists && std::env::var_os("NETAUDIT_REQUIRE_PODMAN").is_some() {
        panic!("podman or {image} is missing: run `{how}`");
    }
    if !exists {
        eprintln!("skipping: podman or {image} missing ({how})");
    }
    exists
}

/// The findings of `install probe testdata/charts/probe-misconfigured
/// --probe`, as [`runtime_keys`] writes them, on every runtime.
pub const MISCONFIGURED_RUNTIME_KEYS: [&str; 9] = [
    "M1 DaemonSet/probe-agent :17081", // hostNetwork pod, undeclared; host sockets are not its own
    "M1 Deployment/probe-web :9090",   // telnetd, undeclared
    "M2 Deployment/probe-web",         // nc -l -p 0: a new random port each start
    "M3 Deployment/probe-web :8443",   // declared https, nothing listens
    "M3 StatefulSet/probe-dhcp :6767", // declared peer port, nothing listens
    "M4B Deployment/probe-web",        // static: two Services
    "M5A Service/probe-web-tls :443",  // targets https (8443): closed
    "M5C Service/probe-dhcp :6767",    // headless, declared but closed
    "M7 DaemonSet/probe-agent",        // static: hostNetwork
];

/// `CHECK Kind/name :port` of a finding; M2 without its (random) port.
pub fn runtime_key(f: &serde_json::Value) -> String {
    let object = &f["objects"][0];
    let port = match (f["check"].as_str().unwrap(), f["port"].as_i64()) {
        ("M2", _) | (_, None) => String::new(),
        (_, Some(p)) => format!(" :{p}"),
    };
    format!(
        "{} {}/{}{port}",
        f["check"].as_str().unwrap(),
        object["kind"].as_str().unwrap(),
        object["name"].as_str().unwrap()
    )
}

/// [`runtime_key`] of every finding, sorted and deduplicated.
pub fn runtime_keys(json: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = json["findings"].as_array().unwrap().iter().map(runtime_key).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The test cluster's kubeconfig: `scripts/kube-cluster.sh up` writes it and
/// scripts/test.sh exports it as NETAUDIT_TEST_KUBECONFIG. Tests never read
/// the user's own KUBECONFIG: they install into and delete from the cluster.
/// Without it the test skips, or fails under NETAUDIT_REQUIRE_KUBE (CI).
pub fn test_cluster() -> Option<PathBuf> {
    let named = std::env::var_os("NETAUDIT_TEST_KUBECONFIG")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    let why = match named {
        Some(path) if path.is_file() => return Some(path),
        Some(path) => format!(
            "NETAUDIT_TEST_KUBECONFIG names {}, which does not exist",
            path.display()
        ),
        None => "NETAUDIT_TEST_KUBECONFIG is not set".to_string(),
    };
    let how =
        "bash scripts/kube-cluster.sh up, then export NETAUDIT_TEST_KUBECONFIG=/var/lib/netaudit-kube/admin.kubeconfig";
    if std::env::var_os("NETAUDIT_REQUIRE_KUBE").is_some() {
        panic!("no test cluster: {why} ({how})");
    }
    eprintln!("skipping: no test cluster: {why} ({how})");
    None
}

/// A "cluster" on loopback that only counts the connections made to it,
/// and a kubeconfig whose current context points at it: what `install
/// --probe` must never reach unless asked to.
#[allow(dead_code)]
pub struct CountingCluster {
    pub kubeconfig: PathBuf,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _dir: tempfile::TempDir,
}

#[allow(dead_code)]
impl CountingCluster {
    pub fn start() -> CountingCluster {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = connections.clone();
        // Accepts until the test process ends; each connection is counted and dropped.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: production\nclusters:\n- name: production\n  cluster: {{server: 'https://127.0.0.1:{port}', insecure-skip-tls-verify: true}}\ncontexts:\n- name: production\n  context: {{cluster: production, user: admin}}\nusers:\n- name: admin\n  user: {{token: not-a-secret}}\n"
            ),
        )
        .unwrap();
        CountingCluster {
            kubeconfig,
            connections,
            _dir: dir,
        }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A copy of a directory tree (a chart to change in a test).
#[allow(dead_code)]
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The python of the venv that `scripts/setup-nca.sh` makes, with IBM's
/// Network Config Analyzer installed: `NETAUDIT_NCA` (scripts/test.sh sets
/// it). `None`: the test skips, saying how to enable it, unless
/// `NETAUDIT_REQUIRE_NCA` is set (CI), where a missing NCA fails it.
pub fn nca_python() -> Option<PathBuf> {
    let found = std::env::var_os("NETAUDIT_NCA")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    if let Some(path) = &found {
        assert!(path.is_file(), "NETAUDIT_NCA={} is not a file", path.display());
    }
    if found.is_none() {
        if std::env::var_os("NETAUDIT_REQUIRE_NCA").is_some() {
            panic!("NETAUDIT_NCA is not set: run `bash scripts/setup-nca.sh` and export its last line as NETAUDIT_NCA");
        }
        eprintln!(
            "skipping: NCA not set up (enable with NETAUDIT_NCA=\"$(bash scripts/setup-nca.sh | tail -n1)\" cargo test --test nca_oracle)"
        );
    }
    found
}

/// NCA's answers to `request` (scripts/nca/connectivity.py says its form),
/// from one run of its python `python`.
pub fn nca_answers(python: &std::path::Path, request: &serde_json::Value) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("request.json");
    std::fs::write(&path, serde_json::to_vec(request).unwrap()).unwrap();
    let output = std::process::Command::new(python)
        .arg(repo().join("scripts/nca/connectivity.py"))
        .arg(&path)
        .output()
        .expect("run scripts/nca/connectivity.py");
    assert!(
        output.status.success(),
        "scripts/nca/connectivity.py failed:\n{}",
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).expect("NCA's answer is JSON")
}

/// `reach -o json` (rows of destination ports sharing an answer, sources by
/// group) as one row per destination port: `to` (`Kind/namespace/name`),
/// `port`, `protocol`, `from` (the audited workloads that may connect, by
/// name) and the row's other fields.
pub fn reach_rows(reach: &serde_json::Value) -> Vec<serde_json::Value> {
    let groups: Vec<Vec<serde_json::Value>> = reach["sources"]
        .as_array()
        .expect("reach JSON has sources")
        .iter()
        .map(|g| g["workloads"].as_array().unwrap().clone())
        .collect();
    let mut rows = Vec::new();
    for row in reach["rows"].as_array().expect("reach JSON has rows") {
        let mut from: Vec<serde_json::Value> = row["from_sources"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| groups[g.as_u64().unwrap() as usize].clone())
            .collect();
        from.sort_by_key(|w| w.as_str().unwrap().to_string());
        for to in row["to"].as_array().unwrap() {
            let mut one = row.clone();
            let object = one.as_object_mut().unwrap();
            object.remove("to");
            object.insert("to".into(), to["workload"].clone());
            object.insert("port".into(), to["port"].clone());
            object.insert("protocol".into(), to["protocol"].clone());
            object.insert("from".into(), serde_json::Value::Array(from.clone()));
            rows.push(one);
        }
    }
    rows
}

/// The probe of testdata/charts/probe-services (release `release`) saw the
/// client's connections to the web server through its Service (closed long
/// before the probe read the sockets: their TIME_WAIT tells), on the
/// server's own port, and the server made none.
pub fn assert_client_reached_web(json: &serde_json::Value, release: &str) {
    let flows = json["probe"]["flows"].as_array().expect("probe.flows");
    let (client, web) = (format!("{release}-client"), format!("{release}-web"));
    let to_web: Vec<&serde_json::Value> = flows
        .iter()
        .filter(|f| f["from"]["name"] == client.as_str() && f["to"]["workload"]["name"] == web.as_str())
        .collect();
    assert_eq!(to_web.len(), 1, "{flows:#?}");
    assert_eq!(
        (&to_web[0]["port"], &to_web[0]["protocol"], &to_web[0]["completed"]),
        (
            &serde_json::json!(8080),
            &serde_json::json!("TCP"),
            &serde_json::json!(true)
        ),
        "{flows:#?}"
    );
    assert!(to_web[0]["count"].as_u64().unwrap_or(0) >= 1, "{flows:#?}");
    assert!(
        flows.iter().all(|f| f["from"]["name"] != web.as_str()),
        "the server made no connection: {flows:#?}"
    );
}

/// `--exercise` on testdata/charts/probe-services (release `release`):
/// the client tried the one Service port, it answered, and the client's
/// connection is a flow of origin `exercise` to the web server's own port.
pub fn assert_exercised_web(json: &serde_json::Value, release: &str) {
    let exercise = &json["probe"]["exercise"];
    assert_eq!(exercise["failed"], serde_json::Value::Null, "{exercise:#}");
    assert_eq!(
        exercise["tried"],
        serde_json::json!([{"service": format!("{release}-web"), "port": 80, "protocol": "TCP", "answered": true}]),
        "{exercise:#}"
    );
    let flows = json["probe"]["flows"].as_array().expect("probe.flows");
    assert!(
        flows.iter().any(|f| f["origin"] == "exercise"
            && f["from"]["name"] == "netaudit-exercise"
            && f["to"]["workload"]["name"] == format!("{release}-web").as_str()
            && f["port"] == 8080),
        "{flows:#?}"
    );
    // The application's own flows carry no origin.
    assert!(flows.iter().any(|f| f["origin"].is_null()), "{flows:#?}");
}

/// `--run-tests --set failingTest=true` on probe-services (`release`): the
/// chart's first test fetched the web page and passed; the second, on a
/// port nothing serves, failed, and its container's last words say why.
/// `flows_seen`: the test's connection is among the flows, of origin
/// `test` (the podman runtime); else a note says it was not seen (kube,
/// where the test's pod is gone before a look from inside it).
pub fn assert_chart_tests_ran(json: &serde_json::Value, release: &str, flows_seen: bool) {
    let tests = &json["probe"]["tests"];
    assert_eq!(tests["failed"], serde_json::Value::Null, "{tests:#}");
    let ran = tests["ran"].as_array().expect("probe.tests.ran");
    assert_eq!(ran.len(), 2, "{tests:#}");
    assert_eq!(
        ran[0],
        serde_json::json!({"kind": "Pod", "name": format!("{release}-test-connection"), "passed": true}),
        "{tests:#}"
    );
    assert_eq!(
        ran[1]["name"],
        format!("{release}-test-wrong-port").as_str(),
        "{tests:#}"
    );
    assert_eq!(ran[1]["passed"], false, "{tests:#}");
    let detail = ran[1]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("container `nc` exited with 1") && detail.contains("nothing answers on port 81"),
        "{detail}"
    );
    let flows = json["probe"]["flows"].as_array().expect("probe.flows");
    let test_flow = flows.iter().any(|f| {
        f["origin"] == "test"
            && f["from"]["name"] == format!("{release}-test-connection").as_str()
            && f["to"]["workload"]["name"] == format!("{release}-web").as_str()
            && f["port"] == 8080
    });
    let noted = json["warnings"].as_array().into_iter().flatten().any(|w| {
        w["message"]
            .as_str()
            .is_some_and(|m| m.starts_with(&format!("flows not sampled: test Pod `{release}-test-connection`")))
    });
    if flows_seen {
        assert!(test_flow, "{flows:#?}");
    } else {
        assert!(test_flow || noted, "{json:#}");
    }
}

/// A chart of the shared corpus: `../shared/corpus/rendered/<dataset>/<chart>.yaml`.
pub struct CorpusChart {
    pub dataset: String,
    pub chart: String,
    pub rendered: PathBuf,
    /// Its default values.yaml (`../shared/corpus/values/<dataset>/<chart>.yaml`).
    pub values: PathBuf,
}

impl CorpusChart {
    /// `dataset/chart`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.dataset, self.chart)
    }
}

/// Every chart of the shared corpus, sorted; `None` (said on stderr) when
/// the corpus is absent: tests that read it then skip.
pub fn corpus_charts() -> Option<Vec<CorpusChart>> {
    let corpus = repo().join("../shared/corpus");
    if !corpus.join("rendered").is_dir() {
        eprintln!("skipping: ../shared/corpus/rendered not found");
        return None;
    }
    let sorted = |dir: &Path| -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        paths.sort();
        paths
    };
    let mut charts = Vec::new();
    for dataset in sorted(&corpus.join("rendered")) {
        let dataset_name = dataset.file_name().unwrap().to_string_lossy().into_owned();
        for rendered in sorted(&dataset) {
            let chart = rendered.file_stem().unwrap().to_string_lossy().into_owned();
            charts.push(CorpusChart {
                values: corpus.join("values").join(&dataset_name).join(format!("{chart}.yaml")),
                dataset: dataset_name.clone(),
                chart,
                rendered,
            });
        }
    }
    Some(charts)
}
