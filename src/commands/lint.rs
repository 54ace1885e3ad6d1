//! `lint` (render charts or read manifests, run the static checks) and
//! `reach` (the per-port source matrix of the same inputs), both with
//! `--enable-chart-policies`.

use super::{
    emit, load_config, namespace_or_default, note, progress, quiet_for, release_and_chart, render_request, write_output,
};
use crate::cli::{InputArgs, LintArgs, ReachArgs, ReachFormat};
use crate::engine::chart_policies;
use crate::engine::config::Config;
use crate::model::{Detail, Input, Manifests};
use crate::reach::grouped::{self, Grouped, Part};
use crate::reach::matrix::{Matrix, Reachability};
use crate::reach::Evaluator;
use crate::report;
use crate::source::helm::RenderRequest;
use crate::source::values_space;
use crate::source::{self, cluster, InputSpec};
use anyhow::{bail, Context, Result};
use std::io::IsTerminal;

/// The inputs the flags name, in order: the chart, `--chart`s, `--manifests`.
fn specs(args: &InputArgs, command: &str) -> Result<Vec<InputSpec>> {
    let render = &args.render;
    let namespace = namespace_or_default(&render.namespace);
    let (release, chart) = release_and_chart(render)?;
    if chart.is_none() && args.manifests.is_empty() && args.extra_charts.is_empty() {
        bail!("nothing to {command}: give a CHART, --chart CHART or --manifests FILE (see --help)");
    }
    if args.manifests.iter().filter(|m| *m == "-").count() > 1 {
        bail!("--manifests - (stdin) can be given only once");
    }
    let mut specs = Vec::new();
    if let Some(chart) = chart {
        specs.push(InputSpec::Chart(render_request(render, release, chart)));
    }
    for extra in &args.extra_charts {
        let (release, chart) = match extra.split_once('=') {
            Some((release, chart)) => {
                crate::source::helm::check_release_name(release).map_err(anyhow::Error::msg)?;
                (Some(release.to_string()), chart.to_string())
            }
            None => (None, extra.clone()),
        };
        specs.push(InputSpec::Chart(RenderRequest {
            release,
            chart,
            namespace: namespace.clone(),
            kube_version: render.kube_version.clone(),
            api_versions: render.api_versions.clone(),
            ..RenderRequest::default()
        }));
    }
    for path in &args.manifests {
        specs.push(InputSpec::Manifests {
            path: path.clone(),
            namespace: namespace.clone(),
        });
    }
    Ok(specs)
}

/// The inputs rendered again with every NetworkPolicy toggle of each
/// chart's values set to true, and per input the keys switched on. Inputs
/// that are not charts, or whose values switch no policy off, stay as
/// they are.
pub fn with_chart_policies(specs: &[InputSpec], inputs: &[Input]) -> Result<(Vec<Input>, Vec<Vec<String>>)> {
    let max_bytes = inputs
        .iter()
        .map(|i| i.max_bytes)
        .max()
        .unwrap_or(crate::model::MAX_INPUT_BYTES);
    let mut switched_specs = Vec::with_capacity(specs.len());
    let mut keys: Vec<Vec<String>> = Vec::with_capacity(specs.len());
    for (spec, input) in specs.iter().zip(inputs) {
        let toggles: Vec<String> = input.netpol_toggles.iter().map(|t| t.path.clone()).collect();
        match spec {
            InputSpec::Chart(request) if !toggles.is_empty() => {
                let mut request = request.clone();
                request.set.extend(toggles.iter().map(|path| format!("{path}=true")));
                switched_specs.push(InputSpec::Chart(request));
            }
            InputSpec::Chart(_) => {
                note(&format!(
                    "{}: its values switch no NetworkPolicy off; audited as it renders",
                    input.name
                ));
                switched_specs.push(spec.clone());
            }
            _ => switched_specs.push(spec.clone()),
        }
        // Only a chart is rendered again: only its keys are switched on.
        keys.push(if matches!(spec, InputSpec::Chart(_)) {
            toggles
        } else {
            Vec::new()
        });
    }
    if keys.iter().all(Vec::is_empty) {
        // Nothing to switch on: the inputs as they are, not rendered again.
        return Ok((inputs.to_vec(), keys));
    }
    let inputs = source::acquire_within(&switched_specs, max_bytes)
        .context("rendering with the chart's NetworkPolicies switched on")?;
    Ok((inputs, keys))
}

/// `--cluster`: what runs in the current context, without the live copies
/// of what `audited` holds (its releases, its objects).
fn live_inputs(args: &LintArgs, specs: &[InputSpec], audited: &Manifests) -> Result<Vec<Input>> {
    let releases = specs.iter().zip(&audited.inputs).map(|(spec, input)| {
        let namespace = match spec {
            InputSpec::Chart(request) => request.namespace.clone(),
            _ => input.default_namespace.clone(),
        };
        (namespace, input.release.clone())
    });
    let exclusions = cluster::exclusions_for(releases, &audited.objects);
    // On a terminal only: elsewhere lint says nothing but its report.
    let quiet = quiet_for(&args.report, false) || !std::io::stderr().is_terminal();
    progress(quiet)("reading the workloads, Services and policies of the current Kubernetes context (read-only)");
    let live = cluster::read(&exclusions, args.inputs.max_input_size)
        .context("--cluster: reading the current Kubernetes context")?;
    for warning in &live.warnings {
        note(&format!("warning: {warning}"));
    }
    Ok(live.inputs)
}

pub fn run(args: &LintArgs) -> Result<u8> {
    if args.report.output.format() == report::Format::PolicyReport && !args.cluster {
        bail!("-o policyreport reports on what runs in a cluster: add --cluster, or use `netaudit audit`");
    }
    let mut specs = specs(&args.inputs, "lint")?;
    if args.explore.explore_values {
        explorable(args, &specs)?;
        // The defaults' render is held to the variants' timeout too: a
        // template that never ends is one line, not a hang.
        if let Some(InputSpec::Chart(request)) = specs.first_mut() {
            request.timeout = Some(args.explore.render_timeout);
        }
    }
    let inputs = source::acquire_within(&specs, args.inputs.max_input_size)?;
    let config = load_config(args.report.config.as_deref(), &inputs)?;
    if args.cluster {
        cluster::check_compatible(args.separately)?;
    }
    let audit_of = |manifests| {
        if args.separately {
            crate::engine::run_separately(manifests, &config)
        } else {
            crate::engine::run(manifests, &config, None)
        }
    };
    if args.explore.explore_values {
        return explore_values(args, &specs, inputs, &config);
    }
    let mut manifests = Manifests::load(inputs, Detail::Checks)?;
    let live = match args.cluster {
        true => live_inputs(args, &specs, &manifests)?,
        false => Vec::new(),
    };
    if !args.inputs.enable_chart_policies {
        manifests.append(Manifests::load(live, Detail::Checks)?);
        let audit = audit_of(&manifests);
        let code = emit(&audit, &args.report);
        leave_to_exit(audit);
        leave_to_exit(manifests);
        return code;
    }
    let (mut switched, keys) = with_chart_policies(&specs, &manifests.inputs)?;
    switched.extend(live.iter().cloned());
    manifests.append(Manifests::load(live, Detail::Checks)?);
    let after = Manifests::load(switched, Detail::Checks)?;
    let before_audit = audit_of(&manifests);
    let mut audit = audit_of(&after);
    audit.chart_policies = chart_policies::compare(&before_audit, &audit, &keys);
    emit(&audit, &args.report)
}

/// The chart `--explore-values` explores (the first input), refused
/// before anything renders when the flags cannot go with it.
fn explorable<'s>(args: &LintArgs, specs: &'s [InputSpec]) -> Result<&'s RenderRequest> {
    if args.inputs.enable_chart_policies || args.cluster || args.separately {
        bail!(
            "--explore-values audits the chart's values on their own: it does not combine with \
             --enable-chart-policies (the NetworkPolicy toggles are among the values it explores), --cluster or --separately"
        );
    }
    match specs.first() {
        Some(InputSpec::Chart(request)) => {
            values_space::require_chart_directory(request)?;
            Ok(request)
        }
        _ => bail!("--explore-values explores a chart's values: give a CHART directory"),
    }
}

/// `--explore-values`: the defaults' report, with what each variant of the
/// first chart's values changes (the other inputs stay as they are in
/// every variant).
fn explore_values(args: &LintArgs, specs: &[InputSpec], inputs: Vec<Input>, config: &Config) -> Result<u8> {
    let request = explorable(args, specs)?;
    let quiet = quiet_for(&args.report, false) || !std::io::stderr().is_terminal();
    let defaults = Manifests::load(inputs.clone(), Detail::Checks)?;
    let mut audit = crate::engine::run(&defaults, config, None);
    let explored = super::values::explore(request, &inputs, &audit, config, &args.explore, quiet)?;
    audit.values_space = Some(explored);
    emit(&audit, &args.report)
}

/// Skip freeing `value`: the process ends once the report is out, and
/// freeing a cluster dump's trees node by node took a tenth of a
/// 100,000-workload lint.
fn leave_to_exit<T>(value: T) {
    std::mem::forget(value);
}

/// Inputs of at most this many workloads get the matrix (a column per
/// source workload); larger ones get grouped rows.
const MATRIX_WORKLOADS: usize = 20;

pub fn reach(args: &ReachArgs) -> Result<u8> {
    let to = parts(&args.to, "--to")?;
    let from = parts(&args.from, "--from")?;
    if args.summary && !from.is_empty() {
        bail!("--summary counts what may reach each namespace's ports from anywhere: it does not take --from");
    }
    if args.summary && matches!(args.output, ReachFormat::Dot | ReachFormat::Html) {
        bail!("--summary is a table: -o human, json, jsonl or csv");
    }
    let specs = specs(&args.inputs, "reach")?;
    if args.explore.explore_values {
        return reach_values(args, &specs, &to);
    }
    let mut inputs = source::acquire_within(&specs, args.inputs.max_input_size)?;
    if args.inputs.enable_chart_policies {
        inputs = with_chart_policies(&specs, &inputs)?.0;
    }
    let manifests = Manifests::load(inputs, Detail::Checks)?;
    let index = manifests.index();
    for (flag, asked, texts) in [("--to", &to, &args.to), ("--from", &from, &args.from)] {
        for (part, text) in asked.iter().zip(texts) {
            if !index.workloads.iter().any(|w| part.matches(w)) {
                bail!("{flag} {text}: no workload of the input is in it");
            }
        }
    }
    if args.output == ReachFormat::Html && index.workloads.len() > report::graph::MAX_DRAWN {
        bail!(
            "-o html draws at most {} workloads and this input has {}: use -o dot (grouped rows), csv or json",
            report::graph::MAX_DRAWN,
            index.workloads.len()
        );
    }
    let eval = Evaluator::new(&index);
    let reach = Reachability::of(&eval, &index);
    let shown = |text: String| crate::model::terminal::for_terminal(&text).into_owned();
    let mut text = if args.summary {
        let rows = grouped::summary(&reach, &index, &to);
        table_text(
            &rows,
            args.output,
            report::reach::summary(&rows),
            report::reach::summary_csv(&rows),
        )?
    } else if args.output == ReachFormat::Human && !args.grouped && index.workloads.len() <= MATRIX_WORKLOADS {
        let matrix = Matrix::with(&eval, &index).restricted(&index, &to, &from);
        // Workload and namespace names: shown, never acted on by the terminal.
        shown(report::reach::matrix(&matrix))
    } else {
        let grouped = Grouped::of(&reach, eval.classes(), &index, &to, &from);
        match args.output {
            ReachFormat::Human => shown(report::reach::grouped(&grouped)),
            ReachFormat::Json => serde_json::to_string_pretty(&grouped).context("cannot serialize the rows")?,
            ReachFormat::Jsonl => report::reach::json_lines(&grouped).context("cannot serialize the rows")?,
            ReachFormat::Csv => shown(report::reach::csv(&grouped)),
            ReachFormat::Dot => shown(report::reach::dot(&grouped)),
            ReachFormat::Html => {
                // The graph is of the whole input; the table of what --to/--from ask.
                let matrix = Matrix::of_reach(&reach, eval.classes(), &index);
                let table = matrix.clone().restricted(&index, &to, &from);
                report::html::reach(
                    &index,
                    &matrix,
                    &table,
                    &report::html::title("netaudit reach", index.inputs),
                )
            }
        }
    };
    leave_to_exit(reach);
    leave_to_exit(eval);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    write_output(args.output_file.as_deref(), &text)?;
    Ok(0)
}

/// `reach --explore-values`: a row per render of the first chart's values
/// (the defaults first): its ports in `to`, open to what.
fn reach_values(args: &ReachArgs, specs: &[InputSpec], to: &[Part]) -> Result<u8> {
    if args.inputs.enable_chart_policies
        || !args.from.is_empty()
        || matches!(args.output, ReachFormat::Dot | ReachFormat::Html)
    {
        bail!("--explore-values counts each render's ports (a row per variant): it does not take --enable-chart-policies, --from, -o dot or -o html");
    }
    let request = match specs.first() {
        Some(InputSpec::Chart(request)) => request,
        _ => bail!("--explore-values explores a chart's values: give a CHART directory"),
    };
    values_space::require_chart_directory(request)?;
    let inputs = source::acquire_within(specs, args.inputs.max_input_size)?;
    let (space, warnings) = values_space::explore(request, args.explore.max_renders)?;
    for warning in &warnings {
        note(&format!("warning: {warning}"));
    }
    let jobs = args
        .explore
        .jobs
        .map_or_else(|| crate::model::parallel::threads_for(usize::MAX), usize::from);
    let rendered = values_space::render_variants(request, &space, jobs, args.explore.render_timeout, |_| {})?;
    let row = |values: String, inputs: Vec<Input>| -> Result<grouped::VariantReach> {
        let manifests = Manifests::load(inputs, Detail::Checks)?;
        let index = manifests.index();
        let eval = Evaluator::new(&index);
        let reach = Reachability::of(&eval, &index);
        Ok(grouped::VariantReach::of(values, &grouped::summary(&reach, &index, to)))
    };
    let mut rows = vec![row("(defaults)".to_string(), inputs.clone())?];
    for (variant, result) in space.variants.iter().zip(rendered) {
        rows.push(match result {
            Ok(input) => {
                let mut variant_inputs = inputs.clone();
                variant_inputs[0] = input;
                row(variant.describe(), variant_inputs)?
            }
            Err(not_rendered) => grouped::VariantReach {
                values: variant.describe(),
                not_rendered: Some(not_rendered.to_string()),
                ..grouped::VariantReach::default()
            },
        });
    }
    let mut text = table_text(
        &rows,
        args.output,
        report::reach::variants(&rows),
        report::reach::variants_csv(&rows),
    )?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    write_output(args.output_file.as_deref(), &text)?;
    Ok(0)
}

/// A table of rows in `format`: as text (`human`, `csv`, what a terminal
/// would act on escaped) or as data (json, one object a line for jsonl).
/// `-o dot` is refused before.
fn table_text<T: serde::Serialize>(rows: &[T], format: ReachFormat, human: String, csv: String) -> Result<String> {
    let shown = |text: String| crate::model::terminal::for_terminal(&text).into_owned();
    Ok(match format {
        ReachFormat::Human => shown(human),
        ReachFormat::Csv => shown(csv),
        ReachFormat::Json => serde_json::to_string_pretty(rows).context("cannot serialize the rows")?,
        ReachFormat::Jsonl => rows
            .iter()
            .map(serde_json::to_string)
            .collect::<serde_json::Result<Vec<_>>>()
            .context("cannot serialize the rows")?
            .join("\n"),
        ReachFormat::Dot | ReachFormat::Html => {
            bail!("-o dot and -o html draw the rows of destination ports: they do not draw this table")
        }
    })
}

/// `--to`/`--from` values, parsed.
fn parts(texts: &[String], flag: &str) -> Result<Vec<Part>> {
    texts
        .iter()
        .map(|t| Part::parse(t).map_err(|e| anyhow::anyhow!("{flag}: {e}")))
        .collect()
}
