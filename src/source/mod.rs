//! How inputs are obtained: charts rendered by helm (with what the M6 hint
//! needs from their values), manifests files or stdin, and saved `helm
//! template` output (the corpus). One [`acquire`] serves the commands, the
//! examples, the benchmarks and the tests.

pub mod api_server;
mod chart_toggles;
pub mod cluster;
pub mod helm;
pub mod interrupt;
pub(crate) mod kube_client;
pub mod manifests;
pub mod values;
pub mod values_space;

use crate::model::{Input, MAX_INPUT_BYTES};
use anyhow::{Context, Result};
use helm::{Helm, RenderRequest};
use std::path::{Path, PathBuf};

/// One input to obtain.
#[derive(Debug, Clone)]
pub enum InputSpec {
    /// A chart rendered with `helm template`.
    Chart(RenderRequest),
    /// A file of rendered manifests, or `-` for stdin; objects without a
    /// namespace get `namespace`.
    Manifests { path: String, namespace: String },
    /// `helm template` output saved in a file, with the chart's default
    /// values file when there is one (the shared corpus).
    RenderedChart {
        path: PathBuf,
        name: String,
        release: String,
        namespace: String,
        default_values: Option<PathBuf>,
    },
}

/// Obtain every input, in order, each at most [`MAX_INPUT_BYTES`]. helm is
/// located only when a chart needs it.
pub fn acquire(specs: &[InputSpec]) -> Result<Vec<Input>> {
    acquire_within(specs, MAX_INPUT_BYTES)
}

/// [`acquire`] with another size limit per input (`--max-input-size`: a
/// cluster's worth of manifests is more than a chart's). Inputs are
/// obtained several at once (helm renders, file reads); an error is the
/// first input's in order.
pub fn acquire_within(specs: &[InputSpec], max_bytes: usize) -> Result<Vec<Input>> {
    let helm = match specs.iter().any(|s| matches!(s, InputSpec::Chart(_))) {
        true => Some(Helm::locate()?),
        false => None,
    };
    let obtained = crate::model::parallel::map_in_order(specs, |_, spec| -> Result<Input> {
        let mut input = match spec {
            InputSpec::Chart(request) => {
                // Located above whenever a chart is among the inputs.
                let helm = helm.as_ref().context("helm was not located")?;
                render_chart(helm, request)?
            }
            InputSpec::Manifests { path, namespace } => manifests::read(path, namespace, max_bytes)?,
            InputSpec::RenderedChart {
                path,
                name,
                release,
                namespace,
                default_values,
            } => rendered_chart(path, name, release, namespace, default_values.as_deref())?,
        };
        input.max_bytes = max_bytes;
        Ok(input)
    });
    obtained.into_iter().collect()
}

/// Render a chart with helm and remember what the M6 hint needs.
pub fn render_chart(helm: &Helm, request: &RenderRequest) -> Result<Input> {
    check_chart_reference(request)?;
    let text = helm.template(request)?;
    let local_dir = Path::new(&request.chart);
    let chart_dir = local_dir.is_dir().then(|| local_dir.to_path_buf());
    let mut input = Input::new(
        request.chart.clone(),
        request.release_name(),
        request.namespace.clone(),
        text,
    );
    // The chart's own defaults (and its subcharts') say which NetworkPolicy
    // is switched off...
    input.netpol_toggles = match &chart_dir {
        Some(dir) => chart_toggles::chart_toggles(helm, dir, &input.text),
        None => helm
            .show_values(request)
            .map(|text| values::network_policy_toggles(&text, &format!("{} values.yaml", request.chart)))
            .unwrap_or_default(),
    };
    // ...unless the user's own values or --set turn it on.
    let mut turned_on: Vec<String> = Vec::new();
    for file in &request.values {
        if let Ok(text) = std::fs::read_to_string(file) {
            turned_on.extend(values::enabled_toggle_paths(&text));
        }
    }
    for set in &request.set {
        turned_on.extend(values::enabled_toggle_paths_from_set(set));
    }
    input.netpol_toggles.retain(|t| !turned_on.contains(&t.path));
    if let Some(dir) = &chart_dir {
        input.chart_aliases = chart_toggles::aliased_subchart_dirs(dir);
    }
    input.chart_dir = chart_dir;
    input.rendered_by_helm = true;
    Ok(input)
}

/// A chart reference helm can resolve: a local directory or archive, or a
/// `repo/chart`, `oci://` or URL reference (or a name with `--repo`).
/// Anything else would fail in helm with a message about URLs.
fn check_chart_reference(request: &RenderRequest) -> Result<()> {
    let chart = &request.chart;
    if Path::new(chart).exists() || request.repo.is_some() || chart.contains('/') {
        return Ok(());
    }
    anyhow::bail!(
        "chart `{chart}` not found: no such directory or chart archive here, and not a repo/chart, oci:// or https:// reference"
    )
}

/// Saved `helm template` output, audited as `lint CHART` would audit it.
fn rendered_chart(
    path: &Path,
    name: &str,
    release: &str,
    namespace: &str,
    default_values: Option<&Path>,
) -> Result<Input> {
    let text = manifests::read_text(&path.display().to_string(), MAX_INPUT_BYTES)?;
    let mut input = Input::new(name, release, namespace, text);
    input.rendered_by_helm = true;
    if let Some(values_path) = default_values {
        if let Ok(values) = std::fs::read_to_string(values_path) {
            input.netpol_toggles = values::network_policy_toggles(&values, &values_path.display().to_string());
        }
    }
    Ok(input)
}

/// Why a command failed, in one line: its stderr's non-empty lines joined,
/// without Go's `Error: ` prefix, and, when it died by a signal (`kill -9`,
/// the OOM killer), which one: such a command has usually printed nothing,
/// and its wait status is the only sign of what happened.
pub fn failure_summary(status: std::process::ExitStatus, stderr: &[u8], program: &str) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim().strip_prefix("Error: ").unwrap_or(l.trim()))
        .filter(|l| !l.is_empty())
        .collect();
    match (killed_by(status), lines.is_empty()) {
        (Some(signal), true) => format!("{program} was killed by {signal}"),
        (Some(signal), false) => format!("{}; {program} was killed by {signal}", lines.join("; ")),
        (None, true) => format!("{program} exited with an error and printed nothing"),
        (None, false) => lines.join("; "),
    }
}

/// The signal that ended a process, as `signal 9 (SIGKILL)`.
#[cfg(unix)]
fn killed_by(status: std::process::ExitStatus) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    let signal = status.signal()?;
    // The numbers POSIX systems share (SIGBUS, SIGUSR1, ... differ).
    let name = match signal {
        1 => "HUP",
        2 => "INT",
        3 => "QUIT",
        4 => "ILL",
        6 => "ABRT",
        8 => "FPE",
        9 => "KILL",
        11 => "SEGV",
        13 => "PIPE",
        14 => "ALRM",
        15 => "TERM",
        _ => "",
    };
    let name = if name.is_empty() {
        String::new()
    } else {
        format!(" (SIG{name})")
    };
    let core = if status.core_dumped() { ", core dumped" } else { "" };
    Some(format!("signal {signal}{name}{core}"))
}

#[cfg(not(unix))]
fn killed_by(_: std::process::ExitStatus) -> Option<String> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::failure_summary;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    #[test]
    fn a_failure_says_the_signal_that_killed_the_command() {
        // Raw wait statuses: exit code << 8, or the signal (| 0x80: core).
        let exited = ExitStatus::from_raw(1 << 8);
        let killed = ExitStatus::from_raw(9);
        let aborted = ExitStatus::from_raw(6 | 0x80);
        assert_eq!(failure_summary(exited, b"Error: no chart\n\n", "helm"), "no chart");
        assert_eq!(
            failure_summary(exited, b"", "helm"),
            "helm exited with an error and printed nothing"
        );
        assert_eq!(
            failure_summary(killed, b"", "helm"),
            "helm was killed by signal 9 (SIGKILL)"
        );
        assert_eq!(
            failure_summary(killed, b"rendering\n", "podman"),
            "rendering; podman was killed by signal 9 (SIGKILL)"
        );
        assert_eq!(
            failure_summary(aborted, b"", "helm"),
            "helm was killed by signal 6 (SIGABRT), core dumped"
        );
        assert_eq!(
            failure_summary(ExitStatus::from_raw(64), b"", "helm"),
            "helm was killed by signal 64"
        );
    }
}
