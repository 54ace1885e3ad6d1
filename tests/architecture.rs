//! The layout's rules, checked on the source (docs/design.md states them):
//! which layer may import which, files small enough to read, and check IDs
//! spelled only in `src/checks/`.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|x| x == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The file's production code: a whole-file test module (`tests.rs`,
/// `testing.rs`) has none; otherwise everything before `#[cfg(test)]`.
fn production(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy();
    if name == "tests.rs" || name == "testing.rs" {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("\n#[cfg(test)]\nmod tests") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

/// The top-level module of a file under src/ (`model`, `probe`, `cli`, …).
fn layer(path: &Path) -> String {
    let relative = path.strip_prefix(src()).unwrap();
    let first = relative
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    // layer -> the crate modules it may use besides itself.
    let allowed: &[(&str, &[&str])] = &[
        ("model", &[]),
        ("source", &["model"]),
        ("checks", &["model"]),
        ("reach", &["model"]),
        ("engine", &["model", "checks", "reach"]),
        ("report", &["model", "checks", "engine", "reach"]),
        ("probe", &["model", "source"]),
        ("fix", &["model", "checks", "engine", "report", "reach"]),
        ("cli", &["checks", "report", "probe", "fix"]),
        (
            "commands",
            &[
                "model", "source", "checks", "engine", "report", "reach", "probe", "fix", "cli",
            ],
        ),
    ];
    let layers = [
        "model", "source", "checks", "reach", "engine", "report", "probe", "fix", "cli", "commands",
    ];
    let mut violations = Vec::new();
    for path in rust_files(&src()) {
        let own = layer(&path);
        let Some((_, may)) = allowed.iter().find(|(l, _)| *l == own) else {
            continue; // lib.rs, main.rs
        };
        let code = production(&path);
        for other in layers.iter().filter(|l| **l != own && !may.contains(l)) {
            if code.contains(&format!("crate::{other}")) {
                violations.push(format!("{} uses crate::{other}", path.display()));
            }
        }
    }
    assert!(violations.is_empty(), "layer violations:\n{}", violations.join("\n"));
}

#[test]
fn no_production_file_is_over_700_lines() {
    let long: Vec<String> = rust_files(&src())
        .iter()
        .map(|p| (p, production(p).lines().count()))
        .filter(|(_, n)| *n > 700)
        .map(|(p, n)| format!("{}: {n} lines", p.display()))
        .collect();
    assert!(long.is_empty(), "split these files:\n{}", long.join("\n"));
}

#[test]
fn check_ids_are_spelled_only_in_the_checks() {
    let ids: Vec<String> = netaudit::checks::REGISTRY
        .iter()
        .map(|c| format!("\"{}\"", c.id))
        .collect();
    let mut spelled = Vec::new();
    for path in rust_files(&src()) {
        if layer(&path) == "checks" {
            continue;
        }
        let code = production(&path);
        for id in &ids {
            if code.contains(id.as_str()) {
                spelled.push(format!("{} spells {id}", path.display()));
            }
        }
    }
    assert!(
        spelled.is_empty(),
        "use the check's static (crate::checks::M6) instead:\n{}",
        spelled.join("\n")
    );
}
