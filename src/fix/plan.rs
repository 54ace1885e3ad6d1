//! What `netaudit fix` and `netaudit post-render` compute from rendered
//! manifests (and, optionally, a probe report): the NetworkPolicies and the
//! port patches, and the findings the README lists. No I/O here.

use super::policy::{self, Generated, PolicyOptions};
use super::ports::{self, PortFinding, PortPlan};
use crate::checks::{self, CheckInfo};
use crate::engine::config::Config;
use crate::model::{Index, Manifests, WorkloadRef};
use serde_json::Value;
use std::collections::BTreeSet;

/// Everything generated for one set of rendered manifests.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub generated: Vec<Generated>,
    pub ports: PortPlan,
    /// The static findings the generated files do not fix, for the README,
    /// as the user's config reports them (disabled checks and waived
    /// findings left out).
    pub findings: Vec<StaticFinding>,
    /// The options the policies were generated with (the probe's ports included).
    pub options: PolicyOptions,
    /// The cluster-wide default of the release's namespaces (`--baseline`),
    /// and those namespaces.
    pub baseline: Option<(Value, Vec<String>)>,
}

/// A static finding, for the README.
#[derive(Debug, Clone)]
pub struct StaticFinding {
    pub check: &'static CheckInfo,
    /// The object the finding is about.
    pub subject: WorkloadRef,
    pub message: String,
}

impl Outcome {
    pub fn policy_count(&self) -> usize {
        self.generated
            .iter()
            .filter(|g| matches!(g, Generated::Policy { .. }))
            .count()
    }
}

/// Policies, port patches and the findings to list, for `manifests`
/// (loaded with their configuration objects), under the user's `config` and
/// policy `options` (the probe's ports come from `findings`).
pub fn plan(manifests: &Manifests, config: &Config, findings: &[PortFinding], options: &PolicyOptions) -> Outcome {
    let index = manifests.index();
    let options = PolicyOptions {
        observed_ports: ports::ports_of(&checks::M1, findings),
        dynamic_ports: ports::ports_of(&checks::M2, findings),
        ..options.clone()
    };
    let generated = generate(&index, &options);
    let audit = crate::engine::run(manifests, config, None);
    // Undeclared Service targets (M5B, M5C) are declared like open ports
    // (M1); every other finding is listed for a person. M6 is what the
    // policies fix (the skipped workloads are listed with their reason).
    let mut to_declare = findings.to_vec();
    let mut unfixed = Vec::new();
    for f in &audit.findings {
        let targets = ports::service_targets(&audit, f);
        if !targets.is_empty() {
            to_declare.extend(targets);
        } else if f.check != &checks::M6 {
            unfixed.push(StaticFinding {
                check: f.check,
                subject: f.primary().object.reference(),
                message: f.message.clone(),
            });
        }
    }
    let ports = ports::plan(&index, &to_declare);
    let findings = unfixed;
    let baseline = options.baseline.then(|| {
        let namespaces: BTreeSet<String> = index.workloads.iter().map(|w| w.obj.namespace.clone()).collect();
        let namespaces: Vec<String> = namespaces.into_iter().collect();
        (options.flavor.baseline(&namespaces), namespaces)
    });
    Outcome {
        generated,
        ports,
        findings,
        options,
        baseline,
    }
}

/// The policies for `index`, each following its workload's namespace: a
/// workload without `metadata.namespace` goes wherever it is installed
/// (helm's -n, kubectl's -n), so its policy sets none either.
pub fn generate(index: &Index<'_>, options: &PolicyOptions) -> Vec<Generated> {
    let mut generated = policy::generate(index, options);
    for g in &mut generated {
        if let Generated::Policy { workload, policy, .. } = g {
            let implicit = index
                .workloads
                .iter()
                .any(|w| &w.reference() == workload && !w.obj.sets_namespace());
            if implicit {
                if let Some(meta) = policy.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("namespace");
                }
            }
        }
    }
    generated
}
