//! One thin file per subcommand: from parsed arguments to output and an exit
//! code. What they share is here: progress lines, the report writer, exit
//! codes, atomic writes, and the mapping from CLI flags to inputs.

pub mod audit;
pub mod cleanup;
pub mod docs;
pub mod fix;
pub mod install;
pub mod lint;
mod progress;
pub mod usage;
pub mod values;

use crate::cli::{ColorChoice, RenderArgs, ReportArgs};
use crate::engine::config::Config;
use crate::engine::Audit;
use crate::model::Input;
use crate::report::{self, Format};
use crate::source::helm::{check_release_name, RenderRequest};
use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Exit codes: 0 clean, 1 findings at or above --fail-on, 2 error, 130
/// interrupted (as shells report SIGINT).
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;
pub const EXIT_INTERRUPTED: u8 = 130;

/// A progress or warning line on stderr. A closed stderr (`2>&1 | head`)
/// must not abort a probe between install and cleanup, so errors are
/// ignored (`eprintln!` would panic).
pub fn note(message: &str) {
    let message = crate::model::terminal::for_terminal(message);
    let _ = writeln!(std::io::stderr(), "netaudit: {message}");
}

/// Progress lines, unless quiet (or the report goes to stdout as data).
pub fn progress(quiet: bool) -> impl Fn(&str) {
    move |message: &str| {
        if !quiet {
            note(message);
        }
    }
}

/// The namespace of objects that set none: `-n`, else `HELM_NAMESPACE` (clap
/// reads it), else `default`.
pub fn namespace_or_default(namespace: &Option<String>) -> String {
    namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into())
}

/// `[RELEASE] CHART` as helm reads it.
pub fn release_and_chart(render: &RenderArgs) -> Result<(Option<String>, Option<String>)> {
    Ok(match render.positional.as_slice() {
        [] => (None, None),
        [chart] => (None, Some(chart.clone())),
        [release, chart] => {
            check_release_name(release).map_err(anyhow::Error::msg)?;
            (Some(release.clone()), Some(chart.clone()))
        }
        _ => bail!("too many arguments: expected [RELEASE] CHART"),
    })
}

/// The one mapping of the render flags to a helm request (template and install).
pub fn render_request(render: &RenderArgs, release: Option<String>, chart: String) -> RenderRequest {
    RenderRequest {
        release,
        chart,
        namespace: namespace_or_default(&render.namespace),
        values: render.values.clone(),
        set: render.set.clone(),
        set_string: render.set_string.clone(),
        set_file: render.set_file.clone(),
        set_json: render.set_json.clone(),
        version: render.version.clone(),
        repo: render.repo.clone(),
        kube_version: render.kube_version.clone(),
        api_versions: render.api_versions.clone(),
        include_crds: false,
        timeout: None,
    }
}

/// `--config`, else `.netaudit.yaml` in a local chart's directory, else in the current directory.
pub fn load_config(explicit: Option<&Path>, inputs: &[Input]) -> Result<Config> {
    let mut dirs: Vec<PathBuf> = inputs.iter().filter_map(|i| i.chart_dir.clone()).collect();
    dirs.push(PathBuf::from("."));
    Ok(Config::discover(explicit, &dirs)?)
}

/// Whether the report is data on stdout (progress lines would only be noise).
pub fn quiet_for(report: &ReportArgs, quiet: bool) -> bool {
    quiet || report.output.format() != Format::Human
}

/// Write the report as asked and return the exit code.
pub fn emit(audit: &Audit<'_>, args: &ReportArgs) -> Result<u8> {
    emit_as(audit, args, args.summary.then_some("chart"))
}

/// [`emit`], with the summary table as the human output when `table` names
/// what its rows are (a fleet audit's "release", whatever `--summary` says).
pub fn emit_as(audit: &Audit<'_>, args: &ReportArgs, table: Option<&str>) -> Result<u8> {
    let summary = table.is_some();
    let row_noun = table.unwrap_or("chart");
    if args.apply && args.output.format() != Format::PolicyReport {
        bail!("--apply applies the reports of -o policyreport: add -o policyreport");
    }
    if args.template.is_some() && args.output.format() != Format::Template {
        bail!("--template FILE is the template of `-o template`: add -o template, or drop --template");
    }
    let table = args.output.format() == Format::Human && summary;
    if table || args.output.format() == Format::JsonLines {
        // The table and the lines have no place for them, and they may
        // change what is counted.
        for warning in &audit.warnings {
            note(&format!("warning: {}", warning.message));
        }
    }
    let text = match (args.output.format(), summary) {
        (Format::Human, true) if audit.values_space.is_some() => {
            let table = report::summary::Summary::of(audit);
            let explored = audit
                .values_space
                .as_ref()
                .map(|e| report::values::summary(e, &table.checks));
            format!("{}{}", table.to_markdown(row_noun), explored.unwrap_or_default())
        }
        (Format::Human, true) if audit.chart_policies.is_empty() => {
            report::summary::Summary::of(audit).to_markdown(row_noun)
        }
        (Format::Human, true) => format!(
            "{}\n{}",
            report::summary::Summary::of(audit).to_markdown(row_noun),
            crate::engine::chart_policies::to_markdown(&audit.chart_policies)
        ),
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
            let to_terminal = args.output_file.is_none() && std::io::stdout().is_terminal();
            report::human::render(
                audit,
                &report::human::Options {
                    color,
                    width: report_width(to_terminal),
                },
            )
        }
        (Format::Json, _) => {
            write_output_with(args.output_file.as_deref(), &mut |out| {
                report::json::render_to(audit, out)
            })?;
            return Ok(exit_code(audit, args));
        }
        (Format::JsonLines, _) => report::json_lines::render(audit).context("cannot serialize the JSON lines")?,
        (Format::Sarif, _) => report::sarif::render(audit).context("cannot serialize the SARIF report")?,
        (Format::Compact, _) => report::compact::render(audit),
        (Format::Junit, _) => report::junit::render(audit),
        (Format::Github, _) => report::github::render(audit),
        (Format::PolicyReport, _) => {
            // One set of reports: what is printed is what is applied.
            let reports = report::policyreport::reports(audit, report::policyreport::now());
            let text = report::policyreport::yaml(&reports);
            if args.apply {
                let (applied, target) = crate::probe::kube::reports::apply(&reports)?;
                for what in applied {
                    note(&format!("applied {what} to {target}"));
                }
            }
            text
        }
        (Format::Html, _) => report::html::audit(audit, &report::html::title("netaudit", audit.index.inputs)),
        (Format::Dot, _) => report::graph::Graph::of(&audit.index, &audit.findings).dot(&audit.findings),
        (Format::Template, _) => {
            let path = args
                .template
                .as_deref()
                .context("-o template needs --template FILE (a handlebars template; see docs/cli.md)")?;
            report::template::render(audit, path).map_err(anyhow::Error::msg)?
        }
    };
    write_output(args.output_file.as_deref(), &text)?;
    Ok(exit_code(audit, args))
}

/// A table in place of the human report (`install --flows`): the report's
/// warnings go to stderr, the exit code is the report's.
pub fn emit_table(audit: &Audit<'_>, args: &ReportArgs, table: &str) -> Result<u8> {
    for warning in &audit.warnings {
        note(&format!("warning: {}", warning.message));
    }
    write_output(args.output_file.as_deref(), table)?;
    Ok(exit_code(audit, args))
}

fn exit_code(audit: &Audit<'_>, args: &ReportArgs) -> u8 {
    match audit.fails(args.fail_on.threshold()) {
        true => EXIT_FINDINGS,
        false => 0,
    }
}

/// Write a report to `path` (atomically), else to stdout.
pub fn write_output(path: Option<&Path>, text: &str) -> Result<()> {
    write_output_with(path, &mut |out| out.write_all(text.as_bytes()))
}

/// [`write_output`] of what `write` writes as it goes.
pub fn write_output_with(
    path: Option<&Path>,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    match path {
        Some(path) => write_atomically_with(path, write),
        None => {
            let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            // A closed pipe (`| head`) is not an error worth a message;
            // the serializers' own errors are.
            match write(&mut stdout).and_then(|_| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe && e.raw_os_error().is_none() => {
                    Err(e).context("cannot write the report")
                }
                _ => Ok(()),
            }
        }
    }
}

/// The width human output wraps at: `COLUMNS` when set (as shells export
/// it), else the terminal's, else 100 (files, pipes). Never below 60.
fn report_width(to_terminal: bool) -> usize {
    const DEFAULT: usize = 100;
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok());
    let terminal = || {
        to_terminal
            .then(terminal_size::terminal_size)
            .flatten()
            .map(|(width, _)| usize::from(width.0))
    };
    columns.or_else(terminal).unwrap_or(DEFAULT).max(60)
}

/// Write to a temporary file next to `path`, then rename: a reader never sees
/// a half-written file, and an error leaves no file behind. The file is
/// created with mode 0666 less the umask, as any new file would be (the
/// temporary file's own default, 0600, would hide it from the group).
///
/// An interrupt neither leaves the temporary file behind nor ends the
/// process between its creation and its rename (a cooperative section):
/// the write ends, and an interrupt that came meanwhile returns
/// [`Interrupted`](crate::source::interrupt::Interrupted) instead of
/// renaming, the temporary file removed when dropped.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, &mut |out| out.write_all(bytes))
}

/// [`write_atomically`] of what `write` writes as it goes.
pub fn write_atomically_with(path: &Path, write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let _cooperative = crate::source::interrupt::Cooperative::enter();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
    write(&mut out)
        .and_then(|_| out.flush())
        .with_context(|| format!("cannot write {}", path.display()))?;
    drop(out);
    crate::source::interrupt::check()?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
