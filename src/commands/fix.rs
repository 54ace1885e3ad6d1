//! `fix` (write the generated fixes into a directory) and `post-render`
//! (the same applied to a manifest stream, for helm's `--post-renderer`).

use super::{load_config, namespace_or_default, note, release_and_chart, render_request, write_atomically};
use crate::cli::{FixArgs, PolicyArgs, PostRenderArgs};
use crate::fix::policy::{self, ApiServer, PolicyOptions};
use crate::fix::{flows, output, plan, ports, post_render, ProbeEvidence};
use crate::model::{Detail, FlowOrigin, Manifests};
use crate::report::flows::describe_allowed;
use crate::source::{self, InputSpec};
use anyhow::{anyhow, bail, Context, Result};
use std::io::Write;
use std::path::Path;

/// The files `fix` writes.
pub const FIX_FILES: [&str; 5] = [
    "rendered.yaml",
    "networkpolicies.yaml",
    "ports.patch.yaml",
    "kustomization.yaml",
    "README.md",
];

/// The file `fix --baseline` writes besides [`FIX_FILES`].
pub const BASELINE_FILE: &str = "baseline.yaml";

/// The policy flags of `fix` and `post-render`; with `--cluster`, where the
/// API server is, read from the cluster.
fn policy_options(args: &PolicyArgs) -> Result<PolicyOptions> {
    let api_server = match args.cluster {
        false => args.api_server.clone(),
        true => {
            let found = crate::source::api_server::read()?;
            let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
            note(&format!(
                "the API server is at {} (the Endpoints default/kubernetes of the current context)",
                shown.join(", ")
            ));
            found.iter().map(|a| ApiServer::at(*a)).collect()
        }
    };
    Ok(PolicyOptions {
        egress: args.egress.mode(),
        api_server,
        also_covered: args.also_covered,
        monitoring_namespace: args.monitoring_namespace.clone(),
        flavor: args.flavor.flavor(),
        ..PolicyOptions::default()
    })
}

/// The runtime findings and observed flows of a `--from-report` file.
fn read_report(path: Option<&Path>) -> Result<ProbeEvidence> {
    let Some(path) = path else {
        return Ok(ProbeEvidence::default());
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    crate::fix::read_report_text(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// The observed flows of the report are allowed and needed; those whose
/// client the manifests lack are said, not used.
fn with_observed_flows(options: PolicyOptions, evidence: &ProbeEvidence, manifests: &Manifests) -> PolicyOptions {
    let index = manifests.index();
    let of_origin = |origin| evidence.flows.iter().filter(|f| f.origin == Some(origin)).count();
    let exercised = of_origin(FlowOrigin::Exercise);
    if exercised > 0 {
        note(&format!(
            "{exercised} observed flow(s) of the report are netaudit's own --exercise client's, not the application's: not taken as needed"
        ));
    }
    let tested = of_origin(FlowOrigin::Test);
    if tested > 0 {
        note(&format!(
            "warning: {tested} observed flow(s) of the report are the chart's test hooks' (--run-tests): the policies are for the \
             release's workloads, not for `helm test` pods, so `helm test` may fail under them"
        ));
    }
    let unmatched = policy::observed::unmatched(&index, &evidence.flows);
    if !unmatched.is_empty() {
        let named: Vec<String> = unmatched.iter().take(3).map(|f| f.from.to_string()).collect();
        note(&format!(
            "warning: {} observed flow(s) of the report come from workloads these manifests do not have ({}{}): not used (a report of another release or namespace?)",
            unmatched.len(),
            named.join(", "),
            if unmatched.len() > 3 { ", …" } else { "" }
        ));
    }
    PolicyOptions {
        observed_flows: evidence.flows.clone(),
        ..options
    }
}

pub fn run(args: &FixArgs) -> Result<u8> {
    let (release, chart) = release_and_chart(&args.render)?;
    let namespace = namespace_or_default(&args.render.namespace);
    let (spec, source) = match (chart, &args.manifests) {
        (Some(chart), None) => (
            InputSpec::Chart(render_request(&args.render, release, chart.clone())),
            format!("the chart `{chart}`"),
        ),
        (None, Some(path)) => (
            InputSpec::Manifests {
                path: path.clone(),
                namespace,
            },
            format!("the manifests `{path}`"),
        ),
        (None, None) => bail!("nothing to fix: give [RELEASE] CHART or --manifests FILE (see --help)"),
        (Some(_), Some(_)) => bail!("give either [RELEASE] CHART or --manifests FILE, not both"),
    };
    if args.explore.explore_values && (args.check || args.manifests.is_some()) {
        bail!("--explore-values explores a chart's values before fix writes its policies: give a CHART directory, without --check");
    }
    if let (true, InputSpec::Chart(request)) = (args.explore.explore_values, &spec) {
        crate::source::values_space::require_chart_directory(request)?;
    }
    let evidence = read_report(args.from_report.as_deref())?;
    if args.check {
        return check(&spec, policy_options(&args.policy)?, &evidence, args.unknown_ok);
    }
    let Some(dir) = &args.output_dir else {
        bail!("give --output-dir DIR (or --check)");
    };
    refuse_to_overwrite(dir, args.force)?;
    let inputs = source::acquire(std::slice::from_ref(&spec))?;
    // The user's .netaudit.yaml decides what the README reports, as for lint.
    let config = load_config(args.config.as_deref(), &inputs)?;
    let manifests = Manifests::load(inputs, Detail::WithConfiguration)?;
    let advice = match (&spec, args.explore.explore_values) {
        (InputSpec::Chart(request), true) => values_advice(request, &manifests, &config, args)?,
        _ => Vec::new(),
    };
    let options = PolicyOptions {
        baseline: args.baseline,
        ..with_observed_flows(policy_options(&args.policy)?, &evidence, &manifests)
    };
    let outcome = plan::plan(&manifests, &config, &evidence.ports, &options);
    let tables = flows::tables(&manifests, &outcome)?;
    let report = args.from_report.as_ref().map(|p| p.display().to_string());
    let mut files: Vec<(&str, String)> = vec![
        ("rendered.yaml", manifests.inputs[0].text.clone()),
        ("networkpolicies.yaml", policy::to_yaml(&outcome.generated)),
        (BASELINE_FILE, policy::baseline_yaml(&outcome)),
        ("ports.patch.yaml", ports::to_yaml(&outcome.ports)),
        ("kustomization.yaml", output::kustomization(&outcome)),
        (
            "README.md",
            output::readme(&outcome, &source, report.as_deref(), &tables, &advice),
        ),
    ];
    files.retain(|(name, _)| *name != BASELINE_FILE || outcome.baseline.is_some());
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in &files {
        write_atomically(&dir.join(name), text.as_bytes())?;
    }
    let covered = outcome
        .generated
        .iter()
        .filter(|g| matches!(g, policy::Generated::Covered { .. }))
        .count();
    let skipped = outcome.generated.len() - outcome.policy_count() - covered;
    note(&format!(
        "wrote {} {} ({} workload(s) covered by the chart's own policies, {} skipped: see README.md){} and {} port declaration(s) into {}",
        outcome.policy_count(),
        outcome.options.flavor.policy_kinds(),
        covered,
        skipped,
        match &outcome.baseline {
            Some((_, namespaces)) => format!(", the baseline of namespace(s) {} (baseline.yaml)", namespaces.join(", ")),
            None => String::new(),
        },
        outcome.ports.patches.len(),
        dir.display()
    ));
    let (blocked, unknown) = (tables.blocked().count(), tables.unknown().count());
    if blocked + unknown > 0 {
        note(&format!(
            "needed flows once applied: {}: see \"Flows the application needs\" in README.md",
            tables.tally()
        ));
    }
    Ok(0)
}

/// `--explore-values`: the values the chart offers that remove findings
/// and bring none, said before the policies are written (and in the
/// README).
fn values_advice(
    request: &crate::source::helm::RenderRequest,
    manifests: &Manifests,
    config: &crate::engine::config::Config,
    args: &FixArgs,
) -> Result<Vec<String>> {
    let audit = crate::engine::run(manifests, config, None);
    let explored = super::values::explore(request, &manifests.inputs, &audit, config, &args.explore, false)?;
    let advice = crate::report::values::advice(&explored);
    match advice.as_slice() {
        [] => note(&format!(
            "the chart's values remove none of the {} finding(s) without bringing others ({} variant(s) rendered): the policies netaudit writes are what fixes them",
            explored.defaults,
            explored.variants.len()
        )),
        lines => {
            note("the chart's own values remove findings without bringing any; set them instead of, or before, applying the policies netaudit writes:");
            for line in lines {
                note(&format!("  {line}"));
            }
        }
    }
    Ok(advice)
}

/// `fix --check`: whether the manifests' own NetworkPolicies let every
/// needed flow through, and every flow they allow, on stdout. Exit 1 when a
/// needed flow is blocked, or unknown without `unknown_ok`.
fn check(spec: &InputSpec, options: PolicyOptions, evidence: &ProbeEvidence, unknown_ok: bool) -> Result<u8> {
    let inputs = source::acquire(std::slice::from_ref(spec))?;
    let manifests = Manifests::load(inputs, Detail::WithConfiguration)?;
    let options = with_observed_flows(options, evidence, &manifests);
    let tables = flows::as_they_are(&manifests, &options)?;
    let blocked = tables.blocked().count();
    let text = format!(
        "# Flows the application needs: {}\n{}\n# Flows the NetworkPolicies allow\n{}",
        tables.tally(),
        tables.describe_needs(),
        describe_allowed(&tables.allowed)
    );
    // Workload names: shown, never acted on by the terminal.
    let text = crate::model::terminal::for_terminal(&text);
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush());
    let unknown = tables.unknown().count();
    if unknown > 0 {
        note(&format!(
            "{unknown} needed flow(s) UNKNOWN: netaudit cannot tell whether they pass (UNKNOWN above says what it lacks){}",
            if unknown_ok { "" } else { "; --unknown-ok accepts them" }
        ));
    }
    if blocked > 0 {
        note(&format!("{blocked} needed flow(s) blocked (BLOCKED above)"));
    }
    Ok(u8::from(blocked > 0 || (unknown > 0 && !unknown_ok)))
}

fn refuse_to_overwrite(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("{} exists and is not a directory", dir.display());
    }
    if force {
        return Ok(());
    }
    let existing: Vec<String> = FIX_FILES
        .iter()
        .chain([&BASELINE_FILE])
        .map(|f| dir.join(f))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        bail!(
            "{} already exist{}: use --force to overwrite, or another --output-dir DIR",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" }
        );
    }
    Ok(())
}

/// `post-render`: manifests on stdin, patched manifests plus policies on stdout.
pub fn post_render(args: &PostRenderArgs) -> Result<u8> {
    let mut input = source::manifests::read(
        "-",
        &namespace_or_default(&args.namespace),
        crate::model::MAX_INPUT_BYTES,
    )?;
    input.rendered_by_helm = true;
    let evidence = read_report(args.from_report.as_deref())?;
    let config = load_config(args.config.as_deref(), std::slice::from_ref(&input))?;
    let manifests = Manifests::load(vec![input], Detail::WithConfiguration)?;
    let options = with_observed_flows(policy_options(&args.policy)?, &evidence, &manifests);
    let outcome = plan::plan(&manifests, &config, &evidence.ports, &options);
    let (text, missed) = post_render::post_render(&manifests.inputs[0].text, &outcome)?;
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
