//! The corpus table in the shape of the paper's Figure 4b: for the charts
//! that ship network policies, how many misconfigured endpoints stay
//! reachable from pods of other namespaces with the policies on.

use netaudit::engine::chart_policies::{endpoint_counts, endpoint_keys, Endpoints};
use netaudit::engine::Audit;
use netaudit::model::ExposureSource;
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Default, Clone)]
pub struct ExposureStats {
    /// The render has valid policies (on by default).
    pub policies_on: bool,
    /// Its values switch a NetworkPolicy off (the M6 hint's keys).
    pub switched_off: bool,
    pub endpoints: Endpoints,
    /// Endpoints any pod can reach (no policy, or one open to every pod).
    pub any_pod: usize,
    /// `check object: exposure`, for the reachable endpoints of charts with policies on.
    pub reachable: Vec<String>,
}

pub fn stats(audit: &Audit<'_>) -> ExposureStats {
    let endpoints = endpoint_counts(audit, 0);
    // One entry per endpoint, as the counts have them.
    let exposed: BTreeMap<String, _> = audit
        .findings
        .iter()
        .filter(|f| !std::ptr::eq(f.check, &netaudit::checks::M6))
        .filter_map(|f| Some((f, f.exposure.as_ref()?)))
        .flat_map(|(f, e)| endpoint_keys(f).into_iter().map(move |(key, _)| (key, e)))
        .collect();
    ExposureStats {
        policies_on: audit.index.policies.iter().any(|p| p.is_valid()),
        switched_off: !audit.index.inputs[0].netpol_toggles.is_empty(),
        endpoints,
        any_pod: exposed
            .values()
            .filter(|e| {
                matches!(
                    e.sources.first(),
                    Some(ExposureSource::AnyPod | ExposureSource::HostNetwork)
                )
            })
            .count(),
        reachable: exposed
            .iter()
            .filter(|(_, e)| e.any_pod)
            .map(|(key, e)| format!("{key}: {}", e.describe()))
            .collect(),
    }
}

/// `(dataset, chart, stats)` of every chart that loaded.
pub fn section(results: &[(String, String, ExposureStats)]) -> String {
    let mut out = String::from(
        "## Exposure with the charts' own policies (the paper's Figure 4b)\n\n\
         Every finding about a port or a workload carries its exposure: who can open a connection to it \
         under the policies of the render (Kubernetes, Cilium and Calico semantics). A *misconfigured \
         endpoint* is what such a finding points at (M6 aside, which the policies themselves answer): a Service \
         endpoint (M5B, M5C), else a pod endpoint per workload the finding names (M4A-M4G, M7; M1-M3 with a \
         probe). It is *reachable* \
         when a pod of another namespace can reach it (`exposure.any_pod`). *Policies on*: charts whose \
         default render has network policies; *affected*: of those, charts with at least one reachable \
         endpoint. Endpoints are counted over the charts with policies on, as `reachable / all`; *any pod*: \
         of the reachable ones, those an arbitrary pod reaches (no policy selects the workload, the policy \
         lets every pod in, or hostNetwork).\n\n\
         The corpus holds rendered charts, not their sources, so the charts whose values switch their \
         policies off cannot be rendered again here with them on: they are counted in their own column, \
         and `helm netaudit lint CHART --enable-chart-policies` answers for them where the chart is at hand. \
         No chart of the corpus renders a Cilium or Calico policy (several name them in RBAC rules only).\n\n\
         | dataset | charts | policies on | switched off by values | affected | reachable pod endpoints | reachable Service endpoints | of which any pod |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut datasets: Vec<&str> = results.iter().map(|r| r.0.as_str()).collect();
    datasets.dedup();
    let mut rows: Vec<(String, Vec<&ExposureStats>)> = datasets
        .iter()
        .map(|d| {
            (
                d.to_string(),
                results.iter().filter(|r| r.0 == *d).map(|r| &r.2).collect(),
            )
        })
        .collect();
    rows.push(("**total**".into(), results.iter().map(|r| &r.2).collect()));
    for (name, charts) in rows {
        let on: Vec<&&ExposureStats> = charts.iter().filter(|s| s.policies_on).collect();
        let sum = |f: fn(&ExposureStats) -> usize| on.iter().map(|s| f(s)).sum::<usize>();
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} / {} | {} / {} | {} |",
            charts.len(),
            on.len(),
            charts.iter().filter(|s| s.switched_off).count(),
            on.iter().filter(|s| !s.reachable.is_empty()).count(),
            sum(|s| s.endpoints.reachable_pods),
            sum(|s| s.endpoints.pods),
            sum(|s| s.endpoints.reachable_services),
            sum(|s| s.endpoints.services),
            sum(|s| s.any_pod),
        );
    }
    let _ = writeln!(
        out,
        "\n<details><summary>Reachable endpoints of the charts with policies on</summary>\n"
    );
    for (dataset, chart, stats) in results.iter().filter(|r| r.2.policies_on && !r.2.reachable.is_empty()) {
        let _ = writeln!(out, "- **{dataset}/{chart}**");
        for line in &stats.reachable {
            let _ = writeln!(out, "  - {}", line.replace('|', "\\|"));
        }
    }
    let _ = writeln!(out, "\n</details>");
    out
}
