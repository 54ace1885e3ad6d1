//! The host side of the podman sandbox: running podman, and reading the
//! pods' processes, sockets and port ranges from the host's `/proc`.

use crate::model::ProcessName;
use crate::probe::naming::SANDBOX_LABEL;
use crate::probe::procnet;
use crate::source::failure_summary;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Pod name -> PID of its infra process (whose network namespace is the pod's).
pub(super) type InfraPids = BTreeMap<String, u32>;
/// Container id -> (main PID, cgroup path).
pub(super) type ProcessInfo = BTreeMap<String, (u32, String)>;

#[derive(Debug, Clone)]
pub(super) struct ContainerState {
    pub(super) id: String,
    pub(super) state: String,
    pub(super) exit_code: i64,
    pub(super) pid: u32,
}

/// A podman call, with netaudit's containers.conf unless the user set one
/// ([`super::config`]).
pub(super) fn podman() -> Command {
    let mut command = Command::new("podman");
    if let Some(conf) = super::config::containers_conf() {
        command.env("CONTAINERS_CONF", conf);
    }
    command
}

/// runc's words when podman asks for more than the hard limits allow.
const RLIMIT_FAILURE: &str = "error setting rlimit";

pub(super) fn run(command: &mut Command) -> Result<String> {
    let shown = format!("{command:?}").replace('"', "");
    let output = command.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "podman not found: install it (Debian: apt-get install podman runc), or use another --runtime"
            )
        } else {
            anyhow::anyhow!("cannot run {shown}: {e}")
        }
    })?;
    if !output.status.success() {
        let why = failure_summary(output.status, &output.stderr, "podman");
        if String::from_utf8_lossy(&output.stderr).contains(RLIMIT_FAILURE) {
            bail!("{shown} failed: {why}; {}", super::config::advice());
        }
        bail!("{shown} failed: {why}");
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Run an exec readiness probe: `command` in `container`, success when it
/// exits 0 within `timeout` (it is killed after that, as the kubelet does).
pub(super) fn exec_probe(container: &str, command: &[String], timeout: Duration) -> Result<(), String> {
    let shown = command.join(" ");
    let mut child = podman()
        .args(["exec", container])
        .args(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run `podman exec`: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(match status.code() {
                    Some(code) => format!("`{shown}` exited with {code}"),
                    None => format!("`{shown}` was killed"),
                })
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{shown}` timed out after {} s", timeout.as_secs()));
            }
            Err(e) => return Err(format!("cannot wait for `podman exec`: {e}")),
        }
    }
}

/// State of every container of the sandbox, by container name.
pub(super) fn container_states(sandbox: &str) -> Result<BTreeMap<String, ContainerState>> {
    let out = run(podman()
        .args(["ps", "-a", "--format", "json", "--filter"])
        .arg(format!("name=^{sandbox}")))?;
    let list: Vec<Value> = serde_json::from_str(&out).context("cannot read `podman ps` output")?;
    Ok(list
        .iter()
        .filter_map(|c| {
            let name = c.pointer("/Names/0")?.as_str()?.to_string();
            let state = ContainerState {
                id: c.get("Id")?.as_str()?.to_string(),
                state: c.get("State")?.as_str()?.to_string(),
                exit_code: c.get("ExitCode").and_then(Value::as_i64).unwrap_or(0),
                pid: c
                    .get("Pid")
                    .and_then(Value::as_u64)
                    .and_then(|p| u32::try_from(p).ok())
                    .unwrap_or(0),
            };
            Some((name, state))
        })
        .collect())
}

/// The image of the infra containers of the sandbox's pods (podman's own
/// pause image, built locally), when some pod has one.
pub(super) fn infra_image(sandbox: &str) -> Result<Option<String>> {
    let pods = run(podman()
        .args(["pod", "ps", "--format", "{{.InfraId}}", "--filter"])
        .arg(format!("label={SANDBOX_LABEL}={sandbox}")))?;
    let Some(infra) = pods.lines().map(str::trim).find(|id| !id.is_empty()) else {
        return Ok(None);
    };
    let image = run(podman().args(["inspect", "--format", "{{.ImageName}}", infra]))?;
    Ok(Some(image.trim().to_string()).filter(|i| !i.is_empty()))
}

/// Infra process of every pod, and PID + cgroup of the given containers,
/// in two podman calls whatever the number of pods (one `inspect` per
/// container made a 10-pod probe take ~2 s).
pub(super) fn process_info(sandbox: &str, container_ids: &[&str]) -> Result<(InfraPids, ProcessInfo)> {
    let pods = run(podman()
        .args(["pod", "ps", "--format", "json", "--filter"])
        .arg(format!("label={SANDBOX_LABEL}={sandbox}")))?;
    let pods: Vec<Value> = serde_json::from_str(&pods).context("cannot read `podman pod ps` output")?;
    let infra_of: BTreeMap<String, String> = pods
        .iter()
        .filter_map(|p| {
            Some((
                p.get("Name")?.as_str()?.to_string(),
                p.get("InfraId")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let mut ids: Vec<&str> = infra_of.values().map(String::as_str).collect();
    ids.extend_from_slice(container_ids);
    let mut by_id: BTreeMap<String, (u32, String)> = BTreeMap::new();
    if !ids.is_empty() {
        let out = run(podman()
            .args(["inspect", "--format", "{{.Id}} {{.State.Pid}} {{.State.CgroupPath}}"])
            .args(&ids))?;
        for line in out.lines() {
            let mut fields = line.split_whitespace();
            let (Some(id), Some(pid)) = (fields.next(), fields.next().and_then(|p| p.parse().ok())) else {
                continue;
            };
            by_id.insert(id.to_string(), (pid, fields.next().unwrap_or("").to_string()));
        }
    }
    let infra_pids = infra_of
        .into_iter()
        .filter_map(|(pod, infra)| {
            by_id
                .get(&infra)
                .filter(|(pid, _)| *pid > 0)
                .map(|(pid, _)| (pod, *pid))
        })
        .collect();
    Ok((infra_pids, by_id))
}

/// Every process on the host, grouped by PID namespace: a container's
/// processes are its main process and everything in its PID namespace.
pub(super) fn processes_by_pid_namespace() -> BTreeMap<String, Vec<u32>> {
    let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return groups;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(ns) = std::fs::read_link(entry.path().join("ns/pid")) {
            groups.entry(ns.display().to_string()).or_default().push(pid);
        }
    }
    groups
}

/// The ephemeral port range inside a network namespace (`nsenter`); the
/// host's when that is not possible.
pub(super) fn ephemeral_range(pid: u32) -> (u16, u16) {
    let inside = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .args(["cat", "/proc/sys/net/ipv4/ip_local_port_range"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let mut parts = text.split_whitespace().map(|p| p.parse::<u16>().ok());
            Some((parts.next()??, parts.next()??))
        });
    inside
        .or_else(|| procnet::ephemeral_port_range(Path::new("/proc")).ok())
        .unwrap_or((32768, 60999))
}

/// The name and command line of the process at `/proc/<pid>` (`proc_dir`).
pub(super) fn process_name(proc_dir: &Path) -> Option<ProcessName> {
    let comm = std::fs::read_to_string(proc_dir.join("comm")).ok()?;
    let cmdline = std::fs::read(proc_dir.join("cmdline")).unwrap_or_default();
    ProcessName::from_proc(&comm, &cmdline)
}

/// The processes of a container: those in its cgroup (v1 `pids` controller,
/// or v2), else those in the PID namespace of its main process.
pub(super) fn container_processes(pid: u32, cgroup: &str, by_namespace: &BTreeMap<String, Vec<u32>>) -> Vec<u32> {
    if !cgroup.is_empty() {
        for root in ["/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
            if let Ok(text) = std::fs::read_to_string(format!("{root}{cgroup}/cgroup.procs")) {
                let pids: Vec<u32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
                if !pids.is_empty() {
                    return pids;
                }
            }
        }
    }
    std::fs::read_link(format!("/proc/{pid}/ns/pid"))
        .ok()
        .and_then(|ns| by_namespace.get(&ns.display().to_string()).cloned())
        .unwrap_or_else(|| vec![pid])
}
