//! Faults at every step of a podman probe: a podman that fails, or is
//! killed mid-run, at one step after another (`testdata/faulty-command`
//! stands in for podman on PATH), and netaudit itself killed with SIGKILL.
//! After each: exit 2 with one `error:` line saying what failed, no
//! credential of the chart anywhere, and nothing left: no pod, container or
//! volume of the sandbox, no plan file (they hold the chart's Secrets,
//! decoded). Where the cleanup itself is what fails, the line says how to
//! remove the sandbox, and `netaudit cleanup SANDBOX` does. After SIGKILL,
//! `netaudit cleanup` lists the sandbox with its age and removes it, and
//! leaves alone a sandbox in use and everything without our label.
//! docs/reliability.md has the matrix.

mod common;

use common::{containers_conf, helm, podman_list as podman, repo, sandbox_in, sandbox_pods, stderr, stdout};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One probe at a time (see tests/probe_podman.rs).
static PODMAN: Mutex<()> = Mutex::new(());

fn podman_ready() -> Option<MutexGuard<'static, ()>> {
    if common::skip_without_helm() {
        return None;
    }
    let guard = PODMAN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    common::podman_ready().then_some(guard)
}

/// The chart's credentials (testdata/charts/probe-secret): a `stringData`
/// value and a `data` value as decoded.
const CANARIES: [&str; 2] = ["canary-string-data-7f3e", "canary-data-91c2"];

/// A place for one run: the faulty podman first in PATH, its call log, and
/// a temporary directory of its own (where the plan files go).
struct Place {
    dir: tempfile::TempDir,
}

impl Place {
    fn new() -> Place {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        std::os::unix::fs::symlink(repo().join("testdata/faulty-command"), dir.path().join("bin/podman")).unwrap();
        Place { dir }
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// `netaudit ARGS` with podman failing as `fault` says ("" for none).
    fn netaudit(&self, args: &[&str], fault: &str) -> Command {
        let real = which_podman();
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new(env!("CARGO_BIN_EXE_netaudit"));
        command
            .args(args)
            .current_dir(repo())
            .env("PATH", path)
            .env("NETAUDIT_TEST_REAL", real)
            .env("NETAUDIT_TEST_FAULT_DIR", self.dir.path())
            .env("NETAUDIT_TEST_FAULT", fault)
            .env("TMPDIR", self.tmp())
            .env("HELM_BIN", helm(4))
            .env("CONTAINERS_CONF", containers_conf())
            .env_remove("HELM_NAMESPACE")
            .env("NO_COLOR", "1");
        command
    }

    fn install(&self, chart: &str, fault: &str) -> Output {
        let args = ["install", "faults", chart, "--probe", "--pull", "never", "--runs", "2"];
        self.netaudit(&args, fault).output().unwrap()
    }

    /// Whether the fault was injected (the call it names was made).
    fn faulted(&self) -> bool {
        self.dir.path().join("faulted").exists()
    }

    fn plan_dirs(&self) -> Vec<String> {
        std::fs::read_dir(self.tmp())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("netaudit-podman-"))
            .collect()
    }
}

fn which_podman() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("podman"))
        .find(|path| path.is_file())
        .expect("podman on PATH")
}

/// What podman holds of `sandbox`: pods, containers, volumes.
fn podman_holds(sandbox: &str) -> Vec<String> {
    let name = format!("name=^{sandbox}");
    let mut held = sandbox_pods(sandbox);
    held.extend(podman(&["ps", "-a", "-q", "--filter", &name]));
    held.extend(podman(&["volume", "ls", "-q", "--filter", &name]));
    held.extend(podman(&["network", "ls", "-q", "--filter", &name]));
    held
}

fn assert_no_credentials(out: &Output, case: &str) {
    for canary in CANARIES {
        assert!(
            !stdout(out).contains(canary) && !stderr(out).contains(canary),
            "{case}: {canary} shown:\n{}{}",
            stdout(out),
            stderr(out)
        );
    }
}

/// Exit 2, and the last line of stderr, the only `error:` line, says
/// `expected`; returns that line.
fn assert_one_error_line(out: &Output, case: &str, expected: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{case}: {err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{case}: {err}");
    assert_eq!(err.lines().last(), Some(errors[0]), "{case}: {err}");
    assert!(errors[0].contains(expected), "{case}: {expected:?} not in {err}");
    errors[0].to_string()
}

/// Each step of the probe, made to fail (`fail`: podman exits 125 with an
/// error; `kill:0`: podman is killed with SIGKILL as it starts, so that the
/// step is cut where it stands: the second pod of the install, say).
#[test]
fn a_podman_failing_at_any_step_ends_the_probe_with_one_line_and_leaves_nothing() {
    let Some(_serial) = podman_ready() else { return };
    // The probe's read inspects every container (two IDs or more); the
    // readiness poll only the infra containers.
    let read = "inspect * [0-9a-f]* [0-9a-f]*";
    let cases: Vec<(&str, String, &str)> = [
        ("install: image check", "image exists|1|fail", "not available locally"),
        (
            "install: kube play",
            "kube play|1|fail",
            "cannot start the pod for Deployment",
        ),
        (
            "install: kube play killed",
            "kube play|2|kill:0",
            "cannot start the pod for Deployment",
        ),
        ("readiness", "ps -a|1|fail", "injected fault in podman ps -a"),
        (
            "readiness, killed",
            "ps -a|2|kill:0",
            "failed: podman was killed by signal 9 (SIGKILL)",
        ),
        ("read", &format!("{read}|1|fail"), "injected fault in podman inspect"),
        (
            "second read",
            &format!("{read}|2|fail"),
            "injected fault in podman inspect",
        ),
        (
            "second read, killed",
            &format!("{read}|2|kill:0"),
            "failed: podman was killed by signal 9 (SIGKILL)",
        ),
        (
            "restart: stop",
            "pod stop -i -t 1 netaudit-*|1|fail",
            "injected fault in podman pod stop",
        ),
        (
            "restart: stop killed",
            "pod stop -i -t 1 netaudit-*|1|kill:0",
            "failed: podman was killed by signal 9 (SIGKILL)",
        ),
        (
            "restart: start",
            "pod start|1|fail",
            "injected fault in podman pod start",
        ),
        (
            "restart: start killed",
            "pod start|1|kill:0",
            "failed: podman was killed by signal 9 (SIGKILL)",
        ),
    ]
    .into_iter()
    .map(|(case, fault, expected)| (case, fault.to_string(), expected))
    .collect();
    for (case, fault, expected) in cases {
        let place = Place::new();
        let out = place.install("testdata/charts/probe-secret", &fault);
        assert!(
            place.faulted(),
            "{case}: the fault was never injected: {}",
            stderr(&out)
        );
        assert_one_error_line(&out, case, expected);
        assert_no_credentials(&out, case);
        assert!(
            stderr(&out).contains("netaudit: cleaning up"),
            "{case}: {}",
            stderr(&out)
        );
        if let Some(sandbox) = sandbox_in(&stderr(&out)) {
            assert_eq!(podman_holds(&sandbox), Vec::<String>::new(), "{case}: left behind");
        }
        assert_eq!(place.plan_dirs(), Vec::<String>::new(), "{case}: plan files left");
    }
}

/// The cleanup itself failing: the line says how to remove the sandbox, and
/// `netaudit cleanup SANDBOX` does.
#[test]
fn a_failed_cleanup_is_said_and_netaudit_cleanup_removes_what_it_left() {
    let Some(_serial) = podman_ready() else { return };
    for fault in ["pod rm|1|fail", "pod rm|1|kill:0", "volume ls|1|fail"] {
        let place = Place::new();
        let out = place.install("testdata/charts/probe-secret", fault);
        assert!(place.faulted(), "{fault}: never injected: {}", stderr(&out));
        let line = assert_one_error_line(&out, fault, "cleaning up failed (");
        assert!(line.contains("; remove the sandbox with: podman pod ps"), "{line}");
        assert_no_credentials(&out, fault);
        let sandbox = sandbox_in(&stderr(&out)).expect("the sandbox's name");
        // Left: the volumes (one holds the Secret, as a ConfigMap), and the
        // plan directory with only its marker, by which cleanup finds them.
        assert!(!podman_holds(&sandbox).is_empty(), "{fault}: nothing left to test with");
        assert_eq!(place.plan_dirs().len(), 1, "{fault}");
        assert!(
            !plan_file_text(&place).contains(CANARIES[0]),
            "{fault}: the Secret stays on disk"
        );
        let cleanup = place
            .netaudit(&["cleanup", "--runtime", "podman", &sandbox], "")
            .output()
            .unwrap();
        assert_eq!(cleanup.status.code(), Some(0), "{fault}: {}", stderr(&cleanup));
        assert!(
            stdout(&cleanup).starts_with(&format!("removed podman sandbox {sandbox} (")),
            "{fault}: {}",
            stdout(&cleanup)
        );
        assert_eq!(podman_holds(&sandbox), Vec::<String>::new(), "{fault}: left behind");
        assert_eq!(place.plan_dirs(), Vec::<String>::new(), "{fault}: plan directory left");
    }
}

/// Start `install --probe` of `chart` and read its stderr until the pods are
/// being waited for; the child and its sandbox.
fn probe_until_waiting(place: &Place, chart: &str) -> (Child, String) {
    let mut child = place
        .netaudit(&["install", "killed", chart, "--probe", "--pull", "never"], "")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut sandbox = None;
    let started = Instant::now();
    for line in lines.by_ref() {
        let line = line.unwrap();
        sandbox = sandbox.or_else(|| sandbox_in(&line));
        if line.contains("waiting for pods to become ready") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "never waiting");
    }
    // Keep draining stderr, so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, sandbox.expect("the sandbox's name"))
}

fn plan_file_text(place: &Place) -> String {
    let mut text = String::new();
    for dir in place.plan_dirs() {
        for file in std::fs::read_dir(place.tmp().join(dir)).unwrap().flatten() {
            text.push_str(&std::fs::read_to_string(file.path()).unwrap_or_default());
        }
    }
    text
}

#[test]
fn after_sigkill_netaudit_cleanup_lists_the_sandbox_with_its_age_and_removes_only_ours() {
    let Some(_serial) = podman_ready() else { return };
    let place = Place::new();
    // Bystanders: without our label, or with it on a name we never make.
    let bystander = format!("netaudit-bystander-{}", std::process::id());
    podman(&["pod", "create", "--name", &bystander]);
    podman(&["volume", "create", &format!("{bystander}-data")]);
    let foreign = format!("{bystander}-labelled");
    podman(&[
        "pod",
        "create",
        "--name",
        &foreign,
        "--label",
        "netaudit.io/sandbox=shop",
    ]);

    let (mut killed, sandbox) = probe_until_waiting(&place, "testdata/charts/probe-secret");
    assert!(Command::new("kill")
        .args(["-KILL", &killed.id().to_string()])
        .status()
        .unwrap()
        .success());
    killed.wait().unwrap();
    // What SIGKILL left: the pods, the network, and the plan files with the
    // Secret in clear; not the DNS server, which dies with netaudit.
    assert_eq!(sandbox_pods(&sandbox).len(), 2);
    let dns_servers = || {
        let out = Command::new("pgrep").args(["-x", "dnsmasq"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !dns_servers().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(dns_servers(), "", "the sandbox's DNS server outlived netaudit");
    assert!(
        plan_file_text(&place).contains(CANARIES[0]),
        "the plan files hold the decoded Secret"
    );

    // A probe that runs: in use, never removed.
    let (mut running, in_use) = probe_until_waiting(&place, "testdata/charts/probe-clean");
    std::thread::sleep(Duration::from_secs(2));
    let listed = place
        .netaudit(&["cleanup", "--runtime", "podman", "--dry-run"], "")
        .output()
        .unwrap();
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    let listing = stdout(&listed);
    let line = |name: &str| {
        listing
            .lines()
            .find(|l| l.contains(&format!(" {name} (")))
            .unwrap_or_else(|| panic!("{name} not listed:\n{listing}"))
            .to_string()
    };
    let killed_line = line(&sandbox);
    assert!(
        killed_line.starts_with(&format!("would remove podman sandbox {sandbox} ("))
            && killed_line.contains("s old: 2 pods")
            && killed_line.ends_with("its network, its plan directory)"),
        "{killed_line}"
    );
    let in_use_line = line(&in_use);
    assert!(
        in_use_line.starts_with(&format!("left podman sandbox {in_use} ("))
            && in_use_line.contains(": in use by netaudit "),
        "{in_use_line}"
    );
    assert!(!listing.contains("bystander"), "{listing}");
    // --dry-run removed nothing.
    assert!(!podman_holds(&sandbox).is_empty());

    let removed = place
        .netaudit(&["cleanup", "--runtime", "podman", &sandbox], "")
        .output()
        .unwrap();
    assert!(Command::new("kill")
        .args(["-INT", &running.id().to_string()])
        .status()
        .unwrap()
        .success());
    let running_status = running.wait().unwrap();
    let survivors = (
        podman(&["pod", "ps", "-q", "--filter", &format!("name=^{bystander}$")]).len(),
        podman(&["pod", "ps", "-q", "--filter", &format!("name=^{foreign}$")]).len(),
        podman(&["volume", "ls", "-q", "--filter", &format!("name=^{bystander}-data$")]).len(),
    );
    podman(&["pod", "rm", "-f", &bystander, &foreign]);
    podman(&["volume", "rm", "-f", &format!("{bystander}-data")]);
    assert_eq!(removed.status.code(), Some(0), "{}", stderr(&removed));
    assert!(
        stdout(&removed).starts_with(&format!("removed podman sandbox {sandbox} (")),
        "{}",
        stdout(&removed)
    );
    assert_eq!(podman_holds(&sandbox), Vec::<String>::new());
    assert_eq!(survivors, (1, 1, 1), "something without our label was removed");
    // The probe that was in use cleaned up after itself, on SIGINT.
    assert_eq!(running_status.code(), Some(130));
    assert_eq!(podman_holds(&in_use), Vec::<String>::new());
    assert_eq!(place.plan_dirs(), Vec::<String>::new(), "plan files left");
}

/// A container that prints the chart's credentials and exits: its last log
/// lines explain why it stopped (human, JSON and SARIF carry them), and no
/// format shows the credentials.
#[test]
fn credentials_a_container_logs_are_redacted_in_every_format() {
    let Some(_serial) = podman_ready() else { return };
    let place = Place::new();
    for format in ["human", "compact", "json", "jsonl", "sarif", "github", "junit"] {
        let args = [
            "install",
            "leaky",
            "testdata/charts/probe-secret",
            "--probe",
            "--pull",
            "never",
            "--runs",
            "1",
            "-o",
            format,
        ];
        let out = place.netaudit(&args, "").output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{format}: {}", stderr(&out));
        assert_no_credentials(&out, format);
        let said = format!("{}{}", stdout(&out), stderr(&out));
        // The formats that carry the probe's details carry them redacted.
        if matches!(format, "human" | "json" | "sarif") {
            assert!(
                said.contains("last log lines: connecting with <redacted> | token <redacted>"),
                "{format}: the log lines are not there, redacted:\n{said}"
            );
        }
    }
}
