//! `fix --flavor`: the same needed flows in every policy language. For
//! every chart of the shared corpus, the policies `fix` writes as
//! Kubernetes NetworkPolicies, CiliumNetworkPolicies and Calico
//! NetworkPolicies are applied to the chart and every needed flow is judged
//! as `fix --check` judges it, by the one evaluator: each flavor must give
//! each flow the same verdict, except a flow to a host outside the cluster
//! by name (an ExternalName's), which only Cilium can allow (`toFQDNs`): it
//! must pass there.
//! The Cilium and Calico policies, and each flavor's baseline, are also
//! validated against their CRD schemas (`scripts/setup-crd-validators.sh`;
//! skipped without it unless `NETAUDIT_REQUIRE_CRD=1`). Skips, saying so,
//! without the corpus.

mod common;

use netaudit::engine::config::Config;
use netaudit::fix::flows::{apply, needed_verdicts};
use netaudit::fix::plan::plan;
use netaudit::fix::policy::flavors::Flavor;
use netaudit::fix::policy::{Generated, PolicyOptions};
use netaudit::model::{Detail, Manifests};
use netaudit::reach::flows::FlowOutcome;
use netaudit::reach::need::Destination;
use netaudit::source::{self, InputSpec};
use std::collections::BTreeMap;

const FLAVORS: [Flavor; 3] = [Flavor::Kubernetes, Flavor::Cilium, Flavor::Calico];

/// Every corpus chart as (dataset/chart, manifests loaded as `fix` loads them).
fn load(corpus: Vec<common::CorpusChart>) -> Vec<(String, Manifests)> {
    corpus
        .into_iter()
        .map(|chart| {
            let spec = InputSpec::RenderedChart {
                path: chart.rendered.clone(),
                name: chart.rendered.display().to_string(),
                release: chart.chart.clone(),
                namespace: chart.chart.clone(),
                default_values: None,
            };
            let inputs = source::acquire(&[spec]).unwrap();
            (
                chart.name(),
                Manifests::load(inputs, Detail::WithConfiguration).unwrap(),
            )
        })
        .collect()
}

/// What the charts of one worker gave.
#[derive(Default)]
struct Judged {
    differences: Vec<String>,
    charts_with_policies: usize,
    needs: usize,
    /// Needed flows to the API server and the cluster DNS, which each flavor names its own way.
    api_server_and_dns: [usize; 2],
    /// Needed flows to hosts by name, and those Cilium's policies do not let through.
    hosts: usize,
    hosts_cilium_blocks: Vec<String>,
    /// The policies written in the flavors whose kinds are CRDs: Cilium's, then Calico's.
    custom: [Vec<serde_json::Value>; 2],
}

/// Each chart's needed flows judged with the policies of each flavor applied.
fn judge(charts: &[(String, Manifests)]) -> Judged {
    let config = Config::default();
    let mut judged = Judged::default();
    for (name, manifests) in charts {
        let mut verdicts: Vec<BTreeMap<String, FlowOutcome>> = Vec::new();
        for flavor in FLAVORS {
            let options = PolicyOptions {
                flavor,
                ..PolicyOptions::default()
            };
            let outcome = plan(manifests, &config, &[], &options);
            let applied = apply(manifests, &outcome).unwrap();
            let mut judged_needs = BTreeMap::new();
            for (need, v) in needed_verdicts(&applied, &options).unwrap() {
                let key = format!("{} ({})", need.route(), need.why);
                if let Destination::Host(_) = need.to {
                    judged.hosts += usize::from(flavor == Flavor::Cilium);
                    if flavor == Flavor::Cilium && v.outcome() != FlowOutcome::Pass {
                        judged
                            .hosts_cilium_blocks
                            .push(format!("{name}: {key}: {}", v.outcome()));
                    }
                    continue;
                }
                judged_needs.insert(key, v.outcome());
            }
            verdicts.push(judged_needs);
            let custom = match flavor {
                Flavor::Kubernetes => None,
                Flavor::Cilium => Some(&mut judged.custom[0]),
                Flavor::Calico => Some(&mut judged.custom[1]),
            };
            if let Some(custom) = custom {
                custom.extend(outcome.generated.iter().filter_map(|g| match g {
                    Generated::Policy { policy, .. } => Some(policy.clone()),
                    _ => None,
                }));
            }
            if flavor == Flavor::Kubernetes && outcome.policy_count() > 0 {
                judged.charts_with_policies += 1;
            }
        }
        judged.needs += verdicts[0].len();
        for (i, to) in ["(API server)", "(cluster DNS)"].iter().enumerate() {
            judged.api_server_and_dns[i] += verdicts[0].keys().filter(|k| k.contains(to)).count();
        }
        for (flavor, other) in FLAVORS.iter().zip(&verdicts).skip(1) {
            if other != &verdicts[0] {
                let diff: Vec<String> = verdicts[0]
                    .iter()
                    .filter(|(k, v)| other.get(*k) != Some(*v))
                    .map(|(k, v)| format!("  {k}: kubernetes {v}, {flavor:?} {:?}", other.get(k)))
                    .collect();
                judged.differences.push(format!("{name}:\n{}", diff.join("\n")));
            }
        }
    }
    judged
}

#[test]
fn every_flavor_gives_every_needed_flow_of_the_corpus_the_same_verdict() {
    let Some(corpus) = common::corpus_charts() else {
        return;
    };
    let charts = load(corpus);
    // Two workers: the charts are independent, and each takes a while in a debug build.
    let halves: Vec<&[(String, Manifests)]> = charts.chunks(charts.len().div_ceil(2)).collect();
    let results: Vec<Judged> = std::thread::scope(|scope| {
        let workers: Vec<_> = halves.iter().map(|half| scope.spawn(|| judge(half))).collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut judged = Judged::default();
    for r in results {
        judged.differences.extend(r.differences);
        judged.charts_with_policies += r.charts_with_policies;
        judged.needs += r.needs;
        for i in 0..2 {
            judged.api_server_and_dns[i] += r.api_server_and_dns[i];
        }
        judged.hosts += r.hosts;
        judged.hosts_cilium_blocks.extend(r.hosts_cilium_blocks);
        for (all, some) in judged.custom.iter_mut().zip(r.custom) {
            all.extend(some);
        }
    }
    let Judged {
        differences,
        charts_with_policies,
        needs,
        api_server_and_dns,
        hosts,
        hosts_cilium_blocks,
        custom,
    } = judged;
    assert!(charts.len() >= 400, "only {} charts found", charts.len());
    assert!(
        charts_with_policies > 100 && needs > 1000,
        "suspiciously little: {charts_with_policies} charts with policies, {needs} needed flows"
    );
    assert!(
        api_server_and_dns.iter().all(|n| *n > 50),
        "too few needed flows to the API server and the DNS: {api_server_and_dns:?}"
    );
    assert!(hosts > 0, "no needed flow to a host by name in the corpus");
    assert!(
        hosts_cilium_blocks.is_empty(),
        "Cilium's toFQDNs do not let these through:\n{}",
        hosts_cilium_blocks.join("\n")
    );
    assert!(
        differences.is_empty(),
        "{} charts get other verdicts in another flavor:\n{}",
        differences.len(),
        differences.join("\n")
    );
    for (flavor, mut written) in [Flavor::Cilium, Flavor::Calico].into_iter().zip(custom) {
        assert!(
            written.len() > 500,
            "only {} {flavor:?} policies written",
            written.len()
        );
        written.push(flavor.baseline(&["one".to_string(), "two".to_string()]));
        common::crd::validate_all(flavor.name(), &written);
    }
}

/// The validators refuse what their schemas do not allow (so the test above
/// can fail): a Cilium rule with a misspelt field, a Calico rule with an
/// action Calico does not have.
#[test]
fn the_crd_validators_refuse_invalid_policies() {
    if !common::crd::present() {
        return common::crd::validate_all("invalid", &[]);
    }
    let cilium = serde_json::json!({
        "apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
        "metadata": {"name": "a", "namespace": "b"},
        "spec": {"endpointSelector": {}, "egress": [{"toEntitys": ["world"]}]},
    });
    let calico = serde_json::json!({
        "apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
        "metadata": {"name": "a", "namespace": "b"},
        "spec": {"selector": "all()", "egress": [{"action": "Accept"}]},
    });
    for (object, why) in [(cilium, "toEntitys"), (calico, "Accept")] {
        let refused = std::panic::catch_unwind(|| common::crd::validate_all("invalid", &[object]));
        let message = refused.expect_err("an invalid policy passes its CRD's schema");
        let message = message.downcast_ref::<String>().expect("the validator's message");
        assert!(message.contains(why), "{message}");
    }
}
