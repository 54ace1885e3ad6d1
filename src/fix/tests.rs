//! Generated NetworkPolicies, checked by the evaluator: applied to the
//! manifests, they allow exactly the expected flows and nothing more.

use super::evaluate::{allowed_flows, describe};
use super::policy::{generate, to_yaml, Generated, PolicyOptions};
use crate::checks;
use crate::engine::config::Config;
use crate::model::{Detail, Input, Manifests};
use std::collections::BTreeMap;

fn shop() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fix/shop.yaml")).unwrap()
}

fn load(text: &str) -> Manifests {
    let inputs = vec![Input::new("shop.yaml", "shop", "shop", text.to_string())];
    Manifests::load(inputs, Detail::WithConfiguration).unwrap()
}

fn flows_with(text: &str) -> String {
    describe(&allowed_flows(&load(text).index(), &BTreeMap::new()))
}

#[test]
fn generated_policies_allow_the_inferred_edges_and_nothing_more() {
    let shop = shop();
    let manifests = load(&shop);
    let generated = generate(&manifests.index(), &PolicyOptions::default());
    assert!(
        generated.iter().all(|g| matches!(g, Generated::Policy { .. })),
        "every workload gets a policy"
    );
    let with_policies = format!("{shop}\n---\n{}", to_yaml(&generated));

    // Before: everything reaches everything.
    assert!(flows_with(&shop).lines().count() > 10);
    // After: the LoadBalancer port from anywhere; frontend -> api (API_URL);
    // api -> db (DB_HOST); db refers to nothing, so its egress falls back to
    // the whole release, which only the frontend's public port accepts.
    let flows = flows_with(&with_policies);
    let expected = [
        "(outside)                  -> Deployment/shop/frontend 8080/TCP",
        "Deployment/shop/api        -> StatefulSet/shop/db      5432/TCP",
        "Deployment/shop/frontend   -> Deployment/shop/api      8080/TCP",
        "StatefulSet/shop/db        -> Deployment/shop/frontend 8080/TCP",
    ];
    let got: Vec<String> = flows
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let want: Vec<String> = expected
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(got, want, "\n{flows}");

    // And lint no longer reports missing policies (M6) for any workload.
    let manifests = load(&with_policies);
    let audit = crate::engine::run(&manifests, &Config::default(), None);
    assert!(
        !audit.findings.iter().any(|f| f.check == &checks::M6),
        "M6 left after applying the policies"
    );
}
