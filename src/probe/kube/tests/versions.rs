//! What the sandbox adapts to before installing, on the mocked API server:
//! the server's version (`/version`) with helm's major version decides
//! `--server-side=false`; helm's refusal of a chart's `kubeVersion` is one
//! line naming both versions; and the real installer reads both from a
//! stand-in helm.

use super::super::installer::{HelmInstaller, Installer};
use super::super::testing::*;
use super::super::versions::KubeVersionRefused;
use super::super::{KubeOptions, KubeSandbox};
use super::deployment_objects;
use crate::probe::Sandbox;
use std::cell::RefCell;
use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Versions {
    sandbox: KubeSandbox<FakeHelm, FakeExec>,
    cluster: Shared,
    helm_calls: Arc<Mutex<Vec<String>>>,
}

/// A sandbox whose helm says `major`, on an API server of `version`.
fn sandbox(major: Option<u32>, version: Option<(&'static str, &'static str, &'static str)>) -> Versions {
    let runtime = super::super::new_runtime().unwrap();
    let cluster: Shared = Arc::default();
    cluster.lock().unwrap().version = version;
    let client = mock_client(&runtime, &cluster);
    let helm_calls = Arc::new(Mutex::new(Vec::new()));
    let mut installer = FakeHelm::new(cluster.clone(), deployment_objects, helm_calls.clone());
    installer.major = major;
    let (exec, _) = fake_exec(SANDBOX_NS);
    let mut options = KubeOptions::new("shop", "prod", Duration::from_secs(2));
    options.poll_interval = Duration::from_millis(10);
    options.cleanup_wait = Duration::from_millis(100);
    options.api_timeout = Duration::from_millis(300);
    let mut sandbox = KubeSandbox::with_parts(runtime, client, installer, exec, options);
    sandbox.name = SANDBOX_NS.into();
    sandbox.cluster = "context `test`".into();
    Versions {
        sandbox,
        cluster,
        helm_calls,
    }
}

/// `adapt_to_versions`, then install: the progress lines and helm's call.
fn adapt_and_install(v: &mut Versions) -> (Vec<String>, String) {
    let lines = RefCell::new(Vec::new());
    v.sandbox
        .adapt_to_versions(&|line| lines.borrow_mut().push(line.to_string()))
        .unwrap();
    v.sandbox.install().unwrap();
    v.sandbox.cleanup().unwrap();
    let install = v.helm_calls.lock().unwrap()[0].clone();
    (lines.into_inner(), install)
}

#[test]
fn helm_4_on_kubernetes_1_20_installs_client_side_and_says_so() {
    let mut v = sandbox(Some(4), Some(("1", "20", "v1.20.2")));
    let (lines, install) = adapt_and_install(&mut v);
    assert_eq!(
        lines,
        [
            "Helm 4 applies server-side, which Kubernetes v1.20.2 cannot do for it (1.22 can): installing with \
          --server-side=false (--helm-arg=--server-side=true overrides)"
        ]
    );
    assert_eq!(install, format!("install {SANDBOX_NS} --server-side=false"));
    assert!(v.cluster.lock().unwrap().log.contains(&"GET /version".to_string()));
}

#[test]
fn helm_3_a_new_server_or_the_users_own_flag_change_nothing() {
    for (major, version, user) in [
        (Some(3), ("1", "20", "v1.20.2"), None),
        (Some(4), ("1", "22", "v1.22.0"), None),
        (Some(4), ("1", "30+", "v1.30.1-eks"), None),
        (None, ("1", "20", "v1.20.2"), None),
        (Some(4), ("1", "20", "v1.20.2"), Some("--server-side=true")),
    ] {
        let mut v = sandbox(major, Some(version));
        if let Some(user) = user {
            v.sandbox.installer_mut().extra_args.push(OsString::from(user));
        }
        let (lines, install) = adapt_and_install(&mut v);
        assert!(lines.is_empty(), "{major:?} {version:?}: {lines:?}");
        let expected = format!("install {SANDBOX_NS} {}", user.unwrap_or_default());
        assert_eq!(install, expected.trim_end(), "{major:?} {version:?}");
    }
}

#[test]
fn a_server_that_will_not_say_its_version_leaves_it_unknown_and_one_that_does_not_answer_is_an_error() {
    // Forbidden (a locked-down /version): unknown, nothing added.
    let mut v = sandbox(Some(4), None);
    v.cluster.lock().unwrap().faults.push(Fault {
        method: "GET",
        path: "/version",
        skip: 0,
        answer: Answer::Status(403),
    });
    let (lines, install) = adapt_and_install(&mut v);
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(install, format!("install {SANDBOX_NS}"));
    // No answer: nothing else would answer either; one line, nothing made.
    let mut v = sandbox(Some(4), None);
    v.cluster.lock().unwrap().faults.push(Fault {
        method: "GET",
        path: "/version",
        skip: 0,
        answer: Answer::Hang,
    });
    let error = v.sandbox.adapt_to_versions(&|_| {}).unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        "cannot read the API server's version: the Kubernetes API server did not answer within 300ms"
    );
    assert!(v.cluster.lock().unwrap().namespaces.is_empty());
}

#[test]
fn a_chart_whose_kube_version_excludes_the_cluster_is_one_line_naming_both_and_nothing_stays() {
    let mut v = sandbox(Some(4), None);
    v.sandbox.installer_mut().refuse_kube_version = true;
    let error = v.sandbox.install().unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        "chart ./shop requires kubeVersion >=1.25.0-0 and the cluster of context `test` runs v1.20.2; nothing was \
         installed"
    );
    v.sandbox.cleanup().unwrap();
    assert!(v.cluster.lock().unwrap().namespaces.is_empty());
    // Nothing of the chart was made.
    assert!(v.cluster.lock().unwrap().pods.is_empty());
}

/// A stand-in helm (a shell script): `version` says v4.1.4, `install`
/// fails as `install_says` and exits 1.
fn script_helm(dir: &std::path::Path, install_says: &str) -> HelmInstaller {
    let bin = dir.join("helm");
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n  version) printf 'v4.1.4' ;;\n  install) echo '{install_says}' >&2; exit 1 ;;\nesac\n"
    );
    std::fs::write(&bin, script).unwrap();
    let mut permissions = std::fs::metadata(&bin).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&bin, permissions).unwrap();
    HelmInstaller {
        bin,
        release: "shop".into(),
        chart: "charts/shop".into(),
        chart_args: vec!["charts/shop".into()],
        kube_context: None,
        extra_args: Vec::new(),
    }
}

#[test]
fn the_real_installer_reads_helms_version_and_recognises_its_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let said = "Error: INSTALLATION FAILED: chart requires kubeVersion: >=1.25.0-0 which is incompatible with \
                Kubernetes v1.20.2";
    let mut installer = script_helm(dir.path(), said);
    assert_eq!(installer.helm_major(), Some(4));
    let error = installer.install("ns", Duration::from_secs(5)).unwrap_err();
    assert_eq!(
        error.downcast_ref::<KubeVersionRefused>(),
        Some(&KubeVersionRefused {
            chart: "charts/shop".into(),
            required: ">=1.25.0-0".into(),
            cluster: "v1.20.2".into()
        })
    );
    // Server-side apply refused (the user forced it): the error says the cure.
    let said = "Error: INSTALLATION FAILED: failed to create typed patch object (ns/shop; /v1, Kind=Service): \
                .spec.ports: element 0: associative list with keys has an element that omits key field \"protocol\"";
    let mut installer = script_helm(dir.path(), said);
    let error = format!("{:#}", installer.install("ns", Duration::from_secs(5)).unwrap_err());
    assert!(
        error.starts_with("helm install shop into namespace ns failed: ")
            && error.ends_with("--helm-arg=--server-side=false installs client-side)"),
        "{error}"
    );
}
