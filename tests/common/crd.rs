//! Validation of generated policies against their CRD schemas, with the
//! validators `scripts/setup-crd-validators.sh` installs outside the clone
//! (found through `NETAUDIT_CRD`, else its default directory): ajv
//! validators of Cilium's schemas with node (`validate.mjs`: patterns,
//! enums), and `crd-validate`, typed bindings of Cilium's and Calico's CRDs
//! (fields and types; it refuses a field the schema does not have, which the
//! API server would prune). Both read one JSON object a line and print
//! `N: <why>` for each invalid one and `validated M` at the end. Without them a test skips, saying so, unless
//! `NETAUDIT_REQUIRE_CRD` is set (scripts/test.sh sets it, so CI fails
//! instead).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn validators() -> Option<PathBuf> {
    let dir = match std::env::var_os("NETAUDIT_CRD").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            cache.join("netaudit-crd")
        }
    };
    (dir.join("validate.mjs").is_file() && dir.join("crd-validate").is_file()).then_some(dir)
}

/// The validators are installed.
pub fn present() -> bool {
    validators().is_some()
}

/// The validators of an API group's objects, run in `dir`.
fn validators_of(dir: &Path, group: &str) -> Vec<Command> {
    let typed = Command::new(dir.join("crd-validate"));
    match group {
        "cilium.io" => {
            let mut node = Command::new("node");
            node.arg("validate.mjs").current_dir(dir);
            vec![node, typed]
        }
        "projectcalico.org" => vec![typed],
        _ => panic!("no CRD validator for the API group {group:?}"),
    }
}

/// Every object of `objects` is valid under its CRD's schema; `what` names
/// them in messages.
pub fn validate_all(what: &str, objects: &[serde_json::Value]) {
    let Some(dir) = validators() else {
        if std::env::var_os("NETAUDIT_REQUIRE_CRD").is_some() {
            panic!("the CRD validators are missing: run `bash scripts/setup-crd-validators.sh`");
        }
        eprintln!("skipping the {what} CRD validation: run `bash scripts/setup-crd-validators.sh`");
        return;
    };
    let mut by_group: Vec<(String, Vec<&serde_json::Value>)> = Vec::new();
    for object in objects {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let group = api_version.split('/').next().unwrap_or_default().to_string();
        match by_group.iter_mut().find(|(g, _)| *g == group) {
            Some((_, members)) => members.push(object),
            None => by_group.push((group, vec![object])),
        }
    }
    for (group, members) in by_group {
        for validator in validators_of(&dir, &group) {
            run(validator, &format!("{what} ({group})"), &members);
        }
    }
}

fn run(mut validator: Command, what: &str, objects: &[&serde_json::Value]) {
    let mut child = validator
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("the {what} validator does not start: {e}"));
    let mut input = String::new();
    for object in objects {
        input.push_str(&object.to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("the validator ends");
    writer.join().expect("writer").expect("written");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{what} policies invalid under the CRD schema:\n{}",
        text.lines()
            .take(20)
            .map(|line| match line.split_once(':') {
                Some((n, why)) => match n.parse::<usize>() {
                    Ok(n) => format!("{why}\n    in {}", objects[n - 1]),
                    Err(_) => line.to_string(),
                },
                None => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        text.contains(&format!("validated {}", objects.len())),
        "the validator read {text:?}, not {} objects",
        objects.len()
    );
}
