//! Smoke test over the shared corpus of real rendered charts (../shared/corpus):
//! every chart loads and is audited without error. Skips, saying so, when
//! the corpus is absent.

mod common;

use netaudit::engine::config::Config;
use netaudit::model::{Detail, Manifests};
use netaudit::source::{self, InputSpec};

#[test]
fn every_corpus_chart_loads_and_audits() {
    let Some(corpus) = common::corpus_charts() else {
        return;
    };
    let mut charts = 0;
    let mut findings = 0;
    let mut errors = Vec::new();
    for chart in corpus {
        let spec = InputSpec::RenderedChart {
            path: chart.rendered.clone(),
            name: chart.rendered.display().to_string(),
            release: chart.chart.clone(),
            namespace: chart.chart.clone(),
            default_values: Some(chart.values.clone()),
        };
        charts += 1;
        let inputs = match source::acquire(&[spec]) {
            Ok(inputs) => inputs,
            Err(e) => {
                errors.push(format!("{e:#}"));
                continue;
            }
        };
        // Both levels of detail: what lint parses, and what fix parses.
        for detail in [Detail::Checks, Detail::WithConfiguration] {
            match Manifests::load(inputs.clone(), detail) {
                Ok(manifests) => {
                    findings += netaudit::engine::run(&manifests, &Config::default(), None)
                        .findings
                        .len();
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    assert!(charts >= 400, "only {charts} charts found");
    assert!(
        errors.is_empty(),
        "{} charts failed to load:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(
        findings > 2 * charts,
        "suspiciously few findings: {findings} for {charts} charts (two passes)"
    );
}
