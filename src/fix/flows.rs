//! The flows a set of policies allows, as a reviewer reads them: every
//! (source, destination, port) the engine ([`crate::reach::flows`]) lets
//! through once the fixes are applied, which of them only a guess allows
//! (the whole release, where nothing in the chart names a port's clients),
//! and whether every flow the application needs passes. The tables' text
//! is [`crate::report::flows`]'s.

use super::plan::{self, Outcome};
use super::policy::needs::needs;
use super::policy::PolicyOptions;
use super::post_render::post_render;
use crate::model::{Detail, Input, Manifests};
use crate::reach::flows::{allowed_flows, verify, Allowed, Flow, FlowOutcome, Verdict};
use crate::reach::need::Need;
use anyhow::{anyhow, Result};
use std::collections::{BTreeMap, BTreeSet};

/// What a set of policies allows.
#[derive(Debug, Clone, Default)]
pub struct FlowTables {
    pub allowed: Allowed,
    /// Allowed only because of a whole-release rule (empty for `fix --check`).
    pub guessed: BTreeSet<Flow>,
    /// Every flow the manifests say the application needs, and whether it passes.
    pub needs: Vec<(Need, Verdict)>,
}

impl FlowTables {
    /// The needed flows the policies block.
    pub fn blocked(&self) -> impl Iterator<Item = &(Need, Verdict)> {
        self.needs
            .iter()
            .filter(|(_, verdict)| verdict.outcome() == FlowOutcome::Blocked)
    }

    /// The needed flows netaudit cannot tell (UNKNOWN).
    pub fn unknown(&self) -> impl Iterator<Item = &(Need, Verdict)> {
        self.needs
            .iter()
            .filter(|(_, verdict)| verdict.outcome() == FlowOutcome::Unknown)
    }

    /// "18 of 20 pass (1 blocked, 1 UNKNOWN)" ([`crate::report::flows::tally`]).
    pub fn tally(&self) -> String {
        crate::report::flows::tally(&self.needs)
    }

    /// The needed flows as text ([`crate::report::flows::describe_needs`]).
    pub fn describe_needs(&self) -> String {
        crate::report::flows::describe_needs(&self.needs)
    }
}

/// The flows of `manifests` (one input) with `outcome` applied, those that
/// the same fixes without guesses would not allow, and the needed flows.
pub fn tables(manifests: &Manifests, outcome: &Outcome) -> Result<FlowTables> {
    let applied = apply(manifests, outcome)?;
    let mut tables = evaluate(&applied, needs(&manifests.index(), &outcome.options))?;
    let without_guesses = PolicyOptions {
        without_guesses: true,
        ..outcome.options.clone()
    };
    let strict = Outcome {
        generated: plan::generate(&manifests.index(), &without_guesses),
        ..outcome.clone()
    };
    let certain = allowed_flows(&apply(manifests, &strict)?.index(), &BTreeMap::new());
    tables.guessed = tables
        .allowed
        .keys()
        .filter(|flow| !certain.contains_key(flow))
        .cloned()
        .collect();
    Ok(tables)
}

/// The manifests once post-rendered with `outcome` (ports declared,
/// policies added): what helm would install.
pub fn apply(manifests: &Manifests, outcome: &Outcome) -> Result<Manifests> {
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
    Manifests::load(vec![applied], Detail::WithConfiguration).map_err(|e| anyhow!("{e}"))
}

/// The flows the policies in `manifests` (loaded with their configuration
/// objects) allow as they are, and the needed flows (`fix --check`).
pub fn as_they_are(manifests: &Manifests, options: &PolicyOptions) -> Result<FlowTables> {
    evaluate(manifests, needs(&manifests.index(), options))
}

/// The needed flows of `manifests` and whether the policies in them let
/// each through: what `fix --check` judges, without the allowed flows.
pub fn needed_verdicts(manifests: &Manifests, options: &PolicyOptions) -> Result<Vec<(Need, Verdict)>> {
    let index = manifests.index();
    judged(&index, needs(&index, options))
}

/// Each of `needed` with its verdict under the policies of `index`.
fn judged(index: &crate::model::Index<'_>, needed: Vec<Need>) -> Result<Vec<(Need, Verdict)>> {
    let verdicts = verify(index, &needed).map_err(|e| anyhow!(e))?;
    Ok(needed.into_iter().zip(verdicts).collect())
}

/// What the policies of `manifests` allow, and whether they let `needed` through.
fn evaluate(manifests: &Manifests, needed: Vec<Need>) -> Result<FlowTables> {
    let index = manifests.index();
    Ok(FlowTables {
        needs: judged(&index, needed)?,
        allowed: allowed_flows(&index, &BTreeMap::new()),
        guessed: BTreeSet::new(),
    })
}
