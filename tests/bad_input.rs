//! Bad input gets one clear error line naming the file (and line), exit
//! code 2, no panic, and no half-written output file.

mod common;

use common::{helm, netaudit, stderr, stdout};
use std::io::Write;
use std::process::{Command, Stdio};

fn assert_error(out: &std::process::Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}\nstdout: {}", stdout(out));
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
}

#[test]
fn malformed_yaml_names_file_and_line() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", "--manifests", "testdata/bad/malformed.yaml"], &helm(4));
    assert_error(&out, &["testdata/bad/malformed.yaml:7:", "invalid YAML"]);
}

#[test]
fn non_kubernetes_yaml_is_rejected() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", "--manifests", "testdata/bad/not-kubernetes.yaml"], &helm(4));
    assert_error(
        &out,
        &[
            "testdata/bad/not-kubernetes.yaml:2:",
            "not a Kubernetes object: no `kind`",
        ],
    );
}

#[test]
fn an_empty_file_or_stdin_is_a_warning_not_an_error() {
    if common::skip_without_helm() {
        return;
    }
    // An empty file, alone: nothing to audit, exit 0 with a warning.
    let out = netaudit(&["lint", "--manifests", "testdata/bad/empty.yaml"], &helm(4));
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(
        text.contains(
            "warning: testdata/bad/empty.yaml holds no Kubernetes object (empty, or only comments): nothing to audit"
        ),
        "{text}"
    );
    // In a batch, the other files are still audited.
    let out = netaudit(
        &[
            "lint",
            "--manifests",
            "testdata/bad/empty.yaml",
            "--manifests",
            "testdata/manifests/M7/fail-host-network.yaml",
            "-o",
            "json",
        ],
        &helm(4),
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["check"] == "M7"));
    assert!(report["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("empty.yaml holds no Kubernetes object"));
    // `helm template … | helm netaudit lint --manifests -` for a chart that renders nothing.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["lint", "--manifests", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"---\n# Source: x/templates/off.yaml\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains("warning: <stdin> holds no Kubernetes object"),
        "{}",
        common::stdout(&out)
    );
}

#[test]
fn missing_file_is_rejected() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", "--manifests", "testdata/bad/does-not-exist.yaml"], &helm(4));
    assert_error(&out, &["cannot read testdata/bad/does-not-exist.yaml"]);
}

#[test]
fn chart_that_fails_to_render_shows_helms_error() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", "testdata/broken-charts/render-error"], &helm(4));
    assert_error(
        &out,
        &[
            "helm template testdata/broken-charts/render-error failed",
            "image.tag is required",
        ],
    );
}

#[test]
fn missing_helm_is_a_clear_error() {
    let out = netaudit(
        &["lint", "examples/insecure-shop"],
        std::path::Path::new("/nonexistent/helm"),
    );
    assert_error(&out, &["helm not found", "HELM_BIN points at /nonexistent/helm"]);
    // No HELM_BIN and no helm on PATH.
    let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["lint", "examples/insecure-shop"])
        .current_dir(common::repo())
        .env_remove("HELM_BIN")
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_error(&out, &["helm not found: no `helm` on PATH"]);
}

#[test]
fn unknown_flag_is_a_usage_error() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", "examples/insecure-shop", "--no-such-flag"], &helm(4));
    assert_error(&out, &["--no-such-flag", "(see `netaudit lint --help`)"]);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    let out = netaudit(&["lint", "a", "b", "c"], &helm(4));
    assert_error(&out, &["unexpected value 'c'"]);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    // --help is not an error.
    let out = netaudit(&["lint", "--help"], &helm(4));
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("--enable-chart-policies"));
}

#[test]
fn a_chart_that_is_not_there_is_said_in_our_words() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint", "nope"], &helm(4));
    assert_error(
        &out,
        &["chart `nope` not found: no such directory or chart archive here"],
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn an_invalid_release_name_is_said_in_our_words() {
    // Refused before helm runs (helm would answer with its regex, twice).
    for args in [
        &["lint", "My_Release", "examples/insecure-shop"][..],
        &[
            "lint",
            "examples/insecure-shop",
            "--chart",
            "Blog=examples/insecure-shop",
        ][..],
    ] {
        let out = netaudit(args, std::path::Path::new("/nonexistent/helm"));
        assert_error(&out, &["error: invalid release name `", "at most 53 characters"]);
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
}

#[test]
fn nothing_to_lint_is_an_error() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(&["lint"], &helm(4));
    assert_error(&out, &["nothing to lint"]);
}

#[test]
fn bad_config_names_file_and_line() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(
        &[
            "lint",
            "examples/insecure-shop",
            "--config",
            "testdata/bad/netaudit-bad-severity.yaml",
        ],
        &helm(4),
    );
    assert_error(
        &out,
        &[
            "testdata/bad/netaudit-bad-severity.yaml:3:",
            "unknown severity \"critical\"",
        ],
    );
}

#[test]
fn huge_file_is_refused_quickly_and_no_output_file_is_left() {
    if common::skip_without_helm() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let mut file = std::fs::File::create(&big).unwrap();
    let doc = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: filler\ndata:\n  k: v\n";
    let mut written = 0;
    while written < 50 * 1024 * 1024 {
        file.write_all(doc.as_bytes()).unwrap();
        written += doc.len();
    }
    drop(file);
    let report = dir.path().join("report.json");
    let out = netaudit(
        &[
            "lint",
            "--manifests",
            big.to_str().unwrap(),
            "-o",
            "json",
            "--output-file",
            report.to_str().unwrap(),
        ],
        &helm(4),
    );
    assert_error(&out, &["big.yaml", "byte limit"]);
    assert!(!report.exists(), "a report file was written despite the error");

    // The same through stdin.
    let mut child = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["lint", "--manifests", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let bytes = std::fs::read(&big).unwrap();
    // The binary stops reading at the limit and exits; a broken pipe here is expected.
    let _ = stdin.write_all(&bytes);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_error(&out, &["<stdin>", "byte limit"]);
}

#[test]
fn max_input_size_moves_the_limit_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.yaml");
    let doc = "---
apiVersion: v1
kind: ConfigMap
metadata:
  name: filler
data:
  k: v
";
    std::fs::write(&file, doc.repeat(2 * 1024 * 1024 / doc.len())).unwrap();
    let path = file.to_str().unwrap();
    let no_helm = std::path::Path::new("/nonexistent/helm");
    let out = netaudit(&["lint", "--manifests", path, "--max-input-size", "3MiB"], no_helm);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = netaudit(&["lint", "--manifests", path, "--max-input-size", "1MiB"], no_helm);
    assert_error(
        &out,
        &[
            "cluster.yaml",
            "more than the 1048576 byte limit (--max-input-size raises it)",
        ],
    );
    let out = netaudit(&["lint", "--manifests", path, "--max-input-size", "lots"], no_helm);
    assert_error(&out, &["invalid size \"lots\""]);
}

#[test]
fn hostile_yaml_is_refused_without_crashing() {
    if common::skip_without_helm() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Deep nesting (a recursive parser would overflow its stack) ...
    let mut deep = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n");
    for i in 1..3000 {
        deep.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
    }
    // ... and an alias bomb (a billion laughs).
    let mut bomb = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    // A tag right before `,` in a flow collection makes the YAML library
    // panic (found by the `manifests` fuzz target): one error line, no
    // panic message.
    let tagged = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, image: !b, ports: []}]}\n",
    );
    for (name, text, needle) in [
        ("deep.yaml", deep, "nesting deeper"),
        ("bomb.yaml", bomb, "alias"),
        (
            "tagged.yaml",
            tagged,
            "tagged.yaml:4: invalid YAML (column 1): a tag followed directly by `,`",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = netaudit(&["lint", "--manifests", path.to_str().unwrap()], &helm(4));
        assert_error(&out, &[name, needle]);
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
}

#[test]
fn binary_garbage_is_rejected() {
    if common::skip_without_helm() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.yaml");
    std::fs::write(&path, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let out = netaudit(&["lint", "--manifests", path.to_str().unwrap()], &helm(4));
    assert_error(&out, &["garbage.yaml", "not UTF-8"]);
}

#[test]
fn kube_runtime_without_a_cluster_is_a_clear_error() {
    if common::skip_without_helm() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args([
            "install",
            "testdata/charts/probe-clean",
            "--probe",
            "--runtime",
            "kube",
            "-q",
        ])
        .current_dir(common::repo())
        .env("HELM_BIN", helm(4))
        .env("HOME", home.path())
        .env("KUBECONFIG", home.path().join("no-such-kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    // One line in our words, not kube-rs's chain repeating the OS error.
    assert_error(
        &out,
        &[
            "error: no Kubernetes cluster configured: KUBECONFIG names ",
            "no-such-kubeconfig, which does not exist",
        ],
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(!stderr(&out).contains("os error"), "{}", stderr(&out));
}

/// `lint --cluster` without a cluster: one line naming the missing
/// kubeconfig, exit 2, no report.
#[test]
fn lint_cluster_without_a_cluster_is_one_line() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args([
            "lint",
            "--manifests",
            "testdata/manifests/M6/fail-no-policy.yaml",
            "--cluster",
        ])
        .current_dir(common::repo())
        .env("HOME", home.path())
        .env("KUBECONFIG", home.path().join("no-such-kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("HELM_KUBECONTEXT")
        .output()
        .unwrap();
    assert_error(
        &out,
        &[
            "error: --cluster: reading the current Kubernetes context: no Kubernetes cluster configured: KUBECONFIG names ",
            "no-such-kubeconfig, which does not exist",
        ],
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let together = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args([
            "lint",
            "--manifests",
            "testdata/manifests/M6/fail-no-policy.yaml",
            "--cluster",
            "--separately",
        ])
        .current_dir(common::repo())
        .output()
        .unwrap();
    assert_error(&together, &["--cluster", "cannot be combined with --separately"]);
}

#[test]
fn install_without_probe_is_refused() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(&["install", "testdata/charts/probe-clean"], &helm(4));
    assert_error(&out, &["only installs into a throwaway sandbox: add --probe"]);
}

/// `--flows` is a table: with another format it is refused before anything
/// is rendered or installed.
#[test]
fn install_flows_with_a_machine_format_is_refused() {
    if common::skip_without_helm() {
        return;
    }
    let out = netaudit(
        &[
            "install",
            "testdata/charts/probe-clean",
            "--probe",
            "--flows",
            "-o",
            "json",
        ],
        &helm(4),
    );
    assert_error(
        &out,
        &["--flows prints a table: drop -o (-o json lists the flows in probe.flows)"],
    );
}

/// Durations that overflow are a usage error naming the value (exit 2), never
/// a panic in release builds or a silent wrap-around.
#[test]
fn overflowing_durations_are_refused() {
    for value in ["18446744073709551615s1s", "5124095576030432h", "99999999999999999999h"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .args(["install", "examples/insecure-shop", "--probe", "--timeout", value])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{value}: {err}");
        let first = err.lines().next().unwrap_or("");
        assert!(
            first.starts_with("error: invalid value") && first.contains(value) && first.contains("too long"),
            "{value}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// SIGTERM or SIGINT sent to netaudit alone (CI runners and `timeout` do
/// that) kills the helm it is running at once: a fake helm that would
/// render for a minute.
#[test]
fn a_signal_to_netaudit_alone_stops_its_helm_child() {
    for signal in ["-TERM", "-INT"] {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("helm.pid");
        let fake = dir.path().join("helm");
        std::fs::write(
            &fake,
            format!("#!/bin/sh\necho $$ > {}\nexec sleep 60\n", pid_file.display()),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .args(["lint", "examples/insecure-shop"])
            .current_dir(common::repo())
            .env("HELM_BIN", &fake)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        let helm_pid = loop {
            if let Some(pid) = std::fs::read_to_string(&pid_file).ok().filter(|p| p.ends_with('\n')) {
                break pid.trim().to_string();
            }
            assert!(start.elapsed().as_secs() < 30, "the fake helm never started");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let netaudit_pid = child.id().to_string();
        assert!(Command::new("kill")
            .args([signal, &netaudit_pid])
            .status()
            .unwrap()
            .success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{signal}: {}", stderr(&out));
        assert_eq!(stderr(&out), "error: interrupted\n", "{signal}");
        // netaudit waited for its child: the fake helm is gone already.
        let alive = Command::new("kill").args(["-0", &helm_pid]).status().unwrap().success();
        assert!(!alive, "{signal}: helm (pid {helm_pid}) still runs");
    }
}

/// `workloads` Deployments with a Service each over 50 namespaces, and a
/// NetworkPolicy per namespace (examples/synthetic.rs's `unprotected`
/// shape): a lint that computes for seconds in a debug build.
fn big_dump(workloads: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for i in 0..workloads {
        let (ns, label, team) = (i % 50, if i % 50 == 1 { i - 1 } else { i }, (i / 50) % 7);
        write!(
            out,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: ns-{ns}\n\
             spec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: app-{label}}}\n  template:\n    metadata:\n      \
             labels: {{app: app-{label}, tier: web, team: t{team}}}\n    spec:\n      containers:\n        - name: c\n          \
             image: busybox:1.36\n          ports: [{{name: http, containerPort: 8080}}]\n\
             ---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-{i}\n  namespace: ns-{ns}\nspec:\n  \
             selector: {{app: app-{label}}}\n  ports: [{{port: 80, targetPort: http}}]\n"
        )
        .unwrap();
    }
    for n in 0..50 {
        write!(
            out,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\n  namespace: ns-{n}\n\
             spec:\n  podSelector: {{matchLabels: {{team: t0}}}}\n  policyTypes: [Ingress]\n  ingress:\n    \
             - from:\n        - podSelector: {{matchLabels: {{app: app-{n}}}}}\n      ports: [{{port: 8080}}]\n"
        )
        .unwrap();
    }
    out
}

/// SIGTERM or SIGINT while netaudit only computes (a big lint, no helm, no
/// sandbox) ends it at once with exit 130 and `error: interrupted`, as
/// during a probe, and leaves neither the `--output-file` nor its
/// temporary file. Signalled while it still runs: an input that a fast
/// machine finishes first is made bigger.
#[test]
fn a_signal_during_a_long_computation_ends_it_at_once() {
    use std::time::{Duration, Instant};
    const SIGNAL_AFTER: Duration = Duration::from_millis(500);
    let input_dir = tempfile::tempdir().unwrap();
    let mut workloads = 20_000;
    let mut dump = None;
    for signal in ["-TERM", "-INT"] {
        loop {
            let path = input_dir.path().join(format!("dump-{workloads}.yaml"));
            if dump.as_ref() != Some(&path) {
                std::fs::write(&path, big_dump(workloads)).unwrap();
                dump = Some(path.clone());
            }
            let out_dir = tempfile::tempdir().unwrap();
            let report = out_dir.path().join("report.json");
            // The dumps it grows to are over the default input limit.
            let mut child = Command::new(env!("CARGO_BIN_EXE_netaudit"))
                .args(["lint", "--max-input-size", "4GiB", "--manifests"])
                .arg(&path)
                .args(["-o", "json", "--output-file"])
                .arg(&report)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(SIGNAL_AFTER);
            if let Some(status) = child.try_wait().unwrap() {
                // An error is not a lint that ended.
                let out = child.wait_with_output().unwrap();
                assert!(matches!(status.code(), Some(0 | 1)), "{status}: {}", stderr(&out));
                // Done before the signal: that proves nothing. Bigger.
                assert!(
                    workloads < 1_000_000,
                    "netaudit finishes {workloads} workloads within {SIGNAL_AFTER:?}"
                );
                workloads *= 4;
                continue;
            }
            let signalled = Instant::now();
            let pid = child.id().to_string();
            assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
            // At once: well before the lint would have ended (seconds).
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                assert!(
                    signalled.elapsed() < Duration::from_secs(2),
                    "{signal}: netaudit still runs 2 s after the signal"
                );
                std::thread::sleep(Duration::from_millis(10));
            };
            let out = child.wait_with_output().unwrap();
            assert_eq!(status.code(), Some(130), "{signal}: {}", stderr(&out));
            assert_eq!(stderr(&out), "error: interrupted\n", "{signal}");
            let left: Vec<_> = std::fs::read_dir(out_dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert!(left.is_empty(), "{signal}: left in the output directory: {left:?}");
            break;
        }
    }
}

/// helm killed with SIGKILL while it renders, or failing: one line naming
/// the chart, exit 2 (before any sandbox exists, for `install --probe`).
#[test]
fn a_helm_killed_or_failing_while_it_renders_is_one_line() {
    if common::skip_without_helm() {
        return;
    }
    for (fault, said) in [
        ("template|1|kill:0", "failed: helm was killed by signal 9 (SIGKILL)"),
        ("template|1|fail", "injected fault in helm template"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("helm");
        std::os::unix::fs::symlink(common::repo().join("testdata/faulty-command"), &link).unwrap();
        for command in [&["lint"][..], &["install", "--probe", "--runtime", "podman"][..]] {
            let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
                .args(command)
                .arg("testdata/charts/probe-clean")
                .current_dir(common::repo())
                .env("HELM_BIN", &link)
                .env("NETAUDIT_TEST_REAL", helm(4))
                .env("NETAUDIT_TEST_FAULT_DIR", dir.path())
                .env("NETAUDIT_TEST_FAULT", fault)
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{err}");
            let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
            assert_eq!(errors.len(), 1, "{err}");
            assert_eq!(err.lines().last(), Some(errors[0]), "{err}");
            assert!(
                errors[0].starts_with("error: helm template testdata/charts/probe-clean failed")
                    && errors[0].contains(said),
                "{err}"
            );
            assert!(!err.contains("installing into"), "{err}");
            std::fs::remove_file(dir.path().join("count")).unwrap();
        }
    }
}

/// The kube runtime installs nothing that would land outside its sandbox
/// namespace: a chart with a CRD in crds/, a ClusterRole and its binding and
/// a ConfigMap written into kube-system is refused, each listed, before the
/// cluster is contacted. `--allow-cluster-scoped` lets it through, and the
/// context and server are named before anything is made there.
#[test]
fn the_kube_runtime_refuses_what_lands_outside_its_namespace() {
    if common::skip_without_helm() {
        return;
    }
    let cluster = common::CountingCluster::start();
    let install = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .args([
                "install",
                "shop",
                "testdata/charts/probe-cluster-scoped",
                "--probe",
                "--runtime",
                "kube",
            ])
            .args(extra)
            .current_dir(common::repo())
            .env("HELM_BIN", helm(4))
            .env("KUBECONFIG", &cluster.kubeconfig)
            .env_remove("HELM_KUBECONTEXT")
            .env_remove("HELM_NAMESPACE")
            .output()
            .unwrap()
    };
    let out = install(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let error = stderr(&out).lines().last().unwrap_or_default().to_string();
    assert_eq!(
        error,
        "error: the chart puts 4 object(s) outside the sandbox namespace, where they would change the cluster for everyone: \
         CustomResourceDefinition `widgets.netaudit.example.com`, ConfigMap `kube-system/shop-dashboards`, \
         ClusterRole `shop-reader`, ClusterRoleBinding `shop-reader`; nothing was installed (--allow-cluster-scoped installs them anyway, and the \
         sandbox's helm uninstall removes them; --runtime podman stays local)"
    );
    assert_eq!(cluster.connections(), 0, "the cluster was contacted");

    let out = install(&["--allow-cluster-scoped", "--timeout", "5s"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    let lines: Vec<&str> = text.lines().collect();
    let allowed = lines
        .iter()
        .position(|l| l.starts_with("netaudit: --allow-cluster-scoped: 4 object(s) go outside"));
    let target = lines.iter().position(|l| {
        l.starts_with("netaudit: kube runtime: the sandbox namespace netaudit-shop-")
            && l.contains(" and release `shop` go into context `production` (server https://127.0.0.1:")
    });
    assert!(allowed.is_some() && target.is_some() && allowed < target, "{lines:#?}");
    assert!(cluster.connections() > 0, "{lines:#?}");
}
