//! Finding and running helm: `$HELM_BIN` (set by helm for its plugins), else
//! `helm` on PATH.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    #[error("helm not found: {0}. Install helm, put it on PATH or set HELM_BIN (scripts/fetch-helm.sh fetches a pinned helm into .tools/)")]
    NotFound(String),
    #[error("cannot run {bin}: {source}")]
    Spawn { bin: String, source: std::io::Error },
    #[error("helm template {chart} failed: {stderr}")]
    Render { chart: String, stderr: String },
    #[error("helm template {chart} did not finish within {seconds} s; it was stopped")]
    RenderTimedOut { chart: String, seconds: u64 },
    #[error("helm show values {chart} failed: {stderr}")]
    ShowValues { chart: String, stderr: String },
    #[error("release {release} not found in namespace {namespace} (helm get manifest: {stderr}); `helm list --namespace {namespace}` lists the releases there")]
    ReleaseNotFound {
        release: String,
        namespace: String,
        stderr: String,
    },
    #[error("helm get manifest {release} --namespace {namespace} failed: {stderr}")]
    GetManifest {
        release: String,
        namespace: String,
        stderr: String,
    },
    #[error("helm list failed: {0}")]
    List(String),
}

/// Where `helm list` looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseScope {
    Namespace(String),
    AllNamespaces,
}

/// A release as `helm list -o json` describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ReleaseRecord {
    pub name: String,
    pub namespace: String,
    /// `name-version`, e.g. `redis-18.1.0`.
    #[serde(default)]
    pub chart: String,
    /// `deployed`, `failed`, `pending-install`, `pending-upgrade` or
    /// `pending-rollback`.
    #[serde(default)]
    pub status: String,
}

/// Releases per `helm list` call: helm's own default page (`--max 256`),
/// read page after page with `--offset`.
const LIST_PAGE: usize = 256;

/// Refuse a release name helm would refuse, in our words and before helm
/// runs: DNS-1123 subdomain labels (lowercase letters, digits, `-`, parts
/// separated by `.`, each starting and ending alphanumeric), at most 53
/// characters.
pub fn check_release_name(name: &str) -> Result<(), String> {
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-'
    };
    if name.len() <= 53 && name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(format!(
            "invalid release name `{name}`: use lowercase letters, digits and `-` (parts may be joined by `.`), \
             starting and ending with a letter or digit, at most 53 characters"
        ))
    }
}

#[derive(Debug, Clone)]
pub struct Helm {
    pub bin: PathBuf,
}

/// What `helm template` needs for one chart.
#[derive(Debug, Clone, Default)]
pub struct RenderRequest {
    pub release: Option<String>,
    pub chart: String,
    pub namespace: String,
    pub values: Vec<PathBuf>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    pub set_file: Vec<String>,
    pub set_json: Vec<String>,
    pub version: Option<String>,
    pub repo: Option<String>,
    pub kube_version: Option<String>,
    pub api_versions: Vec<String>,
    /// `helm template --include-crds`: the chart's `crds/` too, as `helm
    /// install` creates them.
    pub include_crds: bool,
    /// How long `helm template` may run before it is killed (a variant of
    /// `--explore-values`); no limit when `None`.
    pub timeout: Option<std::time::Duration>,
}

impl Helm {
    /// `HELM_BIN` when set (a path, or a name looked up on PATH), else `helm` on PATH.
    pub fn locate() -> Result<Helm, HelmError> {
        match std::env::var_os("HELM_BIN").filter(|v| !v.is_empty()) {
            Some(bin) => Helm::resolve(&bin, "HELM_BIN"),
            None => Helm::resolve(&OsString::from("helm"), "PATH"),
        }
    }

    fn resolve(bin: &OsString, from: &str) -> Result<Helm, HelmError> {
        let path = Path::new(bin);
        if path.components().count() > 1 {
            return if path.is_file() {
                Ok(Helm {
                    bin: path.to_path_buf(),
                })
            } else {
                Err(HelmError::NotFound(format!(
                    "{from} points at {}, which does not exist",
                    path.display()
                )))
            };
        }
        which::which(bin)
            .map(|bin| Helm { bin })
            .map_err(|_| HelmError::NotFound(format!("no `{}` on {from}", path.display())))
    }

    /// Run helm; an interrupt kills it at once (see [`super::interrupt::output`]).
    fn run(&self, args: &[OsString]) -> Result<std::process::Output, HelmError> {
        super::interrupt::output(Command::new(&self.bin).args(args)).map_err(|source| HelmError::Spawn {
            bin: self.bin.display().to_string(),
            source,
        })
    }

    pub fn template(&self, request: &RenderRequest) -> Result<String, HelmError> {
        let output = match request.timeout {
            None => self.run(&template_args(request))?,
            Some(limit) => {
                let mut command = Command::new(&self.bin);
                command.args(template_args(request));
                match super::interrupt::output_within(&mut command, limit) {
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                        return Err(HelmError::RenderTimedOut {
                            chart: request.chart.clone(),
                            seconds: limit.as_secs(),
                        })
                    }
                    result => result.map_err(|source| HelmError::Spawn {
                        bin: self.bin.display().to_string(),
                        source,
                    })?,
                }
            }
        };
        if !output.status.success() {
            return Err(HelmError::Render {
                chart: request.chart.clone(),
                stderr: one_line(&output),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// A chart's default values (for charts that are not a local directory).
    pub fn show_values(&self, request: &RenderRequest) -> Result<String, HelmError> {
        let mut args: Vec<OsString> = vec!["show".into(), "values".into(), request.chart.clone().into()];
        push_opt(&mut args, "--version", &request.version);
        push_opt(&mut args, "--repo", &request.repo);
        self.show(&args, &request.chart)
    }

    /// The default values of a chart archive (a subchart in `charts/`).
    pub fn show_values_of(&self, archive: &Path) -> Result<String, HelmError> {
        let args: Vec<OsString> = vec!["show".into(), "values".into(), archive.into()];
        self.show(&args, &archive.display().to_string())
    }

    fn show(&self, args: &[OsString], chart: &str) -> Result<String, HelmError> {
        let output = self.run(args)?;
        if !output.status.success() {
            return Err(HelmError::ShowValues {
                chart: chart.to_string(),
                stderr: one_line(&output),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The rendered manifests of an installed release: `helm get manifest
    /// RELEASE --namespace NS [--kube-context CONTEXT]`.
    pub fn get_manifest(
        &self,
        release: &str,
        namespace: &str,
        kube_context: Option<&str>,
    ) -> Result<String, HelmError> {
        let output = self.run(&get_manifest_args(release, namespace, kube_context))?;
        if !output.status.success() {
            let stderr = one_line(&output);
            let (release, namespace) = (release.to_string(), namespace.to_string());
            // helm 3 and 4: "Error: release: not found".
            return Err(if stderr.contains("release: not found") {
                HelmError::ReleaseNotFound {
                    release,
                    namespace,
                    stderr,
                }
            } else {
                HelmError::GetManifest {
                    release,
                    namespace,
                    stderr,
                }
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Helm {
    /// The deployed, failed and pending releases of `scope` (helm's own
    /// records), sorted by namespace and name.
    pub fn list_releases(
        &self,
        scope: &ReleaseScope,
        kube_context: Option<&str>,
    ) -> Result<Vec<ReleaseRecord>, HelmError> {
        let mut releases: std::collections::BTreeMap<(String, String), ReleaseRecord> = Default::default();
        let mut offset = 0;
        loop {
            let output = self.run(&list_args(scope, kube_context, offset))?;
            if !output.status.success() {
                return Err(HelmError::List(one_line(&output)));
            }
            let page: Vec<ReleaseRecord> = serde_json::from_slice(&output.stdout)
                .map_err(|e| HelmError::List(format!("unreadable JSON from helm list -o json: {e}")))?;
            let full = page.len() >= LIST_PAGE;
            let asked = offset;
            offset += page.len();
            let before = releases.len();
            // A release listed twice (one installed between two pages) is one.
            releases.extend(page.into_iter().map(|r| ((r.namespace.clone(), r.name.clone()), r)));
            if !full {
                break;
            }
            if releases.len() == before {
                // A full page of nothing new: a helm that ignores --offset
                // would otherwise be asked forever.
                return Err(HelmError::List(format!(
                    "helm list --offset {asked} returned the releases it had already listed"
                )));
            }
        }
        Ok(releases.into_values().collect())
    }
}

/// The exact `helm list` command line for one page.
pub fn list_args(scope: &ReleaseScope, kube_context: Option<&str>, offset: usize) -> Vec<OsString> {
    // Pending releases (an install or upgrade under way, or stuck) have
    // objects running too; helm lists only deployed and failed by default.
    let mut args: Vec<OsString> = ["list", "--output", "json", "--deployed", "--failed", "--pending"]
        .map(OsString::from)
        .into();
    match scope {
        ReleaseScope::AllNamespaces => args.push("--all-namespaces".into()),
        ReleaseScope::Namespace(namespace) => {
            args.push("--namespace".into());
            args.push(namespace.into());
        }
    }
    args.extend([
        "--max".into(),
        LIST_PAGE.to_string().into(),
        "--offset".into(),
        offset.to_string().into(),
    ]);
    if let Some(context) = kube_context {
        args.push("--kube-context".into());
        args.push(context.into());
    }
    args
}

/// The exact `helm get manifest` command line.
pub fn get_manifest_args(release: &str, namespace: &str, kube_context: Option<&str>) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "get".into(),
        "manifest".into(),
        release.into(),
        "--namespace".into(),
        namespace.into(),
    ];
    if let Some(context) = kube_context {
        args.push("--kube-context".into());
        args.push(context.into());
    }
    args
}

/// Why helm failed, on one line (`Error: ` prefixes dropped, a signal named).
fn one_line(output: &std::process::Output) -> String {
    super::failure_summary(output.status, &output.stderr, "helm")
}

fn push_opt(args: &mut Vec<OsString>, flag: &str, value: &Option<String>) {
    if let Some(v) = value {
        args.push(flag.into());
        args.push(v.into());
    }
}

fn push_all<T: Into<OsString> + Clone>(args: &mut Vec<OsString>, flag: &str, values: &[T]) {
    for v in values {
        args.push(flag.into());
        args.push(v.clone().into());
    }
}

impl RenderRequest {
    /// The chart and the user's flags that `helm template` and `helm install`
    /// share: values, `--set*`, `--version`, `--repo`.
    pub fn chart_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![self.chart.clone().into()];
        push_all(&mut args, "--values", &self.values);
        push_all(&mut args, "--set", &self.set);
        push_all(&mut args, "--set-string", &self.set_string);
        push_all(&mut args, "--set-file", &self.set_file);
        push_all(&mut args, "--set-json", &self.set_json);
        push_opt(&mut args, "--version", &self.version);
        push_opt(&mut args, "--repo", &self.repo);
        args
    }

    /// The release name helm uses: the given one, else `helm template`'s default.
    pub fn release_name(&self) -> String {
        self.release.clone().unwrap_or_else(|| "release-name".into())
    }
}

/// The exact `helm template` command line for a request.
pub fn template_args(request: &RenderRequest) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["template".into()];
    if let Some(release) = &request.release {
        args.push(release.into());
    }
    let mut chart_args = request.chart_args().into_iter();
    args.extend(chart_args.next());
    args.push("--namespace".into());
    args.push(request.namespace.clone().into());
    args.extend(chart_args);
    push_opt(&mut args, "--kube-version", &request.kube_version);
    push_all(&mut args, "--api-versions", &request.api_versions);
    if request.include_crds {
        args.push("--include-crds".into());
    }
    args
}

#[cfg(test)]
mod tests {

    #[test]
    fn release_names_follow_helms_rule() {
        for good in ["shop", "my-shop-2", "a.b-c", "0"] {
            assert_eq!(check_release_name(good), Ok(()), "{good}");
        }
        for bad in ["My_Release", "-shop", "shop-", "a..b", "", &"x".repeat(54)] {
            assert!(check_release_name(bad).is_err(), "{bad}");
        }
    }
    use super::*;

    #[test]
    fn get_manifest_command_line() {
        let args = |context| -> Vec<String> {
            get_manifest_args("shop", "prod", context)
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(args(None), ["get", "manifest", "shop", "--namespace", "prod"]);
        assert_eq!(
            args(Some("kind")),
            [
                "get",
                "manifest",
                "shop",
                "--namespace",
                "prod",
                "--kube-context",
                "kind"
            ]
        );
    }

    #[test]
    fn passes_user_flags_through() {
        let args = template_args(&RenderRequest {
            release: Some("shop".into()),
            chart: "./chart".into(),
            namespace: "prod".into(),
            values: vec!["v.yaml".into()],
            set: vec!["a=b".into()],
            api_versions: vec!["x/v1".into()],
            ..Default::default()
        });
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            [
                "template",
                "shop",
                "./chart",
                "--namespace",
                "prod",
                "--values",
                "v.yaml",
                "--set",
                "a=b",
                "--api-versions",
                "x/v1"
            ]
        );
    }
}
