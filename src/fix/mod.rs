//! Remediation (`netaudit fix`, `netaudit post-render`): NetworkPolicies for
//! every workload, port declarations from a probe report, and the files a
//! platform engineer reviews.
//!
//! `plan` computes everything from the manifests; `policy` generates the
//! policies, `ports` the patches; `post_render` and `output` write them;
//! `flows` asks the reachability engine ([`crate::reach::flows`]) which
//! flows a set of policies allows and whether the needed ones pass, for
//! the tables the README and `fix --check` show.

pub mod flows;
pub(crate) mod output;
pub mod plan;
pub mod policy;
pub(crate) mod ports;
pub(crate) mod post_render;

/// The runtime findings of a JSON report's text (`fix --from-report`,
/// `post-render --from-report`).
pub(crate) fn read_report_text(text: &str) -> Result<ProbeEvidence, String> {
    let report = crate::report::json::read(text)?;
    Ok(ProbeEvidence {
        ports: ports::runtime_findings(&report)?,
        flows: report.probe.map(|p| p.flows).unwrap_or_default(),
    })
}

/// What a probe report (`--from-report`) gives `fix` and `post-render`.
#[derive(Debug, Clone, Default)]
pub struct ProbeEvidence {
    /// Its runtime port findings (M1, M2, M3).
    pub ports: Vec<ports::PortFinding>,
    /// The flows its pods made: each one allowed and needed.
    pub flows: Vec<crate::model::ObservedFlow>,
}

#[cfg(test)]
mod tests;
