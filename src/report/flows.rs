//! The flows of the reachability engine ([`crate::reach::flows`]) as text:
//! the tables of allowed flows and of needed flows that `fix`'s README and
//! `fix --check` print.

use crate::reach::flows::{Allowed, Flow, FlowOutcome, Peer, Verdict};
use crate::reach::need::Need;

/// A readable table of flows, one `from -> to port/proto` line each, sorted
/// by source, destination, port and protocol.
pub fn describe<'f>(flows: impl IntoIterator<Item = &'f Flow>) -> String {
    table(flows.into_iter().map(|f| (f, String::new())))
}

/// [`describe`] with a last column: the policies that let each flow through.
pub fn describe_allowed(flows: &Allowed) -> String {
    table(flows.iter().map(|(f, passage)| (f, passage.to_string())))
}

fn table<'f>(rows: impl Iterator<Item = (&'f Flow, String)>) -> String {
    let mut rows: Vec<(String, String, String, String)> = rows
        .map(|(f, why)| {
            let to = Peer::Workload(f.to.clone()).to_string();
            (
                f.from.to_string(),
                to,
                format!("{}/{}", f.port, f.protocol.as_str()),
                why,
            )
        })
        .collect();
    if rows.is_empty() {
        return "(no flow allowed)\n".to_string();
    }
    rows.sort_by(|a, b| (&a.0, &a.1, sort_key(&a.2)).cmp(&(&b.0, &b.1, sort_key(&b.2))));
    rows.dedup();
    let from_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let to_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let port_width = rows.iter().map(|r| r.2.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (from, to, port, why) in rows {
        let line = format!("{from:from_width$} -> {to:to_width$} {port:port_width$}  {why}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `8080/TCP` sorts by number, then protocol.
fn sort_key(port: &str) -> (u32, &str) {
    let (number, protocol) = port.split_once('/').unwrap_or((port, ""));
    (number.parse().unwrap_or(0), protocol)
}

/// "18 of 20 pass (1 blocked, 1 UNKNOWN)": never "N of N pass" while a
/// flow is blocked or unknown.
pub fn tally(needs: &[(Need, Verdict)]) -> String {
    let count = |outcome: FlowOutcome| needs.iter().filter(|(_, v)| v.outcome() == outcome).count();
    let (blocked, unknown) = (count(FlowOutcome::Blocked), count(FlowOutcome::Unknown));
    let passing = needs.len() - blocked - unknown;
    let mut counts = Vec::new();
    if blocked > 0 {
        counts.push(format!("{blocked} BLOCKED"));
    }
    if unknown > 0 {
        counts.push(format!("{unknown} UNKNOWN"));
    }
    let mut tally = format!("{passing} of {} pass", needs.len());
    if !counts.is_empty() {
        tally.push_str(&format!(" ({})", counts.join(", ")));
    }
    tally
}

/// The needed flows, two lines each: whether it passes (and through
/// which policies, or what blocks it), then why it is needed. Blocked
/// ones first.
pub fn describe_needs(needs: &[(Need, Verdict)]) -> String {
    if needs.is_empty() {
        return "(no flow needed)\n".to_string();
    }
    let mut rows: Vec<&(Need, Verdict)> = needs.iter().collect();
    rows.sort_by_key(|(need, verdict)| (verdict.outcome(), need.guessed));
    let mut out = String::new();
    for (need, verdict) in rows {
        let status = match (verdict.outcome(), need.guessed) {
            (FlowOutcome::Pass, false) => "allowed".to_string(),
            (FlowOutcome::Pass, true) => "allowed, guessed".to_string(),
            (outcome, _) => outcome.to_string(),
        };
        // A flow a probe saw says so: it is needed whatever the manifests say.
        let status = if need.observed {
            format!("{status}, observed")
        } else {
            status.to_string()
        };
        let detail = match (&verdict.blocked, &verdict.unknown) {
            (Some(why), _) | (None, Some(why)) => why.clone(),
            (None, None) => verdict.passage.to_string(),
        };
        out.push_str(&format!(
            "{status}: {} ({detail})\n    needed: {}\n",
            need.route(),
            need.why
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Detail, Input, Manifests, Protocol, WorkloadRef};
    use crate::reach::flows::allowed_flows;
    use std::collections::{BTreeMap, BTreeSet};

    fn pod(name: &str, labels: &str, ports: &str) -> String {
        format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: shop, labels: {{{labels}}}}}\nspec:\n  containers:\n  - name: main\n    image: x\n    ports: {ports}\n"
        )
    }

    #[test]
    fn flows_are_a_table_sorted_by_source_destination_and_port() {
        let text = [
            pod("web", "app: web", "[{containerPort: 8080}]"),
            pod("db", "app: db", "[{containerPort: 5432, name: pg}]"),
        ]
        .concat();
        let manifests = Manifests::load(vec![Input::new("t.yaml", "t", "default", text)], Detail::Checks).unwrap();
        let web = WorkloadRef {
            kind: "Pod".into(),
            namespace: "shop".into(),
            name: "web".into(),
        };
        let extra = BTreeMap::from([(web, vec![(Protocol::Udp, 9999)])]);
        let result: BTreeSet<Flow> = allowed_flows(&manifests.index(), &extra).into_keys().collect();
        assert_eq!(
            describe(&result),
            "(outside)    -> Pod/shop/db  5432/TCP\n\
             (outside)    -> Pod/shop/web 8080/TCP\n\
             (outside)    -> Pod/shop/web 9999/UDP\n\
             Pod/shop/db  -> Pod/shop/db  5432/TCP\n\
             Pod/shop/db  -> Pod/shop/web 8080/TCP\n\
             Pod/shop/db  -> Pod/shop/web 9999/UDP\n\
             Pod/shop/web -> Pod/shop/db  5432/TCP\n\
             Pod/shop/web -> Pod/shop/web 8080/TCP\n\
             Pod/shop/web -> Pod/shop/web 9999/UDP\n"
        );
        assert_eq!(describe(&BTreeSet::new()), "(no flow allowed)\n");
    }
}
