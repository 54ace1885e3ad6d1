//! End-to-end: the repo's real `plugin.yaml` installed into real helm v3 and
//! helm v4 binaries, then `helm netaudit ...` run through helm.
//!
//! The helm binaries come from `NETAUDIT_HELM_V3` / `NETAUDIT_HELM_V4`
//! (absolute paths), which `scripts/test.sh` exports after fetching the
//! pinned helm v3.17.2 / v4.1.4 with `scripts/fetch-helm.sh`, else from
//! `.tools/helm-vN/helm` where that script puts them. The tests fail (they
//! do not skip) when neither exists.
//!
//! Each test builds a plugin directory in a temp dir from:
//! - `plugin.yaml`: a byte-for-byte copy of the repo's, the thing under test;
//! - `bin/netaudit`: the binary cargo built for this test run;
//! - `install.sh`: a stand-in for the repo's hook script (which would run a
//!   release `cargo build`, too slow here). It only checks that helm ran it
//!   with HELM_PLUGIN_DIR pointing at the installed plugin and leaves a marker,
//!   so the `hooks` stanza of the real plugin.yaml is exercised too.
//!
//! The plugin directory name contains a space on purpose: plugin.yaml quotes
//! `${HELM_PLUGIN_DIR}` in its hooks because helm runs hooks with `sh -c`.
//!
//! Every helm call runs with an isolated helm home (HELM_DATA_HOME,
//! HELM_CONFIG_HOME, HELM_CACHE_HOME; HELM_PLUGINS = $HELM_DATA_HOME/plugins
//! because helm 4.1 installs local plugins there regardless of HELM_PLUGINS),
//! no inherited HELM_* variables, and a KUBECONFIG that does not exist (helm
//! takes the default namespace from the kubeconfig's current context).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const M7_CHART: &str = "testdata/charts/m7-host-network-fail";

const STUB_INSTALL_SH: &str = r#"#!/bin/sh
# Test stand-in for the repo's install.sh (see tests/e2e_plugin.rs).
set -eu
test -n "${HELM_PLUGIN_DIR:-}" || { echo "HELM_PLUGIN_DIR not set" >&2; exit 1; }
test -x "$HELM_PLUGIN_DIR/bin/netaudit" || { echo "no bin/netaudit in $HELM_PLUGIN_DIR" >&2; exit 1; }
: > "$HELM_PLUGIN_DIR/install-hook-ran"
"#;

struct Helm {
    bin: PathBuf,
    major: &'static str,
    /// Keeps the temp dir alive for the test's duration.
    _tmp: tempfile::TempDir,
    home: PathBuf,
    plugin_src: PathBuf,
}

impl Helm {
    /// The helm of `env_var`, else the one under .tools/; `None` (the test
    /// skips) when there is none and `NETAUDIT_REQUIRE_HELM` is not set.
    fn new(env_var: &str, major: &'static str) -> Option<Helm> {
        let local = Path::new(REPO).join(format!(".tools/helm-{major}/helm"));
        let bin = match std::env::var_os(env_var) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ if local.is_file() => local,
            _ if std::env::var_os("NETAUDIT_REQUIRE_HELM").is_some() => panic!(
                "{env_var} is not set and {} does not exist: run the suite with `bash scripts/test.sh`, \
                 or fetch the pinned helms with `bash scripts/fetch-helm.sh`",
                local.display()
            ),
            _ => {
                eprintln!("skipping: helm {major} not found (bash scripts/fetch-helm.sh fetches it)");
                return None;
            }
        };
        assert!(
            bin.is_file(),
            "{env_var}={} does not exist; run `bash scripts/fetch-helm.sh`",
            bin.display()
        );

        let tmp = tempfile::Builder::new()
            .prefix("netaudit-e2e-")
            .tempdir()
            .expect("create temp dir");
        let home = tmp.path().join("helm-home");
        for sub in ["data/plugins", "config", "cache"] {
            std::fs::create_dir_all(home.join(sub)).expect("create helm home");
        }
        let plugin_src = tmp.path().join("netaudit plugin");
        make_plugin_dir(&plugin_src);

        let helm = Helm {
            bin,
            major,
            _tmp: tmp,
            home,
            plugin_src,
        };
        let out = helm.run(&["version", "--template", "{{.Version}}"]);
        let version = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success() && version.starts_with(&format!("{major}.")),
            "{env_var}={} is not a helm {major}: `helm version` said {version:?}{}",
            helm.bin.display(),
            describe(&out)
        );
        Some(helm)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args);
        self.isolate(&mut cmd);
        cmd
    }

    /// The helm home of this test for `cmd`, and nothing of the caller's.
    fn isolate(&self, cmd: &mut Command) {
        cmd.current_dir(REPO);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("HELM_") {
                cmd.env_remove(&key);
            }
        }
        let data = self.home.join("data");
        cmd.env("HELM_DATA_HOME", &data)
            .env("HELM_PLUGINS", data.join("plugins"))
            .env("HELM_CONFIG_HOME", self.home.join("config"))
            .env("HELM_CACHE_HOME", self.home.join("cache"))
            .env("KUBECONFIG", self.home.join("no-kubeconfig"))
            .env("NO_COLOR", "1");
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()))
    }

    fn install_plugin(&self) {
        let src = self.plugin_src.to_str().expect("utf-8 temp path");
        let out = self.run(&["plugin", "install", src]);
        assert!(
            out.status.success(),
            "helm {} plugin install failed{}",
            self.major,
            describe(&out)
        );
        assert!(
            self.plugin_src.join("install-hook-ran").is_file(),
            "helm {} did not run the install hook from plugin.yaml{}",
            self.major,
            describe(&out)
        );
        let out = self.run(&["plugin", "list"]);
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("netaudit"),
            "helm {} plugin list does not show netaudit{}",
            self.major,
            describe(&out)
        );
    }
}

fn make_plugin_dir(dir: &Path) {
    std::fs::create_dir_all(dir.join("bin")).expect("create plugin dir");
    std::fs::copy(Path::new(REPO).join("plugin.yaml"), dir.join("plugin.yaml")).expect("copy the repo's plugin.yaml");
    let exe = dir.join("bin/netaudit");
    std::fs::copy(env!("CARGO_BIN_EXE_netaudit"), &exe).expect("copy netaudit binary");
    let hook = dir.join("install.sh");
    std::fs::write(&hook, STUB_INSTALL_SH).expect("write stub install.sh");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for p in [&exe, &hook] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod +x");
        }
    }
}

fn describe(out: &Output) -> String {
    format!(
        "\n  exit status: {}\n  --- stdout ---\n{}\n  --- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn parse_report(out: &Output) -> Value {
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}){}", describe(out)));
    assert_eq!(
        report["schema_version"],
        Value::from(2),
        "unexpected schema_version{}",
        describe(out)
    );
    assert!(
        report["findings"].is_array(),
        "report has no findings array{}",
        describe(out)
    );
    report
}

fn findings_of<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .map(|f| f.iter().filter(|f| f["check"] == check).collect())
        .unwrap_or_default()
}

fn m7_object_namespaces(report: &Value, out: &Output) -> Vec<String> {
    let m7 = findings_of(report, "M7");
    assert!(!m7.is_empty(), "no M7 finding{}", describe(out));
    let mut namespaces = Vec::new();
    for finding in m7 {
        let objects = finding["objects"]
            .as_array()
            .unwrap_or_else(|| panic!("M7 finding without objects array{}", describe(out)));
        assert!(!objects.is_empty(), "M7 finding with no objects{}", describe(out));
        for obj in objects {
            let ns = obj["namespace"]
                .as_str()
                .unwrap_or_else(|| panic!("object without string namespace: {obj}{}", describe(out)));
            namespaces.push(ns.to_string());
        }
    }
    namespaces
}

fn exercise(helm: &Helm) {
    let v = helm.major;
    helm.install_plugin();

    // `--help` is not eaten by helm: it reaches our binary.
    let out = helm.run(&["netaudit", "--help"]);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("lint"),
        "helm {v}: `helm netaudit --help` did not print netaudit's help{}",
        describe(&out)
    );

    // Findings -> exit 1, JSON on stdout; default namespace comes from helm.
    let out = helm.run(&["netaudit", "lint", M7_CHART, "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "helm {v}: lint of {M7_CHART} should exit 1 (findings){}",
        describe(&out)
    );
    let report = parse_report(&out);
    for ns in m7_object_namespaces(&report, &out) {
        assert_eq!(ns, "default", "helm {v}: namespace without -n{}", describe(&out));
    }

    // helm eats `-n` and passes it as HELM_NAMESPACE; it must land in the report.
    let out = helm.run(&["netaudit", "lint", M7_CHART, "-o", "json", "-n", "other-ns"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "helm {v}: lint -n other-ns should exit 1{}",
        describe(&out)
    );
    let report = parse_report(&out);
    for ns in m7_object_namespaces(&report, &out) {
        assert_eq!(ns, "other-ns", "helm {v}: -n other-ns{}", describe(&out));
    }

    // --set and -f pass through helm untouched to the chart rendering.
    let out = helm.run(&["netaudit", "lint", M7_CHART, "--set", "hostNetwork=false", "-o", "json"]);
    assert_ne!(out.status.code(), Some(2), "helm {v}: --set{}", describe(&out));
    let report = parse_report(&out);
    assert!(
        findings_of(&report, "M7").is_empty(),
        "helm {v}: --set hostNetwork=false did not reach netaudit{}",
        describe(&out)
    );

    let values = helm.home.join("no-host-network.yaml");
    std::fs::write(&values, "hostNetwork: false\n").expect("write values file");
    let out = helm.run(&[
        "netaudit",
        "lint",
        M7_CHART,
        "-f",
        values.to_str().expect("utf-8 temp path"),
        "-o",
        "json",
    ]);
    assert_ne!(out.status.code(), Some(2), "helm {v}: -f{}", describe(&out));
    let report = parse_report(&out);
    assert!(
        findings_of(&report, "M7").is_empty(),
        "helm {v}: -f values file did not reach netaudit{}",
        describe(&out)
    );

    // A usage error: one line of ours naming `helm netaudit` (helm sets
    // HELM_PLUGIN_NAME and HELM_PLUGIN_DIR), then helm's own line.
    let out = helm.run(&["netaudit", "lnit", M7_CHART]);
    assert_eq!(out.status.code(), Some(2), "helm {v}: lnit{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("error: unrecognized subcommand 'lnit'; did you mean `lint`? (see `helm netaudit --help`)"),
        "helm {v}{}",
        describe(&out)
    );
    assert!(
        lines[1..] == ["Error: plugin \"netaudit\" exited with error"],
        "helm {v}: after our line{}",
        describe(&out)
    );
    let version = helm.run(&["netaudit", "version"]);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("netaudit {}\n", env!("CARGO_PKG_VERSION")),
        "helm {v}: version{}",
        describe(&version)
    );

    // Usage / input errors -> exit 2, propagated by helm.
    let out = helm.run(&["netaudit", "lint", "/nonexistent-chart"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "helm {v}: lint of a missing chart should exit 2{}",
        describe(&out)
    );
}

#[test]
fn helm_v3_plugin_end_to_end() {
    if let Some(helm) = Helm::new("NETAUDIT_HELM_V3", "v3") {
        exercise(&helm);
    }
}

#[test]
fn helm_v4_plugin_end_to_end() {
    if let Some(helm) = Helm::new("NETAUDIT_HELM_V4", "v4") {
        exercise(&helm);
    }
}

/// Helm 3 and Helm 4 in one helm home: the CLI plugin loads in both, and
/// Helm 4's post-renderer plugin (a format Helm 3 refuses, and with it
/// every other plugin of the directory) lives where only Helm 4 looks.
#[test]
fn helm3_and_helm4_share_one_home() {
    let (Some(helm3), Some(mut helm4)) = (Helm::new("NETAUDIT_HELM_V3", "v3"), Helm::new("NETAUDIT_HELM_V4", "v4"))
    else {
        return;
    };
    helm4.home = helm3.home.clone();
    helm3.install_plugin();
    let script = |helm: &Helm| {
        let mut cmd = Command::new("sh");
        cmd.arg(Path::new(REPO).join("scripts/install-helm4-post-renderer.sh"))
            .arg(&helm.bin);
        helm.isolate(&mut cmd);
        cmd.output().expect("run the script")
    };
    // Refused for Helm 3: it would put the plugin where Helm 3 breaks on it.
    assert_eq!(script(&helm3).status.code(), Some(2));
    let out = script(&helm4);
    assert!(out.status.success(), "{}", describe(&out));
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    let plugins_for_helm4 = printed
        .split("with HELM_PLUGINS=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no HELM_PLUGINS in {printed}"))
        .to_string();
    let helm4_with = |args: &[&str]| {
        let mut cmd = helm4.command(args);
        cmd.env("HELM_PLUGINS", &plugins_for_helm4)
            .env("NETAUDIT_BIN", env!("CARGO_BIN_EXE_netaudit"));
        cmd.output().expect("run helm 4")
    };

    // Helm 3 still loads its plugins and runs netaudit.
    let list = helm3.run(&["plugin", "list"]);
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(
        list.status.success() && listed.contains("netaudit"),
        "{}",
        describe(&list)
    );
    assert!(!listed.contains("netaudit-post-renderer"), "{listed}");
    assert!(helm3.run(&["netaudit", "--help"]).status.success());
    // Helm 4 runs netaudit, and post-renders with the plugin.
    let list = helm4_with(&["plugin", "list"]);
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(
        listed.contains("netaudit ") && listed.contains("netaudit-post-renderer"),
        "{}",
        describe(&list)
    );
    assert!(helm4_with(&["netaudit", "--help"]).status.success());
    let rendered = helm4_with(&[
        "template",
        "release-name",
        "examples/insecure-shop",
        "--post-renderer",
        "netaudit-post-renderer",
    ]);
    assert!(rendered.status.success(), "{}", describe(&rendered));
    assert_eq!(
        String::from_utf8_lossy(&rendered.stdout)
            .matches("kind: NetworkPolicy")
            .count(),
        4,
        "{}",
        describe(&rendered)
    );

    // Why the layout matters: installed the usual way, into the shared
    // directory, the post-renderer takes every plugin away from Helm 3, and
    // the script says so.
    let installed = helm4.run(&["plugin", "install", "plugins/netaudit-post-renderer"]);
    assert!(installed.status.success(), "{}", describe(&installed));
    let broken = helm3.run(&["plugin", "list"]);
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("unknown field \"apiVersion\""),
        "{}",
        describe(&broken)
    );
    let out = script(&helm4);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("netaudit-post-renderer makes Helm 3 refuse every plugin"),
        "{}",
        describe(&out)
    );
}
