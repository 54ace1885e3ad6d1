//! The check registry.
//!
//! Each check lives in its own file and is declared with `declare_check!`:
//! its doc comment is its documentation (what it does, why it is bad, an
//! example, remediation). The same text feeds `docs/checks.md`,
//! `netaudit explain ID` and the SARIF rule help, so it is written once.

use crate::model::{Exposure, Index, Location, Object, ProcessName, Protocol};
use serde::Serialize;

pub mod docs;

mod m1_undeclared_open_port;
mod m2_dynamic_port;
mod m3_declared_port_not_open;
mod m4a_workload_label_collision;
mod m4b_service_label_collision;
mod m4c_workload_subset_collision;
mod m4g_global_label_collision;
mod m5a_service_targets_closed_port;
mod m5b_service_targets_undeclared_port;
mod m5c_headless_service_port_unavailable;
mod m5d_service_without_target;
mod m6_missing_network_policy;
mod m7_host_network;
mod np1_policy_selects_no_pod;
mod np2_policy_peer_matches_nothing;
mod np3_malformed_policy;
mod support;

pub use m1_undeclared_open_port::M1;
pub use m2_dynamic_port::M2;
pub use m3_declared_port_not_open::M3;
pub use m4a_workload_label_collision::M4A;
pub use m4b_service_label_collision::M4B;
pub use m4c_workload_subset_collision::M4C;
pub use m4g_global_label_collision::M4G;
pub use m5a_service_targets_closed_port::M5A;
pub use m5b_service_targets_undeclared_port::M5B;
pub use m5c_headless_service_port_unavailable::M5C;
pub use m5d_service_without_target::M5D;
pub use m6_missing_network_policy::M6;
pub use m7_host_network::M7;
pub use np1_policy_selects_no_pod::NP1;
pub use np2_policy_peer_matches_nothing::NP2;
pub use np3_malformed_policy::NP3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// What only the cluster can confirm (pods an operator or the control
    /// plane would create): shown under "confirm in the cluster", outside the
    /// default exit status.
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            _ => None,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analysis {
    /// The rendered manifests only.
    Static,
    /// What `install --probe` (or `audit`) observed: nothing without it.
    Runtime,
    /// A static half, and a runtime half that comes with probing.
    StaticAndRuntime,
}

/// Which inputs a check compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The objects of one release.
    OneRelease,
    /// Objects of different releases audited together (M4G).
    SeveralReleases,
}

/// How summaries count a check's findings (the spec's "Counting for summaries").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Every finding counts.
    PerFinding,
    /// At most one per input (chart), however many findings.
    OncePerInput,
}

/// A registered check: identity, default severity, documentation, and the
/// function that finds its violations in an [`Index`].
pub struct CheckInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub default_severity: Severity,
    pub analysis: Analysis,
    pub scope: Scope,
    pub counting: Counting,
    /// One line: when a finding is reported.
    pub summary: &'static str,
    /// The check's doc comment, Markdown.
    pub doc: &'static str,
    pub run: for<'a> fn(&Index<'a>, &mut Vec<Finding<'a>>),
}

impl std::fmt::Debug for CheckInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

impl PartialEq for CheckInfo {
    /// A check is its ID (the registry has one entry per ID).
    fn eq(&self, other: &CheckInfo) -> bool {
        self.id == other.id
    }
}

impl Eq for CheckInfo {}

impl CheckInfo {
    /// Does the check need `install --probe` (no static half)?
    pub fn runtime_only(&self) -> bool {
        self.analysis == Analysis::Runtime
    }

    /// How the documentation names what the check reads.
    pub fn analysis_text(&self) -> &'static str {
        match (self.analysis, self.scope) {
            (Analysis::Static, Scope::SeveralReleases) => "static (across releases)",
            (Analysis::Static, Scope::OneRelease) => "static",
            (Analysis::Runtime, _) => "runtime (install --probe)",
            (Analysis::StaticAndRuntime, _) => "static + runtime (install --probe)",
        }
    }

    /// The doc comment without the one-space indent rustdoc leaves.
    pub fn documentation(&self) -> String {
        self.doc
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string()
    }

    /// The text of one `## Heading` section of the documentation.
    pub fn section(&self, heading: &str) -> String {
        let doc = self.documentation();
        let marker = format!("## {heading}");
        let Some(start) = doc.find(&marker) else {
            return String::new();
        };
        let body = &doc[start + marker.len()..];
        let end = body.find("\n## ").unwrap_or(body.len());
        body[..end].trim().to_string()
    }
}

/// Declare a check; the doc comment becomes [`CheckInfo::doc`].
macro_rules! declare_check {
    (
        $(#[doc = $doc:literal])*
        pub static $name:ident = {
            id: $id:literal,
            name: $slug:literal,
            severity: $severity:ident,
            analysis: $analysis:ident,
            scope: $scope:ident,
            counting: $counting:ident,
            summary: $summary:literal,
            run: $run:path $(,)?
        };
    ) => {
        $(#[doc = $doc])*
        pub static $name: $crate::checks::CheckInfo = $crate::checks::CheckInfo {
            id: $id,
            name: $slug,
            default_severity: $crate::checks::Severity::$severity,
            analysis: $crate::checks::Analysis::$analysis,
            scope: $crate::checks::Scope::$scope,
            counting: $crate::checks::Counting::$counting,
            summary: $summary,
            doc: concat!($($doc, "\n"),*),
            run: $run,
        };
    };
}
pub(crate) use declare_check;

/// Every check, in report order.
pub static REGISTRY: &[&CheckInfo] = &[
    &m1_undeclared_open_port::M1,
    &m2_dynamic_port::M2,
    &m3_declared_port_not_open::M3,
    &m4a_workload_label_collision::M4A,
    &m4b_service_label_collision::M4B,
    &m4c_workload_subset_collision::M4C,
    &m4g_global_label_collision::M4G,
    &m5a_service_targets_closed_port::M5A,
    &m5b_service_targets_undeclared_port::M5B,
    &m5c_headless_service_port_unavailable::M5C,
    &m5d_service_without_target::M5D,
    &m6_missing_network_policy::M6,
    &m7_host_network::M7,
    &np1_policy_selects_no_pod::NP1,
    &np2_policy_peer_matches_nothing::NP2,
    &np3_malformed_policy::NP3,
];

pub fn find(id: &str) -> Option<&'static CheckInfo> {
    REGISTRY
        .iter()
        .copied()
        .find(|c| c.id.eq_ignore_ascii_case(id) || c.name.eq_ignore_ascii_case(id))
}

/// One side of a finding: an object, the line that matters, and what to say there.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub object: &'a Object,
    pub location: Location,
    /// Last line of the highlighted block (= `location.line` for one line).
    pub end_line: u32,
    /// Short text shown at that line ("selector app=web", "pod labels …").
    pub label: String,
}

impl<'a> Subject<'a> {
    pub fn new(object: &'a Object, line: u32, label: impl Into<String>) -> Subject<'a> {
        Subject {
            object,
            location: object.location(line),
            end_line: line,
            label: label.into(),
        }
    }

    /// Highlight lines `line..=end_line` (a whole `labels:` block, say).
    pub fn block(object: &'a Object, line: u32, end_line: u32, label: impl Into<String>) -> Subject<'a> {
        Subject {
            end_line: end_line.max(line),
            ..Subject::new(object, line, label)
        }
    }
}

#[derive(Debug, Clone)]
pub struct Finding<'a> {
    pub check: &'static CheckInfo,
    pub severity: Severity,
    pub message: String,
    /// What to do about this finding in particular.
    pub help: String,
    /// The objects involved; the first is the one the finding is about.
    pub subjects: Vec<Subject<'a>>,
    /// The port involved (a Service port for M5B/M5C).
    pub port: Option<u16>,
    /// Runtime findings: the protocol of `port` and the containers seen
    /// holding the socket (what `fix` needs to patch the right container).
    pub protocol: Option<Protocol>,
    pub containers: Vec<String>,
    /// Runtime findings (M1, M2): the processes seen holding the socket.
    pub processes: Vec<ProcessName>,
    /// Which ports of the finding's workloads (its subjects that are
    /// workloads) its exposure is about.
    pub exposed: Exposed,
    /// Who can reach them: filled in by the engine from `exposed`.
    pub exposure: Option<Exposure>,
    /// How many findings summaries count this one as (a group of workloads
    /// with identical labels is one finding, and a pair per two of them).
    pub counts_as: usize,
    /// Only the cluster can tell whether this is a problem (the pods an
    /// operator creates): [`Severity::Info`], which no configured severity
    /// of its check changes.
    pub to_confirm: bool,
}

/// What a finding's exposure is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exposed {
    /// Not a port or a workload (M5D, policy hygiene): no exposure.
    Nothing,
    /// Any port of the workloads (M4, M6, M7).
    AnyPort,
    /// These ports of the workloads (M1, M2, M3, M5A-M5C).
    Ports(Vec<(u16, Protocol)>),
}

impl<'a> Finding<'a> {
    pub fn new(check: &'static CheckInfo, message: String, help: String, subjects: Vec<Subject<'a>>) -> Finding<'a> {
        Finding {
            check,
            severity: check.default_severity,
            message,
            help,
            subjects,
            port: None,
            protocol: None,
            containers: Vec::new(),
            processes: Vec::new(),
            exposed: Exposed::Nothing,
            exposure: None,
            counts_as: 1,
            to_confirm: false,
        }
    }

    /// Only the cluster can confirm it: severity info, whatever the check's.
    pub fn to_confirm_in_the_cluster(mut self) -> Finding<'a> {
        self.to_confirm = true;
        self.severity = Severity::Info;
        self
    }

    /// Summaries count this finding as `n`.
    pub fn counting_as(mut self, n: usize) -> Finding<'a> {
        self.counts_as = n.max(1);
        self
    }

    /// The exposure is about any port of the finding's workloads.
    pub fn exposing_workloads(mut self) -> Finding<'a> {
        self.exposed = Exposed::AnyPort;
        self
    }

    /// The exposure is about these ports of the finding's workloads (none
    /// known: any port).
    pub fn exposing(mut self, ports: Vec<(u16, Protocol)>) -> Finding<'a> {
        self.exposed = if ports.is_empty() {
            Exposed::AnyPort
        } else {
            Exposed::Ports(ports)
        };
        self
    }

    pub fn with_port(mut self, port: u16) -> Finding<'a> {
        self.port = Some(port);
        self
    }

    pub fn with_socket(mut self, protocol: Protocol, containers: Vec<String>) -> Finding<'a> {
        self.protocol = Some(protocol);
        self.containers = containers;
        self
    }

    pub fn with_processes(mut self, processes: Vec<ProcessName>) -> Finding<'a> {
        self.processes = processes;
        self
    }

    pub fn primary(&self) -> &Subject<'a> {
        &self.subjects[0]
    }

    /// The input (release) the finding is counted under.
    pub fn input(&self) -> usize {
        self.primary().object.input
    }
}

/// Run the given checks; findings come out in a stable order (check, then
/// source position).
pub fn run_checks<'a>(index: &Index<'a>, checks: &[&'static CheckInfo]) -> Vec<Finding<'a>> {
    let mut findings = Vec::new();
    for check in checks {
        let start = findings.len();
        (check.run)(index, &mut findings);
        findings[start..].sort_by(|a, b| {
            (a.primary().location.input, a.primary().location.line, a.port).cmp(&(
                b.primary().location.input,
                b.primary().location.line,
                b.port,
            ))
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_findable() {
        let mut ids: Vec<&str> = REGISTRY.iter().map(|c| c.id).collect();
        let mut names: Vec<&str> = REGISTRY.iter().map(|c| c.name).collect();
        ids.sort();
        ids.dedup();
        names.sort();
        names.dedup();
        assert_eq!(ids.len(), REGISTRY.len(), "duplicate check ID");
        assert_eq!(names.len(), REGISTRY.len(), "duplicate check name");
        for check in REGISTRY {
            assert_eq!(find(check.id), Some(*check));
            assert_eq!(find(check.name), Some(*check));
            assert!(!check.section("What it does").is_empty(), "{}", check.id);
            assert!(!check.section("How to fix").is_empty(), "{}", check.id);
        }
    }

    #[test]
    fn typed_metadata_says_what_each_check_needs() {
        let runtime_only: Vec<&str> = REGISTRY.iter().filter(|c| c.runtime_only()).map(|c| c.id).collect();
        assert_eq!(runtime_only, ["M1", "M2", "M3", "M5A"]);
        assert_eq!(M5C.analysis, Analysis::StaticAndRuntime);
        assert_eq!(M4G.scope, Scope::SeveralReleases);
        let once: Vec<&str> = REGISTRY
            .iter()
            .filter(|c| c.counting == Counting::OncePerInput)
            .map(|c| c.id)
            .collect();
        assert_eq!(once, ["M6"]);
    }
}
