//! Running a command: from parsed arguments to output and an exit code.

use crate::audit;
use crate::cli::{
    AuditArgs, ColorChoice, FixArgs, InstallArgs, LintArgs, PostRenderArgs, RenderArgs, ReportArgs, Runtime,
};
use crate::config::Config;
use crate::helm::{Helm, RenderRequest};
use crate::model::{Input, MAX_INPUT_BYTES};
use crate::probe::{session, ProbeReport, WorkloadRef};
use crate::report::{self, Format};
use crate::values;
use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// A progress or warning line on stderr. A closed stderr (`2>&1 | head`)
/// must not abort a probe between install and cleanup, so errors are
/// ignored (`eprintln!` would panic).
fn note(message: &str) {
    let _ = writeln!(std::io::stderr(), "netaudit: {message}");
}

/// Exit codes: 0 clean, 1 findings at or above --fail-on, 2 error.
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

pub fn lint(args: &LintArgs) -> Result<u8> {
    let render = &args.render;
    let namespace = namespace_of(render);
    let (release, chart) = release_and_chart(render)?;
    if chart.is_none() && args.manifests.is_empty() && args.extra_charts.is_empty() {
        bail!("nothing to lint: give a CHART, --chart CHART or --manifests FILE (see --help)");
    }
    if args.manifests.iter().filter(|m| *m == "-").count() > 1 {
        bail!("--manifests - (stdin) can be given only once");
    }

    let mut inputs = Vec::new();
    if chart.is_some() || !args.extra_charts.is_empty() {
        let helm = Helm::locate()?;
        if let Some(chart) = chart {
            inputs.push(render_chart(&helm, &render_request(render, release, chart))?);
        }
        for extra in &args.extra_charts {
            let (release, chart) = match extra.split_once('=') {
                Some((release, chart)) => (Some(release.to_string()), chart.to_string()),
                None => (None, extra.clone()),
            };
            let request = RenderRequest {
                release,
                chart,
                namespace: namespace.clone(),
                kube_version: render.kube_version.clone(),
                api_versions: render.api_versions.clone(),
                ..RenderRequest::default()
            };
            inputs.push(render_chart(&helm, &request)?);
        }
    }
    for path in &args.manifests {
        inputs.push(read_manifests(path, &namespace)?);
    }
    let config = load_config(&args.report, &inputs)?;
    let objects = audit::load(&inputs)?;
    let audit = audit::run(&inputs, &objects, &config);
    emit(&audit, &args.report)
}

/// `install --probe`: static checks, then a sandboxed install whose pods are
/// probed for the sockets they open; one report with both.
pub fn install(args: &InstallArgs) -> Result<u8> {
    if !args.probe {
        bail!("`netaudit install` only installs into a throwaway sandbox: add --probe (see --help)");
    }
    let (release, chart) = release_and_chart(&args.render)?;
    let Some(chart) = chart else {
        bail!("nothing to install: give [RELEASE] CHART (see --help)")
    };
    let quiet = args.quiet || args.report.output != Format::Human;
    let progress = |message: &str| {
        if !quiet {
            note(message);
        }
    };
    progress(&format!("rendering {chart}"));
    let helm = Helm::locate()?;
    let request = render_request(&args.render, release, chart);
    let inputs = vec![render_chart(&helm, &request)?];
    let config = load_config(&args.report, &inputs)?;
    let objects = audit::load(&inputs)?;
    let index = crate::model::Index::new(&inputs, &objects);
    session::install_signal_handler()?;
    let options = session::ProbeOptions {
        runs: usize::from(args.runs),
        timeout: args.timeout,
        settle: args.settle,
        keep: args.keep,
    };
    let runtime = match args.runtime {
        Runtime::Auto if crate::probe::kube::cluster_reachable(std::time::Duration::from_secs(5)) => {
            progress("the current Kubernetes context answers: using the kube runtime (--runtime podman to stay local)");
            Runtime::Kube
        }
        Runtime::Auto => Runtime::Podman,
        chosen => chosen,
    };
    let run_to_completion: Vec<WorkloadRef> = index
        .workloads
        .iter()
        .filter(|w| matches!(w.obj.kind.as_str(), "Job" | "CronJob"))
        .map(|w| WorkloadRef {
            kind: w.obj.kind.clone(),
            namespace: w.obj.namespace.clone(),
            name: w.obj.name.clone(),
        })
        .collect();
    let report = |runtime: &str, sandbox: &str| ProbeReport {
        runtime: runtime.into(),
        sandbox: sandbox.into(),
        runs: options.runs,
        incomplete: Vec::new(),
        not_probed: run_to_completion.clone(),
        waited_for_readiness: true,
        timings: Default::default(),
    };
    let (observations, mut probe) = match runtime {
        Runtime::Kube => {
            let installer = crate::probe::kube::HelmInstaller::from_request(&helm, &request);
            let mut kube_options =
                crate::probe::kube::KubeOptions::new(&inputs[0].release, &inputs[0].default_namespace, args.timeout);
            kube_options.probe_image = args.probe_image.clone();
            let mut sandbox = crate::probe::kube::KubeSandbox::connect(installer, kube_options)?;
            let report = report("kube", &sandbox.name);
            (session::run_probe(&mut sandbox, &options, &progress)?, report)
        }
        Runtime::Podman | Runtime::Auto => {
            let mut sandbox = crate::probe::podman::PodmanSandbox::new(&index, &inputs[0].release)?;
            let report = report("podman", &sandbox.name);
            (session::run_probe(&mut sandbox, &options, &progress)?, report)
        }
    };
    drop(index);
    probe.incomplete = observations.statuses.iter().filter(|s| !s.ready).cloned().collect();
    probe.timings = observations.timings.clone();
    let mut audit = audit::run_observed(&inputs, &objects, &config, Some(&observations));
    audit.probe = Some(probe);
    emit(&audit, &args.report)
}

/// `audit RELEASE`: the static checks on an installed release's manifests
/// (`helm get manifest`), and the runtime checks on its pods as they run,
/// read-only (see `probe::in_place`).
pub fn audit_release(args: &AuditArgs) -> Result<u8> {
    let namespace = args
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
    let release = &args.release;
    let quiet = args.quiet || args.report.output != Format::Human;
    let progress = |message: &str| {
        if !quiet {
            note(message);
        }
    };
    progress(&format!(
        "reading the manifests of release {release} (namespace {namespace})"
    ));
    let helm = Helm::locate()?;
    let context = std::env::var("HELM_KUBECONTEXT").ok().filter(|c| !c.is_empty());
    let manifest = helm.get_manifest(release, &namespace, context.as_deref())?;
    let mut input = Input::new(release.clone(), release.clone(), namespace.clone(), manifest);
    input.rendered_by_helm = true;
    let inputs = vec![input];
    let config = load_config(&args.report, &inputs)?;
    let objects = audit::load(&inputs)?;
    let index = crate::model::Index::new(&inputs, &objects);
    let (run_to_completion, long_running): (Vec<WorkloadRef>, Vec<WorkloadRef>) = index
        .workloads
        .iter()
        .map(|w| WorkloadRef {
            kind: w.obj.kind.clone(),
            namespace: w.obj.namespace.clone(),
            name: w.obj.name.clone(),
        })
        .partition(|w| matches!(w.kind.as_str(), "Job" | "CronJob"));
    drop(index);
    let options = crate::probe::in_place::InPlaceOptions {
        allow_debug_containers: args.allow_debug_containers,
        probe_image: args.probe_image.clone(),
        ..Default::default()
    };
    progress("connecting to the current Kubernetes context (nothing in it is changed)");
    let prober = crate::probe::in_place::InPlaceProbe::connect(options)?;
    let outcome = prober.probe(&long_running, &progress)?;
    let probe = ProbeReport {
        runtime: "kube (in place)".into(),
        sandbox: format!("{namespace} (release {release}, read-only)"),
        runs: 1,
        incomplete: outcome
            .observations
            .statuses
            .iter()
            .filter(|s| !s.ready)
            .cloned()
            .collect(),
        not_probed: run_to_completion,
        waited_for_readiness: false,
        timings: outcome.observations.timings.clone(),
    };
    let mut audit = audit::run_observed(&inputs, &objects, &config, Some(&outcome.observations));
    audit
        .warnings
        .extend(outcome.notes.iter().map(|note| crate::suppress::Warning {
            message: note.clone(),
            location: None,
        }));
    audit.probe = Some(probe);
    emit(&audit, &args.report)
}

/// The files `fix` writes.
pub const FIX_FILES: [&str; 5] = [
    "rendered.yaml",
    "networkpolicies.yaml",
    "ports.patch.yaml",
    "kustomization.yaml",
    "README.md",
];

fn read_report(path: &Path) -> Result<Vec<crate::fix::ports::RuntimeFinding>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    crate::fix::ports::read_report(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `fix`: render (or read) the manifests and write the generated fixes into a directory.
pub fn fix(args: &FixArgs) -> Result<u8> {
    let (release, chart) = release_and_chart(&args.render)?;
    let namespace = namespace_of(&args.render);
    let (input, source) = match (chart, &args.manifests) {
        (Some(chart), None) => {
            let helm = Helm::locate()?;
            let input = render_chart(&helm, &render_request(&args.render, release, chart.clone()))?;
            (input, format!("the chart `{chart}`"))
        }
        (None, Some(path)) => (read_manifests(path, &namespace)?, format!("the manifests `{path}`")),
        (None, None) => bail!("nothing to fix: give [RELEASE] CHART or --manifests FILE (see --help)"),
        (Some(_), Some(_)) => bail!("give either [RELEASE] CHART or --manifests FILE, not both"),
    };
    let findings = match &args.from_report {
        Some(path) => read_report(path)?,
        None => Vec::new(),
    };
    let dir = &args.output_dir;
    if dir.exists() && !dir.is_dir() {
        bail!("{} exists and is not a directory", dir.display());
    }
    if !args.force {
        let existing: Vec<String> = FIX_FILES
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            bail!(
                "{} already exist{}: use --force to overwrite, or another -o DIR",
                existing.join(", "),
                if existing.len() == 1 { "s" } else { "" }
            );
        }
    }
    let egress = args.egress.mode();
    let outcome = crate::fix::run::plan(std::slice::from_ref(&input), &findings, egress)?;
    let report = args.from_report.as_ref().map(|p| p.display().to_string());
    let files: [(&str, String); 5] = [
        ("rendered.yaml", input.text.clone()),
        ("networkpolicies.yaml", crate::fix::policy::to_yaml(&outcome.generated)),
        ("ports.patch.yaml", crate::fix::ports::to_yaml(&outcome.ports)),
        ("kustomization.yaml", crate::fix::run::kustomization(&outcome)),
        (
            "README.md",
            crate::fix::run::readme(&outcome, &source, report.as_deref(), egress),
        ),
    ];
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in &files {
        write_atomically(&dir.join(name), text.as_bytes())?;
    }
    let skipped = outcome.generated.len() - outcome.policy_count();
    note(&format!(
        "wrote {} NetworkPolicies ({} workload(s) skipped, see README.md) and {} port declaration(s) into {}",
        outcome.policy_count(),
        skipped,
        outcome.ports.patches.len(),
        dir.display()
    ));
    Ok(0)
}

/// `post-render`: manifests on stdin, patched manifests plus policies on stdout.
pub fn post_render(args: &PostRenderArgs) -> Result<u8> {
    let namespace = args
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
    let mut input = read_manifests("-", &namespace)?;
    input.rendered_by_helm = true;
    let findings = match &args.from_report {
        Some(path) => read_report(path)?,
        None => Vec::new(),
    };
    let outcome = crate::fix::run::plan(std::slice::from_ref(&input), &findings, args.egress.mode())?;
    let (text, missed) = crate::fix::run::post_render(&input.text, &outcome)?;
    for m in missed {
        note(&format!("warning: {m}"));
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .context("cannot write to stdout")?;
    Ok(0)
}

/// The namespace of objects that set none: `-n`, else `HELM_NAMESPACE` (clap
/// reads it), else `default`.
pub fn namespace_of(render: &RenderArgs) -> String {
    render
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into())
}

/// `[RELEASE] CHART` as helm reads it.
pub fn release_and_chart(render: &RenderArgs) -> Result<(Option<String>, Option<String>)> {
    Ok(match render.positional.as_slice() {
        [] => (None, None),
        [chart] => (None, Some(chart.clone())),
        [release, chart] => (Some(release.clone()), Some(chart.clone())),
        _ => bail!("too many arguments: expected [RELEASE] CHART"),
    })
}

pub fn render_request(render: &RenderArgs, release: Option<String>, chart: String) -> RenderRequest {
    RenderRequest {
        release,
        chart,
        namespace: namespace_of(render),
        values: render.values.clone(),
        set: render.set.clone(),
        set_string: render.set_string.clone(),
        set_file: render.set_file.clone(),
        set_json: render.set_json.clone(),
        version: render.version.clone(),
        repo: render.repo.clone(),
        kube_version: render.kube_version.clone(),
        api_versions: render.api_versions.clone(),
    }
}

/// `--config`, else `.netaudit.yaml` in a local chart's directory, else in the current directory.
pub fn load_config(report: &ReportArgs, inputs: &[Input]) -> Result<Config> {
    let mut dirs: Vec<PathBuf> = inputs.iter().filter_map(|i| i.chart_dir.clone()).collect();
    dirs.push(PathBuf::from("."));
    Ok(Config::discover(report.config.as_deref(), &dirs)?)
}

/// Write the report as asked and return the exit code.
pub fn emit(audit: &audit::Audit<'_>, args: &ReportArgs) -> Result<u8> {
    let text = match (args.output, args.summary) {
        (Format::Human, true) => report::summary::Summary::of(audit).to_markdown(),
        (Format::Human, false) => {
            let color = match args.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    args.output_file.is_none()
                        && std::io::stdout().is_terminal()
                        && std::env::var_os("NO_COLOR").is_none()
                }
            };
            report::human::render(audit, &report::human::Options { color, width: 100 })
        }
        (Format::Json, _) => report::json::render(audit),
        (Format::Sarif, _) => report::sarif::render(audit),
    };
    match &args.output_file {
        Some(path) => write_atomically(path, text.as_bytes())?,
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush());
        }
    }
    Ok(if audit.fails(args.fail_on.threshold()) {
        EXIT_FINDINGS
    } else {
        0
    })
}

/// Render a chart with helm and remember what the M6 hint needs.
fn render_chart(helm: &Helm, request: &RenderRequest) -> Result<Input> {
    let text = helm.template(request)?;
    let local_dir = Path::new(&request.chart);
    let chart_dir = local_dir.is_dir().then(|| local_dir.to_path_buf());
    let release = request.release.clone().unwrap_or_else(|| "release-name".into());
    let mut input = Input::new(request.chart.clone(), release, request.namespace.clone(), text);
    // The chart's own defaults say which NetworkPolicy is switched off...
    let defaults = match &chart_dir {
        Some(dir) => std::fs::read_to_string(dir.join("values.yaml"))
            .ok()
            .map(|t| (t, "values.yaml".to_string())),
        None => helm
            .show_values(request)
            .ok()
            .map(|t| (t, format!("{} values.yaml", request.chart))),
    };
    if let Some((text, file)) = defaults {
        let file = match &chart_dir {
            Some(dir) => dir.join(&file).display().to_string(),
            None => file,
        };
        input.netpol_toggles = values::network_policy_toggles(&text, &file);
    }
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
    input.chart_dir = chart_dir;
    input.rendered_by_helm = true;
    Ok(input)
}

fn read_manifests(path: &str, namespace: &str) -> Result<Input> {
    let text = if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_INPUT_BYTES as u64 + 1)
            .read_to_end(&mut buf)
            .context("cannot read manifests from stdin")?;
        decode(buf, "<stdin>")?
    } else {
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {path}"))?;
        if meta.is_dir() {
            bail!("{path} is a directory: --manifests takes a file of rendered YAML (use the directory as CHART to render a chart)");
        }
        if meta.len() > MAX_INPUT_BYTES as u64 {
            bail!(
                "{path}: {} bytes is more than the {MAX_INPUT_BYTES} byte limit",
                meta.len()
            );
        }
        decode(
            std::fs::read(path).with_context(|| format!("cannot read {path}"))?,
            path,
        )?
    };
    let (name, release) = if path == "-" {
        ("<stdin>".to_string(), "stdin".to_string())
    } else {
        let stem = Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (path.to_string(), stem)
    };
    Ok(Input::new(name, release, namespace, text))
}

fn decode(bytes: Vec<u8>, name: &str) -> Result<String> {
    if bytes.len() > MAX_INPUT_BYTES {
        bail!("{name}: more than the {MAX_INPUT_BYTES} byte limit");
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{name}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Write to a temporary file next to `path`, then rename: a reader never sees
/// a half-written report, and an error leaves no file behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot create a file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
