//! `netaudit audit` without a cluster: errors, and the fleet audit (every
//! release of a namespace or of the cluster) with a stand-in for helm. The
//! probe itself is tested against a mocked API server in
//! src/probe/kube/in_place.rs, and everything on the real cluster in
//! tests/probe_kube.rs.

mod common;

use std::process::Command;

/// `netaudit audit ARGS` with a real helm, an empty kubeconfig and a HOME
/// without one: helm cannot reach any cluster.
fn audit_without_cluster(args: &[&str]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, "").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .arg("audit")
        .args(args)
        .current_dir(dir.path())
        .env("HELM_BIN", common::helm(4))
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", dir.path())
        .env("HELM_CONFIG_HOME", dir.path().join("helm-config"))
        .env("HELM_CACHE_HOME", dir.path().join("helm-cache"))
        .env("HELM_DATA_HOME", dir.path().join("helm-data"))
        .env_remove("HELM_NAMESPACE")
        .env_remove("HELM_KUBECONTEXT")
        .env("NO_COLOR", "1")
        .output()
        .expect("run netaudit");
    (output.status.code(), common::stdout(&output), common::stderr(&output))
}

#[test]
fn a_release_that_cannot_be_read_is_a_one_line_error_with_exit_2() {
    if common::skip_without_helm() {
        return;
    }
    let (code, stdout, stderr) = audit_without_cluster(&["nosuch", "-n", "prod", "-q"]);
    assert_eq!(code, Some(2), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: helm get manifest nosuch --namespace prod failed: "),
        "{stderr}"
    );
}

#[test]
fn progress_goes_to_stderr_before_the_error() {
    if common::skip_without_helm() {
        return;
    }
    let (code, stdout, stderr) = audit_without_cluster(&["nosuch"]);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("netaudit: reading the manifests of release nosuch (namespace default)"),
        "{stderr}"
    );
    assert!(lines.last().unwrap().starts_with("error: "), "{stderr}");
    assert_eq!(lines.len(), 2, "{stderr}");
}

/// A stand-in for helm that records its arguments and answers `get manifest`.
fn fake_helm(dir: &std::path::Path, script: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("helm");
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho \"$@\" >> {}/helm-args\n{script}\n", dir.display()),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn run_with(
    helm: &std::path::Path,
    dir: &std::path::Path,
    args: &[&str],
    context: Option<&str>,
) -> std::process::Output {
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, "").unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_netaudit"));
    command
        .arg("audit")
        .args(args)
        .current_dir(dir)
        .env("HELM_BIN", helm)
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", dir)
        .env_remove("HELM_NAMESPACE")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("NO_COLOR", "1");
    match context {
        Some(c) => command.env("HELM_KUBECONTEXT", c),
        None => command.env_remove("HELM_KUBECONTEXT"),
    };
    command.output().unwrap()
}

#[test]
fn a_missing_release_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let helm = fake_helm(dir.path(), "echo 'Error: release: not found' >&2; exit 1");
    let output = run_with(&helm, dir.path(), &["nosuch", "-q"], None);
    let stderr = common::stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: release nosuch not found in namespace default (helm get manifest: release: not found); \
`helm list --namespace default` lists the releases there"
    );
}

#[test]
fn the_manifest_comes_from_helm_get_manifest_then_the_cluster_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    let helm = fake_helm(
        dir.path(),
        "printf 'apiVersion: v1\\nkind: Service\\nmetadata: {name: web}\\nspec: {ports: [{port: 80}]}\\n'",
    );
    // HELM_NAMESPACE is -n's default, HELM_KUBECONTEXT becomes --kube-context.
    let output = run_with(&helm, dir.path(), &["shop", "-n", "prod", "-q"], Some("nowhere"));
    let stderr = common::stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("nowhere"), "the kubeconfig context is named: {stderr}");
    let args = std::fs::read_to_string(dir.path().join("helm-args")).unwrap();
    assert_eq!(args, "get manifest shop --namespace prod --kube-context nowhere\n");
    assert!(common::stdout(&output).is_empty(), "no report on an error");
}

/// Ctrl-C while the API server does not answer: the probe stops at once,
/// says "interrupted" on one line and exits 130, as shells expect.
#[test]
fn an_interrupt_while_the_cluster_hangs_exits_130() {
    use std::io::Read;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let helm = fake_helm(
        dir.path(),
        "printf 'apiVersion: apps/v1\\nkind: Deployment\\nmetadata: {name: web}\\nspec:\\n  selector: {matchLabels: {app: web}}\\n  template:\\n    metadata: {labels: {app: web}}\\n    spec: {containers: [{name: web, image: web}]}\\n'",
    );
    // An "API server" on loopback that accepts connections and never answers.
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: hang\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\n\
             users:\n- name: nobody\n  user: {{}}\ncontexts:\n- name: hang\n  context: {{cluster: hang, user: nobody}}\n\
             current-context: hang\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["audit", "shop", "-n", "prod", "-q"])
        .current_dir(dir.path())
        .env("HELM_BIN", &helm)
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", dir.path())
        .env_remove("HELM_NAMESPACE")
        .env_remove("HELM_KUBECONTEXT")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until netaudit is waiting for the API server's answer.
    server.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let _connection = loop {
        match server.accept() {
            Ok((connection, _)) => break connection,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                let _ = child.kill();
                panic!("netaudit never reached the API server: {e}");
            }
        }
    };
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the interrupt took {:?}",
        started.elapsed()
    );
    assert_eq!(status.code(), Some(130), "stderr: {stderr}");
    assert_eq!(stderr.trim_end(), "error: interrupted", "{stderr}");
    assert!(stdout.is_empty(), "no report after an interrupt: {stdout}");
}

/// A stand-in for helm that serves a fleet: `helm list` answers from
/// `list-<offset>.json` (or `[]`), `helm get manifest R` from
/// `manifests/R.yaml` (else "release: not found").
fn fleet_helm(dir: &std::path::Path, releases: &[(&str, &str, &str)]) -> std::path::PathBuf {
    let manifests = dir.join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    let list: Vec<serde_json::Value> = releases
        .iter()
        .map(|(namespace, name, manifest)| {
            std::fs::write(manifests.join(format!("{name}.yaml")), manifest).unwrap();
            serde_json::json!({"name": name, "namespace": namespace, "revision": "1",
                "status": "deployed", "chart": "web-0.1.0", "app_version": "1.0"})
        })
        .collect();
    std::fs::write(dir.join("list-0.json"), serde_json::to_string(&list).unwrap()).unwrap();
    let root = dir.display();
    fake_helm(
        dir,
        &format!(
            r#"case "$1" in
list) offset=$(echo "$@" | sed 's/.*--offset \([0-9]*\).*/\1/'); cat "{root}/list-$offset.json" 2>/dev/null || echo '[]';;
get) cat "{root}/manifests/$3.yaml" 2>/dev/null || {{ echo 'Error: release: not found' >&2; exit 1; }};;
esac"#
        ),
    )
}

/// A Deployment and a Service, both selecting `app: <app>`.
fn web(release: &str, app: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {release}-web}}\nspec:\n  selector: {{matchLabels: {{app: {app}}}}}\n  \
template:\n    metadata: {{labels: {{app: {app}}}}}\n    spec: {{containers: [{{name: web, image: web, ports: [{{containerPort: 8080}}]}}]}}\n\
---\napiVersion: v1\nkind: Service\nmetadata: {{name: {release}-web}}\nspec: {{selector: {{app: {app}}}, ports: [{{port: 80, targetPort: 8080}}]}}\n"
    )
}

fn helm_calls(dir: &std::path::Path) -> Vec<String> {
    let mut calls: Vec<String> = std::fs::read_to_string(dir.join("helm-args"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // The manifests are read concurrently.
    calls.sort();
    calls
}

#[test]
fn a_fleet_audit_is_a_summary_row_per_release_with_collisions_between_them() {
    let dir = tempfile::tempdir().unwrap();
    let (blog, shop, api) = (web("blog", "web"), web("shop", "web"), web("api", "api"));
    let helm = fleet_helm(
        dir.path(),
        &[
            ("prod", "blog", &blog),
            ("prod", "shop", &shop),
            ("staging", "api", &api),
            ("staging", "hooks-only", ""),
        ],
    );
    let output = run_with(&helm, dir.path(), &["--all-namespaces"], Some("ctx"));
    let stderr = common::stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "warning: staging/hooks-only: the release's manifest holds no Kubernetes object (only hooks, or nothing): \
nothing to audit"
        ),
        "{stderr}"
    );
    let table = common::stdout(&output);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(
        rows,
        [
            "| release | affected | M4A | M4B | M4C | M4G | M5B | M5C | M5D | M6 | M7 | NP1 | NP2 | NP3 |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            "| prod/blog | yes | 0 | 0 | 0 | 2 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 0 |",
            "| prod/shop | yes | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 0 |",
            "| staging/api | yes | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 0 |",
            "| staging/hooks-only | no | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
            "| **total (4 releases)** | 3 | 0 | 0 | 0 | 3 | 0 | 0 | 0 | 3 | 0 | 0 | 0 | 0 |",
        ],
        "{table}"
    );
    // Installed releases run in their namespace: no "shared only because
    // their objects set none" warning.
    assert!(!stderr.contains("set none"), "{stderr}");
    assert_eq!(
        helm_calls(dir.path()),
        [
            "get manifest api --namespace staging --kube-context ctx",
            "get manifest blog --namespace prod --kube-context ctx",
            "get manifest hooks-only --namespace staging --kube-context ctx",
            "get manifest shop --namespace prod --kube-context ctx",
            "list --output json --deployed --failed --pending --all-namespaces --max 256 --offset 0 --kube-context ctx",
        ]
    );
}

#[test]
fn jsonl_is_a_line_per_release_with_its_findings() {
    let dir = tempfile::tempdir().unwrap();
    let (blog, shop) = (web("blog", "web"), web("shop", "web"));
    let helm = fleet_helm(dir.path(), &[("prod", "blog", &blog), ("prod", "shop", &shop)]);
    let output = run_with(&helm, dir.path(), &["-n", "prod", "-o", "jsonl"], None);
    assert_eq!(output.status.code(), Some(1), "{}", common::stderr(&output));
    let lines: Vec<serde_json::Value> = common::stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["input"], "prod/shop");
    assert_eq!(lines[1]["release"], "shop");
    assert_eq!(lines[1]["namespace"], "prod");
    assert_eq!(lines[1]["counts"]["M4G"], 1);
    let checks: Vec<&str> = lines[1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["M4G", "M6"]);
    let calls = helm_calls(dir.path());
    assert_eq!(
        calls.last().unwrap(),
        "list --output json --deployed --failed --pending --namespace prod --max 256 --offset 0"
    );
}

/// `count` releases `r000`, `r001`, … in namespace `big`, all listed on
/// the stand-in's first page.
fn big_fleet(dir: &std::path::Path, count: usize) -> std::path::PathBuf {
    let manifest = web("r", "r");
    let names: Vec<String> = (0..count).map(|i| format!("r{i:03}")).collect();
    let releases: Vec<(&str, &str, &str)> = names.iter().map(|n| ("big", n.as_str(), manifest.as_str())).collect();
    fleet_helm(dir, &releases)
}

#[test]
fn a_fleet_larger_than_a_helm_list_page_is_read_page_by_page() {
    let dir = tempfile::tempdir().unwrap();
    let helm = big_fleet(dir.path(), 257);
    // helm pages by 256: the stand-in does too.
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("list-0.json")).unwrap()).unwrap();
    let all = all.as_array().unwrap();
    std::fs::write(
        dir.path().join("list-0.json"),
        serde_json::to_string(&all[..256]).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("list-256.json"),
        serde_json::to_string(&all[256..]).unwrap(),
    )
    .unwrap();
    let output = run_with(
        &helm,
        dir.path(),
        &["-n", "big", "-o", "jsonl", "--fail-on", "never"],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    assert_eq!(common::stdout(&output).lines().count(), 257);
    let lists: Vec<String> = helm_calls(dir.path())
        .into_iter()
        .filter(|c| c.starts_with("list"))
        .collect();
    assert_eq!(
        lists,
        [
            "list --output json --deployed --failed --pending --namespace big --max 256 --offset 0",
            "list --output json --deployed --failed --pending --namespace big --max 256 --offset 256",
        ]
    );
}

#[test]
fn a_helm_that_ignores_the_offset_is_an_error_not_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    let helm = big_fleet(dir.path(), 256);
    // Every page is the first one.
    let list = std::fs::read_to_string(dir.path().join("list-0.json")).unwrap();
    std::fs::write(dir.path().join("list-256.json"), &list).unwrap();
    let output = run_with(&helm, dir.path(), &["-n", "big", "-q"], None);
    let stderr = common::stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: helm list failed: helm list --offset 256 returned the releases it had already listed"
    );
}

#[test]
fn an_empty_fleet_says_so_and_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let helm = fleet_helm(dir.path(), &[]);
    let output = run_with(&helm, dir.path(), &["-n", "empty"], None);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        common::stderr(&output)
            .contains("warning: no deployed, failed or pending Helm release (namespace empty): nothing to audit"),
        "{}",
        common::stderr(&output)
    );
}

#[test]
fn a_release_of_the_fleet_that_cannot_be_read_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let blog = web("blog", "web");
    let helm = fleet_helm(dir.path(), &[("prod", "blog", &blog), ("prod", "gone", "")]);
    std::fs::remove_file(dir.path().join("manifests/gone.yaml")).unwrap();
    let output = run_with(&helm, dir.path(), &["-A", "-q"], None);
    let stderr = common::stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: reading release prod/gone: release gone not found"),
        "{stderr}"
    );
    assert!(common::stdout(&output).is_empty());
}

#[test]
fn helm_list_failing_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let helm = fake_helm(dir.path(), "echo 'Error: Kubernetes cluster unreachable' >&2; exit 1");
    let output = run_with(&helm, dir.path(), &["-A"], None);
    let stderr = common::stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.lines().last().unwrap(),
        "error: helm list failed: Kubernetes cluster unreachable"
    );
}

#[test]
fn a_release_and_all_namespaces_exclude_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let helm = fake_helm(dir.path(), "exit 0");
    let output = run_with(&helm, dir.path(), &["shop", "-A"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        common::stderr(&output).contains("cannot be used with"),
        "{}",
        common::stderr(&output)
    );
}
