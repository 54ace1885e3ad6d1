//! Podman sandboxes left behind, and removing a sandbox: the pods and the
//! network carrying [`SANDBOX_LABEL`], the volumes named after such a sandbox, and the
//! plan directories marked as one's (they hold the chart's Secrets,
//! decoded into ConfigMaps). Never `--all` or prune: podman state is shared.

use super::host::{podman, run};
use crate::model::words::count;
use crate::probe::leftovers::Leftover;
use crate::probe::naming::{is_sandbox_name, owner, owner_running, OWNER_KEY, SANDBOX_LABEL};
use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The file that marks a plan directory as a sandbox's: its name, then
/// the process that made it.
const MARKER: &str = ".netaudit-sandbox";
/// How plan directories are named, in the temporary directory.
pub(super) const PLAN_DIR_PREFIX: &str = "netaudit-podman-";

/// Mark `dir` as the plan directory of sandbox `name`.
pub(super) fn mark_plan_dir(dir: &Path, name: &str) -> Result<()> {
    std::fs::write(dir.join(MARKER), format!("{name}\n{}\n", owner()))
        .with_context(|| format!("cannot write {}", dir.join(MARKER).display()))
}

/// Remove everything of sandbox `name` podman holds: its pods (by label),
/// then its volumes (by name).
pub(super) fn remove_sandbox(name: &str) -> Result<()> {
    let pods = run(podman()
        .args(["pod", "ps", "-q", "--filter"])
        .arg(format!("label={SANDBOX_LABEL}={name}")))?;
    let pods: Vec<&str> = pods.split_whitespace().collect();
    if !pods.is_empty() {
        run(podman().args(["pod", "stop", "-i", "-t", "1"]).args(&pods))?;
        run(podman().args(["pod", "rm", "-f", "-i"]).args(&pods))?;
    }
    let volumes = run(podman()
        .args(["volume", "ls", "-q", "--filter"])
        .arg(format!("name=^{name}-")))?;
    let volumes: Vec<&str> = volumes.split_whitespace().collect();
    if !volumes.is_empty() {
        run(podman().args(["volume", "rm", "-f"]).args(&volumes))?;
    }
    for network in networks_of(Some(name))? {
        run(podman().args(["network", "rm", "-f"]).arg(&network.name))?;
    }
    Ok(())
}

/// When podman says something was created (RFC 3339).
fn created(value: &Value) -> Option<SystemTime> {
    value
        .as_str()
        .and_then(|c| k8s_openapi::chrono::DateTime::parse_from_rfc3339(c).ok())
        .map(SystemTime::from)
}

/// A sandbox's network: named as the sandbox, labelled with its name.
struct SandboxNetwork {
    name: String,
    sandbox: String,
    created: Option<SystemTime>,
}

/// The networks carrying our label (of sandbox `name`, or of any).
fn networks_of(name: Option<&str>) -> Result<Vec<SandboxNetwork>> {
    let label = match name {
        Some(name) => format!("label={SANDBOX_LABEL}={name}"),
        None => format!("label={SANDBOX_LABEL}"),
    };
    let listed = run(podman()
        .args(["network", "ls", "--format", "json", "--filter"])
        .arg(label))?;
    let networks: Vec<Value> = serde_json::from_str(listed.trim())
        .or_else(|e| {
            if listed.trim().is_empty() {
                Ok(Vec::new())
            } else {
                Err(e)
            }
        })
        .context("cannot read `podman network ls --format json`")?;
    Ok(networks
        .iter()
        .filter_map(|network| {
            let sandbox = network["labels"][SANDBOX_LABEL]
                .as_str()
                .filter(|n| is_sandbox_name(n))?;
            Some(SandboxNetwork {
                name: network["name"].as_str()?.to_string(),
                sandbox: sandbox.to_string(),
                created: created(&network["created"]),
            })
        })
        .collect())
}

/// A plan directory of ours in the temporary directory.
struct PlanDir {
    path: PathBuf,
    name: String,
    owner: String,
    created: Option<SystemTime>,
}

/// The marked plan directories this user owns (another user's are not
/// ours to read or remove, whatever they say).
fn plan_dirs() -> Vec<PlanDir> {
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(PLAN_DIR_PREFIX))
        .filter_map(|entry| {
            let path = entry.path();
            // Not followed: a symlink is nobody's plan directory.
            let metadata = std::fs::symlink_metadata(&path).ok()?;
            if !metadata.is_dir() || metadata.uid() != uid {
                return None;
            }
            let marker = std::fs::read_to_string(path.join(MARKER)).ok()?;
            let mut lines = marker.lines();
            let name = lines.next()?.to_string();
            let owner = lines.next().unwrap_or_default().to_string();
            is_sandbox_name(&name).then(|| PlanDir {
                created: metadata.modified().ok(),
                path,
                name,
                owner,
            })
        })
        .collect()
}

/// What one sandbox left, gathered from its pods, volumes and plan files.
#[derive(Default)]
struct Found {
    pods: usize,
    volumes: usize,
    networks: usize,
    plan_dirs: usize,
    created: Option<SystemTime>,
    owner: Option<String>,
}

impl Found {
    fn seen(&mut self, created: Option<SystemTime>, owner: Option<String>) {
        self.created = match (self.created, created) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.owner = self.owner.take().or(owner);
    }
}

/// Every podman sandbox left: found by our label and marker only.
pub fn find() -> Result<Vec<Leftover>> {
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let pods = run(podman()
        .args(["pod", "ps", "--format", "json", "--filter"])
        .arg(format!("label={SANDBOX_LABEL}")))?;
    let pods: Vec<Value> = serde_json::from_str(pods.trim())
        .or_else(|e| if pods.trim().is_empty() { Ok(Vec::new()) } else { Err(e) })
        .context("cannot read `podman pod ps --format json`")?;
    for pod in &pods {
        let labels = &pod["Labels"];
        let Some(name) = labels[SANDBOX_LABEL].as_str().filter(|n| is_sandbox_name(n)) else {
            continue;
        };
        let created = created(&pod["Created"]);
        let entry = found.entry(name.to_string()).or_default();
        entry.pods += 1;
        entry.seen(created, labels[OWNER_KEY].as_str().map(str::to_string));
    }
    for network in networks_of(None)? {
        let entry = found.entry(network.sandbox).or_default();
        entry.networks += 1;
        entry.seen(network.created, None);
    }
    let dirs = plan_dirs();
    for dir in &dirs {
        let entry = found.entry(dir.name.clone()).or_default();
        entry.plan_dirs += 1;
        entry.seen(dir.created, Some(dir.owner.clone()));
    }
    // Volumes carry no label: only those named after a sandbox found above.
    let volumes = run(podman().args(["volume", "ls", "-q", "--filter", "name=^netaudit-"]))?;
    for volume in volumes.split_whitespace() {
        if let Some((_, entry)) = found
            .iter_mut()
            .find(|(name, _)| volume.starts_with(&format!("{name}-")))
        {
            entry.volumes += 1;
        }
    }
    Ok(found
        .into_iter()
        .map(|(name, found)| {
            let mut contents = vec![count(found.pods, "pod", "pods")];
            if found.volumes > 0 {
                contents.push(count(found.volumes, "volume", "volumes"));
            }
            if found.networks > 0 {
                contents.push("its network".into());
            }
            if found.plan_dirs > 0 {
                contents.push("its plan directory".into());
            }
            Leftover {
                runtime: "podman",
                in_use: found.owner.as_deref().is_some_and(owner_running),
                name,
                created: found.created,
                owner: found.owner,
                contents: contents.join(", "),
            }
        })
        .collect())
}

/// Remove sandbox `name`: what podman holds, then its plan directories.
pub fn remove(name: &str) -> Result<()> {
    remove_sandbox(name)?;
    for dir in plan_dirs().into_iter().filter(|d| d.name == name) {
        std::fs::remove_dir_all(&dir.path).with_context(|| format!("cannot remove {}", dir.path.display()))?;
    }
    Ok(())
}
