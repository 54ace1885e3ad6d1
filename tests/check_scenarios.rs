//! One check at a time, in the style of ruff's rule tests: every scenario
//! under `testdata/manifests/<CHECK>/` is already rendered YAML (no helm),
//! audited in-process by that check alone, and its findings are snapshotted
//! in a compact form (both sides of every finding, with lines).
//!
//! - `fail-*` scenarios must produce at least one finding, `pass-*` none;
//!   every check has at least one of each.
//! - `<scenario>.probe.json` next to a scenario holds what a probe observed
//!   (the runtime checks' evidence), as `Observations` serialize.
//! - A scenario that is a directory holds one file per release, audited
//!   together (M4G compares releases).
//! - Each finding's exposure (who can reach it under the scenario's
//!   policies) is part of the snapshot.

use netaudit::checks::{self, CheckInfo, REGISTRY};
use netaudit::model::{Detail, Input, Manifests, Observations};
use std::path::{Path, PathBuf};

fn scenarios_of(check: &CheckInfo) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/manifests")
        .join(check.id);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}: every check needs scenarios", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    found.sort();
    found
}

fn inputs_of(scenario: &Path) -> Vec<Input> {
    let files: Vec<PathBuf> = if scenario.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(scenario)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    } else {
        vec![scenario.to_path_buf()]
    };
    files
        .iter()
        .map(|file| {
            let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
            let mut input = Input::new(stem.clone(), stem, "default", std::fs::read_to_string(file).unwrap());
            input.rendered_by_helm = true;
            input
        })
        .collect()
}

fn observations_of(scenario: &Path) -> Option<Observations> {
    let path = scenario.with_extension("probe.json");
    let text = std::fs::read_to_string(&path).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// `M4A high Deployment/default/web:12 message`, then each side of the finding.
fn compact(check: &'static CheckInfo, scenario: &Path) -> (usize, String) {
    let manifests = Manifests::load(inputs_of(scenario), Detail::Checks).unwrap();
    let observations = observations_of(scenario);
    let mut index = manifests.index();
    index.runtime = observations.as_ref();
    let mut findings = checks::run_checks(&index, &[check]);
    netaudit::engine::add_exposure(&index, &mut findings);
    let mut out = String::new();
    for f in &findings {
        let primary = f.primary();
        out.push_str(&format!(
            "{} {} {}:{} {}\n",
            f.check.id,
            f.severity,
            primary.object.id(),
            primary.location.line,
            f.message
        ));
        for s in &f.subjects {
            out.push_str(&format!(
                "  {} {}:{}-{}: {}\n",
                manifests.inputs[s.object.input].release,
                s.object.id(),
                s.location.line,
                s.end_line,
                s.label
            ));
        }
        out.push_str(&format!("  help: {}\n", f.help));
        if let Some(exposure) = &f.exposure {
            out.push_str(&format!("  exposure: {}\n", exposure.describe()));
        }
    }
    if findings.is_empty() {
        out.push_str("(no finding)\n");
    }
    (findings.len(), out)
}

#[test]
fn every_check_passes_and_fails_its_scenarios() {
    for check in REGISTRY {
        let scenarios = scenarios_of(check);
        let name = |p: &PathBuf| p.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            scenarios.iter().any(|s| name(s).starts_with("fail-"))
                && scenarios.iter().any(|s| name(s).starts_with("pass-")),
            "{} needs a fail-* and a pass-* scenario",
            check.id
        );
        for scenario in &scenarios {
            let scenario_name = name(scenario);
            let (count, text) = compact(check, scenario);
            if scenario_name.starts_with("fail-") {
                assert!(count > 0, "{} {scenario_name}: no finding", check.id);
            } else {
                assert_eq!(count, 0, "{} {scenario_name}:\n{text}", check.id);
            }
            insta::assert_snapshot!(format!("{}__{scenario_name}", check.id), text);
        }
    }
}

#[test]
fn runtime_checks_find_nothing_without_evidence() {
    for check in REGISTRY.iter().filter(|c| c.runtime_only()) {
        for scenario in scenarios_of(check) {
            let manifests = Manifests::load(inputs_of(&scenario), Detail::Checks).unwrap();
            let findings = checks::run_checks(&manifests.index(), &[check]);
            assert!(findings.is_empty(), "{} {}", check.id, scenario.display());
        }
    }
}
