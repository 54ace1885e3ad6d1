use super::support::{undeclared_target_finding, undeclared_targets};
use super::{declare_check, Finding};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// For every port of a (non-headless) Service with a selector, checks
    /// that every workload the Service selects declares the target port in one
    /// of its containers (`containers[].ports[]`, native sidecars included):
    /// a numeric `targetPort` (default: the Service `port`) must match a
    /// `containerPort` with the same protocol, a named `targetPort` must match
    /// a port `name`. A Service that selects no workload is reported by M5D
    /// instead. One finding per Service port, however many workloads lack it.
    ///
    /// ## Why is this bad?
    /// Declared container ports are what reviewers, static tools and
    /// NetworkPolicy generators trust. A Service that routes to an undeclared
    /// port either points at nothing (a named port that no container carries
    /// never resolves: the Service has no endpoints for it) or exposes a port
    /// nobody documented, a way to hide an SSH or debug port from static
    /// security checks.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// spec:
    ///   selector: {app: api}
    ///   ports: [{port: 80, targetPort: 8080}]
    /// ---
    /// kind: Deployment
    /// spec:
    ///   template:
    ///     spec:
    ///       containers:
    ///       - name: api
    ///         ports: [{containerPort: 3000}]   # 8080 is not declared
    /// ```
    ///
    /// ## How to fix
    /// Declare the port in the container that listens on it (and name it, so
    /// the Service can use `targetPort: http`), or fix `targetPort`.
    pub static M5B = {
        id: "M5B",
        name: "service-targets-undeclared-port",
        severity: Medium,
        analysis: Static,
        scope: OneRelease,
        counting: PerFinding,
        summary: "a non-headless Service port's target (number or name) is not declared by a selected workload",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    for service in index.services.iter().filter(|s| !s.headless) {
        for (port, lacking) in undeclared_targets(index, service) {
            findings.push(undeclared_target_finding(&M5B, service, port, &lacking));
        }
    }
}
