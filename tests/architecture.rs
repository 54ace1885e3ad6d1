//! The layout's rules, checked on the source (docs/design.md states them):
//! which layer may import which, which file of `yaml/` and `model/` may
//! import which, files small enough to read, and check IDs spelled only in
//! `src/checks/`.

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
        ("yaml", &[]),
        ("model", &["yaml"]),
        ("source", &["yaml", "model"]),
        ("checks", &["yaml", "model"]),
        ("reach", &["model"]),
        ("engine", &["yaml", "model", "checks", "reach"]),
        ("report", &["yaml", "model", "checks", "engine", "reach"]),
        ("probe", &["model", "source"]),
        ("fix", &["yaml", "model", "checks", "engine", "report", "reach"]),
        ("cli", &["checks", "report", "probe", "fix"]),
        (
            "commands",
            &[
                "yaml", "model", "source", "checks", "engine", "report", "reach", "probe", "fix", "cli",
            ],
        ),
    ];
    let layers = [
        "yaml", "model", "source", "checks", "reach", "engine", "report", "probe", "fix", "cli", "commands",
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

/// The production code of `path` without its comments (doc links name
/// paths that import nothing).
fn code_without_comments(path: &Path) -> String {
    production(path)
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers that follow `prefix` where it starts a path (in
/// `super::super::x`, `super::` names `super` only; in `super::{a, b}`,
/// nothing: an empty name).
fn names_after<'c>(code: &'c str, prefix: &str) -> Vec<&'c str> {
    code.match_indices(prefix)
        .filter(|(at, _)| !code[..*at].ends_with(|c: char| c == ':' || c == '_' || c.is_ascii_alphanumeric()))
        .map(|(at, _)| {
            let rest = &code[at + prefix.len()..];
            let end = rest
                .find(|c: char| c != '_' && !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn yaml_and_model_files_import_their_siblings_one_way() {
    // A folder, and its path from the crate root.
    let folders = [
        ("yaml", "crate::yaml::"),
        ("model", "crate::model::"),
        ("model/policy", "crate::model::policy::"),
    ];
    let mut problems = Vec::new();
    for (folder, path) in folders {
        let dir = src().join(folder);
        // The folder's modules: its files but mod.rs, and its folders.
        let mut modules: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() || p.file_name().unwrap() != "mod.rs")
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        modules.sort();
        let mut edges = std::collections::BTreeSet::new();
        for file in rust_files(&dir) {
            let relative = file.strip_prefix(&dir).unwrap();
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.len() == 1 && parts[0] == "mod.rs" || parts.iter().any(|p| p == "tests") {
                continue;
            }
            let module = parts[0].trim_end_matches(".rs").to_string();
            // `super::` from `x.rs` or `x/mod.rs`; `super::super::` from `x/y.rs`.
            let depth = parts.len() - usize::from(parts.last().unwrap() == "mod.rs");
            let code = code_without_comments(&file);
            let up = "super::".repeat(depth);
            for name in names_after(&code, &up).into_iter().chain(names_after(&code, path)) {
                if name == "super" || name == module {
                    continue;
                }
                if modules.iter().any(|m| m == name) {
                    edges.insert((module.clone(), name.to_string()));
                } else {
                    let name = if name.is_empty() { "{…}" } else { name };
                    problems.push(format!(
                        "{}: `{name}` through {folder}/mod.rs (import it from the file that defines it)",
                        file.display()
                    ));
                }
            }
        }
        for (from, to) in &edges {
            if edges.contains(&(to.clone(), from.clone())) && from < to {
                problems.push(format!("{folder}: {from} and {to} import each other"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
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
