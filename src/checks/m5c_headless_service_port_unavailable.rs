use super::support::{closed_target_finding, closed_targets, undeclared_target_finding, undeclared_targets};
use super::{declare_check, Finding};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// The M5B check for headless Services (`clusterIP: None`): every port of
    /// a headless Service with a selector must be declared by every workload it
    /// selects (static), and with `install --probe` its target must be open in
    /// the selected pods (runtime: declared, but nothing listens on it).
    /// One finding per Service port.
    ///
    /// ## Why is this bad?
    /// A headless Service is only DNS: clients resolve it to pod addresses and
    /// connect to the port they were told. When that port is not available in
    /// the pods, every client fails (denial of service), and whoever manages
    /// to open that port in a selected pod receives the traffic.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: {name: db-headless}
    /// spec:
    ///   clusterIP: None
    ///   selector: {app: db}
    ///   ports: [{name: repl, port: 5433}]   # no container declares 5433
    /// ```
    ///
    /// ## How to fix
    /// Declare the port in the container, or remove it from the Service.
    pub static M5C = {
        id: "M5C",
        name: "headless-service-port-unavailable",
        severity: Medium,
        analysis: StaticAndRuntime,
        scope: OneRelease,
        counting: PerFinding,
        summary: "a headless Service port's target is not declared by a selected workload",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    for service in index.services.iter().filter(|s| s.headless) {
        let undeclared = undeclared_targets(index, service);
        for (port, lacking) in &undeclared {
            findings.push(undeclared_target_finding(&M5C, service, port, lacking));
        }
        // One finding per Service port: the runtime half only adds ports the
        // static half did not already report.
        for (port, closed) in closed_targets(index, service) {
            if !undeclared.iter().any(|(p, _)| std::ptr::eq(*p, port)) {
                findings.push(closed_target_finding(&M5C, service, port, &closed));
            }
        }
    }
}
