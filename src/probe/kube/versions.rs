//! What the kube sandbox adapts to before it installs: the API server's
//! version (`/version`) and helm's major version (`helm version`).
//!
//! - Helm 4 applies server-side by default; an API server older than 1.22
//!   cannot do that for helm (1.20 refuses a Service port without
//!   `protocol`: "associative list with keys has an element that omits key
//!   field"). Then `helm install` gets `--server-side=false`, said in a
//!   progress line, unless the user passed a `--server-side` flag through
//!   `--helm-arg`.
//! - A chart whose `kubeVersion` excludes the cluster's version: helm
//!   refuses it in words of its own, which [`kube_version_refused`]
//!   recognises, so that the sandbox says it in one line naming both
//!   versions.

use super::kube_message;
use anyhow::{anyhow, Result};
use k8s_openapi::apimachinery::pkg::version::Info;
use kube::Client;
use std::ffi::OsString;
use std::fmt;

/// The first Kubernetes minor version (1.x) whose server-side apply Helm 4
/// can use.
const SERVER_SIDE_APPLY_FROM_MINOR: u32 = 22;

/// The API server's version, as `/version` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerVersion {
    pub(crate) major: u32,
    /// Some distributions say `20+`: the digits count.
    pub(crate) minor: u32,
    /// `v1.20.2`, as the server says it (for messages).
    pub(crate) git: String,
}

impl ServerVersion {
    /// From `/version`; `None` when major or minor is not a number.
    pub(crate) fn from_info(info: &Info) -> Option<ServerVersion> {
        Some(ServerVersion {
            major: leading_number(&info.major)?,
            minor: leading_number(&info.minor)?,
            git: if info.git_version.is_empty() {
                format!("v{}.{}", info.major, info.minor)
            } else {
                info.git_version.clone()
            },
        })
    }

    /// Helm 4's server-side apply works against it.
    fn serves_helms_server_side_apply(&self) -> bool {
        self.major > 1 || (self.major == 1 && self.minor >= SERVER_SIDE_APPLY_FROM_MINOR)
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.git)
    }
}

/// The number `text` starts with (`20+` -> 20, `v4.1.4` -> 4).
fn leading_number(text: &str) -> Option<u32> {
    let digits: String = text
        .trim()
        .trim_start_matches('v')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// helm's major version from what `helm version --template {{.Version}}`
/// printed (`v4.1.4` -> 4).
pub(crate) fn helm_major_of(printed: &str) -> Option<u32> {
    leading_number(printed)
}

/// The API server's version. An API server that answers, but not with a
/// version (a 403 for `/version`), leaves it unknown (`None`); one that
/// does not answer is an error, since nothing else would work either.
pub(crate) async fn server_version(client: &Client) -> Result<Option<ServerVersion>> {
    match client.apiserver_version().await {
        Ok(info) => Ok(ServerVersion::from_info(&info)),
        Err(kube::Error::Api(_)) => Ok(None),
        Err(e) => Err(anyhow!("cannot read the API server's version: {}", kube_message(&e))),
    }
}

/// Whether `helm install` must get `--server-side=false`, and the progress
/// line that says so: Helm 4 (or later) against an API server older than
/// 1.22, unless `user_args` (`--helm-arg`) have a `--server-side` flag of
/// their own. Unknown versions change nothing.
pub(crate) fn client_side_apply(
    helm_major: Option<u32>,
    server: Option<&ServerVersion>,
    user_args: &[OsString],
) -> Option<String> {
    let (helm_major, server) = (helm_major?, server?);
    if helm_major < 4 || server.serves_helms_server_side_apply() {
        return None;
    }
    let user_decides = user_args.iter().any(|arg| {
        let arg = arg.to_string_lossy();
        arg == "--server-side" || arg.starts_with("--server-side=")
    });
    if user_decides {
        return None;
    }
    Some(format!(
        "Helm {helm_major} applies server-side, which Kubernetes {server} cannot do for it (1.{SERVER_SIDE_APPLY_FROM_MINOR} \
         can): installing with --server-side=false (--helm-arg=--server-side=true overrides)"
    ))
}

/// helm refused the chart: its `kubeVersion` excludes the cluster's
/// version. [`std::fmt::Display`] names the chart and the constraint; the
/// sandbox adds which cluster runs which version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chart {chart} requires kubeVersion {required}")]
pub(crate) struct KubeVersionRefused {
    /// The chart as the user gave it.
    pub(crate) chart: String,
    pub(crate) required: String,
    /// The cluster's version, as helm says it (`v1.20.2`).
    pub(crate) cluster: String,
}

/// helm's message for a chart whose `kubeVersion` excludes the cluster's
/// ("chart requires kubeVersion: >=1.25.0-0 which is incompatible with
/// Kubernetes v1.20.2", Helm 3 and 4 alike), as its parts.
pub(crate) fn kube_version_refused(helm_message: &str, chart: &str) -> Option<KubeVersionRefused> {
    let (_, rest) = helm_message.split_once("chart requires kubeVersion: ")?;
    let (required, rest) = rest.split_once(" which is incompatible with Kubernetes ")?;
    let cluster = rest.split_whitespace().next()?;
    Some(KubeVersionRefused {
        chart: chart.to_string(),
        required: required.trim().to_string(),
        cluster: cluster.trim_end_matches(['.', ',', ';']).to_string(),
    })
}

/// What helm 4's server-side apply says on an API server that cannot do it
/// for the chart.
pub(crate) fn server_side_apply_refused(helm_message: &str) -> bool {
    helm_message.contains("associative list with keys has an element that omits key field")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(major: &str, minor: &str, git: &str) -> Info {
        serde_json::from_value(serde_json::json!({
            "major": major, "minor": minor, "gitVersion": git, "gitCommit": "", "gitTreeState": "",
            "buildDate": "", "goVersion": "", "compiler": "", "platform": "",
        }))
        .unwrap()
    }

    fn server(minor: &str) -> ServerVersion {
        ServerVersion::from_info(&info("1", minor, &format!("v1.{minor}.2"))).unwrap()
    }

    #[test]
    fn versions_are_read_as_servers_and_helm_print_them() {
        assert_eq!(
            ServerVersion::from_info(&info("1", "20+", "v1.20.2-gke.1")),
            Some(ServerVersion {
                major: 1,
                minor: 20,
                git: "v1.20.2-gke.1".into()
            })
        );
        assert_eq!(ServerVersion::from_info(&info("1", "", "")), None);
        assert_eq!(
            ServerVersion::from_info(&info("1", "30", "")).map(|v| v.to_string()),
            Some("v1.30".into())
        );
        assert_eq!(helm_major_of("v4.1.4\n"), Some(4));
        assert_eq!(helm_major_of("v3.17.2"), Some(3));
        assert_eq!(helm_major_of("unknown"), None);
    }

    #[test]
    fn helm_4_against_a_server_older_than_1_22_applies_client_side() {
        let none: &[OsString] = &[];
        let said = client_side_apply(Some(4), Some(&server("20")), none).unwrap();
        assert_eq!(
            said,
            "Helm 4 applies server-side, which Kubernetes v1.20.2 cannot do for it (1.22 can): installing with \
             --server-side=false (--helm-arg=--server-side=true overrides)"
        );
        assert!(client_side_apply(Some(4), Some(&server("21")), none).is_some());
        // 1.22 and later, Helm 3, or a version not known: nothing changes.
        assert_eq!(client_side_apply(Some(4), Some(&server("22")), none), None);
        assert_eq!(client_side_apply(Some(3), Some(&server("20")), none), None);
        assert_eq!(client_side_apply(None, Some(&server("20")), none), None);
        assert_eq!(client_side_apply(Some(4), None, none), None);
        // The user's own --server-side flag, in either form, decides.
        for user in ["--server-side=true", "--server-side", "--server-side=auto"] {
            let args = [OsString::from("--atomic"), OsString::from(user)];
            assert_eq!(client_side_apply(Some(4), Some(&server("20")), &args), None, "{user}");
        }
        let unrelated = [OsString::from("--server-side-apply-like")];
        assert!(client_side_apply(Some(4), Some(&server("20")), &unrelated).is_some());
    }

    #[test]
    fn helms_kube_version_refusal_is_recognised() {
        let said = "Error: INSTALLATION FAILED: chart requires kubeVersion: >=1.25.0-0 which is incompatible with \
                    Kubernetes v1.20.2";
        let refused = kube_version_refused(said, "./shop").unwrap();
        assert_eq!(
            refused,
            KubeVersionRefused {
                chart: "./shop".into(),
                required: ">=1.25.0-0".into(),
                cluster: "v1.20.2".into()
            }
        );
        assert_eq!(refused.to_string(), "chart ./shop requires kubeVersion >=1.25.0-0");
        assert_eq!(kube_version_refused("Error: INSTALLATION FAILED: timed out", "x"), None);
        assert!(server_side_apply_refused(
            "Error: INSTALLATION FAILED: failed to create typed patch object (/x; /v1, Kind=Service): \
             .spec.ports: element 0: associative list with keys has an element that omits key field \"protocol\""
        ));
    }
}
