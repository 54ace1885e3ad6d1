//! Runtime confirmation of `fix` with the podman backend: probe a chart,
//! post-render it with the report, probe the result: the open-but-undeclared
//! ports (M1) are declared now. (podman does not enforce NetworkPolicies, so
//! only the port declarations can be confirmed at runtime; see
//! docs/remediation.md for a real-cluster recipe.)

mod common;

use common::{containers_conf, helm, podman_ready, repo, stderr, stdout};
use std::io::Write;
use std::process::{Command, Stdio};

fn netaudit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .current_dir(repo())
        .env("HELM_BIN", helm(4))
        .env("CONTAINERS_CONF", containers_conf())
        .env_remove("HELM_NAMESPACE")
        .output()
        .unwrap()
}

fn checks(report: &serde_json::Value, check: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .map(|f| format!("{} {}", f["objects"][0]["name"].as_str().unwrap(), f["port"]))
        .collect()
}

#[test]
fn declared_ports_from_fix_are_confirmed_by_a_second_probe() {
    if common::skip_without_helm() {
        return;
    }
    if !podman_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 1. Probe: M1 on web:9090 and agent:17081.
    let out = netaudit(&[
        "install",
        "probe",
        "testdata/charts/probe-misconfigured",
        "--probe",
        "--pull",
        "never",
        "--timeout",
        "8s",
        "-o",
        "json",
    ]);
    let before: serde_json::Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert_eq!(checks(&before, "M1"), ["probe-agent 17081", "probe-web 9090"]);
    let report = dir.path().join("report.json");
    std::fs::write(&report, stdout(&out)).unwrap();

    // 2. Render and post-render with the report.
    let rendered = Command::new(helm(4))
        .args(["template", "probe", "testdata/charts/probe-misconfigured"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(rendered.status.success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["post-render", "--from-report", report.to_str().unwrap()])
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&rendered.stdout).unwrap();
    let patched = child.wait_with_output().unwrap();
    assert!(patched.status.success(), "{}", stderr(&patched));

    // 3. The patched manifests as a chart (verbatim through .Files.Get), probed again.
    let chart = dir.path().join("patched");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::create_dir_all(chart.join("files")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: patched\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("files/manifests.yaml"), &patched.stdout).unwrap();
    std::fs::write(
        chart.join("templates/all.yaml"),
        "{{ .Files.Get \"files/manifests.yaml\" }}\n",
    )
    .unwrap();
    let out = netaudit(&[
        "install",
        "probe",
        chart.to_str().unwrap(),
        "--probe",
        "--pull",
        "never",
        "--timeout",
        "8s",
        "-o",
        "json",
    ]);
    let after: serde_json::Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert_eq!(
        checks(&after, "M1"),
        Vec::<String>::new(),
        "M1 left after fix: {after:#}"
    );
    // The random port cannot be declared: M2 stays, for a person.
    assert!(!checks(&after, "M2").is_empty());
}

/// The flows a probe saw are needed: `fix --from-report` allows them (its
/// README says which were observed; netaudit's client's and the chart's
/// tests' are left out, said), and `fix --check --from-report` holds
/// any policy set to them: a deny-all ingress policy blocks the observed
/// flow, exit 1.
#[test]
fn observed_flows_are_kept_by_fix_and_held_by_check() {
    if common::skip_without_helm() || !podman_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = netaudit(&[
        "install",
        "svc",
        "testdata/charts/probe-services",
        "--probe",
        "--exercise",
        "--run-tests",
        "--probe-image",
        "localhost/netaudit-test",
        "--runs",
        "1",
        "--timeout",
        "60s",
        "--fail-on",
        "never",
        "-q",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = dir.path().join("report.json");
    std::fs::write(&report, stdout(&out)).unwrap();
    let report = report.to_str().unwrap();
    let fixed = dir.path().join("fixed");
    let out = netaudit(&[
        "fix",
        "svc",
        "testdata/charts/probe-services",
        "--from-report",
        report,
        "--egress",
        "strict",
        "--output-dir",
        fixed.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The exercise client's flows are said, and not taken as needed.
    assert!(
        stderr(&out).contains("observed flow(s) of the report are netaudit's own --exercise client's"),
        "{}",
        stderr(&out)
    );
    // So are the chart's tests': not the release's workloads.
    assert!(
        stderr(&out).contains("observed flow(s) of the report are the chart's test hooks' (--run-tests)"),
        "{}",
        stderr(&out)
    );
    let readme = std::fs::read_to_string(fixed.join("README.md")).unwrap();
    assert!(!readme.contains("netaudit-exercise"), "{readme}");
    assert!(!readme.contains("svc-test-connection"), "{readme}");
    let observed = "allowed, observed: Deployment/default/svc-client -> Deployment/default/svc-web 8080/TCP";
    assert!(readme.contains(observed), "{readme}");
    assert!(
        readme.contains("ingress: port 8080/TCP from Deployment `svc-client`, observed by the probe:"),
        "{readme}"
    );
    let rendered = std::fs::read_to_string(fixed.join("rendered.yaml")).unwrap();
    let policies = std::fs::read_to_string(fixed.join("networkpolicies.yaml")).unwrap();
    let check = |extra: &str| {
        let manifests = dir.path().join("check.yaml");
        std::fs::write(&manifests, format!("{rendered}\n---\n{extra}")).unwrap();
        netaudit(&[
            "fix",
            "--manifests",
            manifests.to_str().unwrap(),
            "--check",
            "--from-report",
            report,
        ])
    };
    let out = check(&policies);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(observed), "{}", stdout(&out));
    let deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: default}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n";
    let out = check(deny);
    assert_eq!(out.status.code(), Some(1), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(
            "BLOCKED, observed: Deployment/default/svc-client -> Deployment/default/svc-web 8080/TCP (denied"
        ),
        "{}",
        stdout(&out)
    );
}
