use super::support::{closed_target_finding, closed_targets};
use super::{declare_check, Finding};
use crate::model::Index;

declare_check! {
    /// ## What it does
    /// With `install --probe`: for every port of a (non-headless) Service,
    /// resolves the target in each selected workload (a number, or the
    /// number of the container port with that name) and reports the Service
    /// port when the target is not open in the workload's pods in any probe
    /// run. Headless Services are M5C's. One finding per Service port.
    ///
    /// ## Why is this bad?
    /// Every request through the Service to those pods fails (denial of
    /// service), and the Service's clients are delivered to whoever opens the
    /// port in a selected pod: the Service amplifies an M3 (interception,
    /// spoofing).
    ///
    /// ## Example
    /// A Service `targetPort: 8080` on pods whose server listens on 8000.
    ///
    /// ## How to fix
    /// Point `targetPort` at the port the application really opens (by name,
    /// declared in the container), or configure the application to listen on
    /// the declared port.
    pub static M5A = {
        id: "M5A",
        name: "service-targets-closed-port",
        severity: Medium,
        analysis: Runtime,
        scope: OneRelease,
        counting: PerFinding,
        summary: "a Service port's target is not open in a selected pod at runtime",
        run: run,
    };
}

fn run<'a>(index: &Index<'a>, findings: &mut Vec<Finding<'a>>) {
    for service in index.services.iter().filter(|s| !s.headless) {
        for (port, closed) in closed_targets(index, service) {
            findings.push(closed_target_finding(&M5A, service, port, &closed));
        }
    }
}
