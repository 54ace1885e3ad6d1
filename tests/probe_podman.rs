//! `install --probe` end to end with the real podman backend: real pods, real
//! sockets, exact findings, and cleanup on every path (success, error,
//! SIGINT/SIGTERM in each phase).
//!
//! Only one test here runs the host-network fixture (probe-misconfigured's
//! agent binds host ports 17080/17081): two such probes at once would take
//! each other's ports, so the other tests use charts without host networking.
//!
//! Needs root, podman and the local test image: `bash scripts/setup-podman.sh`
//! (scripts/test.sh runs it and sets NETAUDIT_REQUIRE_PODMAN=1, so there a
//! missing podman fails the tests instead of skipping them).

mod common;

use common::{containers_conf, helm, podman_list, repo, runtime_keys, sandbox_in, sandbox_pods, stderr, stdout};
use std::sync::{Mutex, MutexGuard};

/// One probe at a time: concurrent probes on a 2-core machine made a pod of
/// one of them miss its readiness window once in a few runs (the wait timed
/// out while every test passed alone), which would make CI flaky.
static PODMAN: Mutex<()> = Mutex::new(());

/// Serialize the test and tell whether podman can run it.
fn podman_ready() -> Option<MutexGuard<'static, ()>> {
    let guard = PODMAN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    common::podman_ready().then_some(guard)
}

/// As [`podman_ready`], for the charts of real servers.
fn real_image_ready() -> Option<MutexGuard<'static, ()>> {
    let guard = PODMAN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    common::real_image_ready().then_some(guard)
}
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `netaudit install ARGS` with the test helm and podman configuration.
/// `netaudit install ARGS`, with `--pull never` unless ARGS say otherwise:
/// nothing here may be pulled (only local images, only loopback traffic).
fn install_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_netaudit"));
    command.arg("install").args(args);
    if !args.contains(&"--pull") {
        command.args(["--pull", "never"]);
    }
    command
        .current_dir(repo())
        .env("HELM_BIN", helm(4))
        .env("CONTAINERS_CONF", containers_conf())
        .env_remove("HELM_NAMESPACE")
        .env("NO_COLOR", "1");
    command
}

fn install(args: &[&str]) -> Output {
    install_command(args).output().expect("run netaudit")
}

/// Nothing of this sandbox is left: pods, containers, volumes.
fn assert_sandbox_gone(sandbox: &str) {
    assert!(sandbox.starts_with("netaudit-"), "{sandbox}");
    assert_eq!(sandbox_pods(sandbox), Vec::<String>::new(), "pods left");
    let name = format!("name=^{sandbox}");
    assert_eq!(
        podman_list(&["ps", "-a", "-q", "--filter", &name]),
        Vec::<String>::new(),
        "containers left"
    );
    assert_eq!(
        podman_list(&["volume", "ls", "-q", "--filter", &name]),
        Vec::<String>::new(),
        "volumes left"
    );
    assert_eq!(
        podman_list(&["network", "ls", "-q", "--filter", &name]),
        Vec::<String>::new(),
        "network left"
    );
}

fn sandbox_of(json: &serde_json::Value) -> String {
    json["probe"]["sandbox"].as_str().expect("probe.sandbox").to_string()
}

#[test]
fn misconfigured_chart_yields_every_runtime_finding_and_is_cleaned_up() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    let out = install(&[
        "probe",
        "testdata/charts/probe-misconfigured",
        "--probe",
        "--timeout",
        "8s",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(runtime_keys(&json), common::MISCONFIGURED_RUNTIME_KEYS);
    // The M2 port is attributed to the sidecar that opened it.
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
    // And the process that holds each socket, as `netstat -p` names it.
    let telnetd = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "M1" && f["port"] == 9090)
        .unwrap();
    assert_eq!(telnetd["processes"][0]["name"], "telnetd", "{telnetd}");
    assert_eq!(telnetd["processes"][0]["command"], "telnetd -F -p 9090", "{telnetd}");
    // UDP 67 (declared) and 127.0.0.1:8081 (loopback) are not findings; the
    // never-ready pod is a note, not an M3 for its port 5000.
    let incomplete = &json["probe"]["incomplete"];
    assert_eq!(incomplete.as_array().unwrap().len(), 1, "{incomplete}");
    assert_eq!(incomplete[0]["name"], "probe-broken");
    let detail = incomplete[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("exit code 3") && detail.contains("config file missing"),
        "{detail}"
    );
    assert_sandbox_gone(&sandbox_of(&json));
}

#[test]
fn chart_policies_switched_on_close_one_undeclared_port_of_two() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    let out = install(&[
        "policies",
        "testdata/charts/probe-chart-policies",
        "--probe",
        "--runs",
        "1",
        "--enable-chart-policies",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    // The sandbox ran the chart with its policies on: no M6 left.
    assert_eq!(
        runtime_keys(&json),
        ["M1 Deployment/policies-admin :9191", "M1 Deployment/policies-api :9090"]
    );
    let exposure = |port: u64| {
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "M1" && f["port"] == port)
            .map(|f| f["exposure"].clone())
            .unwrap()
    };
    assert_eq!(exposure(9090)["any_pod"], false, "api's policy lets in http only");
    assert_eq!(exposure(9090)["sources"], serde_json::json!([]));
    assert_eq!(exposure(9191)["sources"], serde_json::json!([{"kind": "any-pod"}]));
    // Before (the values' render, same sockets): both reachable; after: one.
    let switched = &json["chart_policies"][0];
    assert_eq!(switched["keys"], serde_json::json!(["networkPolicy.enabled"]));
    assert_eq!(switched["before"]["reachable_pods"], 2, "{switched}");
    assert_eq!(switched["after"]["reachable_pods"], 1, "{switched}");
    assert_eq!(
        switched["closed"],
        serde_json::json!(["M1 Deployment/default/policies-api port 9090"])
    );
    assert_eq!(
        (switched["m6_before"].as_u64(), switched["m6_after"].as_u64()),
        (Some(2), Some(0))
    );
    assert_sandbox_gone(&sandbox_of(&json));
}

#[test]
fn clean_chart_has_no_findings() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    let out = install(&[
        "clean",
        "testdata/charts/probe-clean",
        "--probe",
        "--timeout",
        "60s",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stderr(&out), stdout(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), 0, "{json:#}");
    assert_eq!(json["probe"]["runs"], 2);
    assert_eq!(json["probe"]["incomplete"].as_array().unwrap().len(), 0, "{json:#}");
    assert_sandbox_gone(&sandbox_of(&json));
}

/// The sandbox's network and DNS: the client becomes ready only once it
/// has fetched the server's page through the Service, by its short name
/// and its full name, on the Service's port (80, which the sandbox
/// redirects to the server's 8080), in both runs (the restart makes each
/// pod's network namespace anew). The chart's tests run after the probe,
/// the exercise client after them. Nothing of the network is left.
#[test]
fn pods_reach_each_other_through_their_services() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    let out = install(&[
        "svc",
        "testdata/charts/probe-services",
        "--probe",
        "--exercise",
        "--probe-image",
        "localhost/netaudit-test",
        "--run-tests",
        "--set",
        "failingTest=true",
        "--runs",
        "2",
        "--timeout",
        "60s",
        "--fail-on",
        "never",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stderr(&out), stdout(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["probe"]["runs"], 2, "{json:#}");
    assert_eq!(json["probe"]["incomplete"], serde_json::json!([]), "{json:#}");
    assert_eq!(json["probe"]["not_probed"], serde_json::json!([]), "{json:#}");
    common::assert_client_reached_web(&json, "svc");
    common::assert_exercised_web(&json, "svc");
    common::assert_chart_tests_ran(&json, "svc", true);
    // The sandbox's DNS server logged the client's queries: the Service's
    // full name answered (the short name is one of the resolver's tries).
    let dns: Vec<&serde_json::Value> = json["probe"]["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["from"]["name"] == "svc-client" && f["to"]["kind"] == "cluster_dns")
        .collect();
    assert_eq!(dns.len(), 1, "{json:#}");
    assert_eq!(
        (&dns[0]["port"], &dns[0]["protocol"]),
        (&serde_json::json!(53), &serde_json::json!("UDP"))
    );
    assert!(
        dns[0]["names"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["name"] == "svc-web.default.svc.cluster.local" && n["answered"] == true),
        "{dns:#?}"
    );
    assert_sandbox_gone(&sandbox_of(&json));
}

/// A binary installed anywhere, run from an empty directory with no
/// CONTAINERS_CONF: netaudit gives its own podman calls its configuration
/// (here the built-in copy, written into its cache directory), so runc can
/// start the containers; a configuration of the user's that asks for more
/// than the hard limits fails in one line saying what to change.
#[test]
fn the_probe_needs_no_containers_conf_from_anywhere() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (bin, home, work) = (tmp.path().join("bin"), tmp.path().join("home"), tmp.path().join("work"));
    for dir in [&bin, &home, &work] {
        std::fs::create_dir(dir).unwrap();
    }
    let netaudit = bin.join("netaudit");
    std::fs::copy(env!("CARGO_BIN_EXE_netaudit"), &netaudit).unwrap();
    let chart = repo().join("testdata/charts/probe-clean");
    let probe = |conf: Option<&std::path::Path>| {
        let mut command = Command::new(&netaudit);
        command
            .args(["install", "clean"])
            .arg(&chart)
            .args(["--probe", "--runtime", "podman", "--pull", "never", "--timeout", "60s"])
            .current_dir(&work)
            .env("HOME", &home)
            .env("HELM_BIN", helm(4))
            .env_remove("CONTAINERS_CONF")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("HELM_PLUGIN_DIR")
            .env_remove("HELM_NAMESPACE")
            .env("NO_COLOR", "1");
        if let Some(conf) = conf {
            command.env("CONTAINERS_CONF", conf);
        }
        command.output().unwrap()
    };
    let out = probe(None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("No findings"), "{}", stdout(&out));
    let cached = home.join(".cache/netaudit/containers.conf");
    assert_eq!(
        std::fs::read_to_string(&cached).unwrap(),
        std::fs::read_to_string(containers_conf()).unwrap()
    );
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        0,
        "nothing written where it runs"
    );

    let greedy = tmp.path().join("greedy.conf");
    std::fs::write(
        &greedy,
        "[containers]\ndefault_ulimits = [\"nofile=1048576:1048576\"]\n[engine]\nruntime = \"runc\"\n",
    )
    .unwrap();
    let out = probe(Some(&greedy));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let error = stderr(&out).lines().last().unwrap_or_default().to_string();
    assert!(
        error.starts_with("error: ") && error.contains("error setting rlimit"),
        "{error}"
    );
    assert!(
        error.ends_with(&format!(
            "the CONTAINERS_CONF you set ({}) must lower default_ulimits (nofile, nproc) below this machine's hard limits, as netaudit's own podman/containers.conf does",
            greedy.display()
        )),
        "{error}"
    );
    let sandbox = stderr(&out).lines().find_map(sandbox_in).expect("a sandbox line");
    assert_sandbox_gone(&sandbox);
}

/// `--runtime auto` (the default) is podman, whatever the kubeconfig says:
/// with a current context that answers on loopback (netaudit does reach it
/// when asked to), the probe runs in podman and never connects to it.
#[test]
fn the_default_runtime_never_reaches_a_cluster() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    let cluster = common::CountingCluster::start();
    let asked = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["cleanup", "--runtime", "kube", "--dry-run"])
        .env("KUBECONFIG", &cluster.kubeconfig)
        .output()
        .unwrap();
    let reached_when_asked = cluster.connections();
    assert!(
        reached_when_asked > 0,
        "the kubeconfig must be reachable: {}",
        stderr(&asked)
    );
    let out = install_command(&["clean", "testdata/charts/probe-clean", "--probe", "--timeout", "60s"])
        .env("KUBECONFIG", &cluster.kubeconfig)
        .env_remove("HELM_KUBECONTEXT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("installing into podman sandbox netaudit-clean-"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        cluster.connections(),
        reached_when_asked,
        "install --probe reached the cluster"
    );
}

/// An exec readiness probe gates the probe, as the kubelet gates Ready:
/// the server's real port opens (and its boot-time port closes) 6 s after
/// start, when the probe starts to pass. Read at "containers running", the
/// report had an M1 for the boot-time port and an M3 for the real one.
#[test]
fn exec_readiness_probes_are_run_before_the_sockets_are_read() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    let out = install(&[
        "slow",
        "testdata/charts/probe-exec-readiness",
        "--probe",
        "--runs",
        "1",
        "--timeout",
        "60s",
        "-o",
        "json",
    ]);
    // Static M6 only (the fixture has no NetworkPolicy): no runtime finding.
    assert_eq!(out.status.code(), Some(1), "{}\n{}", stderr(&out), stdout(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(runtime_keys(&json), ["M6 Deployment/slow-server"], "{json:#}");
    assert_eq!(json["probe"]["incomplete"].as_array().unwrap().len(), 0, "{json:#}");
    let waited = json["probe"]["timings_ms"]["wait"][0].as_u64().unwrap();
    assert!(waited >= 6000, "ready after {waited} ms, before the probe could pass");
    assert_sandbox_gone(&sandbox_of(&json));
}

/// A probe that never passes, on the chart's only pod: nothing was probed,
/// so the probe judged nothing: exit 2, one error line naming the pod with
/// the probe's last failure, no report, and no second run.
#[test]
fn a_failing_exec_readiness_probe_on_the_only_pod_is_a_probe_incomplete_error() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    let out = install(&[
        "stuck",
        "testdata/charts/probe-exec-readiness",
        "--set",
        "readyFile=/tmp/never",
        "--probe",
        "--timeout",
        "4s",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(stdout(&out), "", "no report");
    let error = err.lines().last().unwrap_or_default();
    assert!(
        error.starts_with("error: probe incomplete: no pod was probed")
            && error.contains("(Deployment `stuck-server`) was not ready within --timeout: ")
            && error.contains("container `server`: its exec readiness probe has not passed after")
            && error.contains("(last: `test -f /tmp/never` exited with 1)"),
        "{err}"
    );
    assert!(!err.contains("run 2"), "{err}");
    let sandbox = err.lines().find_map(sandbox_in).unwrap_or_else(|| panic!("{err}"));
    assert_sandbox_gone(&sandbox);
}

#[test]
fn missing_image_is_a_clear_error_and_leaves_nothing() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    let out = install(&["x", "testdata/charts/probe-missing-image", "--probe"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("error: image not available locally: localhost/netaudit-no-such-image:1.0 (--pull never:"),
        "{err}"
    );
    let sandbox = err.lines().find_map(sandbox_in).unwrap_or_else(|| panic!("{err}"));
    assert_sandbox_gone(&sandbox);
}

#[test]
fn pull_missing_pulls_only_what_is_missing_and_a_failed_pull_is_one_line() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    // The default: the local test image is there, so nothing is pulled
    // (a pull of it would fail: there is no registry).
    let out = install(&[
        "x",
        "testdata/charts/probe-clean",
        "--probe",
        "--runs",
        "1",
        "--pull",
        "missing",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A missing image is pulled: from `localhost`, where no registry
    // listens (loopback only), so the pull fails, in one line.
    let out = install(&[
        "x",
        "testdata/charts/probe-missing-image",
        "--probe",
        "--pull",
        "missing",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let error_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "{err}");
    assert!(
        error_lines[0].starts_with("error: cannot pull image localhost/netaudit-no-such-image:1.0: "),
        "{err}"
    );
    let sandbox = err.lines().find_map(sandbox_in).unwrap_or_else(|| panic!("{err}"));
    assert_sandbox_gone(&sandbox);
}

#[test]
fn keep_leaves_the_sandbox_and_says_how_to_remove_it() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    let out = install(&[
        "keep",
        "testdata/charts/probe-clean",
        "--probe",
        "--runs",
        "1",
        "--keep",
        "-q",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Even quiet, with a JSON report: one line on stderr says how to remove it.
    let err = stderr(&out);
    let hint = err
        .lines()
        .find(|l| l.contains("remove it with:"))
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(err.lines().count(), 1, "{err}");
    let sandbox = sandbox_in(hint).unwrap();
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        json["probe"]["kept"]["remove_with"].as_str(),
        hint.split("remove it with: ").nth(1),
        "{}",
        json["probe"]
    );
    assert_eq!(sandbox_pods(&sandbox).len(), 1);
    // The printed command removes it.
    let command = hint.split("remove it with: ").nth(1).unwrap();
    let status = Command::new("sh")
        .args(["-c", command])
        .env("CONTAINERS_CONF", containers_conf())
        .status()
        .unwrap();
    assert!(status.success());
    assert_sandbox_gone(&sandbox);
}

/// Start a probe, send `signal` once stderr shows `phase`, and check that the
/// sandbox is removed and the exit code is 130 (interrupted), with "error: interrupted" as the last line.
fn interrupt_during(phase: &str, signal: &str, chart: &str, extra: &[&str]) {
    let mut child = install_command(&["sig", chart, "--probe"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut sandbox = None;
    let mut log = Vec::new();
    let start = Instant::now();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if sandbox.is_none() {
            sandbox = sandbox_in(&line);
        }
        let hit = line.contains(phase);
        log.push(line);
        if hit {
            let pid = child.id().to_string();
            assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "phase {phase:?} never reached: {log:?}"
        );
    }
    log.extend(lines.map_while(Result::ok));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("error: interrupted"), "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("netaudit: cleaning up")), "{log:?}");
    assert_sandbox_gone(&sandbox.unwrap_or_else(|| panic!("no sandbox name in {log:?}")));
}

#[test]
fn sigint_while_installing_cleans_up() {
    if common::skip_without_helm() {
        return;
    }
    if let Some(_serial) = podman_ready() {
        interrupt_during("installing into", "-INT", "testdata/charts/probe-clean", &[]);
    }
}

#[test]
fn sigint_while_waiting_for_readiness_cleans_up() {
    if common::skip_without_helm() {
        return;
    }
    if let Some(_serial) = podman_ready() {
        // Its pod runs but its readiness probe never passes: the wait would
        // last 5 minutes.
        interrupt_during(
            "waiting for pods",
            "-INT",
            "testdata/charts/probe-exec-readiness",
            &["--timeout", "5m", "--set", "readyFile=/never-there"],
        );
    }
}

#[test]
fn a_pod_that_exited_for_good_ends_the_wait() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    let started = std::time::Instant::now();
    let out = install(&[
        "dead",
        "testdata/charts/probe-never-ready",
        "--probe",
        "--timeout",
        "5m",
    ]);
    let took = started.elapsed();
    let err = stderr(&out);
    // The chart's only pod stopped: nothing was probed.
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(") stopped for good: "), "{err}");
    // Not the 5 minutes of --timeout, nor a restart and a second wait: the
    // probe ended once the container had exited (its restart policy is
    // Never in the sandbox).
    assert!(took < std::time::Duration::from_secs(120), "took {took:?}");
    assert!(!err.contains("restarting pods"), "{err}");
}

#[test]
fn progress_says_which_pod_stopped_and_why() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    let out = install(&["dead", "testdata/charts/probe-never-ready", "--probe"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    // stderr is not a terminal here: lines, not a bar; the standing counts.
    assert!(
        err.lines()
            .any(|l| l.starts_with("netaudit: 0/1 pods ready, 1 stopped for good (")),
        "{err}"
    );
    // Which pod and why: one line, the error.
    let naming: Vec<&str> = err.lines().filter(|l| l.contains("dead-broken")).collect();
    assert_eq!(naming.len(), 1, "{err}");
    assert!(
        naming[0].starts_with("error: probe incomplete: no pod was probed, so no runtime check judged anything: pod ")
            && naming[0].contains(
                "(Deployment `dead-broken`) stopped for good: container `broken` is exited (exit code 3); last log \
                 lines: config file missing"
            ),
        "{err}"
    );
}

#[test]
fn sigterm_while_probing_cleans_up() {
    if common::skip_without_helm() {
        return;
    }
    if let Some(_serial) = podman_ready() {
        // The settle pause belongs to the probing phase.
        interrupt_during(
            "probing run 1/2",
            "-TERM",
            "testdata/charts/probe-clean",
            &["--settle", "30s"],
        );
    }
}

#[test]
fn nothing_outside_the_sandbox_is_touched() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    // A pod and a volume that merely look like ours must survive a probe.
    let pod = format!("netaudit-bystander-{}", std::process::id());
    let volume = format!("{pod}-data");
    let podman = |args: &[&str]| podman_list(args);
    podman(&["pod", "create", "--name", &pod]);
    podman(&["volume", "create", &volume]);
    let out = install(&[
        "bystander",
        "testdata/charts/probe-clean",
        "--probe",
        "--runs",
        "1",
        "-o",
        "json",
    ]);
    let survived_pod = podman(&["pod", "ps", "-q", "--filter", &format!("name=^{pod}$")]);
    let survived_volume = podman(&["volume", "ls", "-q", "--filter", &format!("name=^{volume}$")]);
    podman(&["pod", "rm", "-f", &pod]);
    podman(&["volume", "rm", "-f", &volume]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(survived_pod.len(), 1, "the bystander pod was removed");
    assert_eq!(survived_volume, [volume]);
}

#[test]
fn a_closed_stderr_does_not_stop_the_cleanup() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = podman_ready() else { return };
    // `netaudit install … 2>&1 | head -2`: the reader goes away early.
    let mut child = install_command(&["closed", "testdata/charts/probe-clean", "--probe", "--runs", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut sandbox = None;
    for line in lines.by_ref() {
        sandbox = sandbox_in(&line.unwrap());
        if sandbox.is_some() {
            break;
        }
    }
    drop(lines);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_sandbox_gone(&sandbox.expect("sandbox name"));
}

/// A chart of real servers probed: its runtime findings as [`finding_key`]
/// and the holding process's name (`-` when none), sorted.
fn real_findings(release: &str, chart: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![release, chart, "--probe", "--timeout", "120s", "-o", "json"];
    args.extend_from_slice(extra);
    let out = install(&args);
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["probe"]["incomplete"].as_array().unwrap().len(), 0, "{json:#}");
    assert_sandbox_gone(&sandbox_of(&json));
    // Shown when a test fails: which ports moved, and who held them.
    for finding in json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "M2")
    {
        eprintln!("{release}: {}", finding["message"]);
    }
    let mut keys: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| ["M1", "M2", "M3", "M5A", "M5C"].contains(&f["check"].as_str().unwrap()))
        .map(|f| {
            format!(
                "{} {}",
                common::runtime_key(f),
                f["processes"][0]["name"].as_str().unwrap_or("-")
            )
        })
        .collect();
    keys.sort();
    keys
}

/// Real servers from Debian's packages (scripts/build-real-image.sh), each
/// verified by hand once with `nsenter -t <infra pid> -n ss -ltnup`
/// (docs/real-software.md): the findings name the real owners.
#[test]
fn real_servers_memcached_sidecar_and_redis() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = real_image_ready() else { return };
    let chart = "testdata/charts/real-cache";
    // The sidecar's undeclared 11211 is the sidecar's, not Redis's.
    assert_eq!(
        real_findings("cache", chart, &[]),
        ["M1 Deployment/cache-cache :11211 memcached"]
    );
    assert_eq!(
        real_findings("cache", chart, &["--set", "declareMemcached=true"]),
        Vec::<String>::new()
    );
}

#[test]
fn real_servers_zookeeper_jmx() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = real_image_ready() else { return };
    let chart = "testdata/charts/real-zookeeper";
    // The JMX port is fixed (M1); the RMI connector's two ports move at
    // every start: one M2 for the listener, whatever the number of runs.
    assert_eq!(
        real_findings("zk", chart, &["--runs", "3"]),
        [
            "M1 StatefulSet/zk-zookeeper :9010 java",
            "M2 StatefulSet/zk-zookeeper java"
        ]
    );
    assert_eq!(
        real_findings("zk", chart, &["--set", "jmx=false"]),
        Vec::<String>::new()
    );
}

#[test]
fn real_servers_rabbitmq_readiness_and_management() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = real_image_ready() else { return };
    let chart = "testdata/charts/real-rabbitmq";
    // Whatever the probe and plugins: epmd and the Erlang distribution port
    // are undeclared; AMQP (and the UI) are declared and open once ready.
    let expected = [
        "M1 StatefulSet/rabbit-rabbitmq :25672 beam.smp",
        "M1 StatefulSet/rabbit-rabbitmq :4369 epmd",
    ];
    // The TCP probe passes as soon as AMQP listens, while the node is still
    // booting (under a loaded CI machine a transient listener of beam.smp
    // was once caught then, read as a moving port, M2): the variant gives
    // the server the settling time `--settle` exists for.
    for (variant, settle) in [("readiness=exec", "2s"), ("readiness=tcp,management=true", "10s")] {
        assert_eq!(
            real_findings("rabbit", chart, &["--set", variant, "--settle", settle]),
            expected,
            "{variant}"
        );
    }
}

#[test]
fn real_servers_postgresql() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = real_image_ready() else { return };
    let chart = "testdata/charts/real-postgresql";
    assert_eq!(real_findings("pg", chart, &[]), Vec::<String>::new());
    assert_eq!(
        real_findings("pg", chart, &["--set", "declarePort=false"]),
        ["M1 StatefulSet/pg-postgresql :5432 postgres"]
    );
}

/// Probe a chart of real servers that talk once (`args`: the release, the
/// chart and their flags) and return its report: it ran, every pod was
/// ready, and nothing of the sandbox is left.
fn probed_flows(args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.extend(["--probe", "--fail-on", "never", "-o", "json"]);
    let out = install(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["probe"]["incomplete"], serde_json::json!([]), "{json:#}");
    assert_sandbox_gone(&sandbox_of(&json));
    json
}

/// Real software that talks (docs/real-software.md, "Observed flows"): a
/// Redis replica follows its primary by the primary's Service name, and a
/// client writes to the primary and reads from the replica. The probe
/// sees exactly these flows, with their processes, and the policies `fix
/// --from-report` writes keep them all, and nothing else between them.
#[test]
fn real_servers_redis_replica_flows_are_observed_and_kept() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = real_image_ready() else { return };
    let chart = "testdata/charts/real-redis";
    let json = probed_flows(&["rr", chart, "--timeout", "120s"]);
    assert_eq!(
        common::observed::flow_lines(&json),
        [
            "rr-client -> dns 53/UDP",
            "rr-client -> rr-primary 6379/TCP (redis-cli)",
            "rr-client -> rr-replica 6379/TCP (redis-cli)",
            "rr-replica -> dns 53/UDP",
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

/// A ZooKeeper ensemble of three (a StatefulSet: the sandbox runs its
/// replicas with their stable names) and a client holding a session: the
/// members' election (3888) and follower (2888) connections among
/// themselves, the client's to 2181, all of the JVM; kept by `fix`, and
/// the client kept off the peer ports.
#[test]
fn real_servers_zookeeper_ensemble_flows_are_observed_and_kept() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = real_image_ready() else { return };
    let chart = "testdata/charts/real-zookeeper";
    let json = probed_flows(&[
        "zk",
        chart,
        "--set",
        "ensemble=true,jmx=false",
        "--runs",
        "1",
        "--timeout",
        "180s",
    ]);
    assert_eq!(
        common::observed::flow_lines(&json),
        [
            "zk-client -> dns 53/UDP",
            "zk-client -> zk-zookeeper 2181/TCP (java)",
            "zk-zookeeper -> dns 53/UDP",
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

/// A RabbitMQ cluster of two nodes (long names under a headless Service,
/// classic peer discovery) and a consumer: the nodes' Erlang distribution
/// (25672, `beam.smp`) and their epmd lookups (4369: each lasts a moment,
/// so its process is rarely still there to be named), the consumer's AMQP
/// connection; kept by `fix`, and the client kept off 4369 and 25672.
#[test]
fn real_servers_rabbitmq_cluster_flows_are_observed_and_kept() {
    if common::skip_without_helm() {
        return;
    }
    let Some(_serial) = real_image_ready() else { return };
    let chart = "testdata/charts/real-rabbitmq";
    let json = probed_flows(&["rq", chart, "--set", "cluster=true", "--runs", "1", "--timeout", "180s"]);
    assert_eq!(
        common::observed::rabbitmq_flow_lines(&json),
        [
            "rq-client -> dns 53/UDP",
            "rq-client -> rq-rabbitmq 5672/TCP (amqp-consume)",
            "rq-rabbitmq -> dns 53/UDP",
            "rq-rabbitmq -> rq-rabbitmq 25672/TCP (beam.smp)",
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
