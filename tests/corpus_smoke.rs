//! Smoke test over the shared corpus of real rendered charts (../shared/corpus):
//! every chart loads and is audited without error. Skips, saying so, when
//! the corpus is absent.

use netaudit::config::Config;
use netaudit::model::Input;
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/rendered");
    dir.is_dir().then_some(dir)
}

#[test]
fn every_corpus_chart_loads_and_audits() {
    let Some(dir) = corpus() else {
        eprintln!("skipping: ../shared/corpus/rendered not found");
        return;
    };
    let mut charts = 0;
    let mut findings = 0;
    let mut errors = Vec::new();
    for dataset in std::fs::read_dir(&dir).unwrap() {
        let dataset = dataset.unwrap().path();
        for file in std::fs::read_dir(&dataset).unwrap() {
            let path = file.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let inputs = vec![Input::new(path.display().to_string(), stem.clone(), stem, text)];
            match netaudit::audit::load(&inputs) {
                Ok(objects) => {
                    let audit = netaudit::audit::run(&inputs, &objects, &Config::default());
                    findings += audit.findings.len();
                }
                // Charts whose default values render nothing are empty files.
                Err(e) if e.message.starts_with("no Kubernetes objects") && text_is_blank(&inputs[0].text) => {}
                Err(e) => errors.push(e.to_string()),
            }
            charts += 1;
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
        findings > charts,
        "suspiciously few findings: {findings} for {charts} charts"
    );
}

fn text_is_blank(text: &str) -> bool {
    text.lines()
        .all(|l| l.trim().is_empty() || l.trim() == "---" || l.trim_start().starts_with('#'))
}
