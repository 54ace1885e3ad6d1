//! `--explore-values`, shared by `lint` and `fix`: the chart rendered with
//! each variant of its values, each variant audited and compared with the
//! defaults' audit.

use super::{note, progress};
use crate::cli::ExploreArgs;
use crate::engine::config::Config;
use crate::engine::values_space::{Comparison, Explored, VariantAudit};
use crate::engine::Audit;
use crate::model::{Detail, Input, Manifests};
use crate::source::helm::RenderRequest;
use crate::source::values_space::{self, NotRendered};
use anyhow::Result;

/// Explore the values of the chart `request` names (the first of
/// `inputs`, whose audit is `defaults`); the other inputs are the same in
/// every variant.
pub fn explore(
    request: &RenderRequest,
    inputs: &[Input],
    defaults: &Audit<'_>,
    config: &Config,
    args: &ExploreArgs,
    quiet: bool,
) -> Result<Explored> {
    let (space, warnings) = values_space::explore(request, args.max_renders)?;
    for warning in &warnings {
        note(&format!("warning: {warning}"));
    }
    let jobs = args
        .jobs
        .map_or_else(|| crate::model::parallel::threads_for(usize::MAX), usize::from);
    progress(quiet)(&format!(
        "rendering {} variant{} of {}'s values ({jobs} at a time)",
        space.variants.len(),
        if space.variants.len() == 1 { "" } else { "s" },
        request.chart
    ));
    let rendered = values_space::render_variants(request, &space, jobs, args.render_timeout, |_| {})?;
    let mut comparison = Comparison::new(defaults, &space);
    for variant in rendered {
        match variant {
            Ok(input) => {
                let mut variant_inputs = inputs.to_vec();
                variant_inputs[0] = input;
                // What the checks read: the findings are the same with more detail.
                let manifests = Manifests::load(variant_inputs, Detail::Checks)?;
                let audit = crate::engine::run(&manifests, config, None);
                comparison.add(VariantAudit::Audited(&audit));
            }
            Err(NotRendered::Failed(reason)) => comparison.add(VariantAudit::Failed(reason)),
            Err(NotRendered::TimedOut(seconds)) => comparison.add(VariantAudit::TimedOut(seconds)),
        }
    }
    Ok(comparison.finish())
}
