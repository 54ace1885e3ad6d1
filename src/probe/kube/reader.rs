//! The socket reader run in each container, and its output's parser.

use crate::model::{OpenSocket, ProcessName, Protocol};
use crate::probe::procnet;
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};

/// Markers between the sections of the reader's output.
const MARK: &str = "@@netaudit ";

/// The reader run in each container: the four socket tables, the ephemeral
/// port range, the fd links of every process in the container's PID
/// namespace, and each process's name and command line (`netstat -p`).
/// `end` proves the shell ran to completion.
pub const READER_SCRIPT: &str =
    "for f in tcp tcp6 udp udp6; do echo \"@@netaudit $f\"; cat /proc/net/$f 2>/dev/null; done; \
echo '@@netaudit range'; cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null; \
echo '@@netaudit fds'; ls -l /proc/[0-9]*/fd/ 2>/dev/null; \
echo '@@netaudit procs'; for p in /proc/[0-9]*; do echo \"pid ${p#/proc/}\"; cat $p/comm 2>/dev/null || echo; \
cat $p/cmdline 2>/dev/null; echo; done; echo '@@netaudit end'";

/// What the reader printed in one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerReading {
    pub sockets: Vec<OpenSocket>,
    pub ephemeral_range: Option<(u16, u16)>,
    /// Socket inodes held by the processes the container sees.
    pub socket_inodes: BTreeSet<u64>,
    /// The process holding each socket inode, where the reader named it
    /// (the lowest PID when several share it: forked workers).
    pub socket_processes: BTreeMap<u64, ProcessName>,
}

/// Parse [`READER_SCRIPT`]'s output; `None` when it did not run to the end
/// (no shell, no `cat`): the caller then tries a debug container.
pub fn parse_reading(output: &str) -> Result<Option<ContainerReading>> {
    let mut sections: BTreeMap<&str, String> = BTreeMap::new();
    let mut current: Option<&str> = None;
    for line in output.lines() {
        if let Some(name) = line.strip_prefix(MARK) {
            let name = name.trim();
            sections.entry(name).or_default();
            current = Some(name);
            continue;
        }
        if let Some(name) = current {
            let text = sections.entry(name).or_default();
            text.push_str(line);
            text.push('\n');
        }
    }
    if !sections.contains_key("end") {
        return Ok(None);
    }
    let mut reading = ContainerReading::default();
    for (name, protocol, v6) in [
        ("tcp", Protocol::Tcp, false),
        ("tcp6", Protocol::Tcp, true),
        ("udp", Protocol::Udp, false),
        ("udp6", Protocol::Udp, true),
    ] {
        let text = sections.get(name).map(String::as_str).unwrap_or("");
        reading
            .sockets
            .extend(procnet::parse(text, protocol, v6).with_context(|| format!("cannot parse /proc/net/{name}"))?);
    }
    if sections.get("tcp").is_none_or(|t| t.trim().is_empty()) {
        // cat printed nothing at all: not a reading.
        return Ok(None);
    }
    reading.sockets.sort();
    reading.sockets.dedup();
    reading.ephemeral_range = sections.get("range").and_then(|t| {
        let mut parts = t.split_whitespace().map(|p| p.parse::<u16>().ok());
        Some((parts.next()??, parts.next()??))
    });
    // `ls -l` heads each directory with `/proc/<pid>/fd/:`.
    let mut holder_pids: BTreeMap<u64, u32> = BTreeMap::new();
    let mut pid = None;
    for line in sections.get("fds").map(String::as_str).unwrap_or("").lines() {
        if let Some(dir) = line.strip_suffix("/fd/:").or_else(|| line.strip_suffix("/fd:")) {
            pid = dir.strip_prefix("/proc/").and_then(|p| p.parse::<u32>().ok());
            continue;
        }
        let Some(inode) = line
            .split_once("socket:[")
            .and_then(|(_, rest)| rest.split(']').next())
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        reading.socket_inodes.insert(inode);
        if let Some(pid) = pid {
            let holder = holder_pids.entry(inode).or_insert(pid);
            *holder = (*holder).min(pid);
        }
    }
    let names = process_names(sections.get("procs").map(String::as_str).unwrap_or(""));
    reading.socket_processes = holder_pids
        .into_iter()
        .filter_map(|(inode, pid)| Some((inode, names.get(&pid)?.clone())))
        .collect();
    Ok(Some(reading))
}

/// The `procs` section: `pid N`, then the `comm` line, then the command line
/// (NUL-separated arguments) of each process.
fn process_names(text: &str) -> BTreeMap<u32, ProcessName> {
    let mut names = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(pid) = line.strip_prefix("pid ").and_then(|p| p.trim().parse::<u32>().ok()) else {
            continue;
        };
        let comm = lines.next().unwrap_or("");
        let cmdline = lines.next().unwrap_or("");
        if let Some(name) = ProcessName::from_proc(comm, cmdline.as_bytes()) {
            names.insert(pid, name);
        }
    }
    names
}
