//! The fuzz targets' seed corpus (`fuzz/seeds/TARGET/`), replayed through
//! the functions the targets call: every input a fuzzer ever found a bug
//! with stays a regression test, without fuzzing in CI (docs/reliability.md).

use netaudit::fuzzing::TARGETS;
use std::path::PathBuf;

#[test]
fn every_seed_of_every_target_runs_without_a_panic() {
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for (target, run) in TARGETS {
        let dir = seeds.join(target);
        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a seed").path())
            .collect();
        assert!(!files.is_empty(), "{target} has no seeds in {}", dir.display());
        for file in files {
            let data = std::fs::read(&file).expect("a readable seed");
            run(&data);
        }
    }
    // And every target directory belongs to a target.
    for entry in std::fs::read_dir(&seeds).expect("fuzz/seeds") {
        let name = entry.expect("an entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz/seeds/{name} is no target's"
        );
    }
}
