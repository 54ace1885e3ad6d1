//! The static audit, independent of how inputs were obtained: load objects,
//! index them, run the enabled checks, apply severities and waivers.

use crate::checks::{self, Finding, Severity};
use crate::config::Config;
use crate::model::{load_objects, Index, Input, LoadError, Object};
use crate::probe::Observations;
use crate::suppress::{self, Waiver, Warning};

pub struct Audit<'a> {
    pub index: Index<'a>,
    /// Findings that count, in check order.
    pub findings: Vec<Finding<'a>>,
    /// Findings waived by an annotation or a config rule, with the waiver.
    pub suppressed: Vec<(Finding<'a>, Waiver<'a>)>,
    pub warnings: Vec<Warning>,
    /// Set by `install --probe`: how the probe went.
    pub probe: Option<crate::probe::ProbeReport>,
}

/// Parse every input into objects.
pub fn load(inputs: &[Input]) -> Result<Vec<Object>, LoadError> {
    let mut objects = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        if load_objects(i, input, &mut objects)? == 0 && !input.rendered_by_helm {
            return Err(LoadError {
                input: input.name.clone(),
                line: 1,
                message: "no Kubernetes objects in it (empty, or only comments)".into(),
            });
        }
    }
    Ok(objects)
}

/// The static audit (`lint`).
pub fn run<'a>(inputs: &'a [Input], objects: &'a [Object], config: &Config) -> Audit<'a> {
    run_observed(inputs, objects, config, None)
}

/// The audit with what a probe observed (`install --probe`): the runtime
/// checks (M1, M2, M3, M5A, M5C's runtime half) see `observations`.
pub fn run_observed<'a>(
    inputs: &'a [Input],
    objects: &'a [Object],
    config: &Config,
    observations: Option<&'a Observations>,
) -> Audit<'a> {
    let mut index = Index::new(inputs, objects);
    index.runtime = observations;
    let mut findings = checks::run_checks(&index, &config.enabled_checks());
    for finding in &mut findings {
        finding.severity = config.severity_of(finding.check);
    }
    let (waivers, mut warnings) = suppress::collect_waivers(&index, config);
    for input in inputs.iter().filter(|i| i.rendered_by_helm && i.is_blank()) {
        warnings.push(Warning {
            message: format!(
                "{} rendered no Kubernetes objects with these values: nothing to audit",
                input.name
            ),
            location: None,
        });
    }
    let (findings, suppressed) = suppress::apply(findings, &waivers, &mut warnings);
    Audit {
        index,
        findings,
        suppressed,
        warnings,
        probe: None,
    }
}

impl Audit<'_> {
    /// Is any reported finding at or above `threshold`? (`None`: never fail.)
    pub fn fails(&self, threshold: Option<Severity>) -> bool {
        threshold.is_some_and(|t| self.findings.iter().any(|f| f.severity >= t))
    }
}
