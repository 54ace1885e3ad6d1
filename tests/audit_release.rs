//! `netaudit audit RELEASE` without a cluster: errors only (the probe itself
//! is tested against a mocked API server in src/probe/in_place.rs).

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
