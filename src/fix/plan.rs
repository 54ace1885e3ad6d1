//! What `netaudit fix` and `netaudit post-render` compute from rendered
//! manifests (and, optionally, a probe report): the NetworkPolicies and the
//! port patches, and the findings the README lists. No I/O here.

use super::policy::{self, ApiServer, EgressMode, Generated, PolicyOptions};
use super::ports::{self, PortFinding, PortPlan};
use crate::checks::{self, CheckInfo};
use crate::engine::config::Config;
use crate::model::{Manifests, WorkloadRef};
use serde_json::Value;

/// Everything generated for one set of rendered manifests.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub generated: Vec<Generated>,
    pub ports: PortPlan,
    /// Static findings on the input that the generated files address, for
    /// the README, as the user's config reports them (disabled checks and
    /// waived findings left out).
    pub findings: Vec<StaticFinding>,
}

/// A static finding, for the README.
#[derive(Debug, Clone)]
pub struct StaticFinding {
    pub check: &'static CheckInfo,
    /// The object the finding is about.
    pub subject: WorkloadRef,
    pub message: String,
}

/// The static checks whose findings `fix` addresses (M6) or lists as needing
/// a change in the chart.
const LISTED: [&CheckInfo; 4] = [&checks::M6, &checks::M5B, &checks::M4A, &checks::M7];

impl Outcome {
    pub fn policy_count(&self) -> usize {
        self.generated
            .iter()
            .filter(|g| matches!(g, Generated::Policy { .. }))
            .count()
    }
}

/// Policies, port patches and the findings to list, for `manifests`
/// (loaded with their configuration objects), under the user's `config`.
pub fn plan(
    manifests: &Manifests,
    config: &Config,
    findings: &[PortFinding],
    egress: EgressMode,
    api_server: &[ApiServer],
) -> Outcome {
    let index = manifests.index();
    let options = PolicyOptions {
        egress,
        observed_ports: ports::observed_ports(findings),
        api_server: api_server.to_vec(),
    };
    let mut generated = policy::generate(&index, &options);
    // A workload without `metadata.namespace` goes wherever it is installed
    // (helm's -n, kubectl's -n): its policy must follow it there.
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
    let audit = crate::engine::run(manifests, config, None);
    // Undeclared Service targets (M5B, M5C) are declared like open ports (M1).
    let mut to_declare = findings.to_vec();
    to_declare.extend(ports::service_targets(&audit));
    let ports = ports::plan(&index, &to_declare);
    let findings = audit
        .findings
        .iter()
        .filter(|f| LISTED.contains(&f.check))
        .map(|f| StaticFinding {
            check: f.check,
            subject: f.primary().object.reference(),
            message: f.message.clone(),
        })
        .collect();
    Outcome {
        generated,
        ports,
        findings,
    }
}
