//! `--enable-chart-policies`: what switching on the NetworkPolicies a chart
//! ships (and its values switch off) closes, and what stays reachable.
//!
//! A *misconfigured endpoint* is what a finding about a port or a workload
//! points at (every check with an exposure except M6, which the policies
//! themselves answer): a Service endpoint (M5A-M5C), else a pod endpoint per
//! workload the finding names (M1, M2, M3, M4A-M4G, M7). It is *reachable* when a pod of another
//! namespace can reach it (`exposure.any_pod`), as the paper's Figure 4b
//! counts them.

use super::Audit;
use crate::checks::{Finding, M6};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One chart rendered twice: with its values, and with its NetworkPolicy
/// toggles set to true.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Switched {
    /// The chart, as the user named it.
    pub chart: String,
    /// The values keys set to true (`networkPolicy.enabled`).
    pub keys: Vec<String>,
    pub before: Endpoints,
    pub after: Endpoints,
    /// M6 findings before and after.
    pub m6_before: usize,
    pub m6_after: usize,
    /// Endpoints reachable before and not after.
    pub closed: Vec<String>,
    /// Endpoints still reachable, with who can reach them.
    pub still_reachable: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Endpoints {
    pub pods: usize,
    pub services: usize,
    pub reachable_pods: usize,
    pub reachable_services: usize,
}

/// The misconfigured endpoints of one input: key -> (is a Service, reachable, exposure words).
fn endpoints(audit: &Audit<'_>, input: usize) -> BTreeMap<String, (bool, bool, String)> {
    let mut out = BTreeMap::new();
    for f in audit
        .findings
        .iter()
        .filter(|f| f.input() == input && !std::ptr::eq(f.check, &M6))
    {
        let Some(exposure) = f.exposure.as_ref() else { continue };
        for (key, service) in endpoint_keys(f) {
            out.insert(key, (service, exposure.any_pod, exposure.describe()));
        }
    }
    out
}

/// How a finding's endpoints are named, and whether each is a Service:
/// `M5B Service/shop/web port 9000` for a Service port (M5A-M5C), one
/// `M4A Deployment/shop/api` per workload of a finding about workloads or
/// their ports (M1-M3, M4A-M4G, M7).
pub fn endpoint_keys(finding: &Finding<'_>) -> Vec<(String, bool)> {
    let port = finding.port.map(|p| format!(" port {p}")).unwrap_or_default();
    let id = finding.check.id;
    let primary = finding.primary().object;
    if primary.kind == "Service" && finding.port.is_some() {
        return vec![(format!("{id} {}{port}", primary.id()), true)];
    }
    let mut keys: Vec<(String, bool)> = finding
        .subjects
        .iter()
        .filter(|s| s.object.kind != "Service")
        .map(|s| (format!("{id} {}{port}", s.object.id()), false))
        .collect();
    keys.dedup();
    keys
}

/// The misconfigured endpoints of one input, counted.
pub fn endpoint_counts(audit: &Audit<'_>, input: usize) -> Endpoints {
    count(&endpoints(audit, input))
}

fn count(endpoints: &BTreeMap<String, (bool, bool, String)>) -> Endpoints {
    let mut counts = Endpoints::default();
    for (service, reachable, _) in endpoints.values() {
        match (service, reachable) {
            (true, r) => {
                counts.services += 1;
                counts.reachable_services += usize::from(*r);
            }
            (false, r) => {
                counts.pods += 1;
                counts.reachable_pods += usize::from(*r);
            }
        }
    }
    counts
}

/// Compare each input of `before` with the same input of `after`; `keys`
/// holds, per input, the values keys switched on (inputs without any are
/// left out).
pub fn compare(before: &Audit<'_>, after: &Audit<'_>, keys: &[Vec<String>]) -> Vec<Switched> {
    let m6 = |audit: &Audit<'_>, input: usize| {
        audit
            .findings
            .iter()
            .filter(|f| f.input() == input && std::ptr::eq(f.check, &M6))
            .count()
    };
    keys.iter()
        .enumerate()
        .filter(|(_, keys)| !keys.is_empty())
        .map(|(input, keys)| {
            let old = endpoints(before, input);
            let new = endpoints(after, input);
            let closed = old
                .iter()
                .filter(|(k, (_, reachable, _))| *reachable && !new.get(*k).is_some_and(|n| n.1))
                .map(|(k, _)| k.clone())
                .collect();
            let still_reachable = new
                .iter()
                .filter(|(_, (_, reachable, _))| *reachable)
                .map(|(k, (_, _, words))| format!("{k}: {words}"))
                .collect();
            Switched {
                chart: after.index.inputs[input].name.clone(),
                keys: keys.clone(),
                before: count(&old),
                after: count(&new),
                m6_before: m6(before, input),
                m6_after: m6(after, input),
                closed,
                still_reachable,
            }
        })
        .collect()
}

/// The comparison in words, for the human report.
pub fn describe(switched: &[Switched]) -> String {
    let mut out = String::new();
    for s in switched {
        let endpoints = |e: &Endpoints| {
            format!(
                "{} reachable from other namespaces ({} of {} pod endpoints, {} of {} Service endpoints)",
                e.reachable_pods + e.reachable_services,
                e.reachable_pods,
                e.pods,
                e.reachable_services,
                e.services
            )
        };
        out.push_str(&format!(
            "chart policies of `{}` switched on ({}): misconfigured endpoints {} before, {} after; M6 {} -> {}\n",
            s.chart,
            s.keys
                .iter()
                .map(|k| format!("{k}=true"))
                .collect::<Vec<_>>()
                .join(", "),
            endpoints(&s.before),
            endpoints(&s.after),
            s.m6_before,
            s.m6_after
        ));
        for closed in &s.closed {
            out.push_str(&format!("  closed: {closed}\n"));
        }
        for open in &s.still_reachable {
            out.push_str(&format!("  still reachable: {open}\n"));
        }
    }
    out
}

/// A table in the shape of the paper's Figure 4b, one row per chart:
/// misconfigured endpoints reachable from other namespaces, before and
/// after the chart's policies are switched on.
pub fn to_markdown(switched: &[Switched]) -> String {
    let mut out = String::from(
        "| chart | switched on | reachable pod endpoints (before -> after) | reachable Service endpoints (before -> after) | M6 (before -> after) |\n|---|---|---|---|---|\n",
    );
    for s in switched {
        out.push_str(&format!(
            "| {} | {} | {}/{} -> {}/{} | {}/{} -> {}/{} | {} -> {} |\n",
            s.chart,
            s.keys.join(", "),
            s.before.reachable_pods,
            s.before.pods,
            s.after.reachable_pods,
            s.after.pods,
            s.before.reachable_services,
            s.before.services,
            s.after.reachable_services,
            s.after.services,
            s.m6_before,
            s.m6_after
        ));
    }
    out
}
