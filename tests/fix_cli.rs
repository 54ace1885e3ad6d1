//! `netaudit fix` and `netaudit post-render` through the real binary, with
//! the real helm v4 (fix) and helm v3 and v4 (post-renderer).

mod common;

use common::{finding_keys, helm, netaudit, repo, stderr, stdout};
use netaudit::model::{Detail, Input, Manifests};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const REPORT: &str = "testdata/fix/insecure-shop-report.json";

fn fix(args: &[&str]) -> (tempfile::TempDir, PathBuf, Output) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out dir");
    let mut all: Vec<&str> = vec!["fix"];
    all.extend_from_slice(args);
    let dir_s = dir.to_str().unwrap().to_string();
    all.extend_from_slice(&["--output-dir", &dir_s]);
    let out = netaudit(&all, &helm(4));
    (tmp, dir, out)
}

fn lint_json(files: &[&Path]) -> Value {
    let mut args = vec!["lint".to_string(), "-o".into(), "json".into()];
    for f in files {
        args.push("--manifests".into());
        args.push(f.to_str().unwrap().into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = netaudit(&args, &helm(4));
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)))
}

fn m6_keys(json: &Value) -> Vec<String> {
    finding_keys(json)
        .into_iter()
        .filter(|k| k.starts_with("M6 "))
        .collect()
}

/// fix, then lint the rendered manifests with the policies: M6 is left only
/// for the workloads the README says were skipped. `expect_patches`: the
/// chart has Service targets no container declares (M5B), which the port
/// patches declare even without a probe report.
fn fix_removes_m6(args: &[&str], expect_skipped: &[&str], expect_patches: bool) -> String {
    let chart = args[0];
    let (_tmp, dir, out) = fix(args);
    assert!(out.status.success(), "fix {chart}: {}", stderr(&out));
    for f in netaudit::commands::fix::FIX_FILES {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let rendered = dir.join("rendered.yaml");
    let before = m6_keys(&lint_json(&[&rendered]));
    assert!(
        !before.is_empty() || chart.contains("m5b"),
        "{chart} should have M6 findings to fix"
    );
    let after = m6_keys(&lint_json(&[&rendered, &dir.join("networkpolicies.yaml")]));
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let policies = std::fs::read_to_string(dir.join("networkpolicies.yaml")).unwrap();
    let mut left: Vec<String> = after.iter().map(|k| k.trim_start_matches("M6 ").to_string()).collect();
    left.sort();
    // Skipped workloads keep their M6 (a hostNetwork one never had one: M7 reports it).
    let mut want: Vec<String> = expect_skipped
        .iter()
        .filter(|s| before.contains(&format!("M6 {s}")))
        .map(|s| s.to_string())
        .collect();
    want.sort();
    assert_eq!(left, want, "M6 left after fix of {chart}\n{policies}");
    for skipped in expect_skipped {
        assert!(
            readme.contains(&format!("**{skipped}**: **skipped, needs a person**")),
            "README does not name skipped {skipped}:\n{readme}"
        );
        assert!(policies.contains("# No NetworkPolicy for"), "{policies}");
    }
    let kustomization = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    assert!(kustomization.contains("  - rendered.yaml\n  - networkpolicies.yaml\n"));
    assert_eq!(
        kustomization.contains("patches:\n  - path: ports.patch.yaml"),
        expect_patches,
        "{kustomization}"
    );
    policies
}

#[test]
fn fix_m6_fixture() {
    if common::skip_without_helm() {
        return;
    }
    let policies = fix_removes_m6(&["testdata/charts/m6-no-policy-fail"], &[], false);
    assert!(policies.contains("kind: NetworkPolicy"));
}

#[test]
fn fix_m5b_fixture() {
    if common::skip_without_helm() {
        return;
    }
    // The Service targets 9090, which no container declares (M5B): the
    // policy still allows it (the Service's clients use it) and the port
    // patch declares it. (The chart ships a policy of its own that selects
    // the workload: --also-covered writes netaudit's anyway.)
    let chart = "testdata/charts/m5b-numeric-target-undeclared-fail";
    let policies = fix_removes_m6(&[chart, "--also-covered"], &[], true);
    assert!(policies.contains("kind: NetworkPolicy"));
    assert!(
        policies.contains("9090/TCP (target of Service `release-name-web`, declared by no container (M5B"),
        "{policies}"
    );
    assert!(policies.contains("port: 9090"), "{policies}");
}

#[test]
fn fix_insecure_shop_skips_collisions_and_host_network() {
    if common::skip_without_helm() {
        return;
    }
    let _ = fix_removes_m6(
        &["examples/insecure-shop"],
        &[
            "DaemonSet/default/release-name-log-agent",
            "Deployment/default/release-name-worker",
            "CronJob/default/release-name-nightly-report",
        ],
        true,
    );
}

#[test]
fn fix_refuses_to_overwrite_without_force() {
    if common::skip_without_helm() {
        return;
    }
    let (_tmp, dir, out) = fix(&["testdata/charts/m6-no-policy-fail"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(dir.join("README.md"), "mine").unwrap();
    let d = dir.to_str().unwrap();
    let again = netaudit(
        &["fix", "testdata/charts/m6-no-policy-fail", "--output-dir", d],
        &helm(4),
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(std::fs::read_to_string(dir.join("README.md")).unwrap(), "mine");
    let forced = netaudit(
        &["fix", "testdata/charts/m6-no-policy-fail", "--output-dir", d, "--force"],
        &helm(4),
    );
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_ne!(std::fs::read_to_string(dir.join("README.md")).unwrap(), "mine");
}

#[test]
fn fix_manifests_instead_of_a_chart() {
    if common::skip_without_helm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let out = netaudit(
        &[
            "fix",
            "--manifests",
            "testdata/fix/does-not-exist.yaml",
            "--output-dir",
            dir.to_str().unwrap(),
        ],
        &helm(4),
    );
    // A file that does not exist is an error, and nothing is written.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!dir.exists());
    let rendered = std::process::Command::new(helm(4))
        .args(["template", "shop", "testdata/charts/m6-no-policy-fail"])
        .current_dir(repo())
        .env("KUBECONFIG", tmp.path().join("none"))
        .output()
        .unwrap();
    assert!(rendered.status.success());
    let file = tmp.path().join("rendered.yaml");
    std::fs::write(&file, &rendered.stdout).unwrap();
    let out = netaudit(
        &[
            "fix",
            "--manifests",
            file.to_str().unwrap(),
            "--output-dir",
            dir.to_str().unwrap(),
        ],
        &helm(4),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let after = m6_keys(&lint_json(&[&file, &dir.join("networkpolicies.yaml")]));
    assert!(after.is_empty(), "{after:?}");
}

/// The workloads of a manifest stream: (kind/name, container, port name, port, protocol).
fn declared_ports(text: &str) -> Vec<(String, String, String, u16, String)> {
    let inputs = vec![Input::new("out.yaml", "out", "default", text.to_string())];
    let manifests = Manifests::load(inputs, Detail::Checks).expect("post-render output is valid YAML");
    let index = manifests.index();
    let mut out = Vec::new();
    for w in &index.workloads {
        for c in &w.containers {
            for p in &c.ports {
                out.push((
                    format!("{}/{}", w.obj.kind, w.obj.name),
                    c.name.clone(),
                    p.name.clone().unwrap_or_default(),
                    p.number,
                    p.protocol.to_string(),
                ));
            }
        }
    }
    out
}

fn check_patched(text: &str) {
    let ports = declared_ports(text);
    let has = |w: &str, c: &str, n: &str, p: u16, proto: &str| {
        ports
            .iter()
            .any(|x| x.0 == w && x.1 == c && x.2 == n && x.3 == p && x.4 == proto)
    };
    assert!(
        has("Deployment/release-name-api", "api", "p-9102", 9102, "TCP"),
        "{ports:?}"
    );
    assert!(
        has("Deployment/release-name-api", "api", "http", 8080, "TCP"),
        "existing ports kept"
    );
    assert!(
        has("StatefulSet/release-name-redis", "redis", "p-26379", 26379, "TCP"),
        "{ports:?}"
    );
    assert!(
        has("Deployment/release-name-frontend", "frontend", "udp-5353", 5353, "UDP"),
        "{ports:?}"
    );
    assert!(
        has("CronJob/release-name-nightly-report", "report", "p-7000", 7000, "TCP"),
        "{ports:?}"
    );
    // M2/M3 are not patched.
    assert!(!ports.iter().any(|x| x.3 == 41234), "{ports:?}");
    assert_eq!(text.matches("kind: NetworkPolicy").count(), 4, "4 policies appended");
}

fn helm_template(helm_bin: &Path) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(helm_bin)
        .args(["template", "release-name", "examples/insecure-shop"])
        .current_dir(repo())
        .env("KUBECONFIG", tmp.path().join("none"))
        .env_remove("HELM_NAMESPACE")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn post_render_applies_port_patches_and_appends_policies() {
    if common::skip_without_helm() {
        return;
    }
    let rendered = helm_template(&helm(4));
    let mut child = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["post-render", "--from-report", REPORT])
        .current_dir(repo())
        .env_remove("HELM_NAMESPACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(rendered.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    check_patched(&text);
    // Declaring 9102 and 26379 settles the Services' M5B/M5C; the policies settle M6.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("post.yaml");
    std::fs::write(&file, &text).unwrap();
    let keys = finding_keys(&lint_json(&[&file]));
    assert!(!keys.iter().any(|k| k.starts_with("M5B")), "{keys:?}");
    assert!(
        keys.iter().filter(|k| k.starts_with("M6 ")).count() == 2,
        "only the skipped workloads keep M6: {keys:?}"
    );
}

#[test]
fn fix_with_report_writes_port_patches_and_kustomization() {
    if common::skip_without_helm() {
        return;
    }
    let (_tmp, dir, out) = fix(&["examples/insecure-shop", "--from-report", REPORT, "--egress", "strict"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let patch = std::fs::read_to_string(dir.join("ports.patch.yaml")).unwrap();
    assert_eq!(
        patch.matches("\n---\n").count(),
        4,
        "one document per workload:\n{patch}"
    );
    assert!(patch.contains("# - M2 Deployment/default/release-name-worker: port 41234/TCP"));
    assert!(patch.contains("application's own settings"));
    assert!(patch.contains("# - M3 Deployment/default/release-name-admin: port 8080/TCP"));
    assert!(
        patch.contains("could not tell which container owns the socket"),
        "{patch}"
    );
    // Applying the patch documents to the rendered objects gives the ports.
    let rendered = std::fs::read_to_string(dir.join("rendered.yaml")).unwrap();
    let kustomization = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    assert!(
        kustomization.contains("patches:\n  - path: ports.patch.yaml\n"),
        "{kustomization}"
    );
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("declared as `p-9102` on container `api`"), "{readme}");
    assert!(readme.contains("Needs a person"), "{readme}");
    // kubectl's embedded kustomize, when there is one, builds the directory.
    if let Ok(k) = Command::new("kubectl").arg("kustomize").arg(&dir).output() {
        assert!(
            k.status.success(),
            "kubectl kustomize: {}",
            String::from_utf8_lossy(&k.stderr)
        );
        check_patched(&String::from_utf8(k.stdout).unwrap());
    } else {
        eprintln!("kubectl not found: kustomization.yaml not built");
    }
    assert!(rendered.contains("kind: Deployment"));
}

/// An isolated helm home (as tests/e2e_plugin.rs does).
fn helm_cmd(bin: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(bin);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HELM_") {
            cmd.env_remove(&key);
        }
    }
    let data = home.join("data");
    cmd.current_dir(repo())
        .env("HELM_DATA_HOME", &data)
        .env("HELM_PLUGINS", data.join("plugins"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("KUBECONFIG", home.join("no-kubeconfig"))
        .env("NETAUDIT_BIN", env!("CARGO_BIN_EXE_netaudit"));
    cmd
}

#[test]
fn helm3_post_renderer_script() {
    if common::skip_without_helm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = helm_cmd(&helm(3), tmp.path())
        .args([
            "template",
            "release-name",
            "examples/insecure-shop",
            "--post-renderer",
            "./scripts/netaudit-post-renderer",
            "--post-renderer-args",
            &format!("--from-report={REPORT}"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    check_patched(&stdout(&out));
}

#[test]
fn helm4_post_renderer_plugin() {
    if common::skip_without_helm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    std::fs::create_dir_all(home.join("data/plugins")).unwrap();
    let install = helm_cmd(&helm(4), home)
        .args(["plugin", "install", "plugins/netaudit-post-renderer"])
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", stderr(&install));
    let out = helm_cmd(&helm(4), home)
        .args([
            "template",
            "release-name",
            "examples/insecure-shop",
            "--post-renderer",
            "netaudit-post-renderer",
            "--post-renderer-args",
            &format!("--from-report={REPORT}"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    check_patched(&stdout(&out));
    // Without a report: policies only.
    let plain = helm_cmd(&helm(4), home)
        .args([
            "template",
            "release-name",
            "examples/insecure-shop",
            "--post-renderer",
            "netaudit-post-renderer",
        ])
        .output()
        .unwrap();
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert_eq!(stdout(&plain).matches("kind: NetworkPolicy").count(), 4);
}

/// Helm 4 names the post-renderer plugin in HELM_PLUGIN_NAME too, but
/// `helm netaudit-post-renderer` is no command: post-render.sh unsets it, so
/// a usage error points at `netaudit post-render --help`. (Helm 4.1 shows a
/// post-renderer's stderr nowhere, so the wrapper is run here directly.)
#[test]
fn the_helm4_post_renderer_hints_at_netaudit_post_render() {
    let out = Command::new("sh")
        .arg("plugins/netaudit-post-renderer/post-render.sh")
        .arg("--egress=bogus")
        .current_dir(repo())
        .env("HELM_PLUGIN_NAME", "netaudit-post-renderer")
        .env("HELM_PLUGIN_DIR", repo().join("plugins/netaudit-post-renderer"))
        .env("NETAUDIT_BIN", env!("CARGO_BIN_EXE_netaudit"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: invalid value 'bogus' for '--egress <EGRESS>' [possible values: dns, strict, none] \
         (see `netaudit post-render --help`)\n"
    );
}

/// The README lists the findings `fix` cannot fix as `lint` would report
/// them: a check the user's .netaudit.yaml disables, or a finding it waives,
/// is not listed.
#[test]
fn fix_honours_the_config_file() {
    if common::skip_without_helm() {
        return;
    }
    let chart = "testdata/charts/m7-host-network-fail";
    let (_tmp, dir, out) = fix(&[chart]);
    assert!(out.status.success(), "{}", stderr(&out));
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let listed = |readme: &str| {
        readme
            .lines()
            .filter(|l| l.starts_with("- M7 "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(!listed(&readme).is_empty(), "M7 is listed without a config:\n{readme}");

    let config_dir = tempfile::tempdir().unwrap();
    for (name, config) in [
        ("disable.yaml", "disable: [M7]\n"),
        (
            "waive.yaml",
            "ignore:\n  - check: M7\n    object: \"*\"\n    reason: the node agent needs the host network\n",
        ),
    ] {
        let path = config_dir.path().join(name);
        std::fs::write(&path, config).unwrap();
        let (_tmp, dir, out) = fix(&[chart, "--config", path.to_str().unwrap()]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(listed(&readme).is_empty(), "{name}: M7 still listed:\n{readme}");
    }
}

/// A malformed `--api-server` is a usage error naming the value, and
/// nothing is written.
#[test]
fn a_bad_api_server_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    for bad in ["not-a-cidr", "10.0.0.1/33", "10.0.0.1/32:70000"] {
        let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .args(["fix", "examples/insecure-shop", "--api-server", bad, "--output-dir"])
            .arg(&dir)
            .current_dir(repo())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        let first = err.lines().next().unwrap_or("");
        assert!(
            first.contains("invalid API server") && first.contains(bad),
            "{bad}: {err}"
        );
        assert!(!dir.exists(), "{bad}: nothing may be written");
    }
}

/// `-o` means the output format everywhere else: `fix -o json` is an error,
/// not a directory named `json`.
#[test]
fn fix_takes_output_dir_not_dash_o() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["fix", "examples/insecure-shop", "-o", "json"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!tmp.path().join("json").exists());
}

/// The files honour the umask, like any new file (not the temporary file's 0600).
#[test]
fn fix_files_honour_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    if common::skip_without_helm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 027 && exec '{}' fix testdata/charts/m6-no-policy-fail --output-dir '{}'",
            env!("CARGO_BIN_EXE_netaudit"),
            dir.display()
        ))
        .current_dir(repo())
        .env("HELM_BIN", helm(4))
        .env_remove("HELM_NAMESPACE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for f in netaudit::commands::fix::FIX_FILES {
        let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "{f}: {mode:o}");
    }
}

/// A workload the chart's own policy already selects gets no second policy:
/// the README says which policy covers it.
#[test]
fn fix_leaves_workloads_the_chart_already_covers() {
    if common::skip_without_helm() {
        return;
    }
    let (_tmp, dir, out) = fix(&["testdata/charts/m5b-numeric-target-undeclared-fail"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains("**Deployment/default/release-name-web**: no policy generated: the chart's own NetworkPolicy `release-name-ingress` already selects it"),
        "{readme}"
    );
    let policies = std::fs::read_to_string(dir.join("networkpolicies.yaml")).unwrap();
    assert!(!policies.contains("kind: NetworkPolicy"), "{policies}");
    let kustomization = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    assert!(!kustomization.contains("networkpolicies.yaml"), "{kustomization}");
}

/// A namespace name that cannot exist is a usage error; nothing is written.
#[test]
fn a_bad_monitoring_namespace_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    for bad in ["Monitoring", "-ops", "a_b", ""] {
        let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .args([
                "fix",
                "examples/insecure-shop",
                &format!("--monitoring-namespace={bad}"),
            ])
            .arg("--output-dir")
            .arg(&dir)
            .current_dir(repo())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {err}");
        assert!(
            err.lines().next().unwrap_or("").contains("invalid namespace name"),
            "{bad:?}: {err}"
        );
        assert!(!dir.exists());
    }
}

/// A database and two pods that name its Service in `DB_HOST`.
const DB_CLIENTS: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: shop, labels: {app: db}}\nspec: {containers: [{name: db, image: db, ports: [{containerPort: 5432}]}]}\n---\n\
apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: shop}\nspec: {selector: {app: db}, ports: [{port: 5432}]}\n---\n\
apiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: shop, labels: {app: api}}\nspec: {containers: [{name: api, image: api, env: [{name: DB_HOST, value: db}]}]}\n---\n\
apiVersion: v1\nkind: Pod\nmetadata: {name: job, namespace: shop, labels: {app: job}}\nspec: {containers: [{name: job, image: job, env: [{name: DB_HOST, value: db}]}]}\n---\n";

/// The database's own policy, letting in the pods named `from` (`api, job`).
fn db_policy_from(from: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: db, namespace: shop}}\nspec:\n  podSelector: {{matchLabels: {{app: db}}}}\n  ingress: [{{from: [{{podSelector: {{matchExpressions: [{{key: app, operator: In, values: [{from}]}}]}}}}], ports: [{{port: 5432}}]}}]\n"
    )
}

/// A chart policy that blocks a needed flow: `fix` says so (the README and
/// a note) and points to `--also-covered`, whose policy lets it through.
#[test]
fn fix_reports_needed_flows_the_charts_own_policies_block() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("m.yaml");
    std::fs::write(&file, format!("{DB_CLIENTS}{}", db_policy_from("api"))).unwrap();
    let dir = tmp.path().join("out");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .args(["fix", "--manifests"])
            .arg(&file)
            .arg("--output-dir")
            .arg(&dir)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("needed flows once applied: 3 of 4 pass (1 BLOCKED): see"),
        "{}",
        stderr(&out)
    );
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme
            .contains("3 of 4 pass (1 BLOCKED) once these files are applied: **fix the BLOCKED ones before applying**"),
        "{readme}"
    );
    assert!(
        readme.contains(
            "BLOCKED: Pod/shop/job -> Pod/shop/db 5432/TCP (denied from Pod/shop/job by the ingress policies db)"
        ),
        "{readme}"
    );
    assert!(readme.contains("`--also-covered` adds netaudit's policy"), "{readme}");
    let out = run(&["--also-covered", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("needed flows once applied"), "{}", stderr(&out));
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("4 of 4 pass once these files are applied."), "{readme}");
    assert!(
        readme.contains("allowed: Pod/shop/job -> Pod/shop/db 5432/TCP (in: db-netaudit; out: job-netaudit)"),
        "{readme}"
    );
}

/// `fix --check` says whether the manifests' own policies let every needed
/// flow through (exit 1 when one is blocked), prints the flows they allow
/// with the policies that allow them, and writes nothing.
#[test]
fn fix_check_prints_the_flows_a_policy_set_allows() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("m.yaml");
    let check = |text: String| {
        std::fs::write(&file, text).unwrap();
        Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .args(["fix", "--check", "--manifests"])
            .arg(&file)
            .current_dir(tmp.path())
            .output()
            .unwrap()
    };
    let squeeze = |out: &std::process::Output| -> Vec<String> {
        stdout(out)
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    // The job names the database too, but the policy lets only the api in.
    let pods = DB_CLIENTS;
    let out = check(format!("{pods}{}", db_policy_from("api")));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = squeeze(&out);
    assert_eq!(
        lines[0], "# Flows the application needs: 3 of 4 pass (1 BLOCKED)",
        "{lines:#?}"
    );
    assert_eq!(
        lines[1],
        "BLOCKED: Pod/shop/job -> Pod/shop/db 5432/TCP (denied from Pod/shop/job by the ingress policies db)"
    );
    assert_eq!(
        lines[2],
        "needed: Pod `job` names Service `db` in env DB_HOST of container `job`"
    );
    assert!(
        lines.contains(&"allowed: Pod/shop/api -> Pod/shop/db 5432/TCP (in: db; out: no policy)".to_string()),
        "{lines:#?}"
    );
    let allowed_start = lines
        .iter()
        .position(|l| l == "# Flows the NetworkPolicies allow")
        .unwrap();
    assert_eq!(
        lines[allowed_start + 1..],
        ["Pod/shop/api -> Pod/shop/db 5432/TCP in: db; out: no policy"]
    );
    assert!(stderr(&out).contains("1 needed flow(s) blocked"), "{}", stderr(&out));
    // Both in: exit 0.
    let out = check(format!("{pods}{}", db_policy_from("api, job")));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(squeeze(&out)[0], "# Flows the application needs: 4 of 4 pass");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "nothing written");
}

/// A needed flow netaudit cannot tell (a datasource whose host is no Service
/// of the manifests) is UNKNOWN in `fix --check`: first, with what is
/// lacking, never counted as passing; exit 1 like a blocked flow, unless
/// `--unknown-ok`.
#[test]
fn fix_check_says_unknown_never_n_of_n_pass() {
    let check = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .args(["fix", "--check", "--manifests"])
            .arg(repo().join("testdata/fix/monitoring-stack.yaml"))
            .args(extra)
            .output()
            .unwrap()
    };
    let accepted = check(&["--unknown-ok"]);
    assert_eq!(accepted.status.code(), Some(0), "{}", stderr(&accepted));
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("# Flows the application needs: 6 of 7 pass (1 UNKNOWN)"),
        "{text}"
    );
    assert_eq!(
        lines.next(),
        Some("UNKNOWN: Deployment/default/release-name-grafana -> (host prometheus-operated) 9090/TCP (no Service of these manifests is named so: whose pods answer, and whether they let it in, is not known)")
    );
    assert!(
        text.contains("allowed: Deployment/default/release-name-grafana -> (pods of Service default/release-name-kube-promethe-prometheus) 9090/TCP (in: no policy; out: no policy)"),
        "{text}"
    );
    assert!(
        stderr(&out).contains("1 needed flow(s) UNKNOWN: netaudit cannot tell whether they pass (UNKNOWN above says what it lacks); --unknown-ok accepts them"),
        "{}",
        stderr(&out)
    );
}

/// `fix --manifests FILE --flavor FLAVOR [more]` into a fresh directory,
/// without helm; then `fix --check` on what it wrote (the rendered manifests
/// with the policies, and the baseline if any). Returns the directory and
/// the check's needed-flow lines, each cut before the policies it names
/// (whose names each flavor writes its own way), and its exit code.
fn fix_then_check(manifests: &str, flavor: &str, more: &[&str]) -> (tempfile::TempDir, PathBuf, Vec<String>, i32) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["fix", "--manifests", manifests, "--flavor", flavor, "--output-dir"])
        .arg(&dir)
        .args(more)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "fix --flavor {flavor}: {}", stderr(&out));
    let mut applied = String::new();
    for file in ["rendered.yaml", "networkpolicies.yaml", "baseline.yaml"] {
        if let Ok(text) = std::fs::read_to_string(dir.join(file)) {
            applied.push_str(&format!("---\n{text}\n"));
        }
    }
    let all = tmp.path().join("applied.yaml");
    std::fs::write(&all, applied).unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["fix", "--check", "--manifests"])
        .arg(&all)
        .output()
        .unwrap();
    let text = stdout(&check);
    let needed = text.split("# Flows the NetworkPolicies allow").next().unwrap_or("");
    let lines = needed
        .lines()
        .filter(|l| !l.starts_with("    needed:"))
        .map(|l| {
            l.split(" (in: ")
                .next()
                .unwrap()
                .split(" (out: ")
                .next()
                .unwrap()
                .to_string()
        })
        .map(|l| l.split(" (denied").next().unwrap().to_string())
        .collect();
    (tmp, dir, lines, check.status.code().unwrap_or(-1))
}

/// Each flavor writes its own kinds, says so in the kustomization and the
/// README, and `fix --check` on its output gives every needed flow the
/// verdict it gives the Kubernetes flavor's (the API server, a webhook
/// called from outside, DNS and Service references among them).
#[test]
fn every_flavor_writes_its_kinds_and_check_gives_the_same_verdicts() {
    let manifests = "testdata/fix/platform.yaml";
    let (_k, _kd, expected, code) = fix_then_check(manifests, "kubernetes", &[]);
    assert_eq!(code, 0);
    assert_eq!(
        expected[0], "# Flows the application needs: 10 of 10 pass",
        "{expected:#?}"
    );
    assert!(
        expected.contains(&"allowed: Deployment/platform/operator -> (API server) 6443/TCP".to_string()),
        "{expected:#?}"
    );
    for (flavor, kind, api_server) in [
        (
            "cilium",
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy",
            "- kube-apiserver",
        ),
        (
            "calico",
            "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy",
            "services:\n        name: kubernetes\n        namespace: default",
        ),
    ] {
        let (_tmp, dir, lines, code) = fix_then_check(manifests, flavor, &[]);
        assert_eq!((code, &lines), (0, &expected), "{flavor}");
        let policies = std::fs::read_to_string(dir.join("networkpolicies.yaml")).unwrap();
        assert_eq!(policies.matches(kind).count(), 6, "{flavor}: {policies}");
        assert!(!policies.contains("networking.k8s.io"), "{flavor}: {policies}");
        assert!(policies.contains(api_server), "{flavor}: {policies}");
        assert!(
            !policies.contains("0.0.0.0/0"),
            "{flavor}: the API server is no address range"
        );
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        let kustomization = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
        for text in [&readme, &kustomization] {
            assert!(
                text.contains(&format!("{flavor}.")) || text.contains(&format!("{flavor}/")),
                "{text}"
            );
        }
    }
}

/// `--baseline`: the cluster-wide default in each flavor's cluster-wide
/// kind, in the kustomization, and judged with the policies: the pods an
/// operator makes (no policy of fix selects them) are denied by it, which
/// the README says in every flavor alike.
#[test]
fn the_baseline_denies_what_no_policy_allows_in_every_flavor() {
    let manifests = "testdata/fix/monitoring-stack.yaml";
    let mut verdicts = Vec::new();
    for (flavor, kind) in [
        ("kubernetes", "kind: ClusterNetworkPolicy"),
        ("cilium", "kind: CiliumClusterwideNetworkPolicy"),
        ("calico", "kind: GlobalNetworkPolicy"),
    ] {
        let (_tmp, dir, lines, code) = fix_then_check(manifests, flavor, &["--baseline"]);
        let baseline = std::fs::read_to_string(dir.join("baseline.yaml")).unwrap();
        assert!(
            baseline.contains(kind) && baseline.contains("name: netaudit-baseline"),
            "{baseline}"
        );
        let kustomization = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
        assert!(kustomization.contains("  - baseline.yaml\n"), "{kustomization}");
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(readme.contains("`baseline.yaml` (`--baseline`)"), "{readme}");
        assert!(
            readme.contains("by the ingress policies") && readme.contains("netaudit-baseline"),
            "{flavor}: the operator's pods are cut off by the baseline: {readme}"
        );
        assert_eq!(code, 1, "{flavor}: {lines:#?}");
        verdicts.push(lines);
    }
    assert!(verdicts[0][0].contains("BLOCKED"), "{:#?}", verdicts[0]);
    assert_eq!(verdicts[1], verdicts[0], "cilium");
    assert_eq!(verdicts[2], verdicts[0], "calico");
    // Without it: no baseline.yaml, and the same flows pass.
    let (_tmp, dir, lines, _) = fix_then_check(manifests, "kubernetes", &[]);
    assert!(!dir.join("baseline.yaml").exists());
    assert!(!lines[0].contains("BLOCKED"), "{lines:#?}");
}

/// docs/remediation.md shows the `operator` policy of
/// testdata/fix/platform.yaml in the three flavors as `fix` writes them.
#[test]
fn the_remediation_page_shows_the_flavors_as_fix_writes_them() {
    let page = std::fs::read_to_string(repo().join("docs/remediation.md")).unwrap();
    let section = page
        .split("## Policy languages (`--flavor`)")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the section on --flavor");
    let blocks: Vec<&str> = section
        .split("<pre>\n")
        .skip(1)
        .map(|b| b.split("\n</pre>").next().unwrap())
        .collect();
    assert_eq!(blocks.len(), 3, "{section}");
    for (flavor, block) in ["kubernetes", "cilium", "calico"].into_iter().zip(blocks) {
        let (_tmp, dir, _, _) = fix_then_check("testdata/fix/platform.yaml", flavor, &[]);
        let text = std::fs::read_to_string(dir.join("networkpolicies.yaml")).unwrap();
        let policy = text
            .split("---\n")
            .find(|d| d.contains("name: operator-netaudit"))
            .expect("the operator's policy");
        let written: Vec<&str> = policy.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            block,
            written.join("\n"),
            "{flavor}: docs/remediation.md is out of date"
        );
    }
}
