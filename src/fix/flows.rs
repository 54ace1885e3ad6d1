//! The flows a set of policies allows, as a reviewer reads them: every
//! (source, destination, port) the evaluator lets through once the fixes
//! are applied, and which of them only a guess allows (the whole release,
//! where nothing in the chart names a port's clients).

use super::evaluate::{allowed_flows, Flow};
use super::plan::{self, Outcome};
use super::policy::PolicyOptions;
use super::post_render::post_render;
use crate::model::{Detail, Input, Manifests};
use anyhow::{anyhow, Result};
use std::collections::{BTreeMap, BTreeSet};

/// What the generated fixes allow, once applied.
#[derive(Debug, Clone, Default)]
pub struct FlowTables {
    pub allowed: BTreeSet<Flow>,
    /// Allowed only because of a whole-release rule.
    pub guessed: BTreeSet<Flow>,
}

/// The flows of `manifests` (one input) with `outcome` applied, and those
/// that the same fixes without guesses would not allow.
pub fn tables(manifests: &Manifests, outcome: &Outcome) -> Result<FlowTables> {
    let allowed = applied_flows(manifests, outcome)?;
    let without_guesses = PolicyOptions {
        without_guesses: true,
        ..outcome.options.clone()
    };
    let strict = Outcome {
        generated: plan::generate(&manifests.index(), &without_guesses),
        ..outcome.clone()
    };
    let certain = applied_flows(manifests, &strict)?;
    let guessed = allowed.difference(&certain).cloned().collect();
    Ok(FlowTables { allowed, guessed })
}

/// The flows of the manifests once post-rendered with `outcome` (ports
/// declared, policies added): what helm would install.
fn applied_flows(manifests: &Manifests, outcome: &Outcome) -> Result<BTreeSet<Flow>> {
    let input = manifests
        .inputs
        .first()
        .ok_or_else(|| anyhow!("no manifests to evaluate"))?;
    let (text, _) = post_render(&input.text, outcome)?;
    let mut applied = Input::new(
        input.name.clone(),
        input.release.clone(),
        input.default_namespace.clone(),
        text,
    );
    applied.rendered_by_helm = true;
    let applied = Manifests::load(vec![applied], Detail::Checks).map_err(|e| anyhow!("{e}"))?;
    Ok(allowed_flows(&applied.index(), &BTreeMap::new()))
}

/// The flows the policies in `manifests` allow as they are (`fix --check`).
pub fn as_they_are(manifests: &Manifests) -> BTreeSet<Flow> {
    allowed_flows(&manifests.index(), &BTreeMap::new())
}
