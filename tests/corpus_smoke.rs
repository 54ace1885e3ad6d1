//! Smoke test over the shared corpus of real rendered charts (../shared/corpus):
//! every chart loads and is audited without error. Skips, saying so, when
//! the corpus is absent.

use netaudit::engine::config::Config;
use netaudit::model::{Detail, Manifests};
use netaudit::source::{self, InputSpec};
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    dir.join("rendered").is_dir().then_some(dir)
}

#[test]
fn every_corpus_chart_loads_and_audits() {
    let Some(corpus) = corpus() else {
        eprintln!("skipping: ../shared/corpus/rendered not found");
        return;
    };
    let mut charts = 0;
    let mut findings = 0;
    let mut errors = Vec::new();
    for dataset in std::fs::read_dir(corpus.join("rendered")).unwrap() {
        let dataset = dataset.unwrap().path();
        let dataset_name = dataset.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dataset).unwrap() {
            let path = file.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let spec = InputSpec::RenderedChart {
                path: path.clone(),
                name: path.display().to_string(),
                release: stem.clone(),
                namespace: stem.clone(),
                default_values: Some(corpus.join("values").join(&dataset_name).join(format!("{stem}.yaml"))),
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
